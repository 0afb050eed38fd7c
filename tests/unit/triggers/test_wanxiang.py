"""``WanxiangTaskTrigger`` without a server: what it serializes and shows (the waits are in integration)."""

from __future__ import annotations

import json
from collections.abc import Callable

from airflow_provider_wanxiang.compat import deserialize, serialize
from airflow_provider_wanxiang.triggers.wanxiang import WanxiangTaskTrigger

SECRET = "sk-trigger-unit-secret"


def _trigger() -> WanxiangTaskTrigger:
    return WanxiangTaskTrigger(
        wanxiang_task_id="abc",
        wanxiang_conn_id="wanxiang_default",
        end_time=1_900_000_000.5,
        poll_interval=0.2,
    )


def test_kwargs_round_trip_through_serde_as_plain_values() -> None:
    """The triggerer stores the kwargs and re-creates the trigger from them: only JSON scalars survive."""
    classpath, kwargs = _trigger().serialize()
    restored = deserialize(serialize(kwargs))
    assert restored == kwargs
    assert WanxiangTaskTrigger(**restored).serialize() == (classpath, kwargs)
    assert all(isinstance(value, (str, int, float, type(None))) for value in kwargs.values())


def test_neither_repr_nor_kwargs_hold_the_connections_key(wanxiang_connection: Callable[..., str]) -> None:
    # The key lives in the connection, which the trigger re-reads in the triggerer; it never travels.
    wanxiang_connection(host="http://127.0.0.1:9", api_key=SECRET)
    trigger = _trigger()
    assert SECRET not in repr(trigger)
    assert SECRET not in json.dumps(trigger.serialize()[1])
