"""Reading a result URL with ``requests`` without ever leaking it: statuses, headers, body and logs.

A result URL is a signed capability. Messages name only its host (:func:`result_host`), the ``requests``
exception that may quote the full URL is never chained, urllib3's DEBUG lines have their query redacted,
and ``~/.netrc`` credentials are never added (OSS rejects two authentication methods).
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final
from urllib.parse import urlsplit

import requests

from airflow_provider_wanxiang.client.errors import parse_retry_after
from airflow_provider_wanxiang.copying.errors import DownloadError, ResultExpiredError, ResultNotFoundError

__all__ = [
    "content_length",
    "content_md5",
    "iter_body",
    "no_netrc_auth",
    "raise_for_status",
    "result_host",
    "urllib3_logs_redacted",
]

_OSS_CODE: Final = re.compile(rb"<Code>([^<]{1,100})</Code>")
_OSS_MESSAGE: Final = re.compile(rb"<Message>([^<]{1,300})</Message>")


def result_host(url: str) -> str:
    """The host of a result URL: what messages name (useful for firewall allow-lists), never the URL.

    Even without its query (the signature) a result URL is kept out of messages, reports and XCom.
    """
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


def no_netrc_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Keep requests from adding ~/.netrc credentials to a signed URL (OSS rejects two auth methods)."""
    return request


def content_length(response: requests.Response) -> int | None:
    """The announced body length, or ``None`` when absent, invalid or describing compressed bytes."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    value = response.headers.get("Content-Length")
    if value is None or encoding not in ("", "identity"):
        return None  # a compressed body's length says nothing about the decoded bytes
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


def content_md5(response: requests.Response) -> bytes | None:
    """The announced MD5 digest (``Content-MD5``, base64), or ``None`` when absent or malformed."""
    value = response.headers.get("Content-MD5")
    if not value:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    return digest if len(digest) == 16 else None


def raise_for_status(response: requests.Response, where: str) -> None:
    """Raise the copy error for a non-200 answer, with the store's ``<Code>``/``<Message>`` when it sent
    them and its ``Retry-After`` (which the retry policy honours)."""
    status = response.status_code
    if status == 200:
        return
    body = b""
    if status >= 400:
        try:
            body = response.raw.read(4096, decode_content=True) or b""
        except Exception:  # the body only decorates the message
            body = b""
    code_match, message_match = _OSS_CODE.search(body), _OSS_MESSAGE.search(body)
    code = code_match.group(1).decode("utf-8", "replace") if code_match else None
    message = message_match.group(1).decode("utf-8", "replace") if message_match else None
    said = f" ({code}: {message})" if code or message else ""
    if status == 403:
        raise ResultExpiredError(
            f"the result server {where} answered 403{said}: the signed result URL has expired (they live "
            "24 h after the task ended) or is invalid",
            http_status=status,
            code=code,
        )
    if status in (404, 410):
        raise ResultNotFoundError(
            f"the result server {where} answered {status}{said}: the result no longer exists",
            http_status=status,
            code=code,
        )
    raise DownloadError(
        f"the result server {where} answered {status}{said}",
        retryable=status in (408, 429) or status >= 500,
        http_status=status,
        code=code,
        retry_after=parse_retry_after(response.headers),
    )


def iter_body(response: requests.Response, chunk_size: int, where: str) -> Iterator[bytes]:
    """The body in chunks; a broken stream becomes a retryable :class:`DownloadError` (URL-free)."""
    chunks = response.iter_content(chunk_size)
    received = 0
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except (requests.RequestException, OSError) as err:
            raise DownloadError(
                f"the download from {where} was cut short after {received} bytes ({type(err).__name__})"
            ) from None
        received += len(chunk)
        yield chunk


class _RedactQueries(logging.Filter):
    """Strips query strings from urllib3's log arguments: its DEBUG request lines (and retry warnings)
    quote the path with the query, and a result URL's query is its signature."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_strip_query(arg) for arg in record.args)
        return True


def _strip_query(value: object) -> object:
    if isinstance(value, str) and "?" in value:
        return value.split("?", 1)[0] + "?<redacted>"
    return value


@contextmanager
def urllib3_logs_redacted() -> Iterator[None]:
    """While active, urllib3's connection logs show result URLs without their query (the signature)."""
    loggers = [logging.getLogger(name) for name in ("urllib3.connectionpool", "urllib3.connection")]
    redact = _RedactQueries()
    for logger in loggers:
        logger.addFilter(redact)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(redact)
