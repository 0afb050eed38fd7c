"""Bad inputs are refused before any request, naming the field: a table over every coerced field of the
submit operator, the sensor and the copy operator, templated (rendered by real Airflow in ``dag.test()``,
as strings and as native objects) and literal (at DAG parse time or at execute time).

The emulator (``wanxiang_emulator`` fixture) counts requests and creates: zero for every bad input. The
accepted spellings (``"False"``, ``"no"``, ``"0"``, lists rendered to strings, ``"None"`` in optional fields)
are checked in the request bodies the emulator received.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pluggy
import pytest

from airflow_provider_wanxiang.client import WanxiangValidationError
from airflow_provider_wanxiang.emulator import EmulatorServer
from airflow_provider_wanxiang.operators.wanxiang import WanxiangCopyResultsOperator, WanxiangSubmitOperator
from airflow_provider_wanxiang.sensors.wanxiang import WanxiangTaskSensor
from tests.airflow_runtime import run_dag, task_states
from tests.dags.wanxiang_bad_input_dags import (
    IMAGE,
    NATIVE_CASES,
    OK_CASES,
    TEMPLATED_CASES,
    TINY_PNG,
    TRUNCATED_PNG,
)

pytestmark = pytest.mark.integration

_RUNS: dict[str, dict[str, Any]] = {}
_hookimpl = pluggy.HookimplMarker("airflow")  # the marker Airflow's listener plugins use


class _FailureRecorder:
    """An Airflow listener keeping each failed task's exception (3.1's dag.test gives callbacks none)."""

    def __init__(self) -> None:
        self.errors: dict[str, BaseException | str | None] = {}

    @_hookimpl
    def on_task_instance_failed(self, task_instance: Any, error: BaseException | str | None) -> None:
        self.errors[task_instance.task_id] = error


def _listener_manager() -> Any:
    try:
        from airflow.sdk.listener import get_listener_manager  # Airflow >= 3.2
    except ImportError:  # Airflow 3.1
        from airflow.listeners.listener import get_listener_manager  # type: ignore[no-redef]
    return get_listener_manager()


def _run_bad_dag(dag_id: str, emulator: EmulatorServer) -> dict[str, Any]:
    """Run the DAG once per session (every task is one case) and keep each task's exception."""
    if dag_id not in _RUNS:
        recorder = _FailureRecorder()
        manager = _listener_manager()
        manager.add_listener(recorder)
        try:
            dag_run = run_dag(dag_id)
        finally:
            manager.pm.unregister(recorder)
        _RUNS[dag_id] = {"states": task_states(dag_run), "stats": emulator.stats(), "errors": recorder.errors}
    return _RUNS[dag_id]


@pytest.mark.parametrize(
    ("dag_id", "case"),
    [("wx_bad_inputs_templated", case) for case in TEMPLATED_CASES]
    + [("wx_bad_inputs_native", case) for case in NATIVE_CASES],
)
def test_rendered_bad_input_fails_the_task_before_any_request(
    dag_id: str,
    case: str,
    wanxiang_emulator: EmulatorServer,
) -> None:
    run = _run_bad_dag(dag_id, wanxiang_emulator)
    _, _, _, field, text = {**TEMPLATED_CASES, **NATIVE_CASES}[case]
    assert run["states"][case] == "failed"
    error = run["errors"][case]
    assert isinstance(error, WanxiangValidationError), repr(error)
    assert error.field == field
    assert str(error).startswith(f"{field}: ")
    assert text in str(error)
    # Not one request from any task of the run: no create, no status query, no upload.
    assert run["stats"]["requests"] == 0
    assert run["stats"]["tasks_created"] == 0


def _submit(**kwargs: Any) -> Callable[[], Any]:
    return lambda: WanxiangSubmitOperator(task_id="edit", **{"prompt": "p", "images": [IMAGE], **kwargs})


def _sensor(**kwargs: Any) -> Callable[[], Any]:
    return lambda: WanxiangTaskSensor(task_id="wait", **{"wanxiang_task_id": "t-1", **kwargs})


def _copy(**kwargs: Any) -> Callable[[], Any]:
    return lambda: WanxiangCopyResultsOperator(
        task_id="copy", **{"wanxiang_task_id": "t-1", "destination": "/tmp/wx-never", **kwargs}
    )


# case id: (operator factory, field named, text in the error). Literal values: scalars fail in the
# constructor (DAG parse time), images in execute, before the first request.
LITERAL_CASES: dict[str, tuple[Callable[[], Any], str, str]] = {
    "n_float": (_submit(n=2.5), "n", "2.5 is not an integer"),
    "n_bool": (_submit(n=True), "n", "True is not an integer"),
    "n_text": (_submit(n="two"), "n", "'two' is not an integer"),
    "n_range": (_submit(n=7), "n", "7 is above the maximum of 4"),
    "seed_bool": (_submit(seed=True), "seed", "True is not an integer"),
    "seed_float": (_submit(seed=2.5), "seed", "2.5 is not an integer"),
    "seed_range": (_submit(seed=-5), "seed", "-5 is below the minimum of 0"),
    "watermark_text": (_submit(watermark="maybe"), "watermark", "'maybe' is not a boolean"),
    "watermark_int": (_submit(watermark=1), "watermark", "1 is not a boolean"),
    "prompt_extend_none": (_submit(prompt_extend=None), "prompt_extend", "None is not a boolean"),
    "prompt_none": (_submit(prompt=None), "prompt", "prompt is required but is None"),
    "prompt_blank": (_submit(prompt=""), "prompt", "prompt is required but is blank"),
    "negative_prompt_int": (_submit(negative_prompt=5), "negative_prompt", "5 is not a string"),
    "size_bad": (_submit(size="1*1"), "size", "below the minimum"),
    "model_bad": (_submit(model="wanx-v1"), "model", "is not supported by this endpoint"),
    "images_empty": (_submit(images=[]), "images", "0 images given"),
    "images_int": (_submit(images=42), "images", "42 is not allowed (allowed: a list of 1-3"),
    "images_bytes": (_submit(images=[b"not an image"]), "images[0]", "is not a readable image"),
    "images_truncated": (_submit(images=[TRUNCATED_PNG]), "images[0]", "truncated or corrupt"),
    "images_tiny": (_submit(images=[IMAGE, TINY_PNG]), "images[1]", "below the minimum of 384 px"),
    "images_ftp": (_submit(images=["ftp://h/a.png"]), "images[0]", "ftp:// is not supported"),
    "images_oss": (_submit(images=["oss://bucket/a.png"]), "images[0]", "oss:// is not supported"),
    "images_list_string": (_submit(images='["a.png"'), "images", "looks like a list but is not"),
    "images_missing_path": (_submit(images=[Path("/no/such.png")]), "images[0]", "does not exist"),
    "poll_interval_zero": (_submit(poll_interval=0), "poll_interval", "0 seconds is not above 0"),
    "poll_interval_text": (_submit(poll_interval="fast"), "poll_interval", "'fast' is not a finite"),
    "timeout_nan": (_submit(timeout=math.nan), "timeout", "nan is not a finite number"),
    "error_budget_negative": (_submit(error_budget=-1), "error_budget", "-1 is below the minimum of 0"),
    "wait_text": (_submit(wait_for_completion="sometimes"), "wait_for_completion", "is not a boolean"),
    "deferrable_text": (_submit(deferrable="x"), "deferrable", "'x' is not a boolean"),
    "require_all_text": (_submit(require_all_images="perhaps"), "require_all_images", "not a boolean"),
    "sensor_poke_zero": (_sensor(poke_interval=0), "poke_interval", "0 seconds is not above 0"),
    "sensor_timeout_text": (_sensor(timeout="abc"), "timeout", "'abc' is not a finite number"),
    "sensor_budget_bool": (_sensor(error_budget=True), "error_budget", "True is not an integer"),
    "sensor_deferrable": (_sensor(deferrable="x"), "deferrable", "'x' is not a boolean"),
    "sensor_require_all": (_sensor(require_all_images="2"), "require_all_images", "'2' is not a boolean"),
    "sensor_id_none": (_sensor(wanxiang_task_id=None), "wanxiang_task_id", "is required but is None"),
    "copy_attempts_zero": (_copy(download_attempts=0), "download_attempts", "0 is below the minimum of 1"),
    "copy_attempts_float": (_copy(download_attempts="2.5"), "download_attempts", "'2.5' is not an integer"),
    "copy_timeout_zero": (_copy(download_timeout=0), "download_timeout", "0 seconds is not above 0"),
    "copy_overwrite": (_copy(overwrite="sometimes"), "overwrite", "not an overwrite policy"),
    "copy_fail_on_failure": (_copy(fail_on_image_failure="maybe"), "fail_on_image_failure", "not a boolean"),
    "copy_sidecar": (_copy(write_sidecar=2), "write_sidecar", "2 is not a boolean"),
    "copy_id_blank": (_copy(wanxiang_task_id=""), "wanxiang_task_id", "is required but is blank"),
}


#: Literal cases that can only be checked in execute (images are read then; negative_prompt is free text).
AT_EXECUTE = {
    "negative_prompt_int",
    "images_empty",
    "images_int",
    "images_bytes",
    "images_truncated",
    "images_tiny",
    "images_ftp",
    "images_oss",
    "images_missing_path",
}


@pytest.mark.parametrize("case", LITERAL_CASES)
def test_literal_bad_input_fails_before_any_request(case: str, wanxiang_emulator: EmulatorServer) -> None:
    make, field, text = LITERAL_CASES[case]
    if case in AT_EXECUTE:
        operator = make()
        with pytest.raises(WanxiangValidationError) as info:
            # A value that slipped through would reach the emulator (counted below) or fail on the context.
            operator.execute({})
    else:
        with pytest.raises(WanxiangValidationError) as info:
            make()  # DAG parse time
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert text in str(info.value)
    stats = wanxiang_emulator.stats()
    assert (stats["requests"], stats["tasks_created"]) == (0, 0)


def test_the_table_is_complete() -> None:
    """At least 60 bad inputs, covering every submit field and every coerced field of sensor and copy."""
    rendered = {**TEMPLATED_CASES, **NATIVE_CASES}
    assert len(rendered) + len(LITERAL_CASES) >= 60
    submit_fields = {spec[1] for spec in rendered.values() if spec[0] == "submit"}
    assert submit_fields >= {
        "prompt",
        "images",
        "negative_prompt",
        "n",
        "size",
        "seed",
        "prompt_extend",
        "watermark",
        "model",
        "require_all_images",
    }
    assert {spec[1] for spec in rendered.values() if spec[0] == "sensor"} >= {
        "wanxiang_task_id",
        "require_all_images",
    }
    assert {spec[1] for spec in rendered.values() if spec[0] == "copy"} >= {
        "wanxiang_task_id",
        "overwrite",
        "fail_on_image_failure",
        "write_sidecar",
    }


def test_accepted_spellings_reach_the_service_typed(wanxiang_emulator: EmulatorServer) -> None:
    dag_run = run_dag("wx_coerce_ok")
    assert dag_run.state == "success", task_states(dag_run)
    tasks = wanxiang_emulator._call(lambda: list(wanxiang_emulator._core.tasks.tasks.values()))
    specs = {task.spec.prompt.removeprefix("case "): task.spec for task in tasks}
    assert set(specs) == {*OK_CASES, "images_json_list", "from_xcom_arg"}
    assert specs["from_xcom_arg"].watermark is False
    for case in ("wm_false", "wm_no", "wm_zero"):
        assert (specs[case].watermark, specs[case].prompt_extend) == (False, False), case
    assert (specs["wm_yes"].watermark, specs["wm_yes"].prompt_extend) == (True, True)
    for case in ("images_python_list", "images_json_list"):
        assert len(specs[case].images) == 2, case
        assert specs[case].images[0] != specs[case].images[1]
    unset = specs["optional_none"]
    assert (unset.negative_prompt, unset.size, unset.seed, unset.n) == (None, None, None, 2)
