"""Running a trigger's ``on_kill`` work to its end although Airflow keeps canceling the trigger.

Airflow >= 3.3 awaits ``BaseTrigger.on_kill()`` when a user kills a deferred task, and then cancels the
trigger's coroutine again on every triggerer loop (~1 s) until the trigger ends: an await in ``on_kill``
would be interrupted before its cancel request is answered. So the work runs in a task of its own, bounded
by :data:`ON_KILL_SECONDS` (below Airflow's ``[triggerer] on_kill_timeout``), and the repeated
cancellations are waited out. Shared by the single-task and the batch trigger.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_wanxiang.polling import Log

#: Bound of on_kill()'s own work (state check + cancel), below Airflow's ``[triggerer] on_kill_timeout``.
ON_KILL_SECONDS = 20.0


async def run_to_end(work: Coroutine[Any, Any, None], log: Log, what: str) -> None:
    """Await ``work`` (bounded by :data:`ON_KILL_SECONDS`) through repeated cancellations; log, never
    raise, a failure: the task is being killed anyway."""
    kill = asyncio.ensure_future(asyncio.wait_for(work, ON_KILL_SECONDS))
    while True:
        try:
            await asyncio.shield(kill)
            return
        except asyncio.CancelledError:
            if kill.done():
                return
        except Exception:
            log.warning("%s failed", what, exc_info=True)
            return
