"""What every benchmark shares: the emulator in its own process, the figures file, RSS and sockets.

Each benchmark is a script with one concern; it prints a table and, with ``--json PATH``, writes its
figures for ``benchmarks/run.py`` (which writes ``results.md``). Not a package module: nothing here is
shipped or imported by ``airflow_provider_wanxiang``.
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MIB = 1024 * 1024
EMULATOR_KEY = "sk-bench"


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command that reproduces a figure, as typed from the repository root."""
    argv = list(sys.argv if argv is None else argv)
    if "--json" in argv:  # where the runner collects the figures: not part of what makes them
        at = argv.index("--json")
        del argv[at : at + 2]
    script = Path(argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    return shlex.join(["python", str(shown), *argv[1:]])


def raise_fd_limit() -> None:
    """Thousands of waits can hold thousands of sockets: allow as many as the hard limit does."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def exit_on_sigterm() -> None:
    """Stopping an orchestrator (``kill PID``) still runs its ``finally``/``with`` blocks, which stop the
    emulator, moto and file-server processes it started; the default SIGTERM would leave them behind."""
    import signal

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


class Emulator:
    """The shipped emulator (``python -m airflow_provider_wanxiang.emulator``) in its OWN process, so its
    CPU and memory never count against the process being measured."""

    def __init__(self, *options: str) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                # The emulator holds one socket per client connection: lift its descriptor limit too.
                "import resource, sys; s, h = resource.getrlimit(resource.RLIMIT_NOFILE); "
                "resource.setrlimit(resource.RLIMIT_NOFILE, (h, h)); "
                "from airflow_provider_wanxiang.emulator.cli import main; sys.exit(main(sys.argv[1:]))",
                "--port",
                "0",
                "--api-key",
                EMULATOR_KEY,
                *options,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline().strip()
        if not ready:
            self.close()
            raise RuntimeError("the emulator did not start")
        self.url = ready.rsplit(" ", 1)[-1]
        self.base_url = self.url + "/api/v1"
        self.port = int(self.url.rsplit(":", 1)[-1])

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_emulator/stats", timeout=30) as response:
            stats: dict[str, Any] = json.load(response)
            return stats

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def rss_bytes() -> int:
    """Current resident set size of this process (``ru_maxrss`` is a lifetime peak, not what is held)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def write_figures(path: str | None, figures: dict[str, Any]) -> None:
    """Hand the figures to the runner (``--json``); a benchmark run by hand just prints its table."""
    if path:
        Path(path).write_text(json.dumps(figures, indent=2, sort_keys=True))
