"""The emulator as a process: ready line, serving, clean SIGTERM exit, and no heavy imports."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import requests

READY = re.compile(r"^wanxiang-emulator listening on (http://127\.0\.0\.1:(\d+))$")


def test_cli_ready_line_health_and_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_wanxiang.emulator", "--port", "0", "--task-seconds", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().rstrip("\n")
        match = READY.match(line)
        assert match, line
        url = match.group(1)
        assert int(match.group(2)) > 0
        assert requests.get(url + "/_emulator/health", timeout=10).json()["status"] == "ok"
        key_check = requests.get(
            url + "/api/v1/tasks", headers={"Authorization": "Bearer sk-emulator"}, timeout=10
        )
        assert key_check.status_code == 200  # default key
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stdout.read() == ""  # exactly one line on stdout
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_rejects_bad_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_wanxiang.emulator", "--fault-rate", "3"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "fault_rate" in result.stderr


def test_emulator_imports_neither_airflow_nor_the_client() -> None:
    code = (
        "import sys, airflow_provider_wanxiang.emulator.cli, airflow_provider_wanxiang.emulator; "
        "bad = [m for m in sys.modules if m == 'airflow' or m.startswith('airflow.') "
        "or m.startswith('airflow_provider_wanxiang.client')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env={**os.environ}
    )
    assert result.returncode == 0, result.stdout + result.stderr
