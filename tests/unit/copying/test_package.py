"""The copying package imports without Airflow (scripts and benchmarks use copy_png on its own); Airflow's
object-storage registry is loaded only when a destination is resolved."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_importing_copying_loads_no_airflow() -> None:
    code = (
        "import sys, airflow_provider_wanxiang.copying as c; "
        "assert callable(c.copy_png) and callable(c.copy_task); "
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "[]", done.stdout
