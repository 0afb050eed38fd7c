"""Submit → wait → copy through real Airflow (``dag.test()``: real task runner, templating, XCom, asset
events) against the emulator over HTTP, to a local directory and to a real S3 API (moto server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wanxiang.emulator import EmulatorServer
from tests.airflow_runtime import run_dag, task_states, xcom
from tests.integration.copy.conftest import S3_CONN_ID, MotoS3

pytestmark = pytest.mark.integration


def asset_events(dag_run: Any) -> list[Any]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.query(AssetEvent).filter_by(source_run_id=dag_run.run_id).all()
        return [(event.asset.uri, dict(event.extra or {})) for event in events]


def test_copy_to_local_directory_with_sidecars_and_asset_event(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    dag_run = run_dag("wx_copy_file", run_conf={"destination": tmp_path.as_uri(), "prefix": "catalogue"})

    assert dag_run.state == "success", task_states(dag_run)
    task_id = xcom(dag_run, "submit")
    uris = xcom(dag_run, "copy")
    assert uris == [f"{tmp_path.as_uri()}/catalogue/{task_id}/{i}.png" for i in range(3)]
    for index, uri in enumerate(uris):
        image = Path(uri.removeprefix("file://"))
        sidecar = json.loads(image.with_suffix(".json").read_text())
        assert (sidecar["wanxiang_task_id"], sidecar["index"]) == (task_id, index)
        assert (sidecar["model"], sidecar["seed"]) == ("wan2.5-i2i-preview", 42)
        assert sidecar["bytes"] == image.stat().st_size
        assert sidecar["prompt"] == "Make the sky orange [seconds:0.5]"
    report = xcom(dag_run, "copy", "wanxiang_copy_report")
    assert report["written"] == 3 and report["wanxiang_task_id"] == task_id
    assert "Signature" not in json.dumps(report)
    assert emulator.stats()["tasks_created"] == 1
    assert asset_events(dag_run) == [
        ("s3://wanxiang-copy-assets/edits", {"wanxiang_task_id": task_id, "uris": uris})
    ]


def test_copy_to_s3_with_dest_conn_id(emulator: EmulatorServer, moto_s3: MotoS3, bucket: str) -> None:
    dag_run = run_dag("wx_copy_s3", run_conf={"bucket": bucket, "conn_id": S3_CONN_ID})

    assert dag_run.state == "success", task_states(dag_run)
    task_id = xcom(dag_run, "submit")
    keys = [f"edits/{task_id}/{i}.png" for i in range(2)]
    assert xcom(dag_run, "copy") == [f"s3://{bucket}/{key}" for key in keys]
    assert moto_s3.keys(bucket) == keys
    for key in keys:
        body = moto_s3.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert body.startswith(b"\x89PNG\r\n\x1a\n") and body.endswith(b"IEND\xaeB`\x82")


@pytest.mark.parametrize("strict", [False, True])
def test_partial_failure_policy(moto_s3: MotoS3, bucket: str, strict: bool) -> None:
    dag_id = "wx_copy_partial_strict" if strict else "wx_copy_partial"

    dag_run = run_dag(dag_id, run_conf={"bucket": bucket, "conn_id": S3_CONN_ID})

    task_id = xcom(dag_run, "submit")
    assert moto_s3.keys(bucket) == [f"edits/{task_id}/{i}.png" for i in range(2)]  # copied either way
    report = xcom(dag_run, "copy", "wanxiang_copy_report")
    assert (report["written"], report["failed_remote"]) == (2, 1)
    assert report["images"][2]["code"] == "DataInspectionFailed"
    if strict:
        assert dag_run.state == "failed"
        copy = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "copy")
        assert str(copy.state) == "failed"
        assert copy.try_number == 1  # a remote image failure is final: no retries spent on it
    else:
        assert dag_run.state == "success", task_states(dag_run)
        assert len(xcom(dag_run, "copy")) == 2
