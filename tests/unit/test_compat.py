"""The Airflow-version workarounds (``compat``): flags, serde, task_state_store, the stale-resume rule,
the triggerer hand-over check outside a triggerer, and the 3.1 connection form."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from airflow import __version__ as airflow_version

from airflow_provider_wanxiang import compat
from airflow_provider_wanxiang.get_provider_info import get_provider_info
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook
from airflow_provider_wanxiang.outcomes import OutcomeStatus, TaskOutcome


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3.1.0", (3, 1, 0)), ("3.3.2", (3, 3, 2)), ("3.2.0rc1", (3, 2, 0)), ("3.4.0.dev0", (3, 4, 0))],
)
def test_base_version_ignores_pre_releases(text: str, expected: tuple[int, int, int]) -> None:
    assert compat._base_version(text) == expected


def test_flags_describe_the_running_airflow() -> None:
    major, minor = (int(part) for part in airflow_version.split(".")[:2])
    assert compat.AIRFLOW_VERSION[:2] == (major, minor)
    assert compat.AIRFLOW_V_3_2_PLUS is ((major, minor) >= (3, 2))
    assert compat.AIRFLOW_V_3_3_PLUS is ((major, minor) >= (3, 3))


def test_serde_is_the_one_airflow_uses_for_trigger_kwargs() -> None:
    expected = "airflow.sdk.serde" if compat.AIRFLOW_V_3_2_PLUS else "airflow.serialization.serde"
    assert compat.serialize.__module__.startswith(expected)
    assert compat.deserialize.__module__.startswith(expected)
    kwargs = {"wanxiang_task_id": "t", "end_time": 1.5, "deferred_in_try": None}
    assert compat.deserialize(compat.serialize(kwargs)) == kwargs


class _Store:
    """Stands in for Airflow 3.3's store only in the context dict handed over; nothing is mocked."""

    def get(self, key: str) -> Any:
        return None

    def set(self, key: str, value: Any, *, retention: timedelta) -> None:
        pass


def test_task_state_store_only_from_airflow_3_3() -> None:
    store = _Store()
    context: Any = {"task_state_store": store}
    assert compat.task_state_store(context) is (store if compat.AIRFLOW_V_3_3_PLUS else None)
    assert compat.task_state_store({}) is None  # type: ignore[typeddict-item]


def test_stale_resume_is_recognised_by_the_try_number() -> None:
    context: Any = {"ti": SimpleNamespace(try_number=2)}
    replayed = TaskOutcome(OutcomeStatus.TIMEOUT, "t", "late", deferred_in_try=1)
    current = TaskOutcome(OutcomeStatus.TIMEOUT, "t", "late", deferred_in_try=2)
    legacy = TaskOutcome(OutcomeStatus.TIMEOUT, "t", "late")
    assert compat.is_stale_resume(context, replayed)
    assert not compat.is_stale_resume(context, current)
    assert not compat.is_stale_resume(context, legacy)


async def test_hand_over_check_outside_a_triggerer_treats_on_kill_as_a_user_action(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No trigger task instance, or no supervisor to ask: the answer is "not deferred" (cancel as before)."""
    log = logging.getLogger("test_compat")
    assert await compat.task_instance_still_deferred(None, log) is False
    ti = SimpleNamespace(dag_id="d", task_id="t", run_id="r", map_index=-1)
    with caplog.at_level("WARNING", logger="test_compat"):
        assert await compat.task_instance_still_deferred(ti, log) is False
    assert "treating on_kill as a user action" in caplog.text


def test_connection_form_3_1_is_the_provider_info_form_with_3_1_keys() -> None:
    (connection_type,) = get_provider_info()["connection-types"]
    behaviour = connection_type["ui-field-behaviour"]
    form = compat.connection_form_3_1()
    assert form == {key.replace("-", "_"): value for key, value in behaviour.items()}
    assert WanxiangHook.get_ui_field_behaviour() == form


def test_connection_form_widgets_3_1_declare_the_conn_fields() -> None:
    """The 3.1 widgets (real wtforms here; the API server swaps in stand-ins) are the ``conn-fields``."""
    from wtforms import StringField

    (connection_type,) = get_provider_info()["connection-types"]
    fields = connection_type["conn-fields"]
    widgets = WanxiangHook.get_connection_form_widgets()
    assert set(widgets) == set(fields)
    for name, widget in widgets.items():
        assert widget.field_class is StringField
        assert widget.args[0] == fields[name]["label"]
        assert widget.kwargs["description"] == fields[name]["description"]
    region_choices = [v.values for v in widgets["region"].kwargs["validators"] if hasattr(v, "values")]
    assert region_choices == [fields["region"]["schema"]["enum"]]
    assert widgets["region"].kwargs["default"] == fields["region"]["schema"]["default"]
