"""Response parsers (``client._response_parsers``): every documented answer shape parsed, every broken one
refused naming its field, and raw HTTP answers decoded into the envelope or the matching error."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_wanxiang.client import (
    AuthenticationError,
    ContentModerationError,
    MalformedResponseError,
    ServerError,
    TaskStatus,
    build_edit_request,
    create_task_request,
    get_task_request,
    parse_created,
    parse_task,
    parse_task_page,
    parse_upload_policy,
)
from airflow_provider_wanxiang.client._response_parsers import (
    check_upload_response,
    decode_response,
    parse_server_time,
)

UTC = UTC

CREATED = {
    "output": {"task_status": "PENDING", "task_id": "0385dc79-5ff8-4d82-bcb6-xxxxxx"},
    "request_id": "4909100c-7b5a-9f92-bfe5-xxxxxx",
}
PENDING = {
    "request_id": "r",
    "output": {
        "task_id": "t",
        "task_status": "PENDING",
        "submit_time": "2025-09-23 22:14:10.800",
        "task_metrics": {"TOTAL": 1, "SUCCEEDED": 0, "FAILED": 0},
    },
}
RUNNING = {
    "request_id": "c1209113-8437-424f-a386-xxxxxx",
    "output": {
        "task_id": "966cebcd-dedc-4962-af88-xxxxxx",
        "task_status": "RUNNING",
        "task_metrics": {"TOTAL": 1, "SUCCEEDED": 0, "FAILED": 0},
    },
}
SUCCEEDED = {
    "request_id": "d1f2a1be-9c58-48af-b43f-xxxxxx",
    "output": {
        "task_id": "7f4836cd-1c47-41b3-b3a4-xxxxxx",
        "task_status": "SUCCEEDED",
        "submit_time": "2025-09-23 22:14:10.800",
        "scheduled_time": "2025-09-23 22:14:10.825",
        "end_time": "2025-09-23 22:15:23.456",
        "results": [
            {
                "orig_prompt": "Change the floral dress to a vintage-style lace long dress ...",
                "actual_prompt": "Replace the pink pleated dress with a vintage-style lace long dress ...",
                "url": "https://dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/xxx.png?Expires=xxx",
            }
        ],
        "task_metrics": {"TOTAL": 1, "FAILED": 0, "SUCCEEDED": 1},
    },
    "usage": {"image_count": 1},
}
PARTIAL = {
    "request_id": "45ac7f13-xxxx-xxxx-xxxx-e03c35068d83",
    "output": {
        "task_id": "73205176-xxxx-xxxx-xxxx-16bd5d902219",
        "task_status": "SUCCEEDED",
        "submit_time": "2023-12-20 21:36:31.896",
        "scheduled_time": "2023-12-20 21:36:39.009",
        "end_time": "2023-12-20 21:36:45.913",
        "results": [
            {"url": "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/xxx1.png"},
            {"url": "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/xxx2.png"},
            {"url": "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/xxx3.png"},
            {"code": "DataInspectionFailed", "message": "Output data may contain inappropriate content."},
        ],
        "task_metrics": {"TOTAL": 4, "SUCCEEDED": 3, "FAILED": 1},
    },
    "usage": {"image_count": 3},
}
FAILED = {
    "request_id": "e5d70b02-ebd3-98ce-9fe8-759d7d7b107d",
    "output": {
        "task_id": "86ecf553-d340-4e21-af6e-xxxxxx",
        "task_status": "FAILED",
        "code": "InvalidParameter",
        "message": "The specified parameter is not valid.",
        "task_metrics": {"TOTAL": 4, "SUCCEEDED": 0, "FAILED": 4},
    },
}
UNKNOWN = {
    "request_id": "a4de7c32-7057-9f82-8581-xxxxxx",
    "output": {"task_id": "502a00b1-19d9-4839-a82f-xxxxxx", "task_status": "UNKNOWN"},
}
CANCELED = {
    "request_id": "r",
    "output": {
        "task_id": "t",
        "task_status": "CANCELED",
        "submit_time": "2025-09-23 22:14:10.800",
        "task_metrics": {"TOTAL": 1, "SUCCEEDED": 0, "FAILED": 0},
    },
}
LIST = {
    "total": 2,
    "data": [
        {"api_key_id": "15xxxx", "caller_parent_id": "xxxxxxxxx", "caller_uid": "xxxxxxxxx",
         "gmt_create": 1745568428109, "model_name": "wanx2.1-kf2v-plus", "region": "cn-beijing",
         "request_id": "1abfc3c8-dd25-98da-ad0b-xxxxxx", "start_time": 1745568428138, "status": "RUNNING",
         "task_id": "50e2ccea-abc4-43d7-a0dc-xxxxxx",
         "user_api_unique_key": "apikey:v1:aigc:image2video:video-synthesis:wanx2.1-kf2v-plus"},
        {"api_key_id": "15xxxx", "caller_parent_id": "xxxxxxxxx", "caller_uid": "xxxxxxxxx",
         "end_time": 1745568302481, "gmt_create": 1745568293253, "model_name": "wanx2.1-t2i-turbo",
         "region": "cn-beijing", "request_id": "f6bf34d9-bf87-9e8b-9ed4-xxxxxx", "start_time": 1745568293273,
         "status": "SUCCEEDED", "task_id": "3c777dbc-8cc6-4d80-aa90-xxxxxx",
         "user_api_unique_key": "apikey:v1:aigc:text2image:image-synthesis:wanx2.1-t2i-turbo"},
    ],
    "total_page": 1, "page_no": 1, "request_id": "f6756b7e-d0bb-9b74-813a-xxxxxx", "page_size": 10,
}  # fmt: skip
POLICY_BODY = {
    "request_id": "52f4383a-c67d-9f8c-xxxxxx",
    "data": {
        "policy": "eyJl...1ZSJ=",
        "signature": "eWy...=",
        "upload_dir": "dashscope-instant/xxx/2024-07-18/xxx",
        "upload_host": "https://dashscope-file-xxx.oss-cn-beijing.aliyuncs.com",
        "expire_in_seconds": 300,
        "max_file_size_mb": 100,
        "capacity_limit_mb": 999999999,
        "oss_access_key_id": "LTA...",
        "x_oss_object_acl": "private",
        "x_oss_forbid_overwrite": "true",
    },
}


def test_parse_created() -> None:
    created = parse_created(CREATED)
    assert created.task_id == "0385dc79-5ff8-4d82-bcb6-xxxxxx"
    assert created.status is TaskStatus.PENDING
    assert created.request_id == "4909100c-7b5a-9f92-bfe5-xxxxxx"


def test_parse_created_requires_a_task_id() -> None:
    with pytest.raises(MalformedResponseError):
        parse_created({"output": {"task_status": "PENDING"}, "request_id": "r"})
    with pytest.raises(MalformedResponseError):
        parse_created({"request_id": "r"})


def test_parse_succeeded() -> None:
    task = parse_task(SUCCEEDED)
    assert task.status is TaskStatus.SUCCEEDED and task.status.is_terminal
    assert task.request_id == "d1f2a1be-9c58-48af-b43f-xxxxxx"
    (image,) = task.results
    assert image.succeeded and image.index == 0
    assert image.url == "https://dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/xxx.png?Expires=xxx"
    assert image.actual_prompt is not None and image.actual_prompt.startswith("Replace the pink")
    assert image.orig_prompt is not None
    assert task.metrics is not None and (task.metrics.total, task.metrics.succeeded, task.metrics.failed) == (
        1,
        1,
        0,
    )
    assert task.usage is not None and task.usage.image_count == 1
    assert task.code is None and task.failed_images == ()
    assert "Expires" not in repr(task)  # signed result URLs are capabilities


def test_times_are_beijing_wall_clock_turned_into_aware_utc() -> None:
    task = parse_task(SUCCEEDED)
    assert task.submit_time == datetime(2025, 9, 23, 14, 14, 10, 800_000, tzinfo=UTC)
    assert task.scheduled_time == datetime(2025, 9, 23, 14, 14, 10, 825_000, tzinfo=UTC)
    assert task.end_time == datetime(2025, 9, 23, 14, 15, 23, 456_000, tzinfo=UTC)
    assert task.submit_time is not None and task.submit_time.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-09-23 22:14:10", datetime(2025, 9, 23, 14, 14, 10, tzinfo=UTC)),
        ("2025-09-23T22:14:10.800", datetime(2025, 9, 23, 14, 14, 10, 800_000, tzinfo=UTC)),
        ("2025-09-23 22:14:10.800Z", datetime(2025, 9, 23, 22, 14, 10, 800_000, tzinfo=UTC)),
        ("2025-09-23 22:14:10+00:00", datetime(2025, 9, 23, 22, 14, 10, tzinfo=UTC)),
        ("2025-01-01 07:59:59.999", datetime(2024, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
        (1745568428109, None),
    ],
)
def test_parse_server_time(raw: object, expected: datetime | None) -> None:
    assert parse_server_time(raw) == expected


def test_parse_partial_failure() -> None:
    task = parse_task(PARTIAL)
    assert task.status is TaskStatus.SUCCEEDED
    assert [image.index for image in task.succeeded_images] == [0, 1, 2]
    (failed,) = task.failed_images
    assert (failed.index, failed.code, failed.url) == (3, "DataInspectionFailed", None)
    assert failed.message == "Output data may contain inappropriate content."
    assert task.metrics is not None and task.metrics.failed == 1
    assert task.usage is not None and task.usage.image_count == 3


def test_parse_failed() -> None:
    task = parse_task(FAILED)
    assert task.status is TaskStatus.FAILED
    assert (task.code, task.message) == ("InvalidParameter", "The specified parameter is not valid.")
    assert task.results == () and task.usage is None
    assert task.metrics is not None and task.metrics.failed == 4


@pytest.mark.parametrize(
    ("body", "status", "terminal"),
    [
        (PENDING, TaskStatus.PENDING, False),
        (RUNNING, TaskStatus.RUNNING, False),
        (UNKNOWN, TaskStatus.UNKNOWN, True),
        (CANCELED, TaskStatus.CANCELED, True),
        (FAILED, TaskStatus.FAILED, True),
    ],
)
def test_parse_other_states(body: dict[str, Any], status: TaskStatus, terminal: bool) -> None:
    task = parse_task(body)
    assert task.status is status
    assert task.status.is_terminal is terminal


def test_unknown_state_has_only_id_and_status() -> None:
    task = parse_task(UNKNOWN)
    assert (task.task_id, task.submit_time, task.metrics, task.results) == (
        "502a00b1-19d9-4839-a82f-xxxxxx",
        None,
        None,
        (),
    )


def test_parsing_tolerates_extras_absent_optionals_and_unambiguous_values() -> None:
    body = {
        "request_id": "r",
        "surprise": {"nested": True},
        "output": {
            "task_id": "t",
            "task_status": "SUSPENDED",  # in the SDK's enum, not in this API's docs
            "results": [{"url": "https://x/y.png", "new_field": 1}, {"code": "X", "message": None}],
            "task_metrics": {"total": "2", "succeeded": 1.0},  # digit strings and whole floats are exact
            "submit_time": "not a time",  # informational only: unreadable times are None
        },
        "usage": {"image_count": "1"},
    }
    task = parse_task(body)
    assert task.status is TaskStatus.RUNNING  # keep polling; the caller's deadline bounds it
    assert task.reported_status == "SUSPENDED"  # so the waiting loop can warn (once)
    assert task.results[0].succeeded and not task.results[1].succeeded
    assert task.metrics is not None and (task.metrics.total, task.metrics.succeeded, task.metrics.failed) == (
        2,
        1,
        0,
    )
    assert task.usage is not None and task.usage.image_count == 1
    assert task.submit_time is None
    assert parse_task(RUNNING).reported_status is None
    # Absent optional parts stay fine: no usage, no metrics, no results while running, usage without count.
    bare = parse_task({"output": {"task_id": "t", "task_status": "RUNNING"}, "usage": {}})
    assert (bare.metrics, bare.usage, bare.results, bare.request_id) == (None, None, (), None)


def _with_output(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, "output": {**base["output"], **changes}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_with_output(SUCCEEDED, results="abc"), "output.results is 'abc' (a string), expected an array"),
        (_with_output(SUCCEEDED, results={"url": "u"}), "output.results is {'url': 'u'} (an object)"),
        (_with_output(SUCCEEDED, results=None), "SUCCEEDED task without output.results"),
        (
            _with_output(SUCCEEDED, results=["https://x/y.png"]),
            "output.results[0] is 'https://x/y.png' (a string)",
        ),
        (
            _with_output(SUCCEEDED, results=[{"url": 7}]),
            "output.results[0].url is 7 (a number), expected a string",
        ),
        (_with_output(PARTIAL, results=[{"code": ["DataInspectionFailed"]}]), "output.results[0].code is"),
        (_with_output(RUNNING, results="none yet"), "output.results is 'none yet'"),
        (
            _with_output(SUCCEEDED, task_metrics=[1, 1, 0]),
            "output.task_metrics is [1, 1, 0] (an array), expected an object",
        ),
        (_with_output(SUCCEEDED, task_metrics="TOTAL=1"), "output.task_metrics is 'TOTAL=1' (a string)"),
        (
            _with_output(SUCCEEDED, task_metrics={"TOTAL": "abc"}),
            "output.task_metrics.TOTAL is 'abc' (a string), expected an integer >= 0",
        ),
        (
            _with_output(SUCCEEDED, task_metrics={"TOTAL": 1, "SUCCEEDED": True}),
            "output.task_metrics.SUCCEEDED is True (a boolean)",
        ),
        (_with_output(SUCCEEDED, task_metrics={"TOTAL": 2.5}), "output.task_metrics.TOTAL is 2.5 (a number)"),
        (_with_output(SUCCEEDED, task_metrics={"FAILED": -1}), "output.task_metrics.FAILED is -1 (a number)"),
        ({**SUCCEEDED, "usage": "lots"}, "usage is 'lots' (a string), expected an object"),
        ({**SUCCEEDED, "usage": [1]}, "usage is [1] (an array), expected an object"),
        (
            {**SUCCEEDED, "usage": {"image_count": "lots"}},
            "usage.image_count is 'lots' (a string), expected an integer >= 0",
        ),
        ({**SUCCEEDED, "usage": {"image_count": 1.5}}, "usage.image_count is 1.5 (a number)"),
        ({**SUCCEEDED, "usage": {"image_count": {}}}, "usage.image_count is {} (an object)"),
        (_with_output(FAILED, code=500), "output.code is 500 (a number), expected a string"),
        (_with_output(FAILED, message={"text": "no"}), "output.message is {'text': 'no'} (an object)"),
        (_with_output(RUNNING, task_id=42), "output.task_id is 42 (a number), expected a string"),
        (_with_output(RUNNING, task_id=""), "the response has no output.task_id"),
        (_with_output(RUNNING, task_status=["RUNNING"]), "output.task_status is ['RUNNING'] (an array)"),
        (_with_output(RUNNING, task_status=""), "the response has no output.task_status"),
        ({"output": "RUNNING"}, "output is 'RUNNING' (a string), expected an object"),
        ({"output": [RUNNING["output"]]}, "output is [{"),
    ],
)
def test_task_answers_with_wrong_types_are_malformed(body: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedResponseError) as info:
        parse_task(body)
    assert str(info.value).startswith("get task: ")
    assert message in str(info.value)


def test_an_answer_about_another_task_is_malformed() -> None:
    asked = "7f4836cd-1c47-41b3-b3a4-000000000000"
    with pytest.raises(MalformedResponseError) as info:
        parse_task(SUCCEEDED, expected_task_id=asked)
    assert str(info.value) == (
        f"get task: asked for task {asked}, the answer is about task 7f4836cd-1c47-41b3-b3a4-xxxxxx"
    )
    assert info.value.retryable  # a mixed-up gateway may answer right next time; the budget bounds it
    assert (
        parse_task(SUCCEEDED, expected_task_id="7f4836cd-1c47-41b3-b3a4-xxxxxx").status
        is TaskStatus.SUCCEEDED
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"output": {"task_id": 12345, "task_status": "PENDING"}},
            "create: output.task_id is 12345 (a number)",
        ),
        ({"output": {"task_id": "t", "task_status": 1}}, "create: output.task_status is 1 (a number)"),
        ({"output": ["t"]}, "create: output is ['t'] (an array), expected an object"),
    ],
)
def test_create_answers_with_wrong_types_are_malformed(body: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedResponseError, match=re.escape(message)):
        parse_created(body)


def test_create_answer_with_an_undocumented_status_is_still_a_task_to_wait_on() -> None:
    created = parse_created({"output": {"task_id": "t", "task_status": "QUEUED"}, "request_id": 5})
    assert (created.task_id, created.status, created.request_id) == ("t", TaskStatus.RUNNING, None)


def _with_row(**changes: Any) -> dict[str, Any]:
    return {**LIST, "data": [{**LIST["data"][0], **changes}]}  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**LIST, "data": {"task_id": "a"}}, "list: data is {'task_id': 'a'} (an object), expected an array"),
        ({**LIST, "data": ["a"]}, "list: data[0] is 'a' (a string), expected an object"),
        (_with_row(task_id=None), "list: the response has no data[0].task_id"),
        (_with_row(task_id=7), "list: data[0].task_id is 7 (a number)"),
        (_with_row(status=None), "list: the response has no data[0].status"),
        (_with_row(status=False), "list: data[0].status is False (a boolean)"),
        (
            _with_row(gmt_create="yesterday"),
            "list: data[0].gmt_create is 'yesterday' (a string), expected epoch milliseconds",
        ),
        (_with_row(end_time=[1]), "list: data[0].end_time is [1] (an array)"),
        (_with_row(region={"id": 1}), "list: data[0].region is {'id': 1} (an object), expected a string"),
        ({**LIST, "total": "many"}, "list: total is 'many' (a string), expected an integer >= 0"),
        ({**LIST, "total_page": -1}, "list: total_page is -1 (a number)"),
        ({**LIST, "page_no": [1]}, "list: page_no is [1] (an array)"),
        ({**LIST, "page_size": True}, "list: page_size is True (a boolean)"),
    ],
)
def test_list_pages_with_wrong_types_are_malformed(body: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedResponseError, match=re.escape(message)):
        parse_task_page(body)


def test_list_row_with_an_undocumented_status_is_kept_and_flagged() -> None:
    page = parse_task_page(_with_row(status="SUSPENDED"))
    (row,) = page.items
    assert (row.status, row.reported_status) == (TaskStatus.RUNNING, "SUSPENDED")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"expire_in_seconds": "soon"},
            "upload policy: data.expire_in_seconds is 'soon' (a string), expected a number",
        ),
        ({"max_file_size_mb": [100]}, "upload policy: data.max_file_size_mb is [100] (an array)"),
        ({"capacity_limit_mb": "inf"}, "upload policy: data.capacity_limit_mb is 'inf' (a string)"),
        (
            {"upload_host": ["https://a", "https://b"]},
            "upload policy: data.upload_host is ['https://a', 'https://b']",
        ),
        ({"x_oss_object_acl": 1}, "upload policy: data.x_oss_object_acl is 1 (a number)"),
    ],
)
def test_upload_policies_with_wrong_types_are_malformed(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedResponseError, match=re.escape(message)):
        parse_upload_policy({**POLICY_BODY, "data": {**POLICY_BODY["data"], **changes}})  # type: ignore[dict-item]


def test_parse_task_requires_output() -> None:
    with pytest.raises(MalformedResponseError):
        parse_task({"request_id": "r"})
    with pytest.raises(MalformedResponseError):
        parse_task({"output": {"task_id": "t"}})


def test_parse_list() -> None:
    page = parse_task_page(LIST)
    assert (page.total, page.total_pages, page.page_no, page.page_size) == (2, 1, 1, 10)
    assert page.request_id == "f6756b7e-d0bb-9b74-813a-xxxxxx"
    assert not page.has_next
    running, done = page.items
    assert (running.task_id, running.status, running.model_name, running.region) == (
        "50e2ccea-abc4-43d7-a0dc-xxxxxx",
        TaskStatus.RUNNING,
        "wanx2.1-kf2v-plus",
        "cn-beijing",
    )
    assert running.created_time == datetime(2025, 4, 25, 8, 7, 8, 109_000, tzinfo=UTC)
    assert running.end_time is None
    assert done.status is TaskStatus.SUCCEEDED
    assert done.end_time == datetime(2025, 4, 25, 8, 5, 2, 481_000, tzinfo=UTC)


def test_parse_list_variants() -> None:
    assert parse_task_page({"request_id": "r"}).items == ()
    page = parse_task_page({"tasks": [{"task_id": "a", "status": "PENDING"}], "total": 31, "page_size": 10})
    assert (len(page.items), page.total_pages, page.has_next) == (1, 4, True)
    with pytest.raises(MalformedResponseError):
        parse_task_page({"data": "nope"})


def test_parse_upload_policy_with_numbers_or_strings() -> None:
    policy = parse_upload_policy(POLICY_BODY)
    assert (policy.expire_in_seconds, policy.max_file_size_mb, policy.capacity_limit_mb) == (
        300,
        100,
        999999999,
    )
    assert policy.upload_dir == "dashscope-instant/xxx/2024-07-18/xxx"
    assert policy.request_id == "52f4383a-c67d-9f8c-xxxxxx"
    as_strings = {
        **POLICY_BODY,
        "data": {**POLICY_BODY["data"], "expire_in_seconds": "300", "max_file_size_mb": "100"},
    }  # type: ignore[dict-item]
    again = parse_upload_policy(as_strings)
    assert (again.expire_in_seconds, again.max_file_size_mb) == (300, 100.0)
    with pytest.raises(MalformedResponseError, match="signature"):
        parse_upload_policy({"data": {**POLICY_BODY["data"], "signature": ""}})  # type: ignore[dict-item]


# -- decoding raw responses ------------------------------------------------------------------------------

GET = get_task_request("t")


def raw(body: Any) -> bytes:
    return json.dumps(body).encode()


def test_decode_ok() -> None:
    assert decode_response(GET, 200, {}, raw(RUNNING)) == RUNNING


def test_decode_error_envelope() -> None:
    body = {"code": "InvalidApiKey", "message": "Invalid API-key provided.", "request_id": "r-1"}
    with pytest.raises(AuthenticationError) as info:
        decode_response(GET, 401, {}, raw(body))
    assert info.value.request_id == "r-1"


def test_decode_business_error_with_http_200() -> None:
    body = {
        "code": "DataInspectionFailed",
        "message": "Input data may contain inappropriate content.",
        "request_id": "r",
    }
    with pytest.raises(ContentModerationError):
        decode_response(
            create_task_request(build_edit_request(prompt="p", images=["https://e/a.png"])),
            200,
            {},
            raw(body),
        )


@pytest.mark.parametrize("content", [b"<html>proxy says hi</html>", b"", b"[1, 2]", b"\xff\xfe"])
def test_decode_non_json_success_is_malformed(content: bytes) -> None:
    with pytest.raises(MalformedResponseError) as info:
        decode_response(GET, 200, {}, content)
    assert info.value.request_sent is True and info.value.retryable


def test_decode_non_json_error_uses_the_status() -> None:
    with pytest.raises(ServerError) as info:
        decode_response(GET, 502, {"Retry-After": "2"}, b"<html>Bad Gateway</html>")
    assert info.value.retry_after == 2.0 and "Bad Gateway" in info.value.message


def test_upload_answers() -> None:
    check_upload_response(200, {}, b"")
    check_upload_response(204, {}, b"")
    xml = (
        b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code>"
        b"<Message>Invalid according to Policy: Policy expired.</Message><RequestId>oss-1</RequestId></Error>"
    )
    with pytest.raises(Exception) as info:
        check_upload_response(403, {}, xml)
    err = info.value
    assert type(err).__name__ == "PermissionDeniedError"
    assert "Policy expired" in str(err) and "oss-1" in str(err) and "AccessDenied" in str(err)
    with pytest.raises(ServerError, match="upload to temporary storage failed"):
        check_upload_response(500, {}, b"oops")
