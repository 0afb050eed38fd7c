"""The DashScope wire protocol without I/O: build requests, interpret responses.

Both transports (``requests`` for workers, ``aiohttp`` for triggers) only move bytes. What to send and
how to read the answer is decided here, once, so the two can never disagree about a header, a path or the
meaning of a status code. Everything in this module is a pure function of its arguments.

Request builders return an :class:`HttpRequest` (or :class:`UploadRequest` for the OSS form upload) that
carries no credentials; :func:`send_headers` adds the ``Authorization`` header at the last moment.
Parsers accept absent optional fields and ignore unknown ones, because the documented shapes vary between
states and doc versions; a field that is present with the wrong type, or an answer about another task, is a
:class:`MalformedResponseError` naming the field (see :mod:`~airflow_provider_wanxiang.client.wire_fields`).
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Final, Literal
from urllib.parse import quote

from airflow_provider_wanxiang.client.errors import (
    MalformedResponseError,
    WanxiangValidationError,
    error_from_response,
    server_text,
    shorten,
)
from airflow_provider_wanxiang.client.models import (
    CreatedTask,
    EditRequest,
    ImageResult,
    Task,
    TaskMetrics,
    TaskPage,
    TaskStatus,
    TaskSummary,
    UploadPolicy,
    Usage,
)
from airflow_provider_wanxiang.client.wire_fields import (
    malformed,
    optional_count,
    optional_epoch_ms,
    optional_list,
    optional_number,
    optional_object,
    optional_str,
    required_str,
)

__all__ = [
    "BEIJING",
    "CREATE_PATH",
    "HttpRequest",
    "RequestKind",
    "UploadRequest",
    "cancel_task_request",
    "check_upload_response",
    "create_task_request",
    "decode_response",
    "edit_request_body",
    "encode_json",
    "get_task_request",
    "list_tasks_request",
    "parse_created",
    "parse_server_time",
    "parse_task",
    "parse_task_page",
    "parse_upload_policy",
    "send_headers",
    "upload_file_request",
    "upload_policy_request",
    "validate_task_id",
]

log = logging.getLogger(__name__)

RequestKind = Literal["create", "get", "cancel", "list", "upload_policy", "upload"]

CREATE_PATH: Final = "/services/aigc/image2image/image-synthesis"
BEIJING: Final = timezone(timedelta(hours=8), "UTC+08:00")
"""The server's clock: task times are Beijing time without a zone marker."""
_MAX_LIST_WINDOW = timedelta(hours=24)
_LIST_TIME_FORMAT = "%Y%m%d%H%M%S"
_JSON_HEADERS: Final = {"Accept": "application/json"}
_UNSAFE_TASK_ID = re.compile(r"[/\\?#%\s\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One API call, described without credentials.

    :param kind: Which operation, for logs and for the retry policy.
    :param method: HTTP method.
    :param path: Path relative to the base URL (which ends in ``/api/v1``).
    :param params: Query parameters, in order.
    :param json: JSON body, if any (hidden from ``repr``: it may hold megabytes of data URIs).
    :param headers: Protocol headers (never ``Authorization``; see :func:`send_headers`).
    :param idempotent: True when sending it twice cannot create or cost anything, so it may be retried
        even if an earlier attempt may have reached the server. False for create: the API has no
        idempotency key, and a duplicate task is billed again.
    """

    kind: RequestKind
    method: Literal["GET", "POST"]
    path: str
    idempotent: bool
    params: tuple[tuple[str, str], ...] = ()
    json: Mapping[str, Any] | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict)

    def url(self, base_url: str) -> str:
        return base_url.rstrip("/") + self.path


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """The multipart form POST of one file to the temporary OSS bucket named by an upload policy.

    Goes to ``url`` (an OSS host, not DashScope) with **no** ``Authorization`` header: the signed policy in
    ``fields`` is the credential, so ``fields`` and ``content`` are hidden from ``repr``. Not idempotent:
    the policy forbids overwriting, so a resend after a success would fail.
    """

    url: str
    fields: tuple[tuple[str, str], ...] = field(repr=False)
    filename: str
    content: bytes = field(repr=False)
    content_type: str
    oss_url: str
    kind: Literal["upload"] = "upload"
    method: Literal["POST"] = "POST"
    idempotent: bool = False


# -- requests ---------------------------------------------------------------------------------------------


def edit_request_body(req: EditRequest) -> dict[str, Any]:
    """The create-task JSON body; optional fields are sent only when set."""
    task_input: dict[str, Any] = {"prompt": req.prompt, "images": list(req.images)}
    if req.negative_prompt is not None:
        task_input["negative_prompt"] = req.negative_prompt
    parameters: dict[str, Any] = {"n": req.n, "prompt_extend": req.prompt_extend, "watermark": req.watermark}
    if req.size is not None:
        parameters["size"] = req.size
    if req.seed is not None:
        parameters["seed"] = req.seed
    return {"model": req.model, "input": task_input, "parameters": parameters}


def create_task_request(req: EditRequest) -> HttpRequest:
    """``POST /services/aigc/image2image/image-synthesis``; the API is async-only, hence the async header."""
    headers = {**_JSON_HEADERS, "Content-Type": "application/json", "X-DashScope-Async": "enable"}
    if req.needs_oss_resolve:
        headers["X-DashScope-OssResourceResolve"] = "enable"
    return HttpRequest(
        kind="create",
        method="POST",
        path=CREATE_PATH,
        idempotent=False,
        json=edit_request_body(req),
        headers=headers,
    )


def validate_task_id(task_id: object) -> str:
    """Refuse ids that would change the request path (``/``, ``?``, ``#``, ``..``) before they reach a URL."""
    limit = "a non-empty id without '/', '\\', '?', '#', '%', '..' or whitespace"
    if (
        not isinstance(task_id, str)
        or not task_id
        or task_id in (".", "..")
        or _UNSAFE_TASK_ID.search(task_id)
    ):
        raise WanxiangValidationError(
            "task_id", task_id, limit, f"{shorten(task_id)!r} is not a task id ({limit})"
        )
    return task_id


def get_task_request(task_id: str) -> HttpRequest:
    """``GET /tasks/{task_id}``."""
    path = f"/tasks/{quote(validate_task_id(task_id), safe='')}"
    return HttpRequest(kind="get", method="GET", path=path, idempotent=True, headers=dict(_JSON_HEADERS))


def cancel_task_request(task_id: str) -> HttpRequest:
    """``POST /tasks/{task_id}/cancel`` (PENDING tasks only).

    Treated as idempotent for retries: a resend cannot create or bill anything. If the first attempt did
    cancel the task, the resend is answered with :class:`UnsupportedOperationError`, which callers doing a
    best-effort cancel should tolerate.
    """
    path = f"/tasks/{quote(validate_task_id(task_id), safe='')}/cancel"
    return HttpRequest(kind="cancel", method="POST", path=path, idempotent=True, headers=dict(_JSON_HEADERS))


def _list_time(name: str, value: datetime | str) -> tuple[str, datetime | None]:
    if isinstance(value, str):
        try:
            parsed = datetime.strptime(value, _LIST_TIME_FORMAT).replace(tzinfo=BEIJING)
        except ValueError:
            raise WanxiangValidationError(
                name, value, "YYYYMMDDhhmmss", f"{value!r} is not YYYYMMDDhhmmss (Beijing time)"
            ) from None
        return value, parsed
    if value.tzinfo is None or value.utcoffset() is None:
        raise WanxiangValidationError(
            name, value.isoformat(), "a timezone-aware datetime", f"{value.isoformat()} has no timezone"
        )
    return value.astimezone(BEIJING).strftime(_LIST_TIME_FORMAT), value


def list_tasks_request(
    start_time: datetime | str | None = None,
    end_time: datetime | str | None = None,
    status: TaskStatus | str | None = None,
    page_no: int = 1,
    page_size: int = 10,
    model_name: str | None = None,
) -> HttpRequest:
    """``GET /tasks`` with the documented filters.

    Times are aware datetimes (sent as Beijing-time ``YYYYMMDDhhmmss``) or such strings already; the
    server allows a window of at most 24 h and defaults to the last 24 h.
    """
    params: list[tuple[str, str]] = []
    start: datetime | None = None
    end: datetime | None = None
    if start_time is not None:
        wire, start = _list_time("start_time", start_time)
        params.append(("start_time", wire))
    if end_time is not None:
        wire, end = _list_time("end_time", end_time)
        params.append(("end_time", wire))
    if start is not None and end is not None and not timedelta(0) <= end - start <= _MAX_LIST_WINDOW:
        raise WanxiangValidationError(
            "end_time",
            f"{end - start}",
            "0-24 h after start_time",
            f"the window {start.isoformat()} .. {end.isoformat()} is not 0-24 h long",
        )
    if model_name:
        params.append(("model_name", model_name))
    if status is not None:
        try:
            params.append(("status", TaskStatus(status).value))
        except ValueError:
            allowed = ", ".join(member.value for member in TaskStatus)
            raise WanxiangValidationError(
                "status", status, allowed, f"{status!r} is not one of {allowed}"
            ) from None
    for name, number in (("page_no", page_no), ("page_size", page_size)):
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise WanxiangValidationError(
                name, number, "an integer >= 1", f"{number!r} is not an integer >= 1"
            )
    params += [("page_no", str(page_no)), ("page_size", str(page_size))]
    return HttpRequest(
        kind="list",
        method="GET",
        path="/tasks",
        idempotent=True,
        params=tuple(params),
        headers=dict(_JSON_HEADERS),
    )


def upload_policy_request(model: str) -> HttpRequest:
    """``GET /uploads?action=getPolicy&model=...`` (a temporary upload is bound to the model named here)."""
    if not model:
        raise WanxiangValidationError("model", model, "a model name", "a model name is required")
    return HttpRequest(
        kind="upload_policy",
        method="GET",
        path="/uploads",
        idempotent=True,
        params=(("action", "getPolicy"), ("model", model)),
        headers=dict(_JSON_HEADERS),
    )


def upload_file_request(policy: UploadPolicy, data: bytes, filename: str) -> UploadRequest:
    """The OSS form upload of ``data`` as ``{upload_dir}/{filename}``: the SDK's field order, file last."""
    if not filename or filename in (".", "..") or "/" in filename or "\\" in filename:
        raise WanxiangValidationError(
            "filename",
            filename,
            "a plain file name",
            f"{filename!r} is not a plain file name (no directories)",
        )
    if policy.max_file_size_mb is not None and len(data) > policy.max_file_size_mb * 1024 * 1024:
        limit = f"{policy.max_file_size_mb:g} MB"
        raise WanxiangValidationError(
            "data", data, limit, f"{len(data):,} bytes is above the upload policy's maximum of {limit}"
        )
    key = f"{policy.upload_dir.rstrip('/')}/{filename}"
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    fields = (
        ("OSSAccessKeyId", policy.oss_access_key_id),
        ("Signature", policy.signature),
        ("policy", policy.policy),
        ("key", key),
        ("x-oss-object-acl", policy.x_oss_object_acl),
        ("x-oss-forbid-overwrite", policy.x_oss_forbid_overwrite),
        ("success_action_status", "200"),
        ("x-oss-content-type", content_type),
    )
    return UploadRequest(
        url=policy.upload_host,
        fields=fields,
        filename=filename,
        content=data,
        content_type=content_type,
        oss_url=f"oss://{key}",
    )


def send_headers(
    request: HttpRequest, *, api_key: str, user_agent: str, workspace_id: str | None = None
) -> dict[str, str]:
    """All headers for sending ``request``: the only place the API key is touched.

    Transports call this at send time and never keep or log the result.
    """
    headers = {**request.headers, "User-Agent": user_agent, "Authorization": f"Bearer {api_key}"}
    if workspace_id:
        headers["X-DashScope-WorkSpace"] = workspace_id
    return headers


def encode_json(request: HttpRequest) -> bytes | None:
    """The request body as UTF-8 JSON (non-ASCII prompts kept as is, like the official SDK)."""
    if request.json is None:
        return None
    return json.dumps(request.json, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# -- responses --------------------------------------------------------------------------------------------


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
    return parsed.astimezone(timezone.utc)


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
        return datetime.fromtimestamp(millis / 1000.0, tz=timezone.utc)
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
