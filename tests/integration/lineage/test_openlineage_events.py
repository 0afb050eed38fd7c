"""Lineage as a lineage tool sees it: real OpenLineage events from real ``dag.test()`` runs.

The DAGs (tests/dags/wanxiang_lineage_dags.py) edit three inputs — an http URL whose query string carries a
fake signature, a ``data:`` URI and an object in a real S3 API (moto on loopback) — against the emulator
over HTTP and copy the results to S3. They run in a child process with the OpenLineage provider's file
transport (run_dags.py says why); every event it wrote is read back and checked: which datasets went in
and came out, under which namespace and name, and that no secret (API key, signed result URL, the input's
query string, image bytes) is anywhere in the events.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wanxiang.testing.connection import connection_env_var
from airflow_provider_wanxiang.testing.emulator import UNLIMITED_INSTANT, WanxiangEmulator
from tests.image_host import ImageHost
from tests.images import png_bytes, png_data_uri
from tests.integration.copy.conftest import MotoS3

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[3]
S3_CONN_ID = "aws_lineage_moto"
BUCKET = "wanxiang-lineage"
#: The fake signature of the http input: its query string must not reach lineage.
SIGNED_QUERY = "X-Signature=lineage-s3cr3t&Expires=4102444800"
DATA_URI = png_data_uri(420, 400, (10, 200, 90))


@pytest.fixture(scope="module")
def runs(image_host: ImageHost, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Both lineage DAGs run once in one OpenLineage-enabled child process; their results and events."""
    home = tmp_path_factory.mktemp("lineage-airflow-home")
    (home / "dags").mkdir()
    (home / "dags" / "wanxiang_lineage_dags.py").write_bytes(
        (REPO / "tests" / "dags" / "wanxiang_lineage_dags.py").read_bytes()
    )
    events_file = home / "openlineage.jsonl"
    results_file = home / "results.jsonl"
    emulator = WanxiangEmulator(task_seconds=0).start()
    moto = MotoS3()
    try:
        emulator.configure(**UNLIMITED_INSTANT)
        moto.client.create_bucket(Bucket=BUCKET)
        moto.client.put_object(Bucket=BUCKET, Key="inputs/shelf.png", Body=png_bytes(500, 400))
        http_input = image_host.add(f"inputs/model.png?{SIGNED_QUERY}", png_bytes(480, 480))
        images = [http_input, DATA_URI, f"s3://{S3_CONN_ID}@{BUCKET}/inputs/shelf.png"]
        conf = {"bucket": BUCKET, "conn_id": S3_CONN_ID}
        s3_conn = {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
        }
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "wanxiang-lineage-test",
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(events_file), "append": True}
            ),
            # Not in the run's conf: OpenLineage copies the conf into every event (see the DAG file).
            "AIRFLOW_VAR_WANXIANG_LINEAGE_IMAGES": json.dumps(images),
            "AIRFLOW_VAR_WANXIANG_LINEAGE_BATCH_ITEMS": json.dumps(
                [
                    {"key": "model", "prompt": "Make the sky orange", "images": [http_input]},
                    {"key": "shelf", "prompt": "Make the sky orange", "images": [images[2]], "n": 2},
                ]
            ),
            connection_env_var(): emulator.connection_json(),
            connection_env_var(S3_CONN_ID): json.dumps(s3_conn),
        }
        dags = [["wx_lineage_operators", conf], ["wx_lineage_taskflow", conf], ["wx_lineage_batch", conf]]
        done = subprocess.run(
            [sys.executable, "-m", "tests.integration.lineage.run_dags", json.dumps(dags), str(results_file)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=540,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-5000:]
        *results, hook_lineage = [json.loads(line) for line in results_file.read_text().splitlines()]
        events_text = events_file.read_text() if events_file.exists() else ""
        yield {
            "results": {result["dag_id"]: result for result in results},
            "hook_lineage": hook_lineage["hook_lineage"],
            "events_text": events_text,
            "events": [json.loads(line) for line in events_text.splitlines() if line.strip()],
            "api_key": emulator.api_key,
            "task_namespace": f"wanxiang://127.0.0.1:{emulator.port}",
            "logs": done.stdout + done.stderr,
        }
    finally:
        moto.stop()
        emulator.stop()


def _complete(runs: dict[str, Any], dag_id: str, task_id: str) -> dict[str, Any]:
    """The COMPLETE event of one task of one run."""
    run_id = runs["results"][dag_id]["run_id"]
    matches = [
        event
        for event in runs["events"]
        if event.get("eventType") == "COMPLETE"
        and event["job"]["name"] == f"{dag_id}.{task_id}"
        and event["run"]["facets"].get("airflow", {}).get("dagRun", {}).get("run_id") == run_id
    ]
    assert len(matches) == 1, [(e.get("eventType"), e["job"]["name"]) for e in runs["events"]]
    return matches[0]


def _datasets(event: dict[str, Any], side: str) -> set[tuple[str, str]]:
    return {(dataset["namespace"], dataset["name"]) for dataset in event[side]}


def test_the_runs_succeeded(runs: dict[str, Any]) -> None:
    for dag_id in ("wx_lineage_operators", "wx_lineage_taskflow", "wx_lineage_batch"):
        result = runs["results"][dag_id]
        assert result["state"] == "success", result


def test_submit_reports_named_inputs_and_the_remote_task(runs: dict[str, Any], image_host: ImageHost) -> None:
    event = _complete(runs, "wx_lineage_operators", "submit")
    task_id = runs["results"]["wx_lineage_operators"]["xcom"]["submit"]
    http_namespace = image_host.url.rstrip("/")
    assert _datasets(event, "inputs") == {
        (http_namespace, "/inputs/model.png"),  # the query string is gone; the data: URI is no dataset
        (f"s3://{BUCKET}", "inputs/shelf.png"),  # no connection id either
    }
    assert _datasets(event, "outputs") == {(runs["task_namespace"], f"tasks/{task_id}")}


def test_copy_reports_the_remote_task_in_and_the_written_objects_out(runs: dict[str, Any]) -> None:
    event = _complete(runs, "wx_lineage_operators", "copy")
    task_id = runs["results"]["wx_lineage_operators"]["xcom"]["submit"]
    written = runs["results"]["wx_lineage_operators"]["xcom"]["copy"]
    assert written == [f"s3://{BUCKET}/edits/{task_id}/{i}.png" for i in range(2)]
    assert _datasets(event, "inputs") == {(runs["task_namespace"], f"tasks/{task_id}")}
    assert _datasets(event, "outputs") == {(f"s3://{BUCKET}", f"edits/{task_id}/{i}.png") for i in range(2)}


def test_batch_reports_its_remote_tasks_in_and_the_images_it_stored_out(runs: dict[str, Any]) -> None:
    event = _complete(runs, "wx_lineage_batch", "batch")
    assert runs["results"]["wx_lineage_batch"]["xcom"]["batch"]["succeeded"] == 2
    assert _datasets(event, "outputs") == {
        (f"s3://{BUCKET}", "batch/model/0.png"),
        (f"s3://{BUCKET}", "batch/shelf/0.png"),
        (f"s3://{BUCKET}", "batch/shelf/1.png"),
    }
    inputs = _datasets(event, "inputs")
    assert len(inputs) == 2 and {namespace for namespace, _ in inputs} == {runs["task_namespace"]}
    assert all(name.startswith("tasks/") for _, name in inputs)


def test_taskflow_helper_lineage_reaches_openlineage_through_hook_lineage(runs: dict[str, Any]) -> None:
    """A @task has no lineage methods: OpenLineage falls back to what the hook reported (common-compat)."""
    event = _complete(runs, "wx_lineage_taskflow", "edit")
    written = runs["results"]["wx_lineage_taskflow"]["xcom"]["edit"]
    task_ids = {uri.split("/")[-2] for uri in written}
    assert len(written) == 2 and len(task_ids) == 1
    (task_id,) = task_ids
    inputs, outputs = _datasets(event, "inputs"), _datasets(event, "outputs")
    # The remote task is both: written by the submit, read by the copy (hook lineage keeps both sides).
    assert (runs["task_namespace"], f"tasks/{task_id}") in inputs & outputs
    assert (f"s3://{BUCKET}", "inputs/shelf.png") in inputs
    assert {(f"s3://{BUCKET}", f"taskflow/{task_id}/{i}.png") for i in range(2)} <= outputs


def test_hook_lineage_from_the_hook(runs: dict[str, Any], image_host: ImageHost) -> None:
    """What the operators and the helpers reported to Airflow's collector (common-compat), with the hook
    as context; Airflow's object storage reports its own reads and writes beside them."""
    ours = {
        side: {uri for uri, context in runs["hook_lineage"][side] if context == "WanxiangHook"}
        for side in ("inputs", "outputs")
    }
    operators = runs["results"]["wx_lineage_operators"]["xcom"]
    taskflow = runs["results"]["wx_lineage_taskflow"]["xcom"]["edit"]
    task_ids = [operators["submit"], taskflow[0].split("/")[-2]]
    tasks = {f"{runs['task_namespace']}/tasks/{task_id}" for task_id in task_ids}
    batch = _complete(runs, "wx_lineage_batch", "batch")
    batch_tasks = {f"{namespace}/{name}" for namespace, name in _datasets(batch, "inputs")}
    batch_images = {f"{namespace}/{name}" for namespace, name in _datasets(batch, "outputs")}
    assert ours["inputs"] == {
        f"{image_host.url.rstrip('/')}/inputs/model.png",
        f"s3://{BUCKET}/inputs/shelf.png",
        *tasks,  # read by the copies
        *batch_tasks,  # read by the batch
    }
    assert ours["outputs"] == {*tasks, *operators["copy"], *taskflow, *batch_images}
    assert "s3cr3t" not in json.dumps(runs["hook_lineage"])


def test_no_secret_in_any_event(runs: dict[str, Any]) -> None:
    text = runs["events_text"]
    assert len(runs["events"]) >= 6  # START and COMPLETE of three tasks, at least
    assert runs["api_key"] not in text
    assert "lineage-s3cr3t" not in text and "X-Signature" not in text
    for signed in ("Signature=", "Expires=", "OSSAccessKeyId"):  # the emulator's signed result URLs
        assert signed not in text
    assert DATA_URI[:64] not in text and "base64," not in text
