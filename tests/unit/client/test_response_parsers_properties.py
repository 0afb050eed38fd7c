"""Property-based tests of the response parser (``client._response_parsers``, ``_response_fields``,
``protocol``): whatever bytes a server, a gateway or a broken network hands us, reading them ends in a
valid model or a :class:`WanxiangError` that says what was wrong, never another exception and never a hang.

The example-based tests (``test_response_parsers.py``) pin what each documented shape means; these ones
throw what nobody wrote down at the same entry points: truncated bodies, fields dropped or added, values of
the wrong JSON type, statuses the API does not document, and megabyte strings. Each answer goes through the
same path the transports use (:func:`decode_response` then the parser for its kind), so a crash here is a
crash a trigger or a worker would have had.

Hypothesis' per-example deadline is off (a loaded 2-core CI box makes wall-clock limits noisy); a hang is
caught by the test's pytest timeout instead, and huge inputs are bounded by counting characters of the
resulting error message, not by timing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_wanxiang.client import (
    MalformedResponseError,
    TaskStatus,
    WanxiangError,
)
from airflow_provider_wanxiang.client.models import CreatedTask, Task, TaskPage, UploadPolicy
from airflow_provider_wanxiang.client.protocol import (
    HttpRequest,
    check_upload_response,
    decode_response,
    get_task_request,
    list_tasks_request,
    parse_created,
    parse_server_time,
    parse_task,
    parse_task_page,
    parse_upload_policy,
    upload_policy_request,
)

pytestmark = pytest.mark.timeout(240)

PROPERTIES = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example, HealthCheck.data_too_large],
)

TASK_ID = "0385dc79-5ff8-4d82-bcb6-000000000001"
#: Longest message any error may carry however big the answer was: server text is cut to 500 characters
#: (``MAX_SERVER_TEXT_CHARS``), quoted values to 80, and a message quotes at most a few of them.
MAX_ERROR_CHARS = 2_000
DOCUMENTED = [status.value for status in TaskStatus]

CREATE_REQUEST = HttpRequest(
    kind="create", method="POST", path="/services/aigc/image2image/image-synthesis", idempotent=False
)
GET_REQUEST = get_task_request(TASK_ID)
LIST_REQUEST = list_tasks_request()
POLICY_REQUEST = upload_policy_request("wan2.5-i2i-preview")


def _parse_get(body: Mapping[str, Any]) -> Task:
    return parse_task(body, TASK_ID)


#: Each answer kind: the request it answers, its parser, the model it yields.
KINDS: dict[str, tuple[HttpRequest, Callable[[Mapping[str, Any]], object], type]] = {
    "create": (CREATE_REQUEST, parse_created, CreatedTask),
    "get": (GET_REQUEST, _parse_get, Task),
    "list": (LIST_REQUEST, parse_task_page, TaskPage),
    "upload_policy": (POLICY_REQUEST, parse_upload_policy, UploadPolicy),
}


def read(kind: str, http_status: int, headers: Mapping[str, str], content: bytes) -> object:
    """What a transport does with one answer: the envelope (or the server's error), then the parser."""
    request, parser, _ = KINDS[kind]
    return parser(decode_response(request, http_status, headers, content))


def outcome(kind: str, http_status: int, headers: Mapping[str, str], content: bytes) -> object:
    """The model, or the WanxiangError raised; any other exception escapes and fails the test.

    Every error must also be loggable and bounded: ``str()`` works and stays short whatever arrived.
    """
    try:
        value = read(kind, http_status, headers, content)
    except WanxiangError as err:
        text = str(err)
        assert len(text) <= MAX_ERROR_CHARS, f"error message of {len(text):,} chars: {text[:300]}..."
        assert err.retry_after is None or (err.retry_after >= 0 and not math.isnan(err.retry_after))
        return err
    assert isinstance(value, KINDS[kind][2])
    return value


# -- strategies -------------------------------------------------------------------------------------------

#: Any JSON value, including deep nesting, huge numbers and non-ASCII text.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
#: Values of every JSON type but the one a field must have.
not_a_string = json_values.filter(lambda value: not isinstance(value, str))
not_a_list = json_values.filter(lambda value: not isinstance(value, list))
not_an_object = json_values.filter(lambda value: not isinstance(value, dict))
huge_strings = st.builds(
    lambda char, size: char * size,
    st.sampled_from(["a", "9", "é", " ", "\n", "<", "中"]),
    st.integers(min_value=10_000, max_value=2_000_000),
)
statuses = st.sampled_from(DOCUMENTED) | st.text(min_size=1, max_size=30)
task_times = (
    st.none()
    | st.text(max_size=30)
    | st.datetimes().map(lambda d: d.isoformat(sep=" "))
    # The edges of the calendar: in Beijing time, year 1 at midnight is before year 1 in UTC.
    | st.sampled_from(["0001-01-01 00:00:00", "0001-01-01 07:59:59.999", "9999-12-31 23:59:59Z"])
)
counts = st.integers(min_value=0, max_value=10**6)


@st.composite
def results(draw: st.DrawFn) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if draw(st.booleans()):
        item["url"] = draw(st.text(min_size=1, max_size=60))
    else:
        item["code"] = draw(st.sampled_from(["DataInspectionFailed", "InternalError"]))
        item["message"] = draw(st.text(max_size=60))
    return item


@st.composite
def task_answers(draw: st.DrawFn) -> dict[str, Any]:
    """A ``GET /tasks/{id}`` answer of the documented shape, in any state (optional fields come and go)."""
    status = draw(st.sampled_from(DOCUMENTED))
    output: dict[str, Any] = {"task_id": TASK_ID, "task_status": status}
    for key in ("submit_time", "scheduled_time", "end_time"):
        if draw(st.booleans()):
            output[key] = draw(task_times)
    if status == "SUCCEEDED" or draw(st.booleans()):
        output["results"] = draw(st.lists(results(), max_size=4))
    if draw(st.booleans()):
        output["task_metrics"] = {"TOTAL": draw(counts), "SUCCEEDED": draw(counts), "FAILED": draw(counts)}
    if status == "FAILED":
        output["code"] = draw(st.text(min_size=1, max_size=20))
        output["message"] = draw(st.text(max_size=60))
    body: dict[str, Any] = {"request_id": draw(st.text(max_size=36)), "output": output}
    if draw(st.booleans()):
        body["usage"] = {"image_count": draw(counts)}
    return body


@st.composite
def create_answers(draw: st.DrawFn) -> dict[str, Any]:
    output = {"task_id": draw(st.text(min_size=1, max_size=60).filter(str.strip))}
    if draw(st.booleans()):
        output["task_status"] = draw(st.sampled_from(DOCUMENTED))
    return {"request_id": draw(st.text(max_size=36)), "output": output}


@st.composite
def list_answers(draw: st.DrawFn) -> dict[str, Any]:
    items = []
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        item: dict[str, Any] = {
            "task_id": draw(st.text(min_size=1, max_size=40)),
            draw(st.sampled_from(["status", "task_status"])): draw(st.sampled_from(DOCUMENTED)),
        }
        for key in ("gmt_create", "start_time", "end_time"):
            if draw(st.booleans()):
                item[key] = draw(st.integers(min_value=0, max_value=4_102_444_800_000))
        items.append(item)
    body: dict[str, Any] = {draw(st.sampled_from(["data", "tasks"])): items}
    for key in ("total", "total_page", "page_no", "page_size"):
        if draw(st.booleans()):
            body[key] = draw(counts | counts.map(str))
    return body


@st.composite
def policy_answers(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {
        name: draw(st.text(min_size=1, max_size=30).filter(str.strip))
        for name in ("upload_host", "upload_dir", "policy", "signature", "oss_access_key_id")
    }
    for key in ("expire_in_seconds", "max_file_size_mb", "capacity_limit_mb"):
        if draw(st.booleans()):
            data[key] = draw(counts | counts.map(str))
    return {"request_id": "r", "data": data}


ANSWERS = {
    "create": create_answers(),
    "get": task_answers(),
    "list": list_answers(),
    "upload_policy": policy_answers(),
}


@st.composite
def kind_and_answer(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(sorted(ANSWERS)))
    return kind, draw(ANSWERS[kind])


def encode(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def paths(value: object, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a JSON document (dict keys and list indexes), deepest last."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            found.append((*prefix, key))
            found.extend(paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.append((*prefix, index))
            found.extend(paths(child, (*prefix, index)))
    return found


def replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A deep copy of ``document`` with the value at ``path`` replaced (or removed if ``new`` is DROP)."""
    copy = json.loads(json.dumps(document))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    if new is DROP:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return copy


DROP = object()


# -- properties -------------------------------------------------------------------------------------------


@PROPERTIES
@given(kind_and_answer())
def test_documented_answers_parse_into_their_model(case: tuple[str, dict[str, Any]]) -> None:
    """The generator is right: well-formed answers (any state, optional fields present or not) parse."""
    kind, body = case
    value = read(kind, 200, {}, encode(body))
    assert isinstance(value, KINDS[kind][2])
    if kind == "get":
        assert isinstance(value, Task)
        assert value.task_id == TASK_ID
        assert value.status.value == body["output"]["task_status"]
        assert len(value.results) == len(body["output"].get("results", []))


@PROPERTIES
@given(kind_and_answer(), st.data())
def test_a_truncated_answer_is_a_malformed_response(
    case: tuple[str, dict[str, Any]], data: st.DataObject
) -> None:
    """A body cut anywhere (a connection closed mid-answer, a proxy's size limit) is never read as data."""
    kind, body = case
    content = encode(body)
    cut = data.draw(st.integers(min_value=0, max_value=len(content) - 1), label="cut")
    with pytest.raises(MalformedResponseError) as caught:
        read(kind, 200, {}, content[:cut])
    assert len(str(caught.value)) <= MAX_ERROR_CHARS


@PROPERTIES
@given(kind_and_answer(), st.data())
def test_dropping_any_field_gives_a_model_or_a_clear_error(
    case: tuple[str, dict[str, Any]], data: st.DataObject
) -> None:
    kind, body = case
    path = data.draw(st.sampled_from(paths(body)), label="dropped")
    result = outcome(kind, 200, {}, encode(replaced(body, path, DROP)))
    if isinstance(result, WanxiangError):
        assert isinstance(result, MalformedResponseError)


@PROPERTIES
@given(kind_and_answer(), st.data())
def test_extra_fields_anywhere_are_ignored(case: tuple[str, dict[str, Any]], data: st.DataObject) -> None:
    """Unknown keys (a newer API version, a gateway's annotations) never change nor break the reading."""
    kind, body = case
    objects = [()] + [p for p in paths(body) if isinstance(_at(body, p), dict)]
    where = data.draw(st.sampled_from(objects), label="object")
    known = set(_at(body, where))
    key = data.draw(
        st.text(min_size=1, max_size=20).filter(lambda k: k not in known and k.upper() not in _UPPER_KEYS),
        label="key",
    )
    extended = replaced(body, (*where, key), data.draw(json_values, label="value"))
    assert read(kind, 200, {}, encode(extended)) == read(kind, 200, {}, encode(body))


#: Every key a parser reads: an "extra" field must not be one of them, or it would not be extra.
_KEYS = {
    "output",
    "data",
    "tasks",
    "request_id",
    "usage",
    "code",
    "message",
    "msg",
    "task_id",
    "task_status",
    "status",
    "results",
    "task_metrics",
    "submit_time",
    "scheduled_time",
    "end_time",
    "url",
    "orig_prompt",
    "actual_prompt",
    "image_count",
    "total",
    "total_page",
    "page_no",
    "page_size",
    "gmt_create",
    "start_time",
    "model_name",
    "region",
    "upload_host",
    "upload_dir",
    "policy",
    "signature",
    "oss_access_key_id",
    "expire_in_seconds",
    "max_file_size_mb",
    "capacity_limit_mb",
    "x_oss_object_acl",
    "x_oss_forbid_overwrite",
    "TOTAL",
    "SUCCEEDED",
    "FAILED",
}


_UPPER_KEYS = {key.upper() for key in _KEYS}


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


@PROPERTIES
@given(kind_and_answer(), st.data())
def test_any_value_of_any_type_anywhere_gives_a_model_or_a_clear_error(
    case: tuple[str, dict[str, Any]], data: st.DataObject
) -> None:
    kind, body = case
    path = data.draw(st.sampled_from(paths(body)), label="path")
    new = data.draw(json_values | huge_strings, label="new value")
    result = outcome(kind, 200, {}, encode(replaced(body, path, new)))
    if isinstance(result, WanxiangError):
        assert isinstance(result, MalformedResponseError)


#: The fields of a task answer that must have one JSON type, and the name the error must quote.
TYPED_TASK_FIELDS: list[tuple[tuple[Any, ...], st.SearchStrategy[Any], str]] = [
    (("output",), not_an_object, "output"),
    (("output", "task_id"), not_a_string.filter(lambda v: v is not None), "output.task_id"),
    (("output", "task_status"), not_a_string.filter(lambda v: v is not None), "output.task_status"),
    (("output", "results"), not_a_list.filter(lambda v: v is not None), "output.results"),
    (("output", "task_metrics"), not_an_object.filter(lambda v: v is not None), "output.task_metrics"),
    (("output", "code"), not_a_string.filter(lambda v: v not in (None, "")), "output.code"),
    (("usage",), not_an_object.filter(lambda v: v is not None), "usage"),
]


@PROPERTIES
@given(task_answers(), st.sampled_from(TYPED_TASK_FIELDS), st.data())
def test_a_wrong_type_in_a_task_answer_names_the_field(
    body: dict[str, Any], field: tuple[tuple[Any, ...], st.SearchStrategy[Any], str], data: st.DataObject
) -> None:
    path, wrong, name = field
    value = data.draw(wrong, label=name)
    with pytest.raises(MalformedResponseError) as caught:
        read("get", 200, {}, encode(replaced(body, path, value)))
    assert name in str(caught.value)


@PROPERTIES
@given(task_answers(), st.text(min_size=1, max_size=200).filter(lambda s: s not in DOCUMENTED))
def test_an_unknown_status_keeps_polling_and_travels_back_raw(body: dict[str, Any], status: str) -> None:
    """An undocumented status is RUNNING (the caller's deadline bounds the wait) with the raw value kept."""
    body["output"]["task_status"] = status
    task = read("get", 200, {}, encode(body))
    assert isinstance(task, Task)
    assert task.status is TaskStatus.RUNNING
    assert task.reported_status == status


@PROPERTIES
@given(st.sampled_from(sorted(KINDS)), st.binary(max_size=2_000) | huge_strings.map(str.encode))
def test_arbitrary_bytes_with_200_are_a_malformed_response_or_a_model(kind: str, content: bytes) -> None:
    result = outcome(kind, 200, {}, content)
    if isinstance(result, WanxiangError):
        assert result.http_status in (200, None)


@PROPERTIES
@given(
    st.sampled_from(sorted(KINDS)),
    st.integers(min_value=100, max_value=599).filter(lambda s: not 200 <= s < 300),
    st.dictionaries(
        st.sampled_from(["Retry-After", "retry-after-ms", "X-Request-Id", "Location", "Content-Type"]),
        st.text(max_size=40)
        | st.sampled_from(["1e999", "-5", "nan", "inf", "Wed, 21 Oct 2015 07:28:00 GMT"]),
    ),
    st.one_of(json_values.map(encode), st.binary(max_size=500), huge_strings.map(str.encode)),
)
def test_an_error_status_is_always_a_wanxiang_error(
    kind: str, status: int, headers: dict[str, str], content: bytes
) -> None:
    """Whatever the body of a non-2xx answer (JSON of any shape, HTML, bytes, megabytes), a bounded error."""
    result = outcome(kind, status, headers, content)
    assert isinstance(result, WanxiangError)
    assert result.http_status == status


@PROPERTIES
@given(
    st.integers(min_value=100, max_value=599),
    st.binary(max_size=500)
    | huge_strings.map(str.encode)
    | st.text(max_size=200).map(lambda t: f"<Error><Code>{t}</Code><Message>{t}</Message></Error>".encode()),
)
def test_an_upload_answer_is_accepted_or_a_wanxiang_error(status: int, content: bytes) -> None:
    try:
        check_upload_response(status, {}, content)
    except WanxiangError as err:
        assert status not in (200, 201, 204)
        assert len(str(err)) <= MAX_ERROR_CHARS
    else:
        assert status in (200, 201, 204)


@PROPERTIES
@given(task_times | json_values | huge_strings)
def test_a_server_time_is_an_aware_datetime_or_none(value: object) -> None:
    """Task times are informative: any value, even a year-1 date that overflows in UTC, reads or is None."""
    parsed = parse_server_time(value)
    assert parsed is None or parsed.utcoffset() is not None


@PROPERTIES
@given(st.sampled_from(["total", "total_page", "page_no", "page_size"]), st.integers(4_301, 20_000))
def test_a_count_of_thousands_of_digits_is_a_clear_error(key: str, digits: int) -> None:
    """Python refuses int() of > 4,300 digits with a ValueError; the field reader must say which field."""
    with pytest.raises(MalformedResponseError) as caught:
        read("list", 200, {}, encode({"data": [], key: "7" * digits}))
    assert key in str(caught.value)
