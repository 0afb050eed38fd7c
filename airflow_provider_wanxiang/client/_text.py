"""Bounding text for logs, exceptions and events: values we quote and text the server sent.

Not errors themselves, but every error message, log line and trigger event that quotes a value or a server
message goes through these two functions, so a 10 MB data URI or a hostile server's megabyte-long message
never lands anywhere whole. A leaf module (imports only :mod:`.limits`), so errors, validation, the
response parsers and the transports can all use it without import cycles.
"""

from __future__ import annotations

from airflow_provider_wanxiang.client.limits import MAX_SERVER_TEXT_CHARS

__all__ = ["server_text", "shorten"]

_MAX_VALUE_CHARS = 80


def shorten(value: object, limit: int = _MAX_VALUE_CHARS) -> str:
    """A short, log-safe rendering of a value: long strings (data URIs) are cut, bytes are summarised."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value):,} bytes>"
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        return f"{text[: limit - 20]}...<{len(text):,} chars>"
    return text


def server_text(value: object, limit: int = MAX_SERVER_TEXT_CHARS) -> str | None:
    """Text the server sent (a message, a code, a request id), bounded for exceptions, logs and events.

    The one place that bounds server text: ``None``/empty stays ``None``, whitespace runs collapse to one
    space (an HTML page becomes one line), and anything longer than ``limit`` is cut with a marker saying
    how long it was, so a hostile or broken server cannot make a trigger event or a log line megabytes long.
    """
    if value is None:
        return None
    text = " ".join(str(value).split())
    if not text:
        return None
    return shorten(text, limit)
