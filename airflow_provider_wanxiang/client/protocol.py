"""The DashScope wire protocol without I/O: build requests, interpret responses.

Both transports (``requests`` for workers, ``aiohttp`` for triggers) only move bytes. What to send and
how to read the answer is decided here, once, so the two can never disagree about a header, a path or the
meaning of a status code. Everything in this module is a pure function of its arguments.

Request builders return an :class:`HttpRequest` (or :class:`UploadRequest` for the OSS form upload) that
carries no credentials; :func:`send_headers` adds the ``Authorization`` header at the last moment.
Parsers accept absent optional fields and ignore unknown ones, because the documented shapes vary between
states and doc versions.
"""

from __future__ import annotations

import json
import logging
import math
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
    if not isinstance(output, Mapping):
        raise MalformedResponseError(f"{what}: the response has no 'output' object")
    return output


def _optional_str(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _float_or_none(value: object) -> float | None:
    """A number given as a number or as a string (the upload-policy doc types numbers as strings)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _int_or_none(value: object) -> int | None:
    number = _float_or_none(value)
    return None if number is None else int(number)


def _status(value: object, what: str) -> TaskStatus:
    try:
        return TaskStatus(str(value))
    except ValueError:
        if value is None:
            raise MalformedResponseError(f"{what}: the response has no task status") from None
        # e.g. SUSPENDED exists in the SDK's enum but not in this API's docs. Treat it as still running:
        # polling continues and the caller's deadline bounds the wait, rather than misreporting an outcome.
        log.warning("Unrecognised task status %r; treating it as RUNNING", value)
        return TaskStatus.RUNNING


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


def _epoch_ms(value: object) -> datetime | None:
    millis = _float_or_none(value)
    if millis is None:
        return None
    try:
        return datetime.fromtimestamp(millis / 1000.0, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def parse_created(body: Mapping[str, Any]) -> CreatedTask:
    """Parse the create answer ``{"output": {"task_id", "task_status"}, "request_id"}``."""
    output = _output(body, "create")
    task_id = _optional_str(output.get("task_id"))
    if task_id is None:
        raise MalformedResponseError("create: the response has no output.task_id")
    status = output.get("task_status")
    return CreatedTask(
        task_id=task_id,
        status=_status(status, "create") if status is not None else TaskStatus.PENDING,
        request_id=_optional_str(body.get("request_id")),
    )


def _parse_result(index: int, item: object) -> ImageResult:
    if not isinstance(item, Mapping):
        return ImageResult(
            index=index, code="MalformedResult", message=f"unexpected result entry {shorten(item)}"
        )
    return ImageResult(
        index=index,
        url=_optional_str(item.get("url")),
        orig_prompt=_optional_str(item.get("orig_prompt")),
        actual_prompt=_optional_str(item.get("actual_prompt")),
        code=server_text(item.get("code"), 100),
        message=server_text(item.get("message")),
    )


def _parse_metrics(raw: object) -> TaskMetrics | None:
    if not isinstance(raw, Mapping):
        return None
    upper = {str(key).upper(): value for key, value in raw.items()}
    return TaskMetrics(
        total=_int_or_none(upper.get("TOTAL")) or 0,
        succeeded=_int_or_none(upper.get("SUCCEEDED")) or 0,
        failed=_int_or_none(upper.get("FAILED")) or 0,
    )


def parse_task(body: Mapping[str, Any]) -> Task:
    """Parse ``GET /tasks/{id}`` in any state (PENDING, RUNNING, SUCCEEDED with partial failures, FAILED,
    CANCELED, UNKNOWN)."""
    output = _output(body, "get task")
    task_id = _optional_str(output.get("task_id"))
    if task_id is None:
        raise MalformedResponseError("get task: the response has no output.task_id")
    raw_results = output.get("results")
    results = (
        tuple(_parse_result(index, item) for index, item in enumerate(raw_results))
        if isinstance(raw_results, list)
        else ()
    )
    usage = body.get("usage")
    image_count = _int_or_none(usage.get("image_count")) if isinstance(usage, Mapping) else None
    return Task(
        task_id=task_id,
        status=_status(output.get("task_status"), "get task"),
        submit_time=parse_server_time(output.get("submit_time")),
        scheduled_time=parse_server_time(output.get("scheduled_time")),
        end_time=parse_server_time(output.get("end_time")),
        results=results,
        metrics=_parse_metrics(output.get("task_metrics")),
        usage=Usage(image_count=image_count) if image_count is not None else None,
        code=server_text(output.get("code"), 100),
        message=server_text(output.get("message")),
        request_id=_optional_str(body.get("request_id")),
    )


def _parse_summary(item: Mapping[str, Any]) -> TaskSummary | None:
    task_id = _optional_str(item.get("task_id"))
    if task_id is None:
        return None
    return TaskSummary(
        task_id=task_id,
        status=_status(item.get("status") or item.get("task_status"), "list"),
        model_name=_optional_str(item.get("model_name")),
        region=_optional_str(item.get("region")),
        request_id=_optional_str(item.get("request_id")),
        created_time=_epoch_ms(item.get("gmt_create")),
        start_time=_epoch_ms(item.get("start_time")),
        end_time=_epoch_ms(item.get("end_time")),
    )


def parse_task_page(body: Mapping[str, Any]) -> TaskPage:
    """Parse ``GET /tasks``: the documented ``data`` array (SDK v2 expects ``tasks``; both are read)."""
    raw_items = body.get("data")
    if raw_items is None:
        raw_items = body.get("tasks")
    if raw_items is not None and not isinstance(raw_items, list):
        raise MalformedResponseError("list: 'data' is not an array")
    items = tuple(
        summary
        for summary in (_parse_summary(item) for item in raw_items or () if isinstance(item, Mapping))
        if summary is not None
    )
    page_size = _int_or_none(body.get("page_size")) or max(len(items), 1)
    total = _int_or_none(body.get("total"))
    total = len(items) if total is None else total
    total_pages = _int_or_none(body.get("total_page"))
    if total_pages is None:
        total_pages = -(-total // page_size)
    return TaskPage(
        items=items,
        total=total,
        total_pages=total_pages,
        page_no=_int_or_none(body.get("page_no")) or 1,
        page_size=page_size,
        request_id=_optional_str(body.get("request_id")),
    )


def parse_upload_policy(body: Mapping[str, Any]) -> UploadPolicy:
    """Parse ``GET /uploads?action=getPolicy`` (numbers may arrive as strings; the doc types them so)."""
    data = body.get("data")
    if not isinstance(data, Mapping):
        raise MalformedResponseError("upload policy: the response has no 'data' object")
    required = ("upload_host", "upload_dir", "policy", "signature", "oss_access_key_id")
    missing = [name for name in required if not data.get(name)]
    if missing:
        raise MalformedResponseError(f"upload policy: missing {', '.join(missing)}")
    return UploadPolicy(
        upload_host=str(data["upload_host"]),
        upload_dir=str(data["upload_dir"]),
        policy=str(data["policy"]),
        signature=str(data["signature"]),
        oss_access_key_id=str(data["oss_access_key_id"]),
        expire_in_seconds=_int_or_none(data.get("expire_in_seconds")),
        max_file_size_mb=_float_or_none(data.get("max_file_size_mb")),
        capacity_limit_mb=_float_or_none(data.get("capacity_limit_mb")),
        x_oss_object_acl=_optional_str(data.get("x_oss_object_acl")) or "private",
        x_oss_forbid_overwrite=_optional_str(data.get("x_oss_forbid_overwrite")) or "true",
        request_id=_optional_str(body.get("request_id")),
    )
