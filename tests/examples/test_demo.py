"""``make demo`` (scripts/demo.py) shows the edit as it happens: a real run, emulator and Airflow CLI.

The script is run as ``make demo`` runs it (a subprocess of this venv's Python), only with its Airflow home
and output in a temporary directory and a 4 s emulated edit (the emulator's seeded run times make the first
task's length the same every run, so the status is seen RUNNING before SUCCEEDED).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.images import open_image

ROOT = Path(__file__).resolve().parents[2]
TIME = r"\d\d:\d\d:\d\d"


@pytest.mark.timeout(240)
def test_demo_streams_the_remote_task_its_status_changes_and_where_the_png_landed(tmp_path: Path) -> None:
    output = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "demo.py"),
            *("--home", str(tmp_path / "home"), "--output", str(output), "--task-seconds", "4"),
        ],
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()

    (submitted,) = [line for line in lines if "Submitted Wanxiang task" in line]
    task_id = re.search(rf"^  {TIME} +Submitted Wanxiang task (\S+) \(request_id=", submitted)
    assert task_id, submitted
    remote = task_id.group(1)

    statuses = [
        (match.group(1), match.group(2))
        for line in lines
        if (
            match := re.match(
                rf"^  {TIME} +\+(\d+\.\d) s Wanxiang task {re.escape(remote)} is ([A-Z]+)", line
            )
        )
    ]
    # Each change shown once, in the service's order. PENDING shows only when the first check comes before
    # the emulator starts the edit (a loaded machine); RUNNING always does (a 4 s edit, checks ~2 s apart).
    seen = [status for _, status in statuses]
    assert seen in (["RUNNING", "SUCCEEDED"], ["PENDING", "RUNNING", "SUCCEEDED"]), result.stdout
    elapsed = [float(seconds) for seconds, _ in statuses]
    assert elapsed == sorted(elapsed)  # elapsed since the submit, in the order the statuses were seen

    # The PNG the demo points at is on disk, in the remote task's folder, and decodes.
    hint = lines[-1]
    assert hint.startswith(
        "demo: look at it: xdg-open " if sys.platform != "darwin" else "demo: look at it: open "
    )
    png = Path(hint.split()[-1])
    assert png.parent.name == remote
    assert png.parent.parent == output
    open_image(png.read_bytes(), "PNG")
    assert f"written: {png.as_uri()} " in result.stdout

    # Streamed in order: submit, statuses, the copy, then the summary; Airflow's bookkeeping is left out.
    order = [submitted, *(line for line in lines if " is SUCCEEDED" in line), "demo: 4/4 success"]
    positions = [next(i for i, line in enumerate(lines) if line.startswith(item)) for item in order]
    assert positions == sorted(positions)
    assert not any("RenderedTaskInstanceFields" in line or "Pushing xcom" in line for line in lines)
    # ...and kept whole in the log file.
    log = (tmp_path / "home" / "demo-dags-test.log").read_text()
    assert "RenderedTaskInstanceFields" in log and f"Submitted Wanxiang task {remote}" in log
