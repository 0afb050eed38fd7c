"""Airflow itself discovers the provider: ``airflow providers list`` / ``hooks`` in a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from airflow import __version__ as airflow_version
from packaging.version import Version

AIRFLOW_VERSION = Version(airflow_version)


def _airflow_json(*args: str) -> Any:
    """Run the Airflow CLI and return its JSON output (log lines may precede it on stdout)."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=180,
        env=os.environ.copy(),
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for line in reversed(result.stdout.splitlines()):
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            continue
    pytest.fail(f"no JSON in output of airflow {' '.join(args)}: {result.stdout[-2000:]}")


def test_airflow_providers_list_shows_the_provider() -> None:
    providers = _airflow_json("providers", "list")
    ours = [p for p in providers if p["package_name"] == "airflow-provider-wanxiang"]
    assert len(ours) == 1, providers
    assert ours[0]["version"] == "0.1.0"


def test_airflow_providers_hooks_shows_the_wanxiang_connection_type() -> None:
    hooks = _airflow_json("providers", "hooks")
    ours = [h for h in hooks if h["connection_type"] == "wanxiang"]
    assert len(ours) == 1, hooks
    assert ours[0]["class"] == "airflow_provider_wanxiang.hooks.wanxiang.WanxiangHook"
    assert ours[0]["package_name"] == "airflow-provider-wanxiang"
    assert ours[0]["conn_id_attribute_name"] == "wanxiang_conn_id"


def test_providers_manager_builds_the_connection_form() -> None:
    if Version("3.2") > AIRFLOW_VERSION:
        # Airflow 3.1 reads the form from the hook's classmethod (when its UI extras are installed).
        from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook

        behaviour = WanxiangHook.get_ui_field_behaviour()
        assert behaviour["relabeling"]["password"] == "API Key"
        assert "login" in behaviour["hidden_fields"]
        return
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    behaviour = manager.field_behaviours["wanxiang"]
    assert behaviour["relabeling"]["password"] == "API Key"
    assert "login" in behaviour["hidden_fields"]
    widgets = manager.connection_form_widgets
    assert widgets["extra__wanxiang__region"].field["schema"]["enum"] == ["ap-southeast-1", "cn-beijing"]
    assert "extra__wanxiang__workspace_id" in widgets
    assert not widgets["extra__wanxiang__region"].is_sensitive
