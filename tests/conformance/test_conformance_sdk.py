"""The official dashscope 1.x SDK (``ImageSynthesis``) end to end against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_wanxiang.emulator.imaging import default_output_size
from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.images import data_uri, image_bytes, open_image, png_bytes

pytestmark = pytest.mark.conformance

MODEL = "wan2.5-i2i-preview"


def submit(sdk: Any, emulator: WanxiangEmulator, images: list[str], **kwargs: Any) -> Any:
    kwargs.setdefault("prompt", "Change the dress to a vintage lace dress")
    kwargs.setdefault("n", 1)
    return sdk.ImageSynthesis.async_call(model=MODEL, images=images, api_key=emulator.api_key, **kwargs)


def assert_png(url: str, size: tuple[int, int] | None = None) -> None:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    image = open_image(response.content)
    if size is not None:
        assert image.size == size


def test_http_url_async_call_and_wait(sdk: Any, emulator: WanxiangEmulator, image_url: str) -> None:
    created = submit(sdk, emulator, [image_url], n=2, seed=1234, size="1280*720", watermark=True)
    assert created.status_code == 200, created
    assert created.output.task_status == "PENDING"
    assert created.output.task_id
    result = sdk.ImageSynthesis.wait(created, api_key=emulator.api_key)
    assert result.status_code == 200
    assert result.output.task_status == "SUCCEEDED"
    assert len(result.output.results) == 2
    assert result.usage.image_count == 2
    assert result.output.task_metrics == {"TOTAL": 2, "SUCCEEDED": 2, "FAILED": 0}
    assert result.output.results[0].actual_prompt
    for item in result.output.results:
        assert_png(item.url, (1280, 720))


def test_data_uri_input(sdk: Any, emulator: WanxiangEmulator) -> None:
    uri = data_uri(png_bytes(600, 900))
    result = sdk.ImageSynthesis.call(
        model=MODEL, prompt="make it autumn", images=[uri], n=1, api_key=emulator.api_key, prompt_extend=False
    )
    assert result.status_code == 200 and result.output.task_status == "SUCCEEDED"
    assert "actual_prompt" not in result.output.results[0]
    assert_png(result.output.results[0].url)


def test_file_input_goes_through_temp_upload(sdk: Any, emulator: WanxiangEmulator, tmp_path: Path) -> None:
    first, second = tmp_path / "person.png", tmp_path / "scene.jpg"
    first.write_bytes(png_bytes(700, 700, (200, 30, 30)))
    second.write_bytes(image_bytes("JPEG", 1200, 600))
    created = submit(sdk, emulator, [f"file://{first}", str(second)], prompt="put the person into the scene")
    assert created.status_code == 200, created
    result = sdk.ImageSynthesis.wait(created, api_key=emulator.api_key)
    assert result.output.task_status == "SUCCEEDED"
    assert_png(result.output.results[0].url, default_output_size((1200, 600)))  # the last image's 2:1
    stats = emulator.stats()
    assert (stats["upload_policies"], stats["uploads"], stats["tasks_created"]) == (1, 2, 1)


def test_fetch_cancel_and_list(sdk: Any, emulator: WanxiangEmulator, image_url: str) -> None:
    slow = submit(sdk, emulator, [image_url], prompt="slow one [seconds:60]")
    fetched = sdk.ImageSynthesis.fetch(slow, api_key=emulator.api_key)
    assert fetched.status_code == 200 and fetched.output.task_status == "PENDING"
    canceled = sdk.ImageSynthesis.cancel(slow, api_key=emulator.api_key)
    assert canceled.status_code == 200
    assert (
        sdk.ImageSynthesis.fetch(slow.output.task_id, api_key=emulator.api_key).output.task_status
        == "CANCELED"
    )
    again = sdk.ImageSynthesis.cancel(slow, api_key=emulator.api_key)
    assert (again.status_code, again.code) == (400, "UnsupportedOperation")

    done = submit(sdk, emulator, [image_url])
    listing = sdk.ImageSynthesis.list(api_key=emulator.api_key, page_size=5)
    assert listing.status_code == 200
    assert listing.output["total"] == 2
    assert {row["task_id"] for row in listing.output["data"]} == {slow.output.task_id, done.output.task_id}
    only_canceled = sdk.ImageSynthesis.list(api_key=emulator.api_key, status="CANCELED")
    assert [row["status"] for row in only_canceled.output["data"]] == ["CANCELED"]
    # The SDK's own enum has SUSPENDED; the API does not, and says so rather than answering an empty page.
    suspended = sdk.ImageSynthesis.list(api_key=emulator.api_key, status="SUSPENDED")
    assert (suspended.status_code, suspended.code) == (400, "InvalidParameter")
    # The filters the SDK sends beyond the documented table: api_key_id and region.
    row = listing.output["data"][0]
    by_key = sdk.ImageSynthesis.list(api_key=emulator.api_key, api_key_id=row["api_key_id"])
    assert by_key.output["total"] == 2
    assert sdk.ImageSynthesis.list(api_key=emulator.api_key, api_key_id="1").output["total"] == 0
    by_region = sdk.ImageSynthesis.list(api_key=emulator.api_key, region=row["region"])
    assert by_region.output["total"] == 2
    assert sdk.ImageSynthesis.list(api_key=emulator.api_key, region="eu-central-1").output["total"] == 0

    hidden = sdk.ImageSynthesis.fetch(done.output.task_id, api_key=emulator.other_api_key)
    assert hidden.output.task_status == "UNKNOWN"


@pytest.mark.parametrize(
    ("kwargs", "status", "code", "message"),
    [
        ({"api_key": "sk-wrong"}, 401, "InvalidApiKey", "Invalid API-key provided."),
        ({"n": 5}, 400, "InvalidParameter", 'Parameter "parameters.n" must be an integer in [1, 4], got 5.'),
        ({"size": "512*512"}, 400, "InvalidParameter", None),
        (
            {"prompt": "a famous mouse [reject:IPInfringementSuspect]"},
            400,
            "IPInfringementSuspect",
            "Input data is suspected of being involved in IP infringement.",
        ),
        (
            {"prompt": "x [reject:DataInspectionFailed]"},
            400,
            "DataInspectionFailed",
            "Input data may contain inappropriate content.",
        ),
    ],
)
def test_create_errors(
    sdk: Any,
    emulator: WanxiangEmulator,
    image_url: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
    message: Any,
) -> None:
    api_key = kwargs.pop("api_key", emulator.api_key)
    kwargs.setdefault("prompt", "edit")
    response = sdk.ImageSynthesis.async_call(
        model=MODEL, images=[image_url], api_key=api_key, n=kwargs.pop("n", 1), **kwargs
    )
    assert (response.status_code, response.code) == (status, code)
    assert response.request_id
    if message is not None:
        assert response.message == message


def test_failed_and_partial_tasks(sdk: Any, emulator: WanxiangEmulator, image_url: str) -> None:
    failed = sdk.ImageSynthesis.wait(
        submit(sdk, emulator, [image_url], prompt="x [fail:InternalError.Algo]"), api_key=emulator.api_key
    )
    assert failed.status_code == 200
    assert failed.output.task_status == "FAILED"
    assert failed.output.code == "InternalError.Algo"
    assert failed.usage is None
    partial = sdk.ImageSynthesis.wait(
        submit(sdk, emulator, [image_url], prompt="x [partial:1]", n=2), api_key=emulator.api_key
    )
    assert partial.output.task_status == "SUCCEEDED"
    assert partial.usage.image_count == 1
    assert partial.output.results[1].code == "DataInspectionFailed"
    assert partial.output.results[1].url == ""


def test_wait_rides_out_503_while_polling(sdk: Any, emulator: WanxiangEmulator, image_url: str) -> None:
    created = submit(sdk, emulator, [image_url])
    emulator.inject_faults("get", [{"status": 503}])
    result = sdk.ImageSynthesis.wait(created, api_key=emulator.api_key)
    assert result.output.task_status == "SUCCEEDED"
    stats = emulator.stats()
    assert (stats["faults_by_route"], stats["task_queries"]) == ({"get": 1}, 1)  # faulted, then answered


def test_sdk_resends_create_after_a_dropped_connection(
    sdk: Any, emulator: WanxiangEmulator, image_url: str
) -> None:
    """Documents the duplicate-submit hazard: the SDK retries once on a dropped connection, so a drop
    *after* the server stored the task yields two paid tasks. Our provider must not do the same."""
    emulator.inject_faults("create", [{"drop": True, "after_enqueue": True}])
    created = submit(sdk, emulator, [image_url])
    assert created.status_code == 200
    assert emulator.stats()["tasks_created"] == 2


def test_old_sdk_path_misuse(sdk: Any, emulator: WanxiangEmulator, image_url: str) -> None:
    """Forcing the text2image task (what SDKs < 1.25.2 did) gets the documented URL error."""
    response = sdk.ImageSynthesis.async_call(
        model=MODEL, prompt="x", images=[image_url], api_key=emulator.api_key, task="text2image"
    )
    assert (response.status_code, response.code, response.message) == (
        400,
        "InvalidParameter",
        "url error, please check url\uff01",
    )


def test_sync_call_is_refused(sdk: Any, emulator: WanxiangEmulator, image_url: str) -> None:
    response = sdk.ImageSynthesis.sync_call(
        model=MODEL, prompt="x", images=[image_url], api_key=emulator.api_key
    )
    assert (response.status_code, response.code) == (403, "AccessDenied")
    assert response.message == "current user api does not support synchronous calls."
