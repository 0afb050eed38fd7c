"""Request builders (``client._request_builders``): each API call as the reference specifies it, built from
checked values and carrying no credentials until ``send_headers``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_wanxiang.client import (
    ListTasksQuery,
    TaskStatus,
    UploadPolicy,
    WanxiangValidationError,
    build_edit_request,
    cancel_task_request,
    create_task_request,
    get_task_request,
    list_tasks_request,
    upload_policy_request,
)
from airflow_provider_wanxiang.client._request_builders import (
    encode_json,
    send_headers,
    upload_file_request,
)

UTC = UTC


def test_create_request_matches_the_reference_fusion_example() -> None:
    req = build_edit_request(
        prompt="Place the alarm clock from Image 1 next to the vase on the dining table in Image 2.",
        images=["https://example.com/1.webp", "https://example.com/2.webp"],
        negative_prompt="low resolution, error, worst quality",
        n=1,
        size="1280*1280",
        seed=12345,
        prompt_extend=True,
        watermark=False,
    )
    http = create_task_request(req)
    assert (http.kind, http.method, http.path, http.idempotent) == (
        "create",
        "POST",
        "/services/aigc/image2image/image-synthesis",
        False,
    )
    assert http.headers["X-DashScope-Async"] == "enable"
    assert http.headers["Content-Type"] == "application/json"
    assert "X-DashScope-OssResourceResolve" not in http.headers
    assert "Authorization" not in http.headers
    assert http.json == {
        "model": "wan2.5-i2i-preview",
        "input": {
            "prompt": "Place the alarm clock from Image 1 next to the vase on the dining table in Image 2.",
            "images": ["https://example.com/1.webp", "https://example.com/2.webp"],
            "negative_prompt": "low resolution, error, worst quality",
        },
        "parameters": {"size": "1280*1280", "n": 1, "seed": 12345, "prompt_extend": True, "watermark": False},
    }
    assert http.url("http://127.0.0.1:8765/api/v1/") == (
        "http://127.0.0.1:8765/api/v1/services/aigc/image2image/image-synthesis"
    )


def test_create_omits_unset_optionals_and_flags_oss_inputs() -> None:
    req = build_edit_request(prompt="p", images=["oss://dashscope-instant/a/b.png"])
    http = create_task_request(req)
    assert http.json == {
        "model": "wan2.5-i2i-preview",
        "input": {"prompt": "p", "images": ["oss://dashscope-instant/a/b.png"]},
        "parameters": {"n": 1, "prompt_extend": True, "watermark": False},
    }
    assert http.headers["X-DashScope-OssResourceResolve"] == "enable"


def test_request_repr_hides_the_body() -> None:
    req = build_edit_request(prompt="p", images=["https://example.com/secret-signed-url.png?sig=abc"])
    assert "secret-signed-url" not in repr(create_task_request(req))
    assert "secret-signed-url" not in repr(req)


def test_body_is_utf8_json_keeping_non_ascii() -> None:
    http = create_task_request(build_edit_request(prompt="把裙子换成蓝色", images=["https://e.com/a.png"]))
    raw = encode_json(http)
    assert raw is not None and "把裙子换成蓝色".encode() in raw
    assert json.loads(raw) == http.json
    assert encode_json(get_task_request("t")) is None


def test_task_requests() -> None:
    get = get_task_request("86ecf553-d340-4e21-af6e-a1b2c3")
    assert (get.method, get.path, get.idempotent, get.kind) == (
        "GET",
        "/tasks/86ecf553-d340-4e21-af6e-a1b2c3",
        True,
        "get",
    )
    cancel = cancel_task_request("abc")
    assert (cancel.method, cancel.path, cancel.idempotent, cancel.kind, cancel.json) == (
        "POST",
        "/tasks/abc/cancel",
        True,
        "cancel",
        None,
    )


def test_list_request_defaults_and_filters() -> None:
    assert list_tasks_request().params == (("page_no", "1"), ("page_size", "10"))
    start = datetime(2025, 4, 25, 4, 0, 0, tzinfo=UTC)  # 12:00 in Beijing
    http = list_tasks_request(
        start_time=start,
        end_time=start + timedelta(hours=24),
        status=TaskStatus.SUCCEEDED,
        page_no=2,
        page_size=50,
        model_name="wan2.5-i2i-preview",
    )
    assert (http.method, http.path, http.kind, http.idempotent) == ("GET", "/tasks", "list", True)
    assert dict(http.params) == {
        "start_time": "20250425120000",
        "end_time": "20250426120000",
        "status": "SUCCEEDED",
        "page_no": "2",
        "page_size": "50",
        "model_name": "wan2.5-i2i-preview",
    }
    assert dict(list_tasks_request(start_time="20250425120000", status="FAILED").params)["start_time"] == (
        "20250425120000"
    )


def test_upload_policy_request() -> None:
    http = upload_policy_request("wan2.5-i2i-preview")
    assert (http.method, http.path, http.idempotent, http.kind) == ("GET", "/uploads", True, "upload_policy")
    assert http.params == (("action", "getPolicy"), ("model", "wan2.5-i2i-preview"))


POLICY = UploadPolicy(
    upload_host="https://dashscope-file-xxx.oss-cn-beijing.aliyuncs.com",
    upload_dir="dashscope-instant/xxx/2024-07-18/xxx",
    policy="eyJl...1ZSJ=",
    signature="eWy...=",
    oss_access_key_id="LTA-secret-ish",
    max_file_size_mb=1,
)


def test_upload_form_follows_the_reference_order_with_the_file_last() -> None:
    upload = upload_file_request(POLICY, b"\x89PNG....", "cat.png")
    assert upload.url == POLICY.upload_host
    assert [name for name, _ in upload.fields] == [
        "OSSAccessKeyId",
        "Signature",
        "policy",
        "key",
        "x-oss-object-acl",
        "x-oss-forbid-overwrite",
        "success_action_status",
        "x-oss-content-type",
    ]
    fields = dict(upload.fields)
    assert fields["key"] == "dashscope-instant/xxx/2024-07-18/xxx/cat.png"
    assert fields["success_action_status"] == "200"
    assert fields["x-oss-content-type"] == "image/png"
    assert upload.oss_url == "oss://dashscope-instant/xxx/2024-07-18/xxx/cat.png"
    assert not upload.idempotent
    assert "LTA-secret-ish" not in repr(upload) and "eWy" not in repr(upload) and "LTA" not in repr(POLICY)


def test_send_headers_add_auth_user_agent_and_workspace() -> None:
    http = get_task_request("t")
    headers = send_headers(http, api_key="sk-1", user_agent="ua/1", workspace_id="ws-1")
    assert headers["Authorization"] == "Bearer sk-1"
    assert headers["User-Agent"] == "ua/1"
    assert headers["X-DashScope-WorkSpace"] == "ws-1"
    assert "Authorization" not in http.headers  # the request itself stays credential-free
    assert "X-DashScope-WorkSpace" not in send_headers(http, api_key="k", user_agent="u")


def test_list_request_from_a_query_object_matches_the_keyword_form() -> None:
    start = datetime(2025, 4, 25, 4, 0, 0, tzinfo=UTC)
    query = ListTasksQuery(start_time=start, status=TaskStatus.FAILED, page_size=5)
    assert list_tasks_request(query) == list_tasks_request(start_time=start, status="FAILED", page_size=5)
    assert dict(list_tasks_request(query).params) == {
        "start_time": "20250425120000",
        "status": "FAILED",
        "page_no": "1",
        "page_size": "5",
    }


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((ListTasksQuery(),), {"page_size": 1}),  # both forms at once: which wins?
        ((datetime(2025, 1, 1, tzinfo=UTC),), {}),  # the old positional start_time
    ],
)
def test_list_request_takes_a_query_or_keywords_not_both(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(TypeError, match="ListTasksQuery or keyword filters"):
        list_tasks_request(*args, **kwargs)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: get_task_request("a/b"), "task_id"),
        (lambda: cancel_task_request(".."), "task_id"),
        (lambda: list_tasks_request(page_size=0), "page_size"),
        (lambda: upload_policy_request(""), "model"),
        (lambda: upload_file_request(POLICY, b"x", "a/b.png"), "filename"),
        (lambda: upload_file_request(POLICY, b"x" * (1024 * 1024 + 1), "big.png"), "data"),
    ],
)
def test_builders_refuse_bad_input_through_the_validation_module(build: Any, field: str) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        build()
    assert info.value.field == field


def test_requests_name_themselves_without_host_or_body() -> None:
    assert get_task_request("t1").where == "GET /tasks/t1"
    assert upload_file_request(POLICY, b"x", "a.png").where == "upload"
