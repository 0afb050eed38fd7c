"""Building answers: DashScope JSON (always with ``request_id``) and OSS-style XML errors."""

from __future__ import annotations

import contextvars
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

#: The current request's id, set afresh by the middleware for every request. A context variable rather
#: than request storage, whose typed-key API differs across the aiohttp versions we support.
_REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("wanxiang_request_id", default=None)


def new_request_id() -> str:
    """Start a request: give it a fresh UUID (called first thing by the middleware)."""
    rid = str(uuid.uuid4())
    _REQUEST_ID.set(rid)
    return rid


OSS_HOST_ID = "dashscope-instant.oss-emulator.local"


def request_id(request: web.Request) -> str:
    """One UUID per request, shared by the body and the ``X-Request-Id`` header."""
    return _REQUEST_ID.get() or new_request_id()


def oss_request_id(request: web.Request) -> str:
    """OSS request ids are 24 upper-case hex characters."""
    return request_id(request).replace("-", "").upper()[:24]


def json_response(
    request: web.Request, payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    body = {**payload, "request_id": request_id(request)}
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        headers={"X-Request-Id": request_id(request), **(headers or {})},
    )


def error_response(
    request: web.Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """The flat DashScope error envelope ``{code, message, request_id}``."""
    return json_response(request, {"code": code, "message": message}, status=status, headers=headers)


def oss_error_response(
    request: web.Request, status: int, code: str, message: str, extra: dict[str, str] | None = None
) -> web.Response:
    """An OSS XML error document, as result-URL downloads and form uploads answer."""
    rid = oss_request_id(request)
    fields = {"Code": code, "Message": message, "RequestId": rid, "HostId": OSS_HOST_ID, **(extra or {})}
    inner = "".join(f"  <{k}>{escape(v)}</{k}>\n" for k, v in fields.items())
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n{inner}</Error>\n'
    return web.Response(
        status=status,
        body=body.encode("utf-8"),
        content_type="application/xml",
        headers={"x-oss-request-id": rid},
    )


def iso_utc(epoch: float) -> str:
    """OSS XML timestamps (``2026-01-01T00:00:00.000Z``)."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
