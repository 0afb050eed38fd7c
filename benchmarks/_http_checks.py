"""The ``response_check_path`` target of ``HttpEventTrigger`` in ``waiting_cost.py``.

A module of its own because ``HttpEventTrigger`` imports (and re-imports, on every poll) the check by
dotted path; this is the part of the Wanxiang API it can read: the task status in the query answer.
"""

from __future__ import annotations

from typing import Any

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"}


async def task_finished(response: Any) -> bool:
    status = response.json().get("output", {}).get("task_status")
    return status in TERMINAL
