"""How inputs, remote tasks and written objects are named for lineage, and what is never named."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.providers.common.compat.sdk import Asset, ObjectStoragePath

from airflow_provider_wanxiang.lineage import (
    LineageRef,
    convert_asset_to_openlineage,
    input_ref,
    input_refs,
    operator_lineage,
    output_ref,
    task_ref,
)
from tests.images import png_data_uri


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        # Signed URLs carry their signature in the query string; user info is a credential too.
        (
            "https://user:pw@img.example.com:8443/a/b.png?Signature=abc&Expires=1#frag",
            LineageRef("https://img.example.com:8443", "/a/b.png"),
        ),
        ("http://img.example.com/x.png", LineageRef("http://img.example.com", "/x.png")),
        # An object-storage connection id is not part of the dataset's name.
        ("s3://aws_conn@bucket/in/a.png", LineageRef("s3://bucket", "in/a.png")),
        ("gcs://bucket/k.png", LineageRef("gs://bucket", "k.png")),
        ("oss://dashscope-instant/abc/x.png", LineageRef("oss://dashscope-instant", "abc/x.png")),
        ("file:///data/in/a.png", LineageRef("file", "/data/in/a.png")),
        ("/data/in/a.png", LineageRef("file", "/data/in/a.png")),
        (Path("/data/in/b.png"), LineageRef("file", "/data/in/b.png")),
    ],
)
def test_named_inputs(image: object, expected: LineageRef) -> None:
    assert input_ref(image) == expected


@pytest.mark.parametrize(
    "image", [png_data_uri(400, 400), b"\x89PNG\r\n", "https:///no-host", "s3://bucket", 42]
)
def test_unnamed_inputs_are_not_datasets(image: object) -> None:
    assert input_ref(image) is None


def test_object_storage_path_input() -> None:
    assert input_ref(ObjectStoragePath("file:///data/in/c.png")) == LineageRef("file", "/data/in/c.png")


def test_input_refs_accepts_one_image_or_a_list_and_drops_duplicates() -> None:
    url = "https://h/a.png"
    assert input_refs(url) == [LineageRef("https://h", "/a.png")]
    assert input_refs([url, f"{url}?v=2", png_data_uri(400, 400)]) == [LineageRef("https://h", "/a.png")]


def test_outputs_and_their_asset_uris() -> None:
    s3 = output_ref("s3://bucket/edits/t/0.png")
    local = output_ref("file:///out/t/0.png")
    assert s3 == LineageRef("s3://bucket", "edits/t/0.png") and s3.uri == "s3://bucket/edits/t/0.png"
    assert local == LineageRef("file", "/out/t/0.png") and local.uri == "file:///out/t/0.png"
    assert output_ref("/out/t/1.png") == LineageRef("file", "/out/t/1.png")


def test_remote_task_names_the_api_host_only() -> None:
    ref = task_ref("https://gw-user:gw-pass@ws-1.ap-southeast-1.maas.aliyuncs.com/api/v1", "t-1")
    assert ref == LineageRef("wanxiang://ws-1.ap-southeast-1.maas.aliyuncs.com", "tasks/t-1")
    assert ref.uri == "wanxiang://ws-1.ap-southeast-1.maas.aliyuncs.com/tasks/t-1"
    assert task_ref("http://127.0.0.1:8765/api/v1", "t-2").namespace == "wanxiang://127.0.0.1:8765"


def test_hook_lineage_asset_converts_back_to_the_same_openlineage_dataset() -> None:
    """The converter registered for ``wanxiang://`` assets (provider info) inverts ``LineageRef.uri``."""
    ref = task_ref("http://127.0.0.1:8765/api/v1", "t-3")
    dataset = convert_asset_to_openlineage(Asset(uri=ref.uri), None)
    assert (dataset.namespace, dataset.name) == (ref.namespace, ref.name)


def test_operator_lineage_holds_openlineage_datasets() -> None:
    lineage = operator_lineage(
        inputs=[LineageRef("s3://b", "k"), LineageRef("s3://b", "k")], outputs=[LineageRef("file", "/o")]
    )
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("s3://b", "k")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("file", "/o")]


def test_a_refused_dataset_never_fails_the_task(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Reporting runs right after a paid submission: a collector that raises must not fail the task.

    Airflow's global collector here is a no-op (no lineage reader plugin in this process) and no real
    normaliser refuses the URIs this module makes, so a collector that refuses one is substituted; the
    real collector is exercised in tests/integration/lineage.
    """
    from airflow.providers.common.compat.lineage import hook as compat_hook

    from airflow_provider_wanxiang.lineage import record_hook_lineage

    added: list[str] = []

    class Refusing:
        def add_input_asset(self, *, context: object, uri: str) -> None:
            raise ValueError(f"refused {uri}")

        def add_output_asset(self, *, context: object, uri: str) -> None:
            added.append(uri)

    monkeypatch.setattr(compat_hook, "get_hook_lineage_collector", Refusing)
    with caplog.at_level("WARNING", logger="airflow_provider_wanxiang.lineage"):
        record_hook_lineage(
            object(), inputs=[LineageRef("s3://b", "in")], outputs=[LineageRef("s3://b", "out")]
        )
    assert added == ["s3://b/out"]
    assert "Hook lineage refused s3://b/in" in caplog.text
