"""The batch's durable memory: which item was submitted as which remote task, and how it ended.

Why it exists: an edit is paid for when it is created, and the create call has no idempotency key. A worker
or triggerer killed mid-batch, an Airflow retry, or the next night's run must know what was already created
and what is already stored, or it pays again. So the ledger lives in the destination itself
(``{destination}/_wanxiang/ledger/``), next to the outputs it describes, and survives everything Airflow
forgets.

How it is written, so that it works on stores that cannot append (S3): every flush writes one new,
immutable *segment* object (JSON Lines) atomically; now and then the whole state is *compacted* into one
``index.json`` (written atomically, naming the segments it absorbed) and the absorbed segments are deleted.
Compaction rewrites the whole index, so it is amortised: while a run goes on, every :data:`COMPACT_EVERY`
segments; when a process closes the ledger (a deferred batch does at the end of every wave), only once the
segments left would cost the next reader more than the index itself (:data:`SEGMENTS_AT_REST`, or a
quarter of the index's bytes), so thousands of short waves do not each rewrite a 10,000-item index.
A reader takes the index, then replays the segments it does not name, in name order (names sort by time).
A crash between writing the index and deleting the segments is harmless: the index names them, so they are
skipped, and the next compaction deletes them.

What it promises for money: the engine records an ``intent`` for an item and waits for it to be durable
*before* the create call, and records the remote task id right after. An item whose last record is an
intent was perhaps created by a process that died before writing the id: :meth:`Ledger.load` reports it as
an *ambiguous create*, so the caller names it instead of paying for it twice silently.

Memory: the ledger holds one small :class:`Entry` per item (key, fingerprint, status, task id, output sizes)
plus the records not yet flushed; never images.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from airflow_provider_wanxiang.copying.destination import Location
from airflow_provider_wanxiang.copying.sinks import write_bytes_atomic

__all__ = ["COMPACT_EVERY", "LEDGER_DIR", "SEGMENTS_AT_REST", "Entry", "ItemStatus", "Ledger"]

log = logging.getLogger(__name__)

#: Folder of the batch's own files under the destination (the ledger and the report).
LEDGER_DIR = "_wanxiang"
#: Seconds a record made with :meth:`Ledger.record_soon` waits for others to share its segment.
FLUSH_DELAY = 0.1
#: Segments written between two compactions.
COMPACT_EVERY = 200
#: Most segments a closed ledger leaves for the next reader beside its index (each is one more read).
SEGMENTS_AT_REST = 32


class ItemStatus(str, Enum):
    """An item's last known state in the ledger."""

    INTENT = "intent"  #: about to be created (a create may or may not have reached the server)
    RELEASED = "released"  #: an intent that was not used (nothing created)
    SUBMITTED = "submitted"  #: created: ``task_id`` names the remote task
    SUCCEEDED = "succeeded"  #: every result stored (``outputs``)
    FAILED = "failed"  #: ended without (all) results; ``code`` says why, ``retryable`` whether to resubmit


@dataclass(slots=True)
class Entry:
    """The compact state of one item."""

    fingerprint: str
    status: ItemStatus
    task_id: str | None = None
    code: str | None = None
    message: str | None = None
    retryable: bool = False
    #: ``(index, bytes)`` of each stored output image.
    outputs: tuple[tuple[int, int], ...] = ()
    #: Images billed for this item (``usage.image_count``), summed over its remote tasks.
    images: int = 0
    #: The batch run (Airflow DAG run) that wrote this state.
    run: str | None = None
    #: Images requested by the creates this run made for the item (the ``max_images`` money guard).
    requested: int = 0
    #: Indices of images an earlier state of the item stored that its next success replaces: those the new
    #: edit does not write again are removed then, so no image of an old prompt (or of an old ``n``) stays
    #: beside the new ones. Carried by :meth:`Ledger.record` until that success.
    superseded: tuple[int, ...] = ()

    def to_record(self, key: str) -> dict[str, Any]:
        record: dict[str, Any] = {"k": key, "f": self.fingerprint, "s": self.status.value}
        if self.task_id is not None:
            record["id"] = self.task_id
        if self.code is not None:
            record["code"] = self.code
        if self.message is not None:
            record["msg"] = self.message
        if self.retryable:
            record["retry"] = True
        if self.outputs:
            record["out"] = [list(pair) for pair in self.outputs]
        if self.images:
            record["img"] = self.images
        if self.run is not None:
            record["run"] = self.run
        if self.requested:
            record["req"] = self.requested
        if self.superseded:
            record["old"] = list(self.superseded)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Entry:
        return cls(
            fingerprint=str(record["f"]),
            status=ItemStatus(record["s"]),
            task_id=record.get("id"),
            code=record.get("code"),
            message=record.get("msg"),
            retryable=bool(record.get("retry", False)),
            outputs=tuple((int(i), int(size)) for i, size in record.get("out", ())),
            images=int(record.get("img", 0)),
            run=record.get("run"),
            requested=int(record.get("req", 0)),
            superseded=tuple(int(i) for i in record.get("old", ())),
        )


class Ledger:
    """The ledger of one destination: load once, record as the batch goes, flush before paying.

    :param root: the batch destination (the ledger goes under ``{root}/_wanxiang/ledger/``).
    """

    def __init__(self, root: Location, *, compact_every: int = COMPACT_EVERY) -> None:
        self.folder = root.child(LEDGER_DIR).child("ledger")
        self.entries: dict[str, Entry] = {}
        self._compact_every = compact_every
        self._buffer: list[dict[str, Any]] = []
        self._appended = 0
        self._durable = 0
        self._lock = asyncio.Lock()
        self._segments: list[str] = []  # segment names not yet absorbed by the index
        self._segment_bytes = 0  # their size
        self._index_bytes = 0  # the size of the index they would be compacted into (as last read or written)
        self._written_since_compaction = 0
        self._writer = uuid.uuid4().hex[:8]
        self._background: set[asyncio.Task[None]] = set()
        #: Segments written and index compactions done by this process (tests count them).
        self.segments_written = 0
        self.compactions = 0

    # -- reading -----------------------------------------------------------------------------------------
    def load(self) -> list[str]:
        """Read the index and the segments after it (once); return the keys of ambiguous creates.

        An item whose last record is an intent is turned back into "not submitted" here, and its key is
        returned so the caller can name it: a process died between recording the intent and recording the
        task id, so a paid task may exist that nobody will collect.
        """
        fs, folder = self.folder.fs, self.folder.path
        fs.invalidate_cache(folder)
        try:
            listing = fs.ls(folder, detail=True)
        except FileNotFoundError:
            listing = []
        sizes = {
            str(info["name"]).rstrip("/").rpartition("/")[2]: int(info.get("size") or 0) for info in listing
        }
        names = sorted(sizes)
        absorbed: set[str] = set()
        if "index.json" in names:
            body = bytes(fs.cat_file(f"{folder}/index.json"))
            self._index_bytes = len(body)
            document = json.loads(body)
            del body
            absorbed = set(document.get("absorbed", ()))
            for key, record in document.get("entries", {}).items():
                self.entries[key] = Entry.from_record({"k": key, **record})
        for name in names:
            if not (name.startswith("seg-") and name.endswith(".jsonl")):
                continue
            if name in absorbed:
                self._delete_quietly(name)
                continue
            self._segments.append(name)
            self._segment_bytes += sizes[name]
            for line in bytes(fs.cat_file(f"{folder}/{name}")).splitlines():
                if line.strip():
                    record = json.loads(line)
                    self.entries[record["k"]] = Entry.from_record(record)
        ambiguous = [key for key, entry in self.entries.items() if entry.status is ItemStatus.INTENT]
        return ambiguous

    # -- recording ---------------------------------------------------------------------------------------
    def record(self, key: str, entry: Entry) -> None:
        """Set ``key``'s state now (in memory) and queue it for the next flush.

        Until the item succeeds again, the images its earlier states stored stay listed as ``superseded``
        (the new success removes those it does not rewrite).
        """
        previous = self.entries.get(key)
        if previous is not None and entry.status is not ItemStatus.SUCCEEDED:
            stored = {index for index, _ in previous.outputs}
            if stored or previous.superseded:
                entry.superseded = tuple(sorted(stored.union(previous.superseded, entry.superseded)))
        self.entries[key] = entry
        self._buffer.append(entry.to_record(key))
        self._appended += 1

    def record_soon(self, key: str, entry: Entry, delay: float = FLUSH_DELAY) -> None:
        """Record, and flush in the background within ``delay`` seconds (the task id right after a create).

        The short delay lets the records of a burst (and the next group's intents, which are flushed at
        once) share one segment, while a record never waits longer than ``delay`` to become durable.
        """
        self.record(key, entry)
        task = asyncio.get_running_loop().create_task(self._flush_after(delay))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _flush_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.flush()

    async def flush(self) -> None:
        """Make every record made so far durable (one segment object; concurrent callers share writes)."""
        target = self._appended
        async with self._lock:
            if self._durable >= target or not self._buffer:
                return
            batch, self._buffer = self._buffer, []
            upto = self._appended
            try:
                name = await asyncio.to_thread(self._write_segment, batch)
            except BaseException:
                self._buffer[:0] = batch  # not durable: the next flush writes these records again
                raise
            self._durable = upto
            self._segments.append(name)
            self._written_since_compaction += 1
            if self._written_since_compaction >= self._compact_every:
                await self._compact()

    async def close(self) -> None:
        """Flush what is left; compact when the segments left would cost the next reader more than the index.

        The first close compacts (there is no index yet), and so does one that leaves
        :data:`SEGMENTS_AT_REST` segments or a quarter of the index's bytes in segments.
        """
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.flush()
        async with self._lock:
            if self._segments and (
                self._index_bytes == 0
                or len(self._segments) >= SEGMENTS_AT_REST
                or 4 * self._segment_bytes >= self._index_bytes
            ):
                await self._compact()

    # -- storage -----------------------------------------------------------------------------------------
    def _write_segment(self, records: Iterable[dict[str, Any]]) -> str:
        name = f"seg-{time.time_ns():020d}-{self._writer}-{self.segments_written:06d}.jsonl"
        body = "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for r in records)
        data = body.encode()
        write_bytes_atomic(self.folder.fs, f"{self.folder.path}/{name}", data, content_type=None)
        self.segments_written += 1
        self._segment_bytes += len(data)
        return name

    async def _compact(self) -> None:
        """Write the whole state as ``index.json`` (naming the segments it absorbs), then delete them.

        The document is built in the event loop (the entries may change while the write runs in a thread).
        """
        absorbed = list(self._segments)
        entries = {}
        for key, entry in self.entries.items():
            record = entry.to_record(key)
            del record["k"]
            entries[key] = record
        document = {"version": 1, "absorbed": absorbed, "entries": entries}
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        del entries, document
        await asyncio.to_thread(
            write_bytes_atomic, self.folder.fs, f"{self.folder.path}/index.json", body, content_type=None
        )
        self._segments = [name for name in self._segments if name not in set(absorbed)]
        self._segment_bytes = 0  # under the lock, so no segment was written meanwhile: all are absorbed
        self._index_bytes = len(body)
        self._written_since_compaction = 0
        self.compactions += 1
        await asyncio.to_thread(self._delete_all_quietly, absorbed)

    def _delete_all_quietly(self, names: list[str]) -> None:
        for name in names:
            self._delete_quietly(name)

    def _delete_quietly(self, name: str) -> None:
        try:
            self.folder.fs.rm_file(f"{self.folder.path}/{name}")
        except FileNotFoundError:
            pass
        except Exception:  # the index names it: a leftover is skipped on load and retried next time
            log.warning("Could not delete absorbed ledger segment %s", name, exc_info=True)
