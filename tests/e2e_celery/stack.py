"""The production topology in subprocesses: CeleryExecutor on PostgreSQL and Redis, two Celery workers, two
triggerers, plus the API server, the scheduler, the dag-processor and the emulator.

Built on the LocalExecutor stack of ``tests/e2e/stack.py`` (process groups, SIGTERM then SIGKILL, the
explicit environment, the emulator process) with what a multi-host deployment changes:

- the metadata DB is PostgreSQL and the broker Redis (``services.py``), each a process of the stack,
  stopped after every Airflow process;
- each Celery worker and each triggerer has its own working directory, its own log folder and its own log
  server port, as if on its own host: nothing one of them writes is visible to the other through a shared
  ``AIRFLOW_HOME`` (the DAG's inputs are data URIs, readable from anywhere);
- failures are detected as in production: a SIGKILLed worker's running task is failed by the scheduler
  once its heartbeat is ``TASK_INSTANCE_HEARTBEAT_TIMEOUT`` seconds old, and retried by the task's own
  ``retries``; a task queued to a worker that died before starting it comes back through Redis after the
  broker's visibility timeout, or is re-queued by the scheduler after ``TASK_QUEUED_TIMEOUT``. All three
  are shortened from their defaults (minutes to hours) so that one run fits in CI.

The observing side reads the DB over psycopg2 in short autocommit transactions.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2

from airflow_provider_wanxiang.emulator.config import LIVE_KNOBS
from airflow_provider_wanxiang.testing.connection import connection_env_var, connection_json
from airflow_provider_wanxiang.testing.emulator import API_KEY
from tests.e2e.stack import (
    AIRFLOW,
    EMULATOR_READY,
    AirflowStack,
    ManagedProcess,
    _http_ok,
    free_port,
    subprocess_env,
    tail,
)
from tests.e2e_celery import services

DAG_FILE = Path(__file__).resolve().parent / "dags" / "wanxiang_celery_dags.py"
WORKERS = ("worker-1", "worker-2")
TRIGGERERS = ("triggerer-1", "triggerer-2")
#: Task slots per Celery worker (two workers: 8 tasks at once on this 2-core machine).
WORKER_CONCURRENCY = 4
#: Seconds after which a task whose worker stopped heartbeating is failed (default 300).
HEARTBEAT_TIMEOUT = 30
S3_CONN_ID = "aws_moto"


@dataclass
class CeleryStack(AirflowStack):
    """An :class:`AirflowStack` whose DB is PostgreSQL, with Redis, two workers and two triggerers."""

    pg_port: int = 0
    redis_port: int = 0
    pg_data: Path | None = None
    redis_data: Path | None = None
    s3: services.MotoS3 | None = None
    #: Every role's own directory (cwd and log folder): ``{"worker-1": Path, ...}``.
    role_dirs: dict[str, Path] = field(default_factory=dict)

    # -- processes ------------------------------------------------------------------------------------
    def spawn_role(self, name: str, args: list[str], env: dict[str, str] | None = None) -> ManagedProcess:
        """Like :meth:`spawn`, in the role's own directory with its own environment additions."""
        generation = self._generation.get(name, 0) + 1
        self._generation[name] = generation
        log = self.home / "process-logs" / (f"{name}.log" if generation == 1 else f"{name}.{generation}.log")
        log.parent.mkdir(exist_ok=True)
        cwd = self.role_dirs.setdefault(name, self.home / "hosts" / name)
        cwd.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            popen = subprocess.Popen(
                args,
                cwd=cwd,
                env={**self.env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = ManagedProcess(name=name, popen=popen, log=log)
        self.processes[name] = process
        self.started.append(process)
        return process

    def host_env(self, name: str) -> dict[str, str]:
        """What makes a role look like its own host: its log folder and its log server's port."""
        folder = self.home / "hosts" / name / "logs"
        return {
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(folder),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        }

    def start_worker(self, name: str) -> ManagedProcess:
        return self.spawn_role(
            name,
            [
                AIRFLOW,
                "celery",
                "worker",
                "--concurrency",
                str(WORKER_CONCURRENCY),
                "--celery-hostname",
                f"{name}@%h",
            ],
            self.host_env(name),
        )

    def start_triggerer(self, name: str = TRIGGERERS[0]) -> ManagedProcess:  # type: ignore[override]
        return self.spawn_role(name, [AIRFLOW, "triggerer"], self.host_env(name))

    def forget(self, name: str) -> None:
        """A process killed on purpose is no longer expected to run (teardown still reaps its group)."""
        self.processes.pop(name, None)

    def log_files(self) -> list[Path]:
        """Every log any process wrote: process logs, and task and trigger logs of every host."""
        return sorted(p for p in self.home.rglob("*.log") if p.is_file())

    def task_logs(self, dag_id: str, run_id: str, task_id: str) -> dict[int, list[str]]:
        """The text of every try of a task, by map index (-1 unmapped), in try order.

        One try can leave a log on two hosts: the part before deferral on the worker that ran
        ``execute``, the part after on the worker that resumed it (the UI merges them through the log
        servers). The pieces of a try are joined here, whichever host wrote them. Trigger logs
        (``attempt=1.log.trigger.<id>.log``) are not task logs.
        """
        pieces: dict[int, dict[int, list[str]]] = {}
        pattern = f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/**/attempt=*.log"
        for log in sorted(self.home.glob(f"hosts/*/logs/{pattern}")):
            attempt = re.fullmatch(r"attempt=(\d+)\.log", log.name)
            if attempt is None:
                continue
            mapped = log.parent.name.startswith("map_index=")
            index = int(log.parent.name.partition("=")[2]) if mapped else -1
            text = log.read_text(errors="replace")
            pieces.setdefault(index, {}).setdefault(int(attempt.group(1)), []).append(text)
        return {
            index: ["".join(parts) for _, parts in sorted(tries.items())] for index, tries in pieces.items()
        }

    def diagnostics(self) -> str:
        """The LocalExecutor stack's tails, plus the last task logs of every host."""
        parts = [super().diagnostics()]
        logs = sorted(self.home.glob("hosts/*/logs/dag_id=*/**/*.log"), key=lambda p: p.stat().st_mtime)
        for log in logs[-12:]:
            parts.append(f"----- task log {log.relative_to(self.home)} -----\n{tail(log, 12)}")
        return "\n".join(parts)

    # -- observing ------------------------------------------------------------------------------------
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.pg_port} user={services.PG_USER} dbname={services.PG_DATABASE}"

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the metadata DB (``?`` placeholders, as in the SQLite stack, become psycopg2's ``%s``)."""
        connection = psycopg2.connect(self.dsn(), connect_timeout=10)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(sql.replace("?", "%s"), params)
                return list(cursor.fetchall()) if cursor.description else []
        finally:
            connection.close()

    def triggerer_jobs(self) -> list[int]:
        """Ids of the triggerer jobs that are running (one per live triggerer), oldest first."""
        rows = self.query(
            "SELECT id FROM job WHERE job_type = 'TriggererJob' AND state = 'running' ORDER BY id"
        )
        return [row[0] for row in rows]

    def triggers_by_triggerer(self) -> dict[int | None, int]:
        """How many trigger rows each triggerer job holds (``None``: not yet assigned)."""
        rows = self.query("SELECT triggerer_id, count(*) FROM trigger GROUP BY triggerer_id")
        return {job: count for job, count in rows}


def celery_env(stack: CeleryStack) -> dict[str, str]:
    pg = f"127.0.0.1:{stack.pg_port}/{services.PG_DATABASE}"
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__PARALLELISM": "16",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{services.PG_USER}@{pg}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{stack.redis_port}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{services.PG_USER}@{pg}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
        # A message a dead worker had reserved comes back to the queue after this many seconds (default
        # 6 h); longer than any task of the campaign runs, so no running task is delivered twice.
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "120",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "180",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "15",
    }


def start_emulator(stack: CeleryStack, *args: str) -> str:
    """The emulator process with its access log on (the leak check reads it); returns its URL."""
    process = stack.spawn(
        "emulator",
        [
            sys.executable,
            "-m",
            "airflow_provider_wanxiang.emulator",
            "--port",
            "0",
            "--api-key",
            API_KEY,
            "--access-log",
            *args,
        ],
    )

    def ready_url() -> str | None:
        for line in process.log.read_text(errors="replace").splitlines():
            if line.startswith(EMULATOR_READY):
                return line[len(EMULATOR_READY) :].strip()
        return None

    return stack.wait_for("the emulator's ready line", ready_url, timeout=60)


@contextlib.contextmanager
def running_celery_stack(home: Path) -> Iterator[CeleryStack]:
    """PostgreSQL, Redis, moto, the emulator, then Airflow's processes; everything stopped afterwards."""
    (home / "dags").mkdir(parents=True)
    (home / "dags" / DAG_FILE.name).write_bytes(DAG_FILE.read_bytes())
    api_port = free_port()
    stack = CeleryStack(home=home, env=subprocess_env(home, api_port), api_port=api_port)
    stack.pg_port, stack.redis_port = free_port(), free_port()
    stack.pg_data, stack.redis_data = services.service_dir("wx-pg-"), services.service_dir("wx-redis-")
    stack.env.update(celery_env(stack))
    try:
        with services.moto_s3() as s3:
            stack.s3 = s3
            stack.env[connection_env_var(S3_CONN_ID)] = json.dumps(
                {
                    "conn_type": "aws",
                    "login": "testing",
                    "password": "testing",
                    "extra": {
                        "endpoint_url": s3.endpoint,
                        "region_name": "us-east-1",
                        "config_kwargs": {
                            "retries": {"max_attempts": 2, "mode": "standard"},
                            "connect_timeout": 3,
                            "read_timeout": 20,
                        },
                    },
                }
            )
            services.init_postgres(stack.pg_data / "data")
            stack.spawn("postgres", services.postgres_args(stack.pg_data / "data", stack.pg_port))
            stack.spawn("redis", services.redis_args(stack.redis_data, stack.redis_port))
            stack.wait_for("PostgreSQL to accept connections", lambda: services.postgres_ready(stack.pg_port))
            services.create_database(stack.pg_port)
            stack.emulator_url = start_emulator(stack, "--task-seconds", "8")
            stack.emulator_defaults = {
                knob: value for knob, value in stack.emulator("config").items() if knob in LIVE_KNOBS
            }
            (home / "simple_auth_manager_passwords.json").write_text(
                json.dumps({"admin": stack.admin_password})
            )
            stack.env[connection_env_var()] = connection_json(host=stack.emulator_url, api_key=API_KEY)
            stack.cli("db", "migrate", timeout=300)
            stack.start_airflow(
                "api-server", "api-server", "--apps", "core,execution", "-H", "127.0.0.1", "-p", str(api_port)
            )
            stack.start_airflow("dag-processor", "dag-processor")
            stack.start_airflow("scheduler", "scheduler")
            for name in WORKERS:
                stack.start_worker(name)
            stack.start_triggerer(TRIGGERERS[0])
            # The second triggerer starts once the first has its job row: job ids then follow start order.
            stack.wait_for("the first triggerer's heartbeat", lambda: stack.triggerer_jobs())
            stack.start_triggerer(TRIGGERERS[1])
            stack.wait_for(
                "the API server (Execution API and public REST API) to answer",
                lambda: (
                    _http_ok(f"http://127.0.0.1:{api_port}/execution/health")
                    and _http_ok(f"http://127.0.0.1:{api_port}/api/v2/monitor/health")
                ),
            )
            stack.wait_for("both triggerers' heartbeats", lambda: len(stack.triggerer_jobs()) >= 2)
            yield stack
    finally:
        try:
            stack.stop_all()
        finally:
            for directory in (stack.pg_data, stack.redis_data):
                if directory is not None:
                    subprocess.run(["rm", "-rf", str(directory)], check=False)
