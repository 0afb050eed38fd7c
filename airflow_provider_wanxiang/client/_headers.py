"""Reading response headers: a case-insensitive lookup and the server's ``Retry-After``.

Part of reading an answer, kept in a leaf module (no imports from this package) because both the error
builder (:func:`~airflow_provider_wanxiang.client.error_codes.error_from_response`, which records how long the
server asked us to wait) and the retry policy's callers need it, and the error module must not import the
response parsers that import it.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

__all__ = ["header", "parse_retry_after"]


def header(headers: Mapping[str, str], *names: str) -> str | None:
    """The first non-empty value among ``names`` (lower case), matched case-insensitively."""
    lowered = {key.lower(): value for key, value in headers.items()}
    for name in names:
        if lowered.get(name):
            return lowered[name]
    return None


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait according to ``retry-after-ms`` or ``Retry-After`` (delta-seconds or an HTTP date)."""
    raw_ms = header(headers, "retry-after-ms")
    if raw_ms is not None:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = header(headers, "retry-after")
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
