"""``make bench``: run every benchmark with its default parameters and print the figures.

Each benchmark prints the command that produced its figures; results vary with the machine (shared and
noisy here), so they are reported, never asserted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("*.py")):
        if script.name == "run.py":
            continue
        print(f"=== {script.name}", flush=True)
        result = subprocess.run([sys.executable, str(script)], check=False, capture_output=True, text=True)
        lines = [line for line in result.stdout.splitlines() if not line.startswith("20")]  # drop log lines
        print("\n".join(lines), flush=True)
        if result.returncode != 0:
            failed.append(script.name)
            print(result.stderr[-2000:], flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
