"""The ``AIRFLOW_CONN_<ID>`` value for a Wanxiang connection, built in one place.

Airflow reads connections from environment variables as JSON; tests (and the e2e stack's subprocesses) that
point a connection somewhere (the emulator, a proxy, a crafted server) all need the same shape, so it is
written once here instead of ``json.dumps({...})`` by hand at every call site.
"""

from __future__ import annotations

import json
from typing import Any


def connection_env_var(conn_id: str = "wanxiang_default") -> str:
    """The environment variable Airflow reads connection ``conn_id`` from (``AIRFLOW_CONN_<ID>``)."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def connection_json(*, host: str | None = None, api_key: str | None = None, **extra: Any) -> str:
    """A ``wanxiang`` connection as Airflow's JSON form: API key in ``password``, ``extra`` as given.

    ``host`` is the endpoint (e.g. the emulator's ``url``); ``extra`` takes the connection's extra fields
    (``region``, ``workspace_id``, ``proxy``, ``timeout``, ...). Omitted parts are left out, so a test can
    also build the incomplete connections users get wrong.
    """
    fields: dict[str, Any] = {"conn_type": "wanxiang"}
    if api_key is not None:
        fields["password"] = api_key
    if host is not None:
        fields["host"] = host
    if extra:
        fields["extra"] = extra
    return json.dumps(fields)
