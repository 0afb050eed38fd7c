"""Destination parsing and naming: checked before any download, failing with the field, value and limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from fsspec.implementations.local import LocalFileSystem

from airflow_provider_wanxiang.client import (
    ImageResult,
    Task,
    TaskMetrics,
    TaskStatus,
    WanxiangValidationError,
)
from airflow_provider_wanxiang.copying import Location, destination_root, file_name_for, plan


def test_absolute_paths_and_file_urls_resolve_to_the_local_filesystem(tmp_path: Path) -> None:
    for destination in (f"{tmp_path}/", f"file://{tmp_path}", f"  {tmp_path}  "):
        root = destination_root(destination, None)
        assert isinstance(root.fs, LocalFileSystem)
        assert root.path == str(tmp_path) and root.protocol == "file"
        assert root.uri == f"file://{tmp_path}"


@pytest.mark.parametrize(
    ("destination", "conn_id", "field", "problem"),
    [
        ("", None, "destination", "destination is empty"),
        ("relative/dir", None, "destination", "is a relative path"),
        ("/abs/dir?x=1", None, "destination", "must not have a query string or fragment"),
        ("oss://bucket/edits/", None, "destination", "s3.oss-<region>.aliyuncs.com"),
        ("nosuchscheme://bucket/x/", None, "destination", "Cannot write to nosuchscheme:// destinations"),
        ("s3://a@bucket/x/", "b", "dest_conn_id", "destination names connection 'a' but dest_conn_id is 'b'"),
    ],
)
def test_bad_destinations(destination: str, conn_id: str | None, field: str, problem: str) -> None:
    with pytest.raises(WanxiangValidationError) as caught:
        destination_root(destination, conn_id)
    assert caught.value.field == field and problem in str(caught.value)
    assert caught.value.limit  # says what is allowed
    assert isinstance(caught.value, ValueError)  # what these were before: except ValueError still works


def test_names_from_the_pattern() -> None:
    assert file_name_for("{wanxiang_task_id}/{index}.png", "t-1", 0, 2) == "t-1/0.png"
    assert file_name_for("{number:02d}-of-{total}.png", "t-1", 1, 4) == "02-of-4.png"


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("{seed}.png", "is not a valid pattern"),
        ("{index.real}.png", "is not a valid pattern"),  # no attribute access on the values
        ("{index", "is not a valid pattern"),
        ("../{index}.png", "'..'"),
        ("/{index}.png", "relative name"),
        ("a//{index}.png", "relative name"),
        ("{index}/", "relative name"),
    ],
)
def test_unsafe_or_invalid_patterns(pattern: str, problem: str) -> None:
    with pytest.raises(WanxiangValidationError, match="file_name") as caught:
        file_name_for(pattern, "t-1", 0, 1)
    assert (caught.value.field, caught.value.value) == ("file_name", pattern)
    assert problem in str(caught.value) and "{wanxiang_task_id}" in caught.value.limit


def task_with(indexes_ok: list[int], indexes_failed: list[int]) -> Task:
    results = [ImageResult(index=i, url=f"https://oss.example/{i}.png?Signature=s") for i in indexes_ok]
    results += [ImageResult(index=i, code="DataInspectionFailed", message="no") for i in indexes_failed]
    total = len(results)
    return Task(
        task_id="t-1",
        status=TaskStatus.SUCCEEDED,
        results=tuple(sorted(results, key=lambda r: r.index)),
        metrics=TaskMetrics(total=total, succeeded=len(indexes_ok), failed=len(indexes_failed)),
    )


def test_plan_names_every_successful_image_and_its_sidecar() -> None:
    root = Location(LocalFileSystem(), "/out", "file")
    targets = plan(
        task_with([0, 2], [1]), root, "{wanxiang_task_id}/{number}-of-{total}.png", write_sidecar=True
    )
    assert [t.location.path for t in targets] == ["/out/t-1/1-of-3.png", "/out/t-1/3-of-3.png"]
    assert [t.sidecar.path for t in targets if t.sidecar] == ["/out/t-1/1-of-3.json", "/out/t-1/3-of-3.json"]
    assert plan(task_with([0], []), root, "{index}.png", write_sidecar=False)[0].sidecar is None


def test_plan_refuses_two_images_with_one_name() -> None:
    root = Location(LocalFileSystem(), "/out", "file")
    with pytest.raises(WanxiangValidationError, match="gives images 0 and 1 the same name") as caught:
        plan(task_with([0, 1], []), root, "{wanxiang_task_id}.png", write_sidecar=False)
    assert caught.value.field == "file_name" and "{index}" in caught.value.limit
