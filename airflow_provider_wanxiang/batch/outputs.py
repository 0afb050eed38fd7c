"""Where an item's images go (``{destination}/{key}/{i}.png``), storing them, checking they are still there.

Storing reuses :func:`~airflow_provider_wanxiang.copying.copy_targets` (streamed, verified, atomic, with the
connection's proxy and a deadline per image), so the batch writes exactly as the copy operator does.
Checking uses one listing of the destination (a few requests for thousands of objects on S3) instead of a
request per image, so a resume or an incremental run over 10,000 items stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airflow_provider_wanxiang.batch.ledger import LEDGER_DIR, Entry
from airflow_provider_wanxiang.client import Task
from airflow_provider_wanxiang.copying import CopySettings, copy_targets
from airflow_provider_wanxiang.copying.destination import Location, Target

__all__ = ["ListedOutputs", "make_copier", "output_location"]

log = logging.getLogger(__name__)


def output_location(root: Location, key: str, index: int) -> Location:
    """The object of image ``index`` of item ``key``."""
    return root.child(f"{key}/{index}.png")


def make_copier(root: Location, settings: CopySettings) -> Any:
    """A :data:`~airflow_provider_wanxiang.batch.engine.Copier` writing under ``root`` with ``settings``.

    Once every image is stored, the ``superseded`` images of the item's earlier state that were not written
    again are removed (an edit re-run with a smaller ``n``, or with an image that failed this time): the
    destination then holds exactly the outputs the report lists.
    """

    def copy(
        task: Task, key: str, superseded: Sequence[int] = ()
    ) -> tuple[list[tuple[int, int]], str | None]:
        targets = [Target(r, output_location(root, key, r.index), None) for r in task.succeeded_images]
        reports = copy_targets(task, targets, settings, log=log)
        outputs = [(r.index, int(r.size or 0)) for r in reports if r.error is None and r.size is not None]
        errors = [f"image {r.index}: {r.error}" for r in reports if r.error is not None]
        if errors:
            return outputs, "; ".join(errors)
        written = {index for index, _ in outputs}
        for index in sorted(set(superseded) - written):
            _remove_quietly(output_location(root, key, index))
        return outputs, None

    return copy


def _remove_quietly(location: Location) -> None:
    try:
        location.fs.rm_file(location.path)
    except FileNotFoundError:
        pass
    except Exception:  # the new outputs are stored and reported; an old image left over is only untidy
        log.warning("Could not remove the superseded image %s", location.uri, exc_info=True)


class ListedOutputs:
    """The sizes of the objects under the destination, listed once (lazily, on the first question)."""

    def __init__(self, root: Location) -> None:
        self.root = root
        self._sizes: dict[str, int] | None = None

    def _listing(self) -> dict[str, int]:
        if self._sizes is None:
            fs, base = self.root.fs, self.root.path.rstrip("/")
            fs.invalidate_cache(base)
            try:
                found = fs.find(base, detail=True)
            except FileNotFoundError:
                found = {}
            private = f"{base}/{LEDGER_DIR}/"
            self._sizes = {
                path: int(info.get("size") or 0)
                for path, info in found.items()
                if not path.startswith(private) and path.endswith(".png")
            }
        return self._sizes

    def present(self, key: str, entry: Entry) -> bool:
        """Whether every output the ledger recorded for ``key`` is in place with its recorded size."""
        if not entry.outputs:
            return False
        sizes = self._listing()
        return all(sizes.get(output_location(self.root, key, i).path) == size for i, size in entry.outputs)
