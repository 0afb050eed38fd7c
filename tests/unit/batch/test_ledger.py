"""The ledger: immutable segments plus a compacted index (no appends), read back once; intents survive."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fsspec.implementations.local import LocalFileSystem

from airflow_provider_wanxiang.batch.ledger import SEGMENTS_AT_REST, Entry, ItemStatus, Ledger
from airflow_provider_wanxiang.copying.destination import Location


def root(tmp_path: Path) -> Location:
    return Location(LocalFileSystem(), str(tmp_path), "file")


def files(tmp_path: Path) -> list[str]:
    folder = tmp_path / "_wanxiang" / "ledger"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_records_are_durable_after_flush_and_the_last_one_wins(tmp_path: Path) -> None:
    async def write() -> Ledger:
        ledger = Ledger(root(tmp_path))
        ledger.record("a", Entry("f1", ItemStatus.INTENT))
        await ledger.flush()
        ledger.record("a", Entry("f1", ItemStatus.SUBMITTED, task_id="t1"))
        ledger.record("b", Entry("f2", ItemStatus.INTENT))
        await ledger.flush()
        return ledger

    ledger = asyncio.run(write())

    assert ledger.segments_written == 2 and len(files(tmp_path)) == 2
    again = Ledger(root(tmp_path))
    assert again.load() == ["b"]  # an intent with no task id after it: an ambiguous create
    assert again.entries["a"] == Entry("f1", ItemStatus.SUBMITTED, task_id="t1")


def test_compaction_writes_one_index_and_removes_the_segments(tmp_path: Path) -> None:
    async def write() -> None:
        ledger = Ledger(root(tmp_path), compact_every=3)
        for index in range(7):
            ledger.record(
                f"k{index}", Entry(f"f{index}", ItemStatus.SUCCEEDED, task_id=f"t{index}", outputs=((0, 9),))
            )
            await ledger.flush()
        assert ledger.compactions == 2
        await ledger.close()  # one small segment beside a six-item index: left for the reader to replay

    asyncio.run(write())

    assert len(files(tmp_path)) == 2 and files(tmp_path)[0] == "index.json"
    loaded = Ledger(root(tmp_path))
    assert loaded.load() == []
    assert loaded.entries["k6"].outputs == ((0, 9),)
    assert len(loaded.entries) == 7


def test_segments_named_by_the_index_are_skipped_not_replayed(tmp_path: Path) -> None:
    """A crash between writing the index and deleting what it absorbed must not roll states back."""

    async def write() -> None:
        ledger = Ledger(root(tmp_path))
        ledger.record("a", Entry("f", ItemStatus.SUBMITTED, task_id="t"))
        await ledger.flush()
        ledger.record("a", Entry("f", ItemStatus.SUCCEEDED, task_id="t", outputs=((0, 5),)))
        await ledger.close()

    asyncio.run(write())
    index = (tmp_path / "_wanxiang" / "ledger" / "index.json").read_text()
    # Put back an absorbed segment, as a crash before its deletion would leave it.
    import json

    absorbed = json.loads(index)["absorbed"][0]
    (tmp_path / "_wanxiang" / "ledger" / absorbed).write_text('{"k":"a","f":"f","s":"submitted","id":"t"}\n')

    loaded = Ledger(root(tmp_path))
    loaded.load()

    assert loaded.entries["a"].status is ItemStatus.SUCCEEDED
    assert files(tmp_path) == ["index.json"]  # and the leftover is cleaned up


def test_a_failed_write_keeps_the_records_for_the_next_flush(tmp_path: Path) -> None:
    (tmp_path / "_wanxiang").write_text("a file where the ledger folder should be")

    async def write() -> list[dict[str, object]]:
        ledger = Ledger(root(tmp_path))
        ledger.record("a", Entry("f", ItemStatus.INTENT))
        try:
            await ledger.flush()
        except Exception:
            pass
        else:
            raise AssertionError("the flush should have failed")
        return ledger._buffer

    assert [record["k"] for record in asyncio.run(write())] == ["a"]


def test_the_images_of_an_earlier_state_stay_superseded_until_the_item_succeeds_again(tmp_path: Path) -> None:
    async def write() -> Ledger:
        ledger = Ledger(root(tmp_path))
        ledger.record("a", Entry("f1", ItemStatus.SUCCEEDED, task_id="t1", outputs=((0, 10), (1, 12))))
        ledger.record("a", Entry("f2", ItemStatus.INTENT))  # the prompt changed: a new edit
        ledger.record("a", Entry("f2", ItemStatus.SUBMITTED, task_id="t2"))
        await ledger.close()
        return ledger

    ledger = asyncio.run(write())

    assert ledger.entries["a"].superseded == (0, 1)
    again = Ledger(root(tmp_path))
    again.load()
    assert again.entries["a"].superseded == (0, 1)  # durable: a later wave or try still knows them
    again.record("a", Entry("f2", ItemStatus.FAILED, task_id="t2", code="CopyFailed"))
    assert again.entries["a"].superseded == (0, 1)
    again.record("a", Entry("f2", ItemStatus.SUCCEEDED, task_id="t2", outputs=((0, 11),)))
    assert again.entries["a"].superseded == ()  # the success removed them (the copier's job)
    again.record("b", Entry("f3", ItemStatus.INTENT))
    assert again.entries["b"].superseded == ()


def test_short_waves_do_not_each_rewrite_a_large_index(tmp_path: Path) -> None:
    """A deferred batch closes the ledger after every wave: 100 waves of two records over 2,000 items."""

    async def first_run() -> None:
        ledger = Ledger(root(tmp_path))
        for index in range(2000):
            ledger.record(f"k{index}", Entry(f"f{index}", ItemStatus.SUCCEEDED, task_id=f"t{index}"))
        await ledger.close()
        assert ledger.compactions == 1  # no index yet: the first close writes one

    async def wave(number: int) -> int:
        ledger = Ledger(root(tmp_path))
        ledger.load()
        for key in (f"k{2 * number}", f"k{2 * number + 1}"):
            ledger.record(key, Entry("g", ItemStatus.SUBMITTED, task_id=f"w{number}"))
        await ledger.close()
        return ledger.compactions

    asyncio.run(first_run())
    compactions = 0
    for number in range(100):
        compactions += asyncio.run(wave(number))
        assert len(files(tmp_path)) <= SEGMENTS_AT_REST  # the index and what the next reader replays

    # Counted, not timed: one index rewrite per SEGMENTS_AT_REST waves, not one per wave.
    assert compactions == 100 // SEGMENTS_AT_REST
    loaded = Ledger(root(tmp_path))
    assert loaded.load() == []
    assert loaded.entries["k199"] == Entry("g", ItemStatus.SUBMITTED, task_id="w99")
    assert loaded.entries["k200"].task_id == "t200" and len(loaded.entries) == 2000


def test_a_close_compacts_once_the_segments_weigh_a_quarter_of_the_index(tmp_path: Path) -> None:
    async def run() -> list[int]:
        ledger = Ledger(root(tmp_path))
        ledger.record("a", Entry("f", ItemStatus.INTENT))
        await ledger.close()  # the index: one small entry
        counts = []
        for number in range(3):
            again = Ledger(root(tmp_path))
            again.load()
            again.record(f"b{number}", Entry("f" * 200, ItemStatus.INTENT))  # bigger than the whole index
            await again.close()
            counts.append(again.compactions)
        return counts

    assert asyncio.run(run()) == [1, 1, 1]
    assert files(tmp_path) == ["index.json"]
