"""The writing side of the wire protocol: what each API call sends, without I/O and without credentials.

Each builder turns checked values into an :class:`HttpRequest` (or an :class:`UploadRequest` for the OSS
form upload): method, path, query, JSON body and protocol headers. Input checks are not made here but in
:mod:`~airflow_provider_wanxiang.client.validation`, which the builders call for raw inputs (task ids, list
filters, upload names); :func:`send_headers` adds the ``Authorization`` header at the last moment.
Import from :mod:`~airflow_provider_wanxiang.client.protocol`, the public face of both sides.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import quote

from airflow_provider_wanxiang.client.limits import BEIJING, LIST_TIME_FORMAT
from airflow_provider_wanxiang.client.models import EditRequest, ListTasksQuery, UploadPolicy
from airflow_provider_wanxiang.client.validation import (
    build_list_query,
    check_upload_size,
    validate_filename,
    validate_task_id,
    validate_upload_model,
)

__all__ = [
    "CREATE_PATH",
    "HttpRequest",
    "RequestKind",
    "UploadRequest",
    "cancel_task_request",
    "create_task_request",
    "edit_request_body",
    "encode_json",
    "get_task_request",
    "list_tasks_request",
    "send_headers",
    "upload_file_request",
    "upload_policy_request",
]

RequestKind = Literal["create", "get", "cancel", "list", "upload_policy", "upload"]

CREATE_PATH: Final = "/services/aigc/image2image/image-synthesis"
_JSON_HEADERS: Final = {"Accept": "application/json"}


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

    @property
    def where(self) -> str:
        """How errors name this call (``GET /tasks/...``): method and path, never the host or the body."""
        return f"{self.method} {self.path}"


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

    @property
    def where(self) -> str:
        """How errors name this call: the OSS host and key are the policy's, and the kind is enough."""
        return "upload"


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


def list_tasks_request(query: ListTasksQuery | None = None, /, **fields: Any) -> HttpRequest:
    """``GET /tasks`` with the documented filters: a :class:`ListTasksQuery`, or the keywords of
    :func:`~airflow_provider_wanxiang.client.validation.build_list_query` (checked there).

    Times go out as Beijing-time ``YYYYMMDDhhmmss``; the server allows a window of at most 24 h and
    defaults to the last 24 h.
    """
    query = _list_query(query, fields)
    params: list[tuple[str, str]] = []
    for name, moment in (("start_time", query.start_time), ("end_time", query.end_time)):
        if moment is not None:
            params.append((name, moment.astimezone(BEIJING).strftime(LIST_TIME_FORMAT)))
    if query.model_name:
        params.append(("model_name", query.model_name))
    if query.status is not None:
        params.append(("status", query.status.value))
    params += [("page_no", str(query.page_no)), ("page_size", str(query.page_size))]
    return HttpRequest(
        kind="list",
        method="GET",
        path="/tasks",
        idempotent=True,
        params=tuple(params),
        headers=dict(_JSON_HEADERS),
    )


def _list_query(query: ListTasksQuery | None, fields: Mapping[str, Any]) -> ListTasksQuery:
    """One query from either form; both at once would be ambiguous."""
    if query is None:
        return build_list_query(**fields)
    if not isinstance(query, ListTasksQuery) or fields:
        raise TypeError(
            "list_tasks takes a ListTasksQuery or keyword filters (start_time=..., page_size=...), not both "
            f"and not positional filters; got {type(query).__name__} and {sorted(fields)}"
        )
    return query


def upload_policy_request(model: str) -> HttpRequest:
    """``GET /uploads?action=getPolicy&model=...`` (a temporary upload is bound to the model named here)."""
    return HttpRequest(
        kind="upload_policy",
        method="GET",
        path="/uploads",
        idempotent=True,
        params=(("action", "getPolicy"), ("model", validate_upload_model(model))),
        headers=dict(_JSON_HEADERS),
    )


def upload_file_request(policy: UploadPolicy, data: bytes, filename: str) -> UploadRequest:
    """The OSS form upload of ``data`` as ``{upload_dir}/{filename}``: the SDK's field order, file last."""
    filename = validate_filename(filename)
    check_upload_size(data, policy.max_file_size_mb)
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
