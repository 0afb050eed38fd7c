"""The connection form as the UI gets it: a real ``airflow api-server`` asked for its connection metadata.

The UI builds the "Add Connection" form from ``GET /ui/connections/hook_meta``. On Airflow >= 3.2 the API
server answers from the provider info's ``conn-fields``; on 3.1 it imports the hook and calls
``get_ui_field_behaviour`` and ``get_connection_form_widgets`` (with wtforms stand-ins). Either way the
``wanxiang`` type must offer the region dropdown (both regions, Singapore by default), the workspace field,
the API-key label and the hidden fields — checked here on whichever Airflow runs the suite (3.3 and the 3.1
floor environment).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from airflow import __version__ as airflow_version

from airflow_provider_wanxiang.get_provider_info import REGION_CHOICES
from tests.e2e.stack import AirflowStack, _http_ok, free_port, subprocess_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowStack]:
    """Only the API server's core app (the UI's backend), on a fresh DB, as the stack starts it."""
    home = tmp_path_factory.mktemp("connection-form-home")
    (home / "dags").mkdir()
    port = free_port()
    stack = AirflowStack(home=home, env=subprocess_env(home, port), api_port=port)
    (home / "simple_auth_manager_passwords.json").write_text(json.dumps({"admin": stack.admin_password}))
    try:
        stack.cli("db", "migrate", timeout=300)
        stack.start_airflow("api-server", "api-server", "--apps", "core", "-H", "127.0.0.1", "-p", str(port))
        stack.wait_for(
            "the API server to answer", lambda: _http_ok(f"http://127.0.0.1:{port}/api/v2/monitor/health")
        )
        yield stack
    finally:
        stack.stop_all()


def _hook_meta(stack: AirflowStack) -> dict[str, Any]:
    """The ``wanxiang`` entry of ``GET /ui/connections/hook_meta``, as the logged-in admin gets it."""
    login = stack._http(
        "POST", "/auth/token", {"username": "admin", "password": stack.admin_password}, token=None
    )
    answer = stack._http("GET", "/ui/connections/hook_meta", None, token=login["access_token"])
    ours = [entry for entry in answer if entry["connection_type"] == "wanxiang"]
    assert len(ours) == 1, [entry["connection_type"] for entry in answer]
    return ours[0]  # type: ignore[no-any-return]


def test_region_dropdown_and_workspace_field(api_server: AirflowStack) -> None:
    meta = _hook_meta(api_server)
    extra = meta["extra_fields"]
    assert extra is not None, f"no extra fields on Airflow {airflow_version}: {meta}"
    region = extra["region"]
    assert region["schema"]["enum"] == REGION_CHOICES
    assert region["value"] == "ap-southeast-1"
    assert region["schema"]["title"] == "Region"
    assert "string" in region["schema"]["type"]
    workspace = extra["workspace_id"]
    assert workspace["schema"]["title"] == "Workspace ID"
    assert "enum" not in workspace["schema"]
    assert "workspace" in (workspace["description"] or "").lower() or "maas" in workspace["description"]


def test_standard_fields_relabelled_and_hidden(api_server: AirflowStack) -> None:
    fields = _hook_meta(api_server)["standard_fields"]
    assert fields is not None
    assert fields["password"]["title"] == "API Key"
    assert fields["host"]["title"] == "Base URL override"
    assert fields["login"]["hidden"] is True and fields["port"]["hidden"] is True
    assert fields["url_schema"]["hidden"] is True
