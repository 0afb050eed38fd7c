"""Submit-operator inputs read from object storage (a real S3 API: moto on loopback); local paths are in
tests/unit/test_inputs.py (no server needed)."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import ObjectStoragePath

from airflow_provider_wanxiang.client import WanxiangValidationError
from airflow_provider_wanxiang.client.limits import MAX_IMAGE_BYTES
from airflow_provider_wanxiang.emulator import EmulatorServer
from airflow_provider_wanxiang.operators.wanxiang import WanxiangSubmitOperator
from tests.airflow_runtime import run_dag, task_states
from tests.images import decode_data_uri, png_bytes
from tests.integration.copy.conftest import S3_CONN_ID, MotoS3


def _payload(data_uri: str) -> bytes:
    mime, data = decode_data_uri(data_uri)
    assert mime == "image/png"
    return data


def _operator(image: object) -> WanxiangSubmitOperator:
    return WanxiangSubmitOperator(task_id="edit", prompt="p", images=[image])


def test_s3_uri_input_is_read_and_sent_as_a_data_uri(moto_s3: MotoS3, bucket: str) -> None:
    data = png_bytes()
    moto_s3.client.put_object(Bucket=bucket, Key="in/photo.png", Body=data)
    request = _operator(f"s3://{S3_CONN_ID}@{bucket}/in/photo.png").build_request()
    assert _payload(request.images[0]) == data


def test_object_storage_path_input(moto_s3: MotoS3, bucket: str) -> None:
    data = png_bytes(500, 900)
    moto_s3.client.put_object(Bucket=bucket, Key="in/tall.png", Body=data)
    path = ObjectStoragePath(f"s3://{bucket}/in/tall.png", conn_id=S3_CONN_ID)
    assert _payload(_operator(path).build_request().images[0]) == data


def test_oversized_object_is_refused_before_download_and_before_any_request(
    moto_s3: MotoS3, bucket: str, emulator: EmulatorServer
) -> None:
    moto_s3.client.put_object(Bucket=bucket, Key="in/huge.png", Body=b"\0" * (MAX_IMAGE_BYTES + 1))
    with pytest.raises(WanxiangValidationError, match=r"images\[0\].*10485761 bytes") as info:
        _operator(f"s3://{S3_CONN_ID}@{bucket}/in/huge.png").build_request()
    assert str(MAX_IMAGE_BYTES) in str(info.value)
    assert emulator.stats()["requests"] == 0


def test_too_small_object_is_refused_with_the_limit(moto_s3: MotoS3, bucket: str) -> None:
    moto_s3.client.put_object(Bucket=bucket, Key="in/thumb.png", Body=png_bytes(200, 200))
    with pytest.raises(WanxiangValidationError, match="384"):
        _operator(f"s3://{S3_CONN_ID}@{bucket}/in/thumb.png").build_request()


def test_dag_run_with_an_s3_input(moto_s3: MotoS3, bucket: str, emulator: EmulatorServer) -> None:
    moto_s3.client.put_object(Bucket=bucket, Key="in/photo.png", Body=png_bytes())
    dag_run = run_dag("wx_input_from_storage", run_conf={"image": f"s3://{S3_CONN_ID}@{bucket}/in/photo.png"})
    assert dag_run.state == "success", task_states(dag_run)
    assert emulator.stats()["tasks_created"] == 1
