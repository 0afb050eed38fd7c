"""The batch operator's scale case: N (10,000) instant edits of tiny images in one batch, and the peak RSS
of the process running it.

The batch engine (what ``WanxiangBatchEditOperator`` runs in its worker, ``deferrable=False``) runs in THIS
process, alone: the emulator runs in its own process (instant edits, no rate or concurrency limit), so the
peak RSS (``ru_maxrss``) is the batch's own — interpreter, provider, Airflow's imports, the in-flight set and
the ledger index — and is reported next to the RSS before the batch started (what the imports alone hold).
The items come from a JSON Lines manifest, as a catalogue would, and the outputs go to a local folder.

    python benchmarks/batch_scale.py --items 10000 [--json out.json]

Reported, never asserted: the run only fails if the batch did not create and store one edit per item.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

from _common import EMULATOR_KEY, MIB, ROOT, Emulator, command_line, rss_bytes, write_figures

# The test-image maker (tests/images.py): the repository root on the path.
sys.path.insert(0, str(ROOT))

from airflow_provider_wanxiang.batch.engine import BatchEngine, BatchSettings
from airflow_provider_wanxiang.batch.items import Catalogue, validate_catalogue
from airflow_provider_wanxiang.batch.ledger import Ledger
from airflow_provider_wanxiang.batch.outputs import make_copier
from airflow_provider_wanxiang.batch.report import summarize
from airflow_provider_wanxiang.client import ClientConfig
from airflow_provider_wanxiang.copying import CopySettings
from airflow_provider_wanxiang.copying.destination import destination_root
from tests.images import png_data_uri


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--concurrent", type=int, default=50, help="the batch's max_concurrent")
    parser.add_argument("--repeats", type=int, default=1, help="accepted for the runner; one run is made")
    parser.add_argument("--json")
    args = parser.parse_args()
    # A log record per stored image would be the harness's memory and CPU, not the batch's.
    logging.getLogger("airflow_provider_wanxiang").setLevel(logging.WARNING)
    image = png_data_uri(480, 400, (20, 160, 90))  # about 1 KB: tiny, the emulator's smallest accepted
    with (
        Emulator("--task-seconds", "0", "--submit-rps", "0", "--max-concurrent", "100000") as emulator,
        tempfile.TemporaryDirectory(prefix="wanxiang-batch-scale-") as scratch,
    ):
        import urllib.request

        request = urllib.request.Request(
            f"{emulator.url}/_emulator/config",
            data=b'{"task_seconds_spread": 0, "query_qps": 0}',
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).close()
        manifest = Path(scratch) / "items.jsonl"
        with manifest.open("w") as handle:
            for index in range(args.items):
                item = {"key": f"sku-{index:05d}", "prompt": "Put it on white", "images": [image], "seed": 1}
                handle.write(json.dumps(item) + "\n")
        root = destination_root(str(Path(scratch) / "out"), None)
        catalogue = Catalogue(str(manifest))
        ledger = Ledger(root)
        rss_before = rss_bytes()
        started = time.monotonic()
        plans = validate_catalogue(catalogue)
        engine = BatchEngine(
            catalogue=catalogue,
            plans=plans,
            ledger=ledger,
            config=ClientConfig(api_key=EMULATOR_KEY, base_url=emulator.base_url, query_budget=10_000),
            copier=make_copier(root, CopySettings()),
            settings=BatchSettings(
                max_concurrent=args.concurrent, submit_rps=1000.0, poll_interval=0.05, run_id="scale"
            ),
        )
        result = asyncio.run(engine.run(ledger.load()))
        elapsed = time.monotonic() - started
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KiB
        stats = emulator.stats()
        summary = summarize(plans, ledger, "scale")
        stored = sum(1 for _ in (Path(scratch) / "out").glob("*/0.png"))
    figures = {
        "name": "batch_scale",
        "command": command_line(),
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "items": args.items,
        "concurrent": args.concurrent,
        "finished": result.finished,
        "creates": stats["tasks_created"],
        "succeeded": summary["succeeded"],
        "images_stored": stored,
        "elapsed_s": round(elapsed, 1),
        "rss_before_mib": round(rss_before / MIB, 1),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "peak_rss_growth_mib": round(peak_kib / 1024 - rss_before / MIB, 1),
    }
    figures["medians"] = [dict(figures)]  # the runner's "produced figures" check
    for name, value in figures.items():
        if name != "medians":
            print(f"{name:>20}: {value}")
    write_figures(args.json, figures)
    ok = result.finished and stats["tasks_created"] == args.items and stored == args.items
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
