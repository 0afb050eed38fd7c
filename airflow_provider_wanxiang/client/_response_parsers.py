"""The reading side of the wire protocol: turn one HTTP answer into a typed value or the matching error.

Pure functions of the answer (status, headers, bytes), shared by both transports so they can never
disagree about what an answer means. Parsers accept absent optional fields and ignore unknown ones, because
the documented shapes vary between states and doc versions; a field that is present with the wrong type,
or an answer about another task, is a :class:`MalformedResponseError` naming the field (the typed field
readers are in :mod:`~airflow_provider_wanxiang.client._response_fields`). Server errors become the error
tree of :mod:`~airflow_provider_wanxiang.client.errors`. Import from
:mod:`~airflow_provider_wanxiang.client.protocol`, the public face of both sides.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from airflow_provider_wanxiang.client._request_builders import HttpRequest
from airflow_provider_wanxiang.client._response_fields import (
    malformed,
    optional_count,
    optional_epoch_ms,
    optional_list,
    optional_number,
    optional_object,
    optional_str,
    required_str,
)
from airflow_provider_wanxiang.client._text import server_text, shorten
from airflow_provider_wanxiang.client.error_codes import error_from_response
from airflow_provider_wanxiang.client.errors import MalformedResponseError
from airflow_provider_wanxiang.client.limits import BEIJING
from airflow_provider_wanxiang.client.models import (
    CreatedTask,
    ImageResult,
    Task,
    TaskMetrics,
    TaskPage,
    TaskStatus,
    TaskSummary,
    UploadPolicy,
    Usage,
)

__all__ = [
    "check_upload_response",
    "decode_response",
    "parse_created",
    "parse_server_time",
    "parse_task",
    "parse_task_page",
    "parse_upload_policy",
]

log = logging.getLogger(__name__)


def decode_response(
    request: HttpRequest, http_status: int, headers: Mapping[str, str], content: bytes
) -> Mapping[str, Any]:
    """Turn one HTTP response into the JSON envelope, or raise the matching :class:`WanxiangError`.

    - 2xx with a JSON object: returned, unless it carries a top-level error ``code`` and no ``output``
      (a "business error" some gateways send with 200);
    - 2xx with anything else: :class:`MalformedResponseError` (e.g. a proxy's HTML page);
    - any other status: :func:`error_from_response`, keyed on the server's ``code``.
    """
    text = content.decode("utf-8", errors="replace")
    body: Any
    try:
        body = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    if 200 <= http_status < 300:
        if not isinstance(body, Mapping):
            got = shorten(" ".join(text.split()))
            raise MalformedResponseError(
                f"{request.method} {request.path}: expected a JSON object, got {got!r}",
                http_status=http_status,
            )
        if body.get("code") and "output" not in body and "data" not in body:
            raise error_from_response(http_status, body, headers)
        return body
    raise error_from_response(http_status, body if isinstance(body, Mapping) else text, headers)


def check_upload_response(http_status: int, headers: Mapping[str, str], content: bytes) -> None:
    """Raise unless OSS accepted the form upload (200 with ``success_action_status=200``, or 204).

    OSS answers errors in XML (``<Error><Code>…</Code><Message>…</Message>``); code and message are
    extracted so that, e.g., an expired policy reads as ``[AccessDenied] … Policy expired.``.
    """
    if http_status in (200, 201, 204):
        return
    text = content.decode("utf-8", errors="replace")
    code = re.search(r"<Code>(.*?)</Code>", text, re.DOTALL)
    message = re.search(r"<Message>(.*?)</Message>", text, re.DOTALL)
    request_id = re.search(r"<RequestId>(.*?)</RequestId>", text, re.DOTALL)
    try:
        decoded = json.loads(text) if text.strip() else None
    except ValueError:
        decoded = None
    fields: dict[str, Any] = dict(decoded) if isinstance(decoded, Mapping) else {}
    if code or message:
        fields = {
            "code": code.group(1).strip() if code else None,
            "message": message.group(1).strip() if message else None,
            "request_id": request_id.group(1).strip() if request_id else None,
        }
    detail = fields.get("message") or shorten(" ".join(text.split()), 300) or f"HTTP {http_status}"
    fields["message"] = f"upload to temporary storage failed: {detail}"
    raise error_from_response(http_status, fields, headers)


def _output(body: Mapping[str, Any], what: str) -> Mapping[str, Any]:
    output = body.get("output")
    if output is None:
        raise MalformedResponseError(f"{what}: the response has no 'output' object")
    if not isinstance(output, Mapping):
        raise malformed(what, "output", output, "an object")
    return output


def _request_id(body: Mapping[str, Any]) -> str | None:
    """The envelope's ``request_id``; one of another type is dropped rather than failing a good answer
    (it is only quoted to support)."""
    value = body.get("request_id")
    return value if isinstance(value, str) and value else None


def _status(value: object, what: str, field: str) -> tuple[TaskStatus, str | None]:
    """The status and, for a status the API does not document, the raw value.

    An undocumented string (``SUSPENDED`` is in the SDK's enum but not in this API's docs) is read as
    RUNNING: polling continues and the caller's deadline bounds the wait, rather than misreporting an
    outcome. The raw value travels back (``reported_status``) so that the waiting loop, not this pure
    parser, warns about it once per wait (see :class:`~airflow_provider_wanxiang.polling.PollSchedule`).
    """
    if value is None or value == "":
        raise MalformedResponseError(f"{what}: the response has no {field}")
    if not isinstance(value, str):
        raise malformed(what, field, value, "a task status string")
    try:
        return TaskStatus(value), None
    except ValueError:
        return TaskStatus.RUNNING, value


def parse_server_time(value: object) -> datetime | None:
    """Parse a task time (``YYYY-MM-DD HH:mm:ss.SSS``, Beijing time, no marker) into an aware UTC datetime.

    An explicit offset or ``Z``, should the server ever add one, is respected. Unparseable → ``None``.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        log.debug("Unparseable server time %r", value)
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BEIJING)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01 00:00 in Beijing is before year 1 in UTC
        log.debug("Server time %r out of range in UTC", value)
        return None


def parse_created(body: Mapping[str, Any]) -> CreatedTask:
    """Parse the create answer ``{"output": {"task_id", "task_status"}, "request_id"}``."""
    output = _output(body, "create")
    task_id = required_str(output, "task_id", "create", "output.")
    raw_status = output.get("task_status")
    status = TaskStatus.PENDING
    if raw_status is not None:
        status, _ = _status(raw_status, "create", "output.task_status")
    return CreatedTask(task_id=task_id, status=status, request_id=_request_id(body))


def _parse_result(index: int, item: object, what: str) -> ImageResult:
    path = f"output.results[{index}]."
    if not isinstance(item, Mapping):
        raise malformed(what, path[:-1], item, "an object (one per requested image)")
    return ImageResult(
        index=index,
        url=optional_str(item, "url", what, path),
        orig_prompt=optional_str(item, "orig_prompt", what, path),
        actual_prompt=optional_str(item, "actual_prompt", what, path),
        code=server_text(optional_str(item, "code", what, path), 100),
        message=server_text(optional_str(item, "message", what, path)),
    )


def _parse_metrics(output: Mapping[str, Any], what: str) -> TaskMetrics | None:
    raw = optional_object(output, "task_metrics", what, "output.")
    if raw is None:
        return None
    upper = {str(key).upper(): value for key, value in raw.items()}
    counts = [
        optional_count(upper, name, what, "output.task_metrics.") or 0
        for name in ("TOTAL", "SUCCEEDED", "FAILED")
    ]
    return TaskMetrics(total=counts[0], succeeded=counts[1], failed=counts[2])


def _parse_usage(body: Mapping[str, Any], what: str) -> Usage | None:
    usage = optional_object(body, "usage", what, "")
    if usage is None:
        return None
    image_count = optional_count(usage, "image_count", what, "usage.")
    return None if image_count is None else Usage(image_count=image_count)


def parse_task(body: Mapping[str, Any], expected_task_id: str | None = None) -> Task:
    """Parse ``GET /tasks/{id}`` in any state (PENDING, RUNNING, SUCCEEDED with partial failures, FAILED,
    CANCELED, UNKNOWN).

    :param expected_task_id: the id that was asked for; an answer about another task (a caching proxy, a
        mixed-up gateway) is a :class:`MalformedResponseError`, never read as this task's outcome.
    """
    what = "get task"
    output = _output(body, what)
    task_id = required_str(output, "task_id", what, "output.")
    if expected_task_id is not None and task_id != expected_task_id:
        raise MalformedResponseError(
            f"{what}: asked for task {shorten(expected_task_id)}, the answer is about task {shorten(task_id)}"
        )
    status, reported_status = _status(output.get("task_status"), what, "output.task_status")
    raw_results = optional_list(output, "results", what, "output.")
    if raw_results is None and status is TaskStatus.SUCCEEDED:
        raise MalformedResponseError(f"{what}: a SUCCEEDED task without output.results")
    results = tuple(_parse_result(index, item, what) for index, item in enumerate(raw_results or ()))
    return Task(
        task_id=task_id,
        status=status,
        submit_time=parse_server_time(output.get("submit_time")),
        scheduled_time=parse_server_time(output.get("scheduled_time")),
        end_time=parse_server_time(output.get("end_time")),
        results=results,
        metrics=_parse_metrics(output, what),
        usage=_parse_usage(body, what),
        code=server_text(optional_str(output, "code", what, "output."), 100),
        message=server_text(optional_str(output, "message", what, "output.")),
        request_id=_request_id(body),
        reported_status=reported_status,
    )


def _epoch_ms(item: Mapping[str, Any], key: str, path: str) -> datetime | None:
    millis = optional_epoch_ms(item, key, "list", path)
    if millis is None:
        return None
    try:
        return datetime.fromtimestamp(millis / 1000.0, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise malformed("list", f"{path}{key}", millis, "epoch milliseconds in range") from None


def _parse_summary(index: int, item: object) -> TaskSummary:
    path = f"data[{index}]."
    if not isinstance(item, Mapping):
        raise malformed("list", path[:-1], item, "an object")
    raw_status = item.get("status")
    if raw_status is None:
        raw_status = item.get("task_status")
    status, reported_status = _status(raw_status, "list", f"{path}status")
    return TaskSummary(
        task_id=required_str(item, "task_id", "list", path),
        status=status,
        model_name=optional_str(item, "model_name", "list", path),
        region=optional_str(item, "region", "list", path),
        request_id=optional_str(item, "request_id", "list", path),
        created_time=_epoch_ms(item, "gmt_create", path),
        start_time=_epoch_ms(item, "start_time", path),
        end_time=_epoch_ms(item, "end_time", path),
        reported_status=reported_status,
    )


def parse_task_page(body: Mapping[str, Any]) -> TaskPage:
    """Parse ``GET /tasks``: the documented ``data`` array (SDK v2 expects ``tasks``; both are read)."""
    key = "data" if body.get("data") is not None else "tasks"
    raw_items = optional_list(body, key, "list", "")
    items = tuple(_parse_summary(index, item) for index, item in enumerate(raw_items or ()))
    page_size = optional_count(body, "page_size", "list", "") or max(len(items), 1)
    total = optional_count(body, "total", "list", "")
    total = len(items) if total is None else total
    total_pages = optional_count(body, "total_page", "list", "")
    if total_pages is None:
        total_pages = -(-total // page_size)
    return TaskPage(
        items=items,
        total=total,
        total_pages=total_pages,
        page_no=optional_count(body, "page_no", "list", "") or 1,
        page_size=page_size,
        request_id=_request_id(body),
    )


def parse_upload_policy(body: Mapping[str, Any]) -> UploadPolicy:
    """Parse ``GET /uploads?action=getPolicy`` (numbers may arrive as strings; the doc types them so)."""
    what = "upload policy"
    data = body.get("data")
    if not isinstance(data, Mapping):
        raise MalformedResponseError("upload policy: the response has no 'data' object")
    required = ("upload_host", "upload_dir", "policy", "signature", "oss_access_key_id")
    missing = [name for name in required if not data.get(name)]
    if missing:
        raise MalformedResponseError(f"upload policy: missing {', '.join(missing)}")
    return UploadPolicy(
        upload_host=required_str(data, "upload_host", what, "data."),
        upload_dir=required_str(data, "upload_dir", what, "data."),
        policy=required_str(data, "policy", what, "data."),
        signature=required_str(data, "signature", what, "data."),
        oss_access_key_id=required_str(data, "oss_access_key_id", what, "data."),
        expire_in_seconds=_whole(optional_number(data, "expire_in_seconds", what, "data.")),
        max_file_size_mb=optional_number(data, "max_file_size_mb", what, "data."),
        capacity_limit_mb=optional_number(data, "capacity_limit_mb", what, "data."),
        x_oss_object_acl=optional_str(data, "x_oss_object_acl", what, "data.") or "private",
        x_oss_forbid_overwrite=optional_str(data, "x_oss_forbid_overwrite", what, "data.") or "true",
        request_id=_request_id(body),
    )


def _whole(number: float | None) -> int | None:
    return None if number is None else int(number)
