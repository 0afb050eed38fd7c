"""``make docs-images``: the two timing diagrams of the docs, drawn with matplotlib (the ``bench`` extra).

- ``waiting.png`` (docs/waiting.md): where one edit's time and slots go, deferred vs polled in a worker.
- ``batch-slots.png`` (the batch page): what the account's 5 concurrent slots do over a catalogue, mapped
  tasks vs one batch task.

Both are drawn from a small, stated model, not from a measurement (the benchmarks measure; see
docs/benchmarks.md): the numbers below are the documented defaults and the per-cycle costs measured in
issue 11 (a worker start ≈ 2.5 s, detection ≈ half a poll interval). Each figure names its assumptions, so
a reader can tell a picture from a result. Output is deterministic (no dates in the PNG metadata).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on CI or servers
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "_static"

#: Documented defaults (docs/waiting.md): the trigger's and a worker's shortest poll interval.
TRIGGER_POLL = 1.5
WORKER_POLL = 15.0
#: Airflow's cost to resume a deferred task: triggerer event, scheduler, a worker start (issue 11: 2.2-2.9 s).
RESUME = 2.5
#: Submit: a worker start plus the create call.
SUBMIT = 1.0
#: The example edit: queued, then running (a real edit takes 30 s-2 min).
PENDING, RUNNING = 3.0, 34.0

COLOURS = {
    "worker": "#d95f02",
    "trigger": "#7570b3",
    "pending": "#bdbdbd",
    "running": "#1b9e77",
    "pool": "#e6ab02",
    "idle": "#f0f0f0",
}
PNG_METADATA = {"Software": None}


def _first_poll_after(start: float, interval: float, done: float) -> float:
    """The first poll at ``start + k * interval`` that sees a task finished at ``done``."""
    return start + math.ceil((done - start) / interval) * interval


def _lane(
    ax: Axes, y: float, spans: list[tuple[float, float]], colour: str, label: str | None = None
) -> None:
    ax.broken_barh([(a, b - a) for a, b in spans], (y - 0.35, 0.7), facecolors=colour)
    if label:
        for a, b in spans:
            ax.text((a + b) / 2, y, label, ha="center", va="center", fontsize=8, color="white")


def _waiting_panel(ax: Axes, deferred: bool) -> None:
    submitted = SUBMIT
    done = submitted + PENDING + RUNNING
    _lane(ax, 3, [(submitted, submitted + PENDING)], COLOURS["pending"], "PENDING")
    _lane(ax, 3, [(submitted + PENDING, done)], COLOURS["running"], "RUNNING")
    if deferred:
        seen = _first_poll_after(submitted, TRIGGER_POLL, done)
        end = seen + RESUME + 0.5
        polls = [submitted + k * TRIGGER_POLL for k in range(1, int((seen - submitted) / TRIGGER_POLL) + 1)]
        _lane(ax, 2, [(submitted, seen)], COLOURS["trigger"], "a coroutine in the triggerer")
        ax.plot(polls, [2.45] * len(polls), "|", color="black", markersize=6)
        _lane(ax, 1, [(0, submitted), (seen + RESUME, end)], COLOURS["worker"])
        ax.text(submitted + 0.4, 1, "submit", va="center", fontsize=8)
        ax.text(
            seen + RESUME - 0.4,
            1,
            f"resume, ≈{RESUME:g} s after the poll",
            va="center",
            ha="right",
            fontsize=8,
        )
        title = f"deferrable=True: the worker slot is free while the triggerer polls every {TRIGGER_POLL:g} s"
    else:
        seen = _first_poll_after(submitted, WORKER_POLL, done)
        end = seen + 0.5
        polls = [submitted + k * WORKER_POLL for k in range(0, int((seen - submitted) / WORKER_POLL) + 1)]
        _lane(ax, 1, [(0, end)], COLOURS["worker"], "held for the whole edit")
        ax.plot(polls, [1.45] * len(polls), "|", color="black", markersize=6)
        title = f"deferrable=False: a worker slot is held, polling every {WORKER_POLL:g} s"
    _lane(ax, 0, [(0, end)], COLOURS["pool"], "pool slot (pool counts deferred tasks)")
    ax.annotate(
        "",
        xy=(seen, 3.5),
        xytext=(done, 3.5),
        arrowprops={"arrowstyle": "<->", "color": "black", "lw": 0.8},
    )
    ax.text((seen + done) / 2, 3.62, f"seen {seen - done:.1f} s late", ha="center", fontsize=8)
    ax.set_yticks([0, 1, 2, 3], ["pool slot", "worker slot", "triggerer", "remote task"])
    ax.set_ylim(-0.6, 4.0)
    ax.set_title(title, fontsize=9, loc="left")


def draw_waiting(path: Path) -> None:
    fig, axes = plt.subplots(2, 1, figsize=(8.5, 4.6), sharex=True)
    _waiting_panel(axes[0], deferred=True)
    _waiting_panel(axes[1], deferred=False)
    axes[1].set_xlabel("seconds since the task started (ticks: status queries)")
    axes[1].set_xlim(0, 52)
    fig.suptitle(
        f"One edit ({PENDING:g} s queued + {RUNNING:g} s running): where time and slots go "
        "(a model of the documented defaults, not a measurement)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata=PNG_METADATA)
    plt.close(fig)


@dataclass(frozen=True)
class SlotModel:
    """Items through ``slots`` account slots; each cycle costs ``edit`` plus what is lost between edits."""

    items: int = 20
    slots: int = 5
    edit: float = 10.0

    def schedule(self, gap: float) -> list[list[tuple[float, float]]]:
        """Per slot, the (start, end) of each edit, the next starting ``gap`` seconds after one ends."""
        lanes: list[list[tuple[float, float]]] = [[] for _ in range(self.slots)]
        free = [0.0] * self.slots
        for _ in range(self.items):
            slot = min(range(self.slots), key=free.__getitem__)
            start = free[slot]
            lanes[slot].append((start, start + self.edit))
            free[slot] = start + self.edit + gap
        return lanes


def _slots_panel(ax: Axes, model: SlotModel, gap: float, title: str) -> float:
    lanes = model.schedule(gap)
    end = max(b for lane in lanes for _, b in lane)
    for y, lane in enumerate(lanes):
        _lane(ax, y, [(0, end)], COLOURS["idle"])
        _lane(ax, y, lane, COLOURS["running"])
    busy = model.items * model.edit / (model.slots * end)
    ax.set_yticks(range(model.slots), [f"slot {k + 1}" for k in range(model.slots)])
    ax.set_title(f"{title}: done at {end:.0f} s, slots busy {busy:.0%}", fontsize=9, loc="left")
    return end


def draw_batch_slots(path: Path) -> None:
    model = SlotModel()
    mapped_gap = TRIGGER_POLL / 2 + RESUME + SUBMIT  # detection, the resume, the next item's submit task
    batch_gap = TRIGGER_POLL / 2  # detection; the same process submits the next item at once
    fig, axes = plt.subplots(2, 1, figsize=(8.5, 4.2), sharex=True)
    end = _slots_panel(axes[0], model, mapped_gap, "mapped WanxiangSubmitOperator tasks behind a 5-slot pool")
    _slots_panel(
        axes[1],
        model,
        batch_gap,
        "one WanxiangBatchEditOperator task, deferrable=False (submits the next at once)",
    )
    ideal = math.ceil(model.items / model.slots) * model.edit
    for ax in axes:
        ax.axvline(ideal, color="black", lw=0.8, ls="--")
    axes[1].set_xlim(0, end * 1.02)
    axes[1].set_xlabel(
        f"seconds (green: an edit in flight, grey: the slot idle; dashed: the quota ideal {ideal:.0f} s)"
    )
    fig.suptitle(
        f"{model.items} edits of {model.edit:g} s through the account's {model.slots} concurrent slots "
        f"(model: {mapped_gap:g} s lost per mapped cycle, {batch_gap:g} s per batch cycle)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata=PNG_METADATA)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description="Redraw the timing diagrams of the docs.")
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder (default {OUT.relative_to(ROOT)})")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for name, draw in (("waiting.png", draw_waiting), ("batch-slots.png", draw_batch_slots)):
        draw(out / name)
        print(f"docs-images: {out / name} ({(out / name).stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
