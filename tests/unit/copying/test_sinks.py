"""write_atomically, the one write loop: commit only after verify returns; abort on any failure, so nothing
(no object, no temp) is left, on a real local disk and fsspec's memory filesystem."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.local import LocalFileSystem

from airflow_provider_wanxiang.copying import (
    DestinationError,
    IntegrityError,
    write_atomically,
    write_bytes_atomic,
)


def chunks_then(error: Exception | None) -> Iterator[bytes]:
    yield b"abc"
    yield b"def"
    if error is not None:
        raise error


def test_local_commit_returns_what_verify_returns(tmp_path: Path) -> None:
    target = tmp_path / "d" / "x.bin"
    assert write_atomically(LocalFileSystem(), str(target), chunks_then(None), lambda: 42) == 42
    assert target.read_bytes() == b"abcdef"
    assert [p.name for p in target.parent.iterdir()] == ["x.bin"]  # no temp file left


@pytest.mark.parametrize("where", ["source", "verify"])
def test_local_failure_keeps_the_previous_object(tmp_path: Path, where: str) -> None:
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")

    def verify() -> None:
        if where == "verify":
            raise IntegrityError("bad end")

    with pytest.raises(IntegrityError):
        source = chunks_then(IntegrityError("cut") if where == "source" else None)
        write_atomically(LocalFileSystem(), str(target), source, verify)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_memory_filesystem_uses_a_temp_object_and_cleans_it_up() -> None:
    fs = fsspec.filesystem("memory")
    with pytest.raises(IntegrityError):
        write_atomically(fs, "/wx-sinks/x.bin", chunks_then(IntegrityError("cut")), lambda: None)
    assert not fs.exists("/wx-sinks/x.bin") and fs.glob("/wx-sinks/*.tmp") == []
    write_bytes_atomic(fs, "/wx-sinks/x.json", b"{}", content_type="application/json")
    assert fs.cat_file("/wx-sinks/x.json") == b"{}" and fs.glob("/wx-sinks/*.tmp") == []
    fs.rm("/wx-sinks", recursive=True)


def test_an_unwritable_destination_is_a_destination_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(DestinationError, match="cannot write"):
        write_bytes_atomic(LocalFileSystem(), str(blocker / "x.json"), b"{}")  # its parent is a file
