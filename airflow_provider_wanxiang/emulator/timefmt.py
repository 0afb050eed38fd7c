"""Time formats of the wire protocol.

Get-task answers use ``YYYY-MM-DD HH:mm:ss.SSS`` strings in Beijing time (UTC+8, no zone marker), the
list endpoint uses epoch milliseconds and takes ``YYYYMMDDhhmmss`` query bounds. Keeping the conversions
here stops the three from being mixed up.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))


def beijing_string(epoch: float) -> str:
    """``2025-09-23 22:14:10.800`` for an epoch in seconds."""
    moment = datetime.fromtimestamp(epoch, tz=BEIJING)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def epoch_ms(epoch: float) -> int:
    """Epoch milliseconds, as the list endpoint reports times."""
    return int(epoch * 1000)


def parse_list_time(value: str) -> float:
    """Parse a list bound ``YYYYMMDDhhmmss`` (Beijing time) to epoch seconds; ``ValueError`` if malformed."""
    if len(value) != 14 or not value.isdigit():
        raise ValueError(value)
    return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING).timestamp()
