"""The copy operator against real parts: the emulator over HTTP, real files, a real S3 API (moto server).

These call ``execute`` with a minimal context (a task instance that records XComs) so the fault matrix
stays fast; ``test_copy_dags.py`` runs the same operator through ``dag.test()``.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wanxiang.client import WanxiangValidationError
from airflow_provider_wanxiang.copying import PNG_SIGNATURE, DownloadError
from airflow_provider_wanxiang.emulator import EmulatorServer
from airflow_provider_wanxiang.exceptions import (
    WanxiangCopyError,
    WanxiangImagesFailedError,
    WanxiangResultsExpiredError,
    WanxiangResultsUnavailableError,
    WanxiangTaskNotFinishedError,
)
from airflow_provider_wanxiang.operators.copy_results import REPORT_XCOM_KEY
from airflow_provider_wanxiang.operators.wanxiang import WanxiangCopyResultsOperator
from tests.images import open_image
from tests.integration.copy.conftest import (
    S3_CONN_ID,
    MotoS3,
    fetch,
    finished_task,
    leftovers,
    run_operator,
    wait_until,
)
from tests.integration.copy.result_host import ResultHost

pytestmark = pytest.mark.integration


def copy_op(task_id: str, destination: Any, **kwargs: Any) -> WanxiangCopyResultsOperator:
    return WanxiangCopyResultsOperator(
        task_id="copy", wanxiang_task_id=task_id, destination=destination, **kwargs
    )


def identity(uri: str) -> tuple[int, int, int]:
    """Inode, mtime and size: unchanged means the file was not rewritten (reads change only atime)."""
    stat = os.stat(uri.removeprefix("file://"))
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def no_urls(value: Any) -> None:
    text = json.dumps(value)
    assert "Signature" not in text and "Expires" not in text and "http" not in text, text


def no_result_urls(value: Any) -> None:
    """Not even the path of a result URL (error messages name only the result host)."""
    text = json.dumps(value)
    assert "Signature" not in text and "Expires=" not in text and "/results/" not in text, text


# -- file:// ----------------------------------------------------------------------------------------------
def test_file_destination_copies_every_image_exactly(emulator: EmulatorServer, tmp_path: Path) -> None:
    task = finished_task(emulator, n=3)
    op = copy_op(task.task_id, f"file://{tmp_path}/out/", write_sidecar=True, sidecar_metadata={"seed": 7})

    uris, ti = run_operator(op)

    expected = [f"file://{tmp_path}/out/{task.task_id}/{i}.png" for i in range(3)]
    assert uris == expected
    for image, uri in zip(task.results, uris, strict=True):
        path = Path(uri.removeprefix("file://"))
        data = path.read_bytes()
        assert image.url is not None
        assert data == fetch(image.url)
        assert data.startswith(PNG_SIGNATURE)
        png = open_image(data)
        width, height = png.size
        png.verify()
        sidecar = json.loads(path.with_suffix(".json").read_text())
        assert sidecar == {
            "wanxiang_task_id": task.task_id,
            "index": image.index,
            "image": path.name,
            "model": None,
            "seed": 7,
            "prompt": image.orig_prompt,
            "actual_prompt": image.actual_prompt,
            "width": width,
            "height": height,
            "size": f"{width}*{height}",
            "bytes": len(data),
            "submit_time": task.submit_time.isoformat() if task.submit_time else None,
            "end_time": task.end_time.isoformat() if task.end_time else None,
        }
        assert sidecar["actual_prompt"] and sidecar["submit_time"] and sidecar["end_time"]
        no_urls(sidecar)
    report = ti.xcoms[REPORT_XCOM_KEY]
    assert (report["written"], report["kept"], report["failed_remote"], report["copy_errors"]) == (3, 0, 0, 0)
    assert [entry["outcome"] for entry in report["images"]] == ["written"] * 3
    assert report["images"][0]["sidecar_uri"] == expected[0].removesuffix(".png") + ".json"
    no_urls(
        {k: v for k, v in report.items() if k != "images"}
        | {
            "images": [
                {k: v for k, v in entry.items() if k not in ("uri", "sidecar_uri")}
                for entry in report["images"]
            ]
        }
    )
    assert leftovers(tmp_path) == []


def test_rerun_keeps_existing_files_and_restores_a_deleted_one(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    task = finished_task(emulator, n=3)
    first, _ = run_operator(copy_op(task.task_id, str(tmp_path)))
    stats = [identity(uri) for uri in first]

    second, ti = run_operator(copy_op(task.task_id, str(tmp_path)))

    assert second == first
    assert [identity(uri) for uri in first] == stats
    assert ti.xcoms[REPORT_XCOM_KEY]["kept"] == 3
    assert ti.xcoms[REPORT_XCOM_KEY]["written"] == 0

    Path(first[1].removeprefix("file://")).unlink()
    third, ti = run_operator(copy_op(task.task_id, str(tmp_path)))
    assert third == first
    assert [e["outcome"] for e in ti.xcoms[REPORT_XCOM_KEY]["images"]] == ["kept", "written", "kept"]
    assert identity(first[0]) == stats[0]


def test_overwrite_policies(emulator: EmulatorServer, tmp_path: Path) -> None:
    task = finished_task(emulator, n=1)
    target = tmp_path / task.task_id / "0.png"
    target.parent.mkdir()
    target.write_bytes(b"someone else's file")

    refused, ti = run_operator(copy_op(task.task_id, str(tmp_path)))  # overwrite=False
    assert isinstance(refused, WanxiangCopyError)
    assert "already exists and differs" in str(refused) and "if_different" in str(refused)
    assert target.read_bytes() == b"someone else's file"
    assert ti.xcoms[REPORT_XCOM_KEY]["images"][0]["outcome"] == "copy_error"

    _, ti = run_operator(copy_op(task.task_id, str(tmp_path), overwrite="if_different"))
    assert ti.xcoms[REPORT_XCOM_KEY]["images"][0]["outcome"] == "replaced"
    assert target.read_bytes() == fetch(task.results[0].url or "")
    inode = target.stat().st_ino

    _, ti = run_operator(copy_op(task.task_id, str(tmp_path), overwrite="if_different"))
    assert ti.xcoms[REPORT_XCOM_KEY]["images"][0]["outcome"] == "kept"

    _, ti = run_operator(copy_op(task.task_id, str(tmp_path), overwrite=True))
    assert ti.xcoms[REPORT_XCOM_KEY]["images"][0]["outcome"] == "replaced"
    assert target.stat().st_ino != inode  # a new file renamed over the old one
    assert leftovers(tmp_path) == []

    with pytest.raises(WanxiangValidationError, match="overwrite: 'sometimes' is not an overwrite policy"):
        copy_op(task.task_id, str(tmp_path), overwrite="sometimes")


# -- partial remote failure -------------------------------------------------------------------------------
@pytest.mark.parametrize("strict", [False, True])
def test_partial_failure_copies_the_rest_and_reports(
    emulator: EmulatorServer, tmp_path: Path, strict: bool
) -> None:
    task = finished_task(emulator, "Three variants [partial:1]", n=3)
    assert len(task.succeeded_images) == 2

    outcome, ti = run_operator(copy_op(task.task_id, str(tmp_path), fail_on_image_failure=strict))

    copied = sorted(p.name for p in (tmp_path / task.task_id).iterdir())
    assert copied == ["0.png", "1.png"]
    report = ti.xcoms[REPORT_XCOM_KEY]
    assert report["written"] == 2 and report["failed_remote"] == 1
    assert report["images"][2] == {
        "index": 2,
        "outcome": "failed_remote",
        "code": "DataInspectionFailed",
        "message": "Output data may contain inappropriate content.",
    }
    if strict:
        assert isinstance(outcome, WanxiangImagesFailedError)
        assert "1 of 3 image(s) failed remotely (DataInspectionFailed)" in str(outcome)
    else:
        assert outcome == [f"file://{tmp_path}/{task.task_id}/{i}.png" for i in (0, 1)]


# -- S3 (moto server) -------------------------------------------------------------------------------------
def test_s3_rerun_writes_nothing_new_and_restores_only_what_is_missing(
    emulator: EmulatorServer, moto_s3: MotoS3, bucket: str
) -> None:
    task = finished_task(emulator, n=3)
    destination = f"s3://{S3_CONN_ID}@{bucket}/edits/"
    keys = [f"edits/{task.task_id}/{i}.png" for i in range(3)]

    first, ti = run_operator(copy_op(task.task_id, destination))

    assert first == [f"s3://{bucket}/{key}" for key in keys]
    assert moto_s3.keys(bucket) == keys
    heads = {key: moto_s3.client.head_object(Bucket=bucket, Key=key) for key in keys}
    for image, key in zip(task.results, keys, strict=True):
        body = moto_s3.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert body == fetch(image.url or "")
        assert heads[key]["ContentType"] == "image/png"

    second, ti = run_operator(copy_op(task.task_id, destination))

    assert second == first
    assert ti.xcoms[REPORT_XCOM_KEY]["kept"] == 3
    for key in keys:
        again = moto_s3.client.head_object(Bucket=bucket, Key=key)
        assert (again["ETag"], again["LastModified"]) == (heads[key]["ETag"], heads[key]["LastModified"])

    moto_s3.client.delete_object(Bucket=bucket, Key=keys[2])
    third, ti = run_operator(copy_op(task.task_id, destination))
    assert third == first
    assert [e["outcome"] for e in ti.xcoms[REPORT_XCOM_KEY]["images"]] == ["kept", "kept", "written"]
    assert moto_s3.keys(bucket) == keys
    for key in keys[:2]:
        assert (
            moto_s3.client.head_object(Bucket=bucket, Key=key)["LastModified"] == heads[key]["LastModified"]
        )


def test_s3_outage_mid_copy_leaves_nothing_partial_and_a_rerun_completes(
    emulator: EmulatorServer, moto_s3: MotoS3, bucket: str
) -> None:
    task = finished_task(emulator, n=3)
    destination = f"s3://{bucket}/edits/"
    keys = [f"edits/{task.task_id}/{i}.png" for i in range(3)]
    # The second download waits 1.5 s in the emulator; S3 goes down during that wait, after image 0 is in.
    emulator.inject_faults("result", [{"delay": 0.001}, {"delay": 1.5}])
    before = emulator.stats()["requests"]

    def outage() -> None:
        wait_until(lambda: emulator.stats()["requests"] >= before + 3)  # get task, result 0, result 1
        moto_s3.stop()

    stopper = threading.Thread(target=outage)
    stopper.start()
    try:
        outcome, ti = run_operator(copy_op(task.task_id, destination, dest_conn_id=S3_CONN_ID))
    finally:
        stopper.join()
        moto_s3.restart()

    assert isinstance(outcome, WanxiangCopyError), outcome
    assert "Nothing partial was left" in str(outcome)
    report = ti.xcoms[REPORT_XCOM_KEY]
    assert [e["outcome"] for e in report["images"]] == ["written", "copy_error", "copy_error"]
    assert moto_s3.keys(bucket) == keys[:1]  # image 0 kept, nothing under the other names
    assert moto_s3.multipart_uploads(bucket) == []
    last_modified = moto_s3.client.head_object(Bucket=bucket, Key=keys[0])["LastModified"]

    uris, ti = run_operator(copy_op(task.task_id, destination, dest_conn_id=S3_CONN_ID))

    assert uris == [f"s3://{bucket}/{key}" for key in keys]
    assert [e["outcome"] for e in ti.xcoms[REPORT_XCOM_KEY]["images"]] == ["kept", "written", "written"]
    assert moto_s3.keys(bucket) == keys
    assert moto_s3.client.head_object(Bucket=bucket, Key=keys[0])["LastModified"] == last_modified


# -- download faults ----------------------------------------------------------------------------------------
def test_result_server_failure_mid_way_leaves_nothing_and_rerun_completes(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    task = finished_task(emulator, n=3)
    emulator.inject_faults("result", [{"delay": 0.001}, {"drop": True}])

    outcome, ti = run_operator(copy_op(task.task_id, str(tmp_path), download_attempts=1))

    assert isinstance(outcome, WanxiangCopyError)
    assert [e["outcome"] for e in ti.xcoms[REPORT_XCOM_KEY]["images"]] == ["written", "copy_error", "written"]
    # The Airflow-facing error carries each image's copy error (the client tree's), the first as its cause.
    assert [index for index, _ in outcome.errors] == [1] and isinstance(outcome.errors[0][1], DownloadError)
    assert outcome.__cause__ is outcome.errors[0][1]
    no_result_urls(ti.xcoms[REPORT_XCOM_KEY])
    no_result_urls(str(outcome))
    assert sorted(p.name for p in (tmp_path / task.task_id).iterdir()) == ["0.png", "2.png"]
    assert leftovers(tmp_path) == []

    emulator.inject_faults("result", [{"status": 503}])  # absorbed by the per-image retry
    uris, ti = run_operator(copy_op(task.task_id, str(tmp_path), download_attempts=2))
    assert len(uris) == 3
    assert [e["outcome"] for e in ti.xcoms[REPORT_XCOM_KEY]["images"]] == ["kept", "written", "kept"]


@pytest.mark.parametrize("mode", ["truncate", "truncate_unannounced", "not_png"])
def test_bad_download_writes_nothing(
    emulator: EmulatorServer, result_proxy: ResultHost, tmp_path: Path, mode: str
) -> None:
    proxy = result_proxy
    task = finished_task(emulator, n=1)
    proxy.misbehave(mode, times=1)

    outcome, _ = run_operator(copy_op(task.task_id, f"file://{tmp_path}", download_attempts=1))

    assert isinstance(outcome, WanxiangCopyError), outcome
    expected = {
        "truncate": "cut short",
        "truncate_unannounced": "truncated (no IEND chunk",
        "not_png": "not a PNG",
    }[mode]
    assert expected in str(outcome)
    assert list(tmp_path.rglob("*")) == [tmp_path / task.task_id]  # an empty directory, no file, no temp
    # A cut-short body is transient: with retries (the default) the same copy succeeds.
    proxy.misbehave(mode, times=1)
    uris, _ = run_operator(copy_op(task.task_id, f"file://{tmp_path}"))
    if mode == "not_png":  # not retried: bad content is not a network hiccup
        assert isinstance(uris, WanxiangCopyError)
        uris, _ = run_operator(copy_op(task.task_id, f"file://{tmp_path}"))
    assert Path(uris[0].removeprefix("file://")).read_bytes() == fetch(task.results[0].url or "")


# -- results that cannot be copied ---------------------------------------------------------------------------
def test_expired_result_urls_say_rerun_the_edit(emulator: EmulatorServer, tmp_path: Path) -> None:
    task = finished_task(emulator, n=2)
    done, _ = run_operator(copy_op(task.task_id, str(tmp_path / "before")))
    assert len(done) == 2
    emulator.configure(result_ttl=0.0)  # every URL issued so far now answers 403 "Request has expired."

    outcome, ti = run_operator(copy_op(task.task_id, str(tmp_path / "after")))

    assert isinstance(outcome, WanxiangResultsExpiredError)
    message = str(outcome)
    assert "Re-run the edit" in message and "expired" in message
    assert "AccessDenied: Request has expired." in message
    no_result_urls(message)
    assert not (tmp_path / "after").exists() or not any((tmp_path / "after").rglob("*.png"))
    assert ti.xcoms[REPORT_XCOM_KEY]["copy_errors"] == 2
    no_result_urls(ti.xcoms[REPORT_XCOM_KEY])
    # Already-copied images stay usable after the URLs expired: a re-run keeps them.
    again, ti = run_operator(copy_op(task.task_id, str(tmp_path / "before")))
    assert again == done and ti.xcoms[REPORT_XCOM_KEY]["kept"] == 2


def test_unknown_failed_and_running_tasks_fail_clearly(emulator: EmulatorServer, tmp_path: Path) -> None:
    unknown, _ = run_operator(copy_op("0f0f0f0f-0000-4000-8000-00000000dead", str(tmp_path)))
    assert isinstance(unknown, WanxiangResultsUnavailableError)
    assert "UNKNOWN" in str(unknown) and "Re-run the edit" in str(unknown)

    failed_task = finished_task(emulator, "Break it [fail:InternalError.Algo]", n=1)
    failed, _ = run_operator(copy_op(failed_task.task_id, str(tmp_path)))
    assert isinstance(failed, WanxiangResultsUnavailableError)
    assert failed.code == "InternalError.Algo" and "Re-run the edit" in str(failed)

    running_task = finished_task(emulator, "Slow [seconds:30]", n=1, wait=False)
    running, _ = run_operator(copy_op(running_task.task_id, str(tmp_path)))
    assert isinstance(running, WanxiangTaskNotFinishedError)
    assert "wait for it to finish" in str(running)
    assert list(tmp_path.iterdir()) == []


# -- configuration errors ------------------------------------------------------------------------------------
def test_destination_and_name_errors(emulator: EmulatorServer, tmp_path: Path) -> None:
    task = finished_task(emulator, n=2)

    oss, _ = run_operator(copy_op(task.task_id, "oss://bucket/edits/"))
    assert isinstance(oss, WanxiangValidationError) and oss.field == "destination"
    assert "s3.oss-<region>.aliyuncs.com" in str(oss) and "endpoint_url" in str(oss)

    relative, _ = run_operator(copy_op(task.task_id, "relative/dir"))
    assert isinstance(relative, WanxiangValidationError) and "relative path" in str(relative)
    assert (relative.field, relative.value) == (
        "destination",
        "relative/dir",
    ) and "absolute" in relative.limit

    clash, _ = run_operator(copy_op(task.task_id, str(tmp_path), file_name="{wanxiang_task_id}.png"))
    assert isinstance(clash, WanxiangValidationError) and "the same name" in str(clash)
    assert clash.field == "file_name" and "{index}" in clash.limit

    unknown_field, _ = run_operator(copy_op(task.task_id, str(tmp_path), file_name="{seed}/{index}.png"))
    assert isinstance(unknown_field, WanxiangValidationError) and "{wanxiang_task_id}" in str(unknown_field)
    assert (unknown_field.field, unknown_field.value) == ("file_name", "{seed}/{index}.png")

    escape, _ = run_operator(copy_op(task.task_id, str(tmp_path), file_name="../{index}.png"))
    assert isinstance(escape, WanxiangValidationError) and "'..'" in str(escape)
    assert escape.field == "file_name" and isinstance(escape, ValueError)  # still a ValueError

    conflict, _ = run_operator(copy_op(task.task_id, "s3://a@bucket/x/", dest_conn_id="b"))
    assert isinstance(conflict, WanxiangValidationError) and "dest_conn_id" in str(conflict)
    assert (conflict.field, conflict.value) == ("dest_conn_id", "b") and "'a'" in conflict.limit

    # A literal "None" fails when the DAG is parsed (a rendered one fails in execute: tests/integration/
    # airflow/test_bad_inputs.py).
    with pytest.raises(WanxiangValidationError, match="wanxiang_task_id is required but is 'None'"):
        copy_op("None", str(tmp_path))
    assert list(tmp_path.iterdir()) == []

    uris, _ = run_operator(
        copy_op(task.task_id, str(tmp_path), file_name="{wanxiang_task_id}-{number:02d}-of-{total}.png")
    )
    assert [Path(u).name for u in uris] == [f"{task.task_id}-01-of-2.png", f"{task.task_id}-02-of-2.png"]


def test_no_signed_url_reaches_the_logs(
    emulator: EmulatorServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    task = finished_task(emulator, n=2)
    emulator.inject_faults("result", [{"drop": True}, {"status": 503}])
    with caplog.at_level("DEBUG"):
        run_operator(copy_op(task.task_id, str(tmp_path), download_attempts=1))
        emulator.configure(result_ttl=0.0)
        run_operator(copy_op(task.task_id, str(tmp_path / "x"), download_attempts=1))
    assert caplog.records
    assert any(record.name.startswith("urllib3") for record in caplog.records)
    for record in caplog.records:
        assert "Signature=" not in record.getMessage(), record.getMessage()


def test_object_storage_path_destination(emulator: EmulatorServer, moto_s3: MotoS3, bucket: str) -> None:
    from airflow.sdk import ObjectStoragePath

    try:
        destination = ObjectStoragePath(f"s3://{bucket}/osp/", conn_id=S3_CONN_ID)
    except TypeError as err:  # Airflow 3.1.0 with universal-pathlib >= 0.3 cannot build one at all
        pytest.skip(f"ObjectStoragePath unusable in this environment: {err}")
    task = finished_task(emulator, n=1)

    uris, _ = run_operator(copy_op(task.task_id, destination, file_name="{index}.png"))

    assert uris == [f"s3://{bucket}/osp/0.png"]
    assert (ObjectStoragePath(uris[0], conn_id=S3_CONN_ID)).read_bytes() == fetch(task.results[0].url or "")
