"""The batch operator's arguments are checked when the DAG is parsed, before anything is paid."""

from __future__ import annotations

from datetime import timedelta

import pytest

from airflow_provider_wanxiang.client import WanxiangValidationError
from airflow_provider_wanxiang.operators.batch import WanxiangBatchEditOperator


def batch(**kwargs: object) -> WanxiangBatchEditOperator:
    return WanxiangBatchEditOperator(task_id="batch", items=[], destination="/tmp/out", **kwargs)


def test_task_timeout_is_seconds_or_a_timedelta_in_worker_mode() -> None:
    assert batch(deferrable=False, task_timeout=timedelta(minutes=10)).task_timeout == 600.0
    assert batch(deferrable=False, task_timeout="90").task_timeout == 90.0
    assert batch(deferrable=False).task_timeout is None


def test_task_timeout_with_deferrable_is_refused_naming_both() -> None:
    with pytest.raises(WanxiangValidationError) as raised:
        batch(deferrable=True, task_timeout=600)
    assert raised.value.field == "task_timeout"
    assert raised.value.value == 600
    assert "deferrable=False" in str(raised.value)


@pytest.mark.parametrize("value", [0, -5, "soon"])
def test_task_timeout_must_be_a_positive_duration(value: object) -> None:
    with pytest.raises(WanxiangValidationError) as raised:
        batch(deferrable=False, task_timeout=value)
    assert raised.value.field == "task_timeout"
