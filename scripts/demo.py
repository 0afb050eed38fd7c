"""``make demo``: the quick-start DAG, end to end, through real Airflow, against the bundled emulator.

1. starts ``wanxiang-emulator`` (a real subprocess on a free loopback port);
2. migrates a SQLite Airflow home inside the repository (``airflow-home/``, git-ignored);
3. runs ``airflow dags test wanxiang_quickstart`` (the edit is submitted, the wait is deferred to an inline
   trigger, the results are copied) with ``demo-output/`` as the destination;
4. checks the run succeeded and the PNGs are there, prints what happened, stops the emulator.

Any failing step exits non-zero with the tail of the failing command's output.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUTPUT = ROOT / "demo-output"
HOME = ROOT / "airflow-home"
API_KEY = "sk-emulator"
DAG_ID = "wanxiang_quickstart"


def fail(message: str, output: str = "") -> None:
    tail = "\n".join(output.splitlines()[-40:])
    raise SystemExit(f"demo: FAILED: {message}\n{tail}")


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [str(BIN / "wanxiang-emulator"), "--port", "0", "--task-seconds", "6", "--api-key", API_KEY],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    prefix = "wanxiang-emulator listening on "
    if not line.startswith(prefix):
        proc.kill()
        fail(f"the emulator did not start (got {line!r})")
    return proc, line.removeprefix(prefix)


def airflow(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "airflow"), *args], env=env, capture_output=True, text=True, check=False, timeout=600
    )
    if result.returncode != 0:
        fail(f"airflow {' '.join(args)} exited {result.returncode}", result.stdout + result.stderr)
    return result.stdout + result.stderr


def last_json(output: str) -> list[dict[str, str]]:
    """Airflow's ``-o json`` output comes after its log lines: take the last line that parses."""
    for line in reversed(output.splitlines()):
        try:
            parsed = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(parsed, list):
            return parsed
    fail("no JSON in the Airflow CLI output", output)
    return []


def main() -> int:
    proc, url = start_emulator()
    print(f"demo: 1/4 emulator listening on {url} (edits take ~6 s, like a short real one)")
    try:
        shutil.rmtree(HOME, ignore_errors=True)
        shutil.rmtree(OUTPUT, ignore_errors=True)
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_WANXIANG_DEFAULT": json.dumps(
                {"conn_type": "wanxiang", "password": API_KEY, "host": url}
            ),
        }
        airflow(env, "db", "migrate")
        print(f"demo: 2/4 Airflow home migrated in {HOME.relative_to(ROOT)}/")
        conf = json.dumps({"output_dir": str(OUTPUT)})
        log = airflow(env, "dags", "test", DAG_ID, "-c", conf)
        (HOME / "demo-dags-test.log").write_text(log)
        runs = last_json(airflow(env, "dags", "list-runs", DAG_ID, "-o", "json"))
        if [run["state"] for run in runs] != ["success"]:
            fail(f"the {DAG_ID} run did not succeed: {runs}", log)
        print(f"demo: 3/4 airflow dags test {DAG_ID}: success (log: airflow-home/demo-dags-test.log)")
        pngs = sorted(OUTPUT.rglob("*.png"))
        if not pngs:
            fail(f"no PNG in {OUTPUT}", log)
        with urlopen(f"{url}/_emulator/stats", timeout=10) as stats:
            counts = json.load(stats)
        print(
            f"demo: 4/4 the emulator saw {counts['tasks_created']} edit(s) and {counts['task_queries']} "
            "status queries; edited image(s):"
        )
        for png in pngs:
            print(f"        {png.relative_to(ROOT)} ({png.stat().st_size} bytes)")
        print(f"demo: done. Input: dags/sample_images/mug.png; output: {OUTPUT.relative_to(ROOT)}/")
        return 0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
