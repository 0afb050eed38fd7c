"""The lines of an ``airflow dags test`` run that show a person what an edit does, picked out as they come.

``airflow dags test`` prints some 80 lines per run, mostly Airflow's own bookkeeping (ORM DAGs, rendered
fields, XCom pushes). Someone trying the provider wants to see the few that are about their edit: the remote
task id, each status change and when it happened, where each PNG was written, and any error. Those come
from the provider's own loggers (``airflow_provider_wanxiang...``), plus Airflow's lines that say a task
started and that it deferred. Everything else stays in the full log file.

Airflow's console format is ``<ISO time>Z [<level>   ] <message> [<logger>] key=value ...`` (structlog, on
3.1 and 3.3; 3.1 colours it even into a pipe, so escapes are stripped first); a line that does not parse (a
traceback, a warning from Python) is shown only if it looks like an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

LINE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?) \[(?P<level>\w+)\s*\] (?P<message>.*?)"
    r" \[(?P<logger>[\w.]+)\](?: |$)"
)
SUBMITTED = re.compile(r"^Submitted Wanxiang task (?P<task_id>\S+)")
STATUS = re.compile(r"^Wanxiang task (?P<task_id>\S+) is (?P<status>[A-Z]+)")
WRITTEN = re.compile(r" written: file://(?P<path>/\S+\.png) ")
TASK_STARTED = re.compile(r"^\[DAG TEST\] starting task_id=(?P<task>\S+)")
PROVIDER = "airflow_provider_wanxiang"
# Airflow 3.1 colours its console lines even into a pipe.
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class DemoLog:
    """Feed it every line; it returns what to print (or None) and remembers what the run produced."""

    remote_task_ids: list[str]
    statuses: list[str]
    written: list[Path]
    submitted_at: datetime | None = None

    @classmethod
    def new(cls) -> DemoLog:
        return cls(remote_task_ids=[], statuses=[], written=[])

    def feed(self, line: str) -> str | None:
        line = ANSI.sub("", line).rstrip("\n")
        parsed = LINE.match(line)
        if parsed is None:
            return f"  {line.rstrip()}" if re.search(r"\b(Error|Exception|Traceback)\b", line) else None
        when = datetime.fromisoformat(parsed["time"].replace("Z", "+00:00")).astimezone()
        level, message, logger = parsed["level"].lower(), parsed["message"], parsed["logger"]
        clock = when.strftime("%H:%M:%S")
        if started := TASK_STARTED.match(message):
            return f"  {clock}          Airflow task {started['task']} started"
        if message.startswith("Pausing task as DEFERRED"):
            return f"  {clock}          deferred: the wait runs in the triggerer, no worker slot is held"
        if PROVIDER not in logger:
            return (
                f"  {clock}          {level.upper()}: {message}" if level in ("error", "critical") else None
            )
        if level == "debug":
            return None
        if submitted := SUBMITTED.match(message):
            self.remote_task_ids.append(submitted["task_id"])
            self.submitted_at = when
        elapsed = "        "
        if status := STATUS.match(message):
            self.statuses.append(status["status"])
            if self.submitted_at is not None:
                elapsed = f"{(when - self.submitted_at).total_seconds():+6.1f} s"
        if written := WRITTEN.search(message):
            self.written.append(Path(written["path"]))
        prefix = "" if level == "info" else f"{level.upper()}: "
        return f"  {clock} {elapsed} {prefix}{message}"
