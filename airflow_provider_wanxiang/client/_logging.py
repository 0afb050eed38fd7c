"""The two log lines both transports write, so they read the same and never include secrets.

Only method, path, status, request id and attempt are logged: never headers (the API key), bodies (data
URIs of the inputs) or result URLs (signed capabilities).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airflow_provider_wanxiang.client._text import server_text
from airflow_provider_wanxiang.client.errors import WanxiangError
from airflow_provider_wanxiang.client.protocol import HttpRequest, UploadRequest

log = logging.getLogger("airflow_provider_wanxiang.client")


def _where(request: HttpRequest | UploadRequest) -> str:
    # The upload URL is an OSS host; its path is the policy's, not a secret, but the host is enough.
    return f"{request.method} {request.path}" if isinstance(request, HttpRequest) else "POST <upload host>"


def log_response(
    request: HttpRequest | UploadRequest, status: int, body: Mapping[str, Any] | None, attempt: int
) -> None:
    if log.isEnabledFor(logging.DEBUG):
        request_id = server_text(body.get("request_id"), 100) if body else None
        log.debug("%s -> %s request_id=%s attempt=%d", _where(request), status, request_id, attempt)


def log_failure(
    request: HttpRequest | UploadRequest, error: WanxiangError, attempt: int, delay: float | None
) -> None:
    outcome = f"retrying in {delay:.2f}s" if delay is not None else "giving up"
    level = logging.DEBUG if delay is None else logging.INFO
    log.log(
        level,
        "%s failed (%s, code=%s, http_status=%s, request_id=%s) attempt=%d; %s",
        _where(request),
        type(error).__name__,
        error.code,
        error.http_status,
        error.request_id,
        attempt,
        outcome,
    )
