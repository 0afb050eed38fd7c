"""``make bench``: run every benchmark side by side, then write results.md, results.json and the plots.

``make bench`` (no options) regenerates ``benchmarks/results.md`` with the full parameters (medians of 3
repeats). ``make bench-smoke`` (``--smoke``) runs every benchmark end to end with tiny N and one repeat
into a temporary directory and fails if one of them did not produce its figures, so the benchmarks cannot
rot; it asserts nothing about timings. Figures vary with the machine: they are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report
from _common import command_line

HERE = Path(__file__).resolve().parent

#: (script, full-run options, smoke options). Each script writes its figures with ``--json``.
BENCHMARKS: tuple[tuple[str, list[str], list[str]], ...] = (
    (
        "waiting_cost.py",
        [],
        ["--n", "20", "--repeats", "1", "--poll-interval", "1", "--window", "2"],
    ),
    ("detection_latency.py", [], ["--edits", "50", "--repeats", "1"]),
    ("worker_slots.py", [], ["--edits", "1", "--task-seconds", "2", "--repeats", "1", "--warmup", "0"]),
    (
        "copy_memory.py",
        [],
        [
            "--images",
            "1",
            "--synthetic-mib",
            "1",
            "--synthetic-count",
            "1",
            "--repeats",
            "1",
            "--block-mib",
            "5",
        ],
    ),
    # Issue 11: the batch operator against the mapped-tasks + pool recipe on a real Airflow deployment
    # (N = 100, D = 10 and 30 s by default), and the 10,000-item case.
    ("batch_airflow.py", [], ["--items", "10", "--seconds", "1"]),
    ("batch_scale.py", [], ["--items", "200"]),
)


def run(smoke: bool, out: Path, repeats: int | None = None) -> int:
    started = time.monotonic()
    figures: dict[str, dict[str, Any]] = {}
    failed = []
    with tempfile.TemporaryDirectory(prefix="wanxiang-bench-") as scratch:
        for script, full, small in BENCHMARKS:
            print(f"=== {script}", flush=True)
            json_path = Path(scratch) / f"{script}.json"
            result = subprocess.run(
                [
                    sys.executable,
                    str(HERE / script),
                    *(small if smoke else full),
                    *(["--repeats", str(repeats)] if repeats else []),
                    "--json",
                    str(json_path),
                ],
                check=False,
            )
            produced = json.loads(json_path.read_text()) if json_path.exists() else {}
            if result.returncode != 0 or not produced.get("medians"):
                failed.append(script)
                continue
            figures[produced["name"]] = produced
    if figures:
        report.write(figures, out, time.monotonic() - started, command_line())
        print(f"wrote {out / 'results.md'}, {out / 'results.json'} and {out / 'plots'}/*.png")
    if failed:
        print(f"no figures from: {', '.join(failed)}")
        return 1
    missing = [p for p in ("results.md", "results.json") if not (out / p).exists()]
    missing += [
        f"plots/{n}.png"
        for n in ("waiting_cost", "copy", "detection", "worker_slots")
        if not (out / f"plots/{n}.png").exists()
    ]
    if missing:
        print(f"not written: {', '.join(missing)}")
        return 1
    print(f"all benchmarks produced their figures in {time.monotonic() - started:.0f} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="tiny N, one repeat, into a temporary directory")
    parser.add_argument("--out", type=Path, help="where results.md goes (default: benchmarks/)")
    parser.add_argument("--repeats", type=int, help="repeats of every benchmark (default: each one's, 3)")
    args = parser.parse_args()
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        return run(args.smoke, args.out, args.repeats)
    if args.smoke:
        with tempfile.TemporaryDirectory(prefix="wanxiang-bench-smoke-") as out:
            return run(True, Path(out))
    return run(False, HERE, args.repeats)


if __name__ == "__main__":
    sys.exit(main())
