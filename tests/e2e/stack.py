"""A real Airflow deployment in subprocesses, plus the emulator, for the end-to-end suite.

What runs, and why this way:

- ``airflow api-server --apps core,execution``: in Airflow 3 workers and the triggerer reach the metadata DB
  only through the Execution API, so it is part of any real run; the core app is the public REST API
  (``/api/v2``) that the UI calls, used for the user actions that have no CLI command (marking a deferred
  task failed). Users: the simple auth manager's ``admin`` with a password written by the stack.
- ``airflow dag-processor``, ``airflow scheduler`` (LocalExecutor: task processes are children of the
  scheduler), ``airflow triggerer``; the emulator (``python -m airflow_provider_wanxiang.emulator``).
- Metadata DB: SQLite in the stack's own ``AIRFLOW_HOME``. Airflow 3.1 and 3.3 accept LocalExecutor on
  SQLite (SequentialExecutor is gone and no check rejects the pair), so no database service is needed.
- Each process in its own session / process group (``start_new_session=True``), stopped by group (SIGTERM,
  then SIGKILL). The triggerer's trigger runner stays in the triggerer's group, so SIGKILLing that group is
  a whole-triggerer crash. Airflow 3.3 moves each task runner into a group of its own, so descendants are
  listed before stopping and killed too, and teardown fails if any process carrying the stack's
  ``AIRFLOW_HOME`` survives.
  The all-in-one ``standalone`` command is never used: it does not shut down cleanly.
- The environment is built from scratch for the subprocesses (every inherited ``AIRFLOW*`` variable is
  dropped): the pytest process has its own Airflow home (``tests/conftest.py``) that must not leak in.

The tests observe the run by reading the SQLite file read-only. Every Airflow CLI call costs ~3 s of CPU on
this 2-core machine, which would compete with the very processes under test if used for polling; the CLI is
used where a user would use it (unpause, trigger, final states).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest

from airflow_provider_wanxiang.emulator.config import LIVE_KNOBS
from airflow_provider_wanxiang.testing.connection import connection_env_var, connection_json
from airflow_provider_wanxiang.testing.emulator import API_KEY

T = TypeVar("T")

#: Generous: a slow CI box must fail on a real problem, not on a deadline (no speed is asserted).
DEADLINE = 180.0
STOP_GRACE = 15.0
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DAG_FILE = Path(__file__).resolve().parent / "dags" / "wanxiang_e2e_dags.py"
#: The checkout under test: on every process's ``PYTHONPATH`` (see :func:`subprocess_env`).
REPO = Path(__file__).resolve().parents[2]
EMULATOR_READY = "wanxiang-emulator listening on "


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def last_json(stdout: str) -> Any:
    """The Airflow CLI prints log lines before its ``-o json`` document: take the last line that parses."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line[:1] in "[{":
            with contextlib.suppress(json.JSONDecodeError):
                return json.loads(line)
    raise AssertionError(f"no JSON document in CLI output:\n{stdout[-3000:]}")


def tail(path: Path, lines: int = 40, width: int = 500) -> str:
    """The last ``lines`` lines of a log, each cut to ``width`` characters (task logs are long JSON)."""
    try:
        text = path.read_text(errors="replace")
    except OSError as err:
        return f"<cannot read {path}: {err}>"
    return "\n".join(line[:width] for line in text.splitlines()[-lines:])


@dataclass
class ManagedProcess:
    """One long-running process, leader of its own process group, its output in a file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def descendants(self) -> list[psutil.Process]:
        """Children at any depth: Airflow 3.3 puts each task runner in a process group of its own."""
        try:
            children: list[psutil.Process] = psutil.Process(self.popen.pid).children(recursive=True)
        except psutil.Error:
            return []
        return children

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def group_alive(self) -> bool:
        """True while any member of the group exists (the leader may die before its children)."""
        try:
            os.killpg(self.popen.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def kill(self) -> None:
        """SIGKILL the whole group at once (simulates a crashed host) and reap the leader."""
        escaped = self.descendants()
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=STOP_GRACE)
        _wait_group_gone(self, STOP_GRACE)
        _kill_survivors(escaped)

    def stop(self) -> None:
        """SIGTERM the group, give it time to shut down, then SIGKILL whatever is left.

        Descendants are listed first: a task runner in its own group would not get the group's signal
        if its supervisor died first, and once orphaned it could no longer be found through its parent.
        """
        escaped = self.descendants()
        self.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=STOP_GRACE)
        if not _wait_group_gone(self, max(0.0, deadline - time.monotonic())):
            self.signal_group(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=STOP_GRACE)
            _wait_group_gone(self, STOP_GRACE)
        _kill_survivors(escaped)


def _kill_survivors(processes: list[psutil.Process]) -> None:
    for process in processes:
        with contextlib.suppress(psutil.Error):
            if process.is_running():
                process.kill()
    psutil.wait_procs(processes, timeout=STOP_GRACE)


def leftover_processes(home: Path) -> list[psutil.Process]:
    """Processes of this stack still alive: they all carry the stack's unique ``AIRFLOW_HOME``."""
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.environ().get("AIRFLOW_HOME") == str(home):
                found.append(process)
    return found


def _wait_group_gone(process: ManagedProcess, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while process.group_alive():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


@dataclass
class AirflowStack:
    """A running Airflow 3 deployment (own home, own ports) wired to a running emulator."""

    home: Path
    env: dict[str, str]
    api_port: int
    #: The current process of each role (a restarted triggerer replaces the killed one here).
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    #: Every process ever started, for teardown.
    started: list[ManagedProcess] = field(default_factory=list)
    emulator_url: str = ""
    #: The emulator's live knobs as the stack started it (each test starts from these).
    emulator_defaults: dict[str, Any] = field(default_factory=dict)
    #: The simple auth manager's ``admin`` password (written to its passwords file before the API starts).
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    #: Set when a failure message already carries the diagnostics (so the fixture does not repeat them).
    diagnostics_reported: bool = False
    _generation: dict[str, int] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.home / "airflow.db"

    # -- processes ------------------------------------------------------------------------------------
    def spawn(self, name: str, args: list[str]) -> ManagedProcess:
        """Start ``args`` in a new session; a restarted name gets a new log file (``triggerer.2.log``)."""
        generation = self._generation.get(name, 0) + 1
        self._generation[name] = generation
        log = self.home / "process-logs" / (f"{name}.log" if generation == 1 else f"{name}.{generation}.log")
        log.parent.mkdir(exist_ok=True)
        with log.open("wb") as out:
            popen = subprocess.Popen(
                args,
                cwd=self.home,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = ManagedProcess(name=name, popen=popen, log=log)
        self.processes[name] = process
        self.started.append(process)
        return process

    def start_airflow(self, name: str, *args: str) -> ManagedProcess:
        return self.spawn(name, [AIRFLOW, *args])

    def start_triggerer(self) -> ManagedProcess:
        return self.start_airflow("triggerer", "triggerer")

    def stop_all(self) -> None:
        """Stop every process ever started, newest first (the API server and the emulator last)."""
        for process in reversed(self.started):
            process.stop()
        leftovers = leftover_processes(self.home)
        _kill_survivors(leftovers)
        if leftovers:
            raise AssertionError(
                "processes survived their group's SIGTERM/SIGKILL and were killed: "
                + ", ".join(f"{p.pid}" for p in leftovers)
            )

    def assert_running(self) -> None:
        dead = [p for p in self.processes.values() if not p.alive]
        if dead:
            raise AssertionError(
                "process(es) exited: "
                + ", ".join(f"{p.name} (exit {p.popen.returncode})" for p in dead)
                + "\n"
                + self.diagnostics()
            )

    # -- observing ------------------------------------------------------------------------------------
    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the metadata DB without taking part in it (read-only, one short transaction)."""
        if not self.db_path.exists():
            return []
        connection = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def wait_for(
        self,
        what: str,
        probe: Callable[[], T | None],
        timeout: float = DEADLINE,
        *,
        run: tuple[str, str] | None = None,
    ) -> T:
        """Poll ``probe`` until it returns something truthy; fail with process-log tails otherwise.

        With ``run=(dag_id, run_id)`` a DAG run that ends ``failed`` first fails the wait at once, instead
        of after the whole deadline.
        """
        deadline = time.monotonic() + timeout
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            self.assert_running()
            try:
                value = probe()
                if not value and run is not None and self.dag_run_state(*run) == "failed":
                    pytest.fail(
                        f"dag run {run[0]}/{run[1]} failed while waiting for {what}: "
                        f"{self.task_rows(*run)}\n{self.diagnostics()}",
                        pytrace=False,
                    )
            except sqlite3.OperationalError as err:  # "database is locked" while a writer commits
                last_error = err
                value = None
            if value:
                return value
            time.sleep(0.5)
        pytest.fail(
            f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error})\n"
            + self.diagnostics(),
            pytrace=False,
        )

    def task_rows(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        rows = self.query(
            "SELECT task_id, state, try_number FROM task_instance WHERE dag_id = ? AND run_id = ?",
            dag_id,
            run_id,
        )
        return {task: {"state": state, "try_number": tries} for task, state, tries in rows}

    def dag_run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.query("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", dag_id, run_id)
        return rows[0][0] if rows else None

    def wait_for_run_end(self, dag_id: str, run_id: str, timeout: float = DEADLINE) -> str:
        def finished() -> str | None:
            state = self.dag_run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        return self.wait_for(f"dag run {dag_id}/{run_id} to finish", finished, timeout)

    # -- CLI ------------------------------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [AIRFLOW, *args],
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"airflow {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def cli_json(self, *args: str) -> Any:
        return last_json(self.cli(*args, "-o", "json"))

    def trigger(self, dag_id: str) -> str:
        """Trigger a run the way a user does (``airflow dags trigger``) and return its run id."""
        run_id = f"e2e__{secrets.token_hex(4)}"
        self.cli("dags", "trigger", dag_id, "--run-id", run_id)
        return run_id

    # -- public REST API (what the UI calls) ----------------------------------------------------------
    def rest(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call ``/api/v2`` as the ``admin`` user: a token from ``POST /auth/token``, then the request."""
        login = self._http(
            "POST", "/auth/token", {"username": "admin", "password": self.admin_password}, token=None
        )
        return self._http(method, f"/api/v2{path}", body, token=login["access_token"])

    def _http(self, method: str, path: str, body: dict[str, Any] | None, *, token: str | None) -> Any:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.api_port}{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            raise AssertionError(f"{method} {path} answered {err.code}: {err.read()[:2000]!r}") from err

    # -- emulator -------------------------------------------------------------------------------------
    def emulator(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call a ``/_emulator/*`` control endpoint (GET without a body, POST with one)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.emulator_url}/_emulator/{path}",
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def emulator_stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.emulator("stats")
        return stats

    def remote_status(self, wanxiang_task_id: str) -> str:
        """A remote task's status as the API reports it (``GET /api/v1/tasks/{id}``, the stack's key)."""
        request = urllib.request.Request(
            f"{self.emulator_url}/api/v1/tasks/{wanxiang_task_id}",
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            status: str = json.loads(response.read())["output"]["task_status"]
            return status

    # -- failure reports ------------------------------------------------------------------------------
    def diagnostics(self) -> str:
        """Tails of every process log and of every task log: what a failing CI run needs to show."""
        self.diagnostics_reported = True
        parts: list[str] = []
        for log in sorted((self.home / "process-logs").glob("*.log")):
            parts.append(f"----- {log.name} (last lines) -----\n{tail(log)}")
        for log in sorted((self.home / "logs").rglob("*.log")):
            if "dag_id=" in str(log):
                parts.append(f"----- task log {log.relative_to(self.home)} -----\n{tail(log, 12)}")
        with contextlib.suppress(Exception):
            parts.append(f"----- emulator stats -----\n{json.dumps(self.emulator_stats())}")
        return "\n".join(parts)


def subprocess_env(home: Path, api_port: int) -> dict[str, str]:
    """The whole Airflow configuration of the stack, passed explicitly to every process."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AIRFLOW") and not key.startswith("DASHSCOPE")
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            # Shared by the API server (verifies) and the scheduler (signs workers' tokens).
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            # Without an issuer Airflow 3.1.0 signs REST API tokens with ``"iss": None``, which the installed
            # PyJWT (2.15) refuses ("Issuer (iss) must be a string"): ``POST /auth/token`` would answer 500.
            "AIRFLOW__API_AUTH__JWT_ISSUER": "wanxiang-e2e",
            "AIRFLOW__API__WORKERS": "1",
            # The public REST API's users: the simple auth manager (Airflow 3's default) with one admin.
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                home / "simple_auth_manager_passwords.json"
            ),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            # Fast start and fast hand-over; nothing here changes what is being tested.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "2",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            # A SIGKILLed triggerer's triggers go to a new triggerer once its heartbeat is this old (s).
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "5",
            "PYTHONUNBUFFERED": "1",
            # The processes run in the stack's home, not the checkout: the DAG file imports ``tests.images``
            # (the one test-image maker), and the package under test is this checkout's, not whichever
            # copy is installed (pytest's ``pythonpath = ["."]`` only reaches the pytest process itself).
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
    )
    return env


def start_emulator(stack: AirflowStack) -> str:
    """Start the emulator process and return its URL from its ready line.

    Not the in-process ``wanxiang_emulator`` fixture the other suites share, for two reasons. The deployment
    is started once per module (~15 s) and needs the emulator's URL in its processes' environment before
    they start, while ``wanxiang_emulator`` is per test (a module-scoped fixture cannot use it). And
    everything the triggerer and workers talk to is a process of the stack, as in a real deployment: the
    emulator is started the way users start it (``python -m airflow_provider_wanxiang.emulator``), its log
    is part of the stack's diagnostics, and it does not share pytest's process. Tests drive it over its
    HTTP control routes (``stack.emulator("reset" | "config" | ...)``); its connection is built with
    ``connection_json`` like every other test's.
    """
    process = stack.spawn(
        "emulator",
        [
            sys.executable,
            "-m",
            "airflow_provider_wanxiang.emulator",
            "--port",
            "0",
            "--task-seconds",
            "8",
            "--api-key",
            API_KEY,
        ],
    )

    def ready_url() -> str | None:
        for line in process.log.read_text(errors="replace").splitlines():
            if line.startswith(EMULATOR_READY):
                return line[len(EMULATOR_READY) :].strip()
        return None

    return stack.wait_for("the emulator's ready line", ready_url, timeout=60)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= int(response.status) < 500
    except OSError:
        return False


@contextlib.contextmanager
def running_stack(home: Path) -> Iterator[AirflowStack]:
    """Migrate a fresh DB, start every process, yield; always stop every process group."""
    (home / "dags").mkdir(parents=True)
    shutil.copy(DAG_FILE, home / "dags" / DAG_FILE.name)
    api_port = free_port()
    stack = AirflowStack(home=home, env=subprocess_env(home, api_port), api_port=api_port)
    try:
        stack.emulator_url = start_emulator(stack)
        stack.emulator_defaults = {
            knob: value for knob, value in stack.emulator("config").items() if knob in LIVE_KNOBS
        }
        (home / "simple_auth_manager_passwords.json").write_text(json.dumps({"admin": stack.admin_password}))
        stack.env[connection_env_var()] = connection_json(host=stack.emulator_url, api_key=API_KEY)
        stack.cli("db", "migrate", timeout=300)
        stack.start_airflow(
            "api-server", "api-server", "--apps", "core,execution", "-H", "127.0.0.1", "-p", str(api_port)
        )
        stack.start_airflow("dag-processor", "dag-processor")
        stack.start_airflow("scheduler", "scheduler")
        stack.start_triggerer()
        stack.wait_for(
            "the API server (Execution API and public REST API) to answer",
            lambda: (
                _http_ok(f"http://127.0.0.1:{api_port}/execution/health")
                and _http_ok(f"http://127.0.0.1:{api_port}/api/v2/monitor/health")
            ),
        )
        yield stack
    finally:
        stack.stop_all()
