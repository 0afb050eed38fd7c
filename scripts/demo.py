"""``make demo``: the quick-start DAG, end to end, through real Airflow, against the bundled emulator.

1. starts ``wanxiang-emulator`` (a real subprocess on a free loopback port);
2. migrates a SQLite Airflow home inside the repository (``airflow-home/``, git-ignored);
3. runs ``airflow dags test wanxiang_quickstart`` (the edit is submitted, the wait is deferred to an inline
   trigger, the results are copied) with ``demo-output/`` as the destination, and prints its interesting
   lines as they come (:mod:`demo_log`: the remote task id, each status with its time, each PNG written);
   the full log goes to ``airflow-home/demo-dags-test.log``;
4. checks the run succeeded and the PNGs are there, prints where they are and how to open one, stops the
   emulator.

Any failing step exits non-zero with the tail of the failing command's output. ``--home``, ``--output`` and
``--task-seconds`` exist for the test that runs this script (tests/examples/test_demo.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.request import urlopen

from demo_log import DemoLog

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUTPUT = ROOT / "demo-output"
HOME = ROOT / "airflow-home"
TASK_SECONDS = 6.0
API_KEY = "sk-emulator"
DAG_ID = "wanxiang_quickstart"
SAMPLE = ROOT / "dags" / "sample_images" / "mug.png"


def fail(message: str, output: str = "") -> None:
    tail = "\n".join(output.splitlines()[-40:])
    raise SystemExit(f"demo: FAILED: {message}\n{tail}")


def shown(path: Path) -> str:
    """A path as the person who ran ``make demo`` would type it: relative to the repository when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def start_emulator(task_seconds: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            str(BIN / "wanxiang-emulator"),
            *("--port", "0", "--task-seconds", str(task_seconds), "--api-key", API_KEY),
        ],
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


def stream_dags_test(env: dict[str, str], conf: str, log_path: Path) -> DemoLog:
    """Run ``airflow dags test``, print its interesting lines live and keep every line in ``log_path``."""
    seen = DemoLog.new()
    argv = [str(BIN / "airflow"), "dags", "test", DAG_ID, "-c", conf]
    # Unbuffered, or the child's block-buffered pipe would hand over the lines only at the end.
    child_env = {**env, "PYTHONUNBUFFERED": "1"}
    with (
        log_path.open("w") as log,
        subprocess.Popen(
            argv, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as proc,
    ):
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if (text := seen.feed(line)) is not None:
                print(text, flush=True)
    if proc.returncode != 0:
        fail(f"airflow dags test {DAG_ID} exited {proc.returncode}", log_path.read_text())
    return seen


def open_hint(path: Path) -> str:
    return f"{'open' if sys.platform == 'darwin' else 'xdg-open'} {shown(path)}"


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--home", type=Path, default=HOME, help="Airflow home (wiped first)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where the PNGs go (wiped first)")
    parser.add_argument("--task-seconds", type=float, default=TASK_SECONDS, help="emulated edit duration")
    args = parser.parse_args()
    home, output = args.home.resolve(), args.output.resolve()
    proc, url = start_emulator(args.task_seconds)
    print(
        f"demo: 1/4 emulator listening on {url} (edits take ~{args.task_seconds:g} s, like a short real one)",
        flush=True,
    )
    try:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(output, ignore_errors=True)
        home.mkdir(parents=True)
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            # Explicit, not inherited: a shell (or a test session) that points Airflow at another metadata
            # DB must not have the demo's run written there.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_WANXIANG_DEFAULT": json.dumps(
                {"conn_type": "wanxiang", "password": API_KEY, "host": url}
            ),
        }
        airflow(env, "db", "migrate")
        print(f"demo: 2/4 Airflow home migrated in {shown(home)}/", flush=True)
        log_path = home / "demo-dags-test.log"
        print(f"demo: 3/4 airflow dags test {DAG_ID} (every line: {shown(log_path)})", flush=True)
        seen = stream_dags_test(env, json.dumps({"output_dir": str(output)}), log_path)
        runs = last_json(airflow(env, "dags", "list-runs", DAG_ID, "-o", "json"))
        if [run["state"] for run in runs] != ["success"]:
            fail(f"the {DAG_ID} run did not succeed: {runs}", log_path.read_text())
        pngs = sorted(output.rglob("*.png"))
        if not pngs:
            fail(f"no PNG in {output}", log_path.read_text())
        with urlopen(f"{url}/_emulator/stats", timeout=10) as stats:
            counts = json.load(stats)
        remote = ", ".join(f"{task_id}: {' -> '.join(seen.statuses)}" for task_id in seen.remote_task_ids)
        print(
            f"demo: 4/4 success; the emulator saw {counts['tasks_created']} edit(s) and "
            f"{counts['task_queries']} status queries" + (f" (remote task {remote})" if remote else ""),
            flush=True,
        )
        print(f"demo: done. Input: {shown(SAMPLE)}; edited image(s):")
        for png in pngs:
            print(f"        {shown(png)} ({png.stat().st_size} bytes)")
        print(f"demo: look at it: {open_hint(pngs[0])}")
        return 0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
