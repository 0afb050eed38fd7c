"""Image inputs in the Airflow layer: which schemes go to object storage is asked of Airflow itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk.io import attach, store
from fsspec.implementations.memory import MemoryFileSystem

from airflow_provider_wanxiang.client import WanxiangValidationError
from airflow_provider_wanxiang.inputs import SUPPORTED_FORMS, normalise_image_inputs
from airflow_provider_wanxiang.operators.wanxiang import WanxiangSubmitOperator
from tests.images import decode_data_uri, png_bytes


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("ftp://files.example.com/a.png", "ftp"),
        ("gopher://example.com/a.png", "gopher"),
        ("oss://my-bucket/photos/a.png", "oss"),  # no oss filesystem installed in the test environments
        ("memory://nothing-attached/a.png", "memory"),
        ("zzz://a/b.png", "zzz"),
        ("FTP://files.example.com/a.png", "ftp"),
    ],
)
def test_schemes_airflow_cannot_open_are_refused_naming_the_field(url: str, scheme: str) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        normalise_image_inputs(["https://example.com/ok.png", url])
    assert info.value.field == "images[1]"
    message = str(info.value)
    assert message.startswith(f"images[1]: {scheme}:// is not supported")
    assert SUPPORTED_FORMS in message
    assert "does not exist" not in message


def test_a_filesystem_attached_at_run_time_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing is hard-coded: attaching a filesystem for a scheme makes it readable.
    fs = MemoryFileSystem()
    data = png_bytes(400, 400)
    fs.pipe("/inputs/a.png", data)
    # A refused lookup above leaves Airflow's store cache holding a "memory" store without a filesystem.
    monkeypatch.delitem(store._STORE_CACHE, "memory", raising=False)
    monkeypatch.setitem(store._STORE_CACHE, "memory", attach(protocol="memory", fs=fs))
    assert normalise_image_inputs("memory://inputs/a.png") == [data]


@pytest.mark.parametrize(
    "image",
    [
        "https://example.com/a.png",
        "data:image/png;base64,AAAA",
        "file:///tmp/a.png",
        "oss://dashscope-instant/abc/2026-01-01/x/a.png",
        "relative/a.png",
    ],
)
def test_client_native_forms_pass_through_untouched(image: str) -> None:
    assert normalise_image_inputs([image]) == [image]


def test_local_path_and_file_uri_inputs_are_sent_as_data_uris(tmp_path: Path) -> None:
    # Passed through here, then read by the client: the submit operator's request carries the file's bytes.
    data = png_bytes()
    path = tmp_path / "local.png"
    path.write_bytes(data)
    for image in (str(path), path.as_uri()):
        request = WanxiangSubmitOperator(task_id="edit", prompt="p", images=[image]).build_request()
        assert decode_data_uri(request.images[0]) == ("image/png", data)


def test_other_types_name_the_field() -> None:
    with pytest.raises(WanxiangValidationError, match=r"images\[0\]: a int is not an image input"):
        normalise_image_inputs([3])
