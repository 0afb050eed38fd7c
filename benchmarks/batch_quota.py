"""How busy the batch operator's engine keeps the quota, in worker mode, against the emulator.

Runs ``N`` identical edits of ``D`` seconds (no spread) through the batch engine with ``C`` concurrent and
5 creates/s — the emulator enforcing the same quota (429 beyond it) — and prints the makespan against the
quota ideal ``ceil(N/C) * D``, the mean and largest *slot gap* (a remote task's end → the next create on
that slot, measured by the emulator), creates, 429s and peak concurrency. One task instance per batch.

    python benchmarks/batch_quota.py --items 30 --seconds 2 [--json out.json]

The deferrable mode's figures need a real scheduler and triggerer (``make bench``); not measured here.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import sys
import tempfile
import time

from _common import EMULATOR_KEY, Emulator, command_line, write_figures

from airflow_provider_wanxiang.batch.engine import BatchEngine, BatchSettings
from airflow_provider_wanxiang.batch.items import Catalogue, validate_catalogue
from airflow_provider_wanxiang.batch.ledger import Ledger
from airflow_provider_wanxiang.batch.outputs import make_copier
from airflow_provider_wanxiang.client import ClientConfig
from airflow_provider_wanxiang.copying import CopySettings
from airflow_provider_wanxiang.copying.destination import destination_root
from tests.images import png_data_uri


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--concurrent", type=int, default=5)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    image = png_data_uri(480, 400)
    items = [
        {"key": f"sku-{i}", "prompt": "Put it on white", "images": [image], "seed": 1}
        for i in range(args.items)
    ]
    with (
        Emulator(
            "--task-seconds", str(args.seconds), "--max-concurrent", str(args.concurrent), "--submit-rps", "5"
        ) as emulator,
        tempfile.TemporaryDirectory() as destination,
    ):
        import urllib.request

        request = urllib.request.Request(
            f"{emulator.url}/_emulator/config",
            data=b'{"task_seconds_spread": 0}',
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).close()
        root = destination_root(destination, None)
        catalogue = Catalogue(items)
        ledger = Ledger(root)
        engine = BatchEngine(
            catalogue=catalogue,
            plans=validate_catalogue(catalogue),
            ledger=ledger,
            config=ClientConfig(api_key=EMULATOR_KEY, base_url=emulator.base_url),
            copier=make_copier(root, CopySettings()),
            settings=BatchSettings(
                max_concurrent=args.concurrent, submit_rps=5.0, poll_interval=args.poll_interval
            ),
        )
        started = time.monotonic()
        asyncio.run(engine.run(ledger.load()))
        makespan = time.monotonic() - started
        stats = emulator.stats()
    ideal = math.ceil(args.items / args.concurrent) * args.seconds
    figures = {
        "command": command_line(),
        "items": args.items,
        "task_seconds": args.seconds,
        "concurrent": args.concurrent,
        "makespan_s": round(makespan, 2),
        "ideal_s": ideal,
        "makespan_over_ideal": round(makespan / ideal, 3),
        "slot_gap_mean_s": stats["slot_gaps"]["mean"],
        "slot_gap_max_s": stats["slot_gaps"]["max"],
        "creates": stats["tasks_created"],
        "rejected_429": sum(stats["rejected"].values()),
        "peak_concurrency": stats["peak_concurrency"],
        "task_instances": 1,
    }
    for name, value in figures.items():
        print(f"{name:>20}: {value}")
    write_figures(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
