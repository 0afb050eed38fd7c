"""The trigger-kwargs policy, pinned: kwargs an in-flight trigger was serialized with still build it.

Airflow stores a deferred task's trigger kwargs and re-creates the trigger from them, possibly after this
provider was upgraded in the triggerer. So a new kwarg needs a default and none may be renamed or removed
without a deprecation path (docs/waiting.md, "Trigger kwargs"). Keep these tests forever: when the kwargs
change, ADD the new release's literal dict below; never edit or delete an existing one.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wanxiang.compat import deserialize, serialize
from airflow_provider_wanxiang.triggers.wanxiang import WanxiangTaskTrigger

CLASSPATH = "airflow_provider_wanxiang.triggers.wanxiang.WanxiangTaskTrigger"

#: What ``WanxiangTaskTrigger(...).serialize()`` returns in 0.1.0 (the first release).
KWARGS_0_1_0: dict[str, Any] = {
    "wanxiang_task_id": "0f0e0d0c-0000-4000-8000-00000000a001",
    "wanxiang_conn_id": "wanxiang_default",
    "end_time": 1_900_000_000.5,
    "poll_interval": 15.0,
    "error_budget": 8,
    "request_timeout": 30.0,
    "deferred_in_try": 1,
}

#: 0.1.0 once deferred waits share the connection's query budget (issue 10): the same keys, but the default
#: ``poll_interval`` is 1.5 s, a floor the budget stretches; the 15.0 above still builds and keeps its 15 s.
KWARGS_0_1_0_BUDGETED: dict[str, Any] = {**KWARGS_0_1_0, "poll_interval": 1.5}

#: Kwargs written before the most recently added optional keys existed (``request_timeout``,
#: ``deferred_in_try``): each must still build, with its default.
OLDER_KWARGS: list[dict[str, Any]] = [
    {k: v for k, v in KWARGS_0_1_0.items() if k != "deferred_in_try"},
    {k: v for k, v in KWARGS_0_1_0.items() if k not in ("deferred_in_try", "request_timeout")},
    {"wanxiang_task_id": "0f0e0d0c-0000-4000-8000-00000000a001", "end_time": 1_900_000_000.5},
]


def test_todays_kwargs_are_exactly_the_pinned_ones() -> None:
    """Fails when the serialized kwargs change: then add a new pinned dict (and keep this one building)."""
    trigger = WanxiangTaskTrigger(
        wanxiang_task_id=KWARGS_0_1_0["wanxiang_task_id"],
        end_time=KWARGS_0_1_0["end_time"],
        deferred_in_try=1,
    )
    assert trigger.serialize() == (CLASSPATH, KWARGS_0_1_0_BUDGETED)


@pytest.mark.parametrize("kwargs", [KWARGS_0_1_0, KWARGS_0_1_0_BUDGETED], ids=["0.1.0", "0.1.0-budgeted"])
def test_pinned_kwargs_still_build_the_trigger(kwargs: dict[str, Any]) -> None:
    stored = deserialize(serialize(kwargs))  # what the triggerer reads back from the database
    trigger = WanxiangTaskTrigger(**stored)
    classpath, again = trigger.serialize()
    assert classpath == CLASSPATH
    assert again == kwargs


@pytest.mark.parametrize("kwargs", OLDER_KWARGS, ids=["no-deferred_in_try", "no-request_timeout", "minimal"])
def test_kwargs_without_the_newer_optional_keys_still_build_with_defaults(kwargs: dict[str, Any]) -> None:
    trigger = WanxiangTaskTrigger(**deserialize(serialize(kwargs)))
    _, again = trigger.serialize()
    assert {k: again[k] for k in kwargs} == kwargs
    assert again["request_timeout"] == kwargs.get("request_timeout", 30.0)
    assert again["deferred_in_try"] is None
    assert set(again) == set(KWARGS_0_1_0)
