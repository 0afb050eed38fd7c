"""Every example DAG in ``dags/`` imports cleanly and runs green under ``dag.test()`` against the emulator.

These tests use the ``wanxiang_emulator`` fixture exactly as a user would in their own DAG tests: it comes
from the provider's pytest plugin, with no import and no set-up here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.airflow_runtime import get_dag, run_dag, task_states, xcom
from tests.images import open_image

if TYPE_CHECKING:
    from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator

REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLE_DAG_IDS = {
    "wanxiang_quickstart",
    "wanxiang_fusion",
    "wanxiang_nightly_batch",
    "wanxiang_catalogue_batch",
    "wanxiang_photo_intake",
    "wanxiang_asset_restyle",
}


def _pngs(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*.png"))


def test_every_example_dag_file_defines_its_dags_without_import_errors() -> None:
    from tests.airflow_runtime import _dag_bag

    bag = _dag_bag()
    assert not bag.import_errors
    example_files = {path.name for path in (REPO / "dags").glob("*.py")}
    found = {dag_id for dag_id, dag in bag.dags.items() if Path(dag.fileloc).name in example_files}
    assert found == EXAMPLE_DAG_IDS


def test_quickstart(wanxiang_emulator: WanxiangEmulator, tmp_path: Path) -> None:
    dag_run = run_dag("wanxiang_quickstart", run_conf={"output_dir": str(tmp_path)})
    assert dag_run.state == "success", task_states(dag_run)
    (png,) = _pngs(tmp_path)
    open_image(png.read_bytes(), "PNG")  # asserts the file decodes as a PNG
    written = xcom(dag_run, "copy_results")
    assert written == [png.as_uri()]
    assert wanxiang_emulator.stats()["tasks_created"] == 1


def test_fusion(wanxiang_emulator: WanxiangEmulator, tmp_path: Path) -> None:
    dag_run = run_dag("wanxiang_fusion", run_conf={"output_dir": str(tmp_path)})
    assert dag_run.state == "success", task_states(dag_run)
    pngs = _pngs(tmp_path)
    assert len(pngs) == 2  # n=2 variants
    for png in pngs:
        with open_image(png.read_bytes()) as image:
            assert image.size == (1280, 960)  # size="1280*960"
        sidecar = json.loads(png.with_suffix(".json").read_text())
        assert "lamp" in sidecar["prompt"]


def test_nightly_batch(wanxiang_emulator: WanxiangEmulator, tmp_path: Path) -> None:
    dag_run = run_dag("wanxiang_nightly_batch", run_conf={"output": tmp_path.as_uri() + "/"})
    assert dag_run.state == "success", task_states(dag_run)
    summary: dict[str, Any] = xcom(dag_run, "summarize")
    assert summary == {
        "edits": 3,
        "succeeded": 3,
        "failed": 0,
        "images_billed": 3,
        "images_failed": 0,
        "images_copied": 3,
    }
    assert len(_pngs(tmp_path)) == 3
    assert wanxiang_emulator.stats()["tasks_created"] == 3


def test_catalogue_batch(wanxiang_emulator: WanxiangEmulator, tmp_path: Path) -> None:
    output = tmp_path.as_uri()
    dag_run = run_dag("wanxiang_catalogue_batch", run_conf={"output": output})
    assert dag_run.state == "success", task_states(dag_run)
    result = xcom(dag_run, "report")
    assert {k: result["summary"][k] for k in ("total", "succeeded", "failed", "skipped", "images")} == {
        "total": 3,
        "succeeded": 3,
        "failed": 0,
        "skipped": 0,
        "images": 3,
    }
    assert sorted(p.relative_to(tmp_path).as_posix() for p in _pngs(tmp_path)) == [
        "lamp-brass-02/0.png",
        "mug-blue-01/0.png",
        "table-oak-03/0.png",
    ]
    assert wanxiang_emulator.stats()["tasks_created"] == 3
    # The next night: nothing new in the manifest, nothing created.
    again = run_dag("wanxiang_catalogue_batch", run_conf={"output": output})
    assert again.state == "success", task_states(again)
    assert xcom(again, "report")["summary"]["skipped"] == 3
    assert wanxiang_emulator.stats()["tasks_created"] == 3


def test_asset_driven(wanxiang_emulator: WanxiangEmulator) -> None:
    get_dag("wanxiang_photo_intake")
    dag_run = run_dag("wanxiang_asset_restyle")
    assert dag_run.state == "success", task_states(dag_run)
    uris = xcom(dag_run, "copy_results")
    assert len(uris) == 1
    assert Path(uris[0].removeprefix("file://")).is_file()


@pytest.mark.parametrize("dag_id", sorted(EXAMPLE_DAG_IDS))
def test_examples_use_the_public_import_paths(dag_id: str) -> None:
    source = Path(get_dag(dag_id).fileloc).read_text()
    assert "airflow_provider_wanxiang.operators.copy_results" not in source
    assert (
        "from airflow_provider_wanxiang.operators.wanxiang import" in source
        or "from airflow_provider_wanxiang.operators.batch import" in source
    )
