"""``make airflow``: a local Airflow with its UI, wired to the bundled emulator, for people who want to click.

Starts, each as its own process group: the emulator, ``airflow api-server`` (UI, REST and Execution API),
``airflow dag-processor``, ``airflow scheduler`` (LocalExecutor on SQLite) and ``airflow triggerer``, with
the example DAGs loaded and a ``wanxiang`` pool of 5 slots that counts deferred tasks (the account's
concurrency). The ``wanxiang_default`` connection pointing at the emulator is stored in the metadata DB
(``airflow connections add``), not only set as an environment variable, so that the UI lists it, shows its
form and can test it: connection testing is enabled for this local stack
(``AIRFLOW__CORE__TEST_CONNECTION=Enabled``; Airflow ships it disabled, as a test runs the hook's code on the
API server). Ctrl-C stops everything: SIGTERM to each group, then SIGKILL to stragglers. The all-in-one
``standalone`` command is not used: it does not shut down cleanly.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOME = ROOT / "airflow-home"
LOGS = HOME / "stack-logs"
API_KEY = "sk-emulator"
CONN_ID = "wanxiang_default"
PORT = int(os.environ.get("WANXIANG_AIRFLOW_PORT", "8080"))
EMULATOR_PORT = int(os.environ.get("WANXIANG_EMULATOR_PORT", "8765"))


def spawn(name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = (LOGS / f"{name}.log").open("wb")
    print(f"stack: starting {name} (log: {(LOGS / f'{name}.log').relative_to(ROOT)})")
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in processes.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for name, proc in processes.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"stack: {name} did not stop in time; killing it")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # also reaps children left in the group
    print("stack: stopped")


def wait_for(
    url: str, what: str, processes: dict[str, subprocess.Popen[bytes]], seconds: float = 120
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name, proc in processes.items():
            if proc.poll() is not None:
                raise SystemExit(f"stack: {name} exited with {proc.returncode}; see {LOGS / (name + '.log')}")
        try:
            with urlopen(url, timeout=2):
                return
        except (URLError, OSError):
            time.sleep(1)
    raise SystemExit(f"stack: {what} did not answer at {url} within {seconds:.0f} s")


def stack_env(home: Path, port: int) -> dict[str, str]:
    """The stack's environment: no inherited ``AIRFLOW*`` variable, so the DB connection is the one used."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # local only: no login page
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",  # the UI's Test button and `airflow connections test`
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
    }


def airflow_cli(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [str(BIN / "airflow"), *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise SystemExit(f"stack: airflow {args[0]} {args[1]} exited {result.returncode}\n{tail}")


def prepare(env: dict[str, str], emulator_url: str) -> None:
    """Migrate the DB, create the pool and store the connection."""
    airflow_cli(env, "db", "migrate")
    airflow_cli(env, "pools", "set", "wanxiang", "5", "wan2.5: 5 concurrent tasks", "--include-deferred")
    store_connection(env, emulator_url)


def store_connection(env: dict[str, str], emulator_url: str) -> None:
    """Store ``wanxiang_default`` in the metadata DB, replacing a previous run's (maybe another port)."""
    connection = {"conn_type": "wanxiang", "password": API_KEY, "host": emulator_url}
    # `connections add` refuses an existing id.
    subprocess.run(
        [str(BIN / "airflow"), "connections", "delete", CONN_ID], env=env, capture_output=True, check=False
    )
    airflow_cli(env, "connections", "add", CONN_ID, "--conn-json", json.dumps(connection))


def main() -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    emulator_url = f"http://127.0.0.1:{EMULATOR_PORT}"
    env = stack_env(HOME, PORT)
    prepare(env, emulator_url)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        processes["emulator"] = spawn(
            "emulator",
            [str(BIN / "wanxiang-emulator"), "--port", str(EMULATOR_PORT), "--task-seconds", "20"],
            env,
        )
        for component, argv in (
            ("api-server", ["api-server", "-H", "127.0.0.1", "-p", str(PORT)]),
            ("dag-processor", ["dag-processor"]),
            ("scheduler", ["scheduler"]),
            ("triggerer", ["triggerer"]),
        ):
            processes[component] = spawn(component, [str(BIN / "airflow"), *argv], env)
        wait_for(f"{emulator_url}/_emulator/health", "the emulator", processes)
        wait_for(f"http://127.0.0.1:{PORT}/api/v2/monitor/health", "the API server", processes)
        print(
            f"stack: ready. Airflow UI: http://127.0.0.1:{PORT}  (example DAGs: wanxiang_*)\n"
            "stack: login: none needed (simple auth manager, every user is admin; local use only)\n"
            f"stack: connection {CONN_ID} -> {emulator_url}, stored in the DB: Admin > Connections, "
            "Test button enabled\n"
            f"stack: emulator: {emulator_url}  (stats: {emulator_url}/_emulator/stats)\n"
            "stack: Ctrl-C stops everything."
        )
        while all(proc.poll() is None for proc in processes.values()):
            time.sleep(1)
        crashed = [name for name, proc in processes.items() if proc.poll() is not None]
        print(f"stack: {', '.join(crashed)} exited; see {LOGS.relative_to(ROOT)}/")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly on SIGTERM too
    sys.exit(main())
