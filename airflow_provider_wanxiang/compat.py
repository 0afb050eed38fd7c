"""Every Airflow-version workaround of the provider, in one place.

The rest of the package never compares Airflow versions, never probes for an API with ``try: import`` and
never calls a private Airflow interface: it asks this module. Each workaround below names its upstream issue
(or the version that changed things) and the condition under which it is deleted, so raising the floor is a
matter of reading this file top to bottom. The version flags are computed once, like the official
providers' ``version_compat`` modules.

Present workarounds (what, why, delete when):

- ``serialize`` / ``deserialize``: serde moved to the Task SDK in Airflow 3.2. Delete the 3.1
  branch when the floor is 3.2.
- :func:`task_state_store`: new in Airflow 3.3. Delete (read the context key directly) when the floor is 3.3.
- :func:`is_stale_resume`: apache/airflow#56704, Airflow 3.1.0 only. Delete when the floor is 3.1.1; the
  trigger's ``deferred_in_try`` kwarg stays regardless (the trigger-kwargs policy, docs/waiting.md).
- :func:`task_instance_still_deferred`: apache/airflow#73454, Airflow 3.3.x. Delete when Airflow no longer
  calls a trigger's ``on_kill`` on a hand-over between triggerers and the floor has that fix.
- :func:`connection_form_3_1` and :func:`connection_form_widgets_3_1`: Airflow 3.1 has no ``conn-fields``.
  Delete both (and the hook methods returning them) when the floor is 3.2.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast

from airflow import __version__ as _airflow_version
from packaging.version import Version

from airflow_provider_wanxiang.get_provider_info import CONN_FIELDS, REGION_CHOICES, UI_FIELD_BEHAVIOUR

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_wanxiang.outcomes import TaskOutcome
    from airflow_provider_wanxiang.polling import Log

__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "TaskStateStore",
    "connection_form_3_1",
    "connection_form_widgets_3_1",
    "deserialize",
    "is_stale_resume",
    "serialize",
    "task_instance_still_deferred",
    "task_state_store",
]


def _base_version(text: str) -> tuple[int, int, int]:
    """``(major, minor, micro)`` of an Airflow version string; pre-releases count as their release."""
    version = Version(text)
    return version.major, version.minor, version.micro


#: The running Airflow, as ``(major, minor, micro)``.
AIRFLOW_VERSION = _base_version(_airflow_version)
#: Airflow >= 3.2: trigger kwargs go through the Task SDK's serde; connection forms from ``conn-fields``.
AIRFLOW_V_3_2_PLUS = AIRFLOW_VERSION >= (3, 2, 0)
#: Airflow >= 3.3: ``task_state_store``; triggers' ``on_kill`` is called.
AIRFLOW_V_3_3_PLUS = AIRFLOW_VERSION >= (3, 3, 0)


# -- trigger kwargs serde (delete the 3.1 branch when the floor is 3.2) ----------------------------------
# Airflow >= 3.2 serialises trigger kwargs with the Task SDK's serde; 3.1 with the core one. The trigger
# round-trips its kwargs through the same serde at construction (see triggers/wanxiang.py).
if AIRFLOW_V_3_2_PLUS:
    from airflow.sdk.serde import deserialize, serialize
else:  # Airflow 3.1
    from airflow.serialization.serde import deserialize, serialize  # type: ignore[no-redef,unused-ignore]


# -- task_state_store (Airflow >= 3.3; delete the version test when the floor is 3.3) -------------------
class TaskStateStore(Protocol):
    """The part of Airflow 3.3's ``task_state_store`` the submit operator uses."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, *, retention: timedelta) -> Any: ...


def task_state_store(context: Context) -> TaskStateStore | None:
    """The task's state store, kept across the worker retries of one task instance, or ``None`` before 3.3.

    Without it a retry of the submit operator cannot know the remote task of the try before it, so it
    submits (and pays) again; see docs/waiting.md, "Durability and retries".
    """
    if not AIRFLOW_V_3_3_PLUS:
        return None
    # A cast because 3.1's Context type has no such key (the version test above is the real guard).
    return cast("TaskStateStore | None", context.get("task_state_store"))


# -- the 3.1.0 stale-resume rule (apache/airflow#56704, fixed in 3.1.1; delete when the floor is 3.1.1) ---
def is_stale_resume(context: Context, outcome: TaskOutcome) -> bool:
    """Whether Airflow resumed this try with an event that belongs to an earlier try.

    Airflow 3.1.0 keeps a deferred task's resume method when the task is retried, so try 2 starts in
    ``execute_complete`` with try 1's event (apache/airflow#56704, fixed in 3.1.1). The trigger echoes the try
    that deferred (its ``deferred_in_try`` kwarg), so the retry can be recognised and started properly. On
    every other version the two numbers always agree, so the rule is not gated on the version: it is a no-op
    there. Deleting it leaves the ``deferred_in_try`` kwarg in place (the trigger-kwargs policy).
    """
    return outcome.deferred_in_try is not None and outcome.deferred_in_try != context["ti"].try_number


# -- triggerer hand-over (apache/airflow#73454; delete once Airflow stops calling on_kill on a hand-over) --
async def task_instance_still_deferred(ti: Any, log: Log) -> bool:
    """Whether the trigger's task instance is still DEFERRED, asked of the triggerer's supervisor.

    Airflow 3.3.x calls a trigger's ``on_kill`` not only when a user marks the task failed / success or
    clears it (which moves it out of DEFERRED first) but also when a triggerer whose heartbeat lapsed finds
    its triggers handed to another triggerer (apache/airflow#73454); the task instance then stays DEFERRED
    and the other triggerer polls on. There is no public API for the state, so this sends the supervisor's
    private ``GetTaskStates`` message. When the state cannot be read (no supervisor, another answer, a
    changed private API), it answers ``False``: a user action, which cancels a PENDING task as before.

    :param ti: the trigger's ``task_instance`` (``None`` outside a triggerer).
    """
    if ti is None:
        return False
    try:
        from airflow.sdk.execution_time import task_runner
        from airflow.sdk.execution_time.comms import GetTaskStates, TaskStatesResult

        answer = await task_runner.SUPERVISOR_COMMS.asend(
            GetTaskStates(dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id])
        )
        if not isinstance(answer, TaskStatesResult):
            raise TypeError(f"unexpected answer {type(answer).__name__}")
        states = answer.task_states
    except Exception:
        log.warning("Cannot read the state of %s; treating on_kill as a user action", ti, exc_info=True)
        return False
    key = ti.task_id if ti.map_index is None or ti.map_index < 0 else f"{ti.task_id}_{ti.map_index}"
    return bool(states.get(ti.run_id, {}).get(key) == "deferred")


# -- the 3.1 connection form (delete when the floor is 3.2) ---------------------------------------------
def connection_form_3_1() -> dict[str, Any]:
    """The connection form's layout for Airflow 3.1, returned by ``WanxiangHook.get_ui_field_behaviour``.

    Airflow >= 3.2 builds the form from the provider info's ``ui-field-behaviour`` and ``conn-fields``
    without importing the hook. 3.1 asks the hook instead, with underscores in the keys.
    """
    return {
        "hidden_fields": UI_FIELD_BEHAVIOUR["hidden-fields"],
        "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
        "placeholders": UI_FIELD_BEHAVIOUR["placeholders"],
    }


def connection_form_widgets_3_1() -> dict[str, Any]:
    """The region dropdown and workspace field for Airflow 3.1 (``WanxiangHook.get_connection_form_widgets``).

    Airflow 3.1's API server builds the form's extra fields from wtforms fields, which it swaps for its own
    stand-ins while asking (``HookMetaService``): a ``StringField`` whose validators include ``any_of``
    becomes a dropdown. wtforms is imported here, lazily, like the official providers do: Airflow 3.1 itself
    renders provider fields only when wtforms is importable in the API server (it comes with the FAB
    provider), and without it skips this method and ``get_ui_field_behaviour`` alike. No flask_babel or
    flask_appbuilder: labels are plain strings, and the React UI ignores FAB widgets. The same definitions
    as ``conn-fields`` (labels, descriptions, choices, default), so both versions show one form.
    """
    from wtforms import StringField
    from wtforms.validators import Optional, any_of

    region, workspace = CONN_FIELDS["region"], CONN_FIELDS["workspace_id"]
    return {
        "region": StringField(
            region["label"],
            validators=[Optional(), any_of(list(REGION_CHOICES))],
            description=region["description"],
            default=region["schema"]["default"],
        ),
        "workspace_id": StringField(
            workspace["label"], validators=[Optional()], description=workspace["description"]
        ),
    }
