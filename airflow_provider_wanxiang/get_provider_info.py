"""Provider metadata read by Airflow's providers manager.

Kept free of heavy imports on purpose: the API server and ``airflow providers list`` import this module
for every installed provider, and the connection form is built from ``conn-fields`` here without importing
the hook (Airflow ≥ 3.2). On Airflow 3.1 the hook's ``get_ui_field_behaviour`` and
``get_connection_form_widgets`` provide the same form from these definitions.
"""

from __future__ import annotations

from typing import Any

PACKAGE_NAME = "airflow-provider-wanxiang"
PACKAGE = "airflow_provider_wanxiang"
INTEGRATION = "Alibaba Cloud Model Studio Wanxiang"
CONNECTION_TYPE = "wanxiang"
HOOK_CLASS_NAME = f"{PACKAGE}.hooks.wanxiang.WanxiangHook"

#: Regions that serve ``wan2.5-i2i-preview``; mirrored (and checked by a test) in ``client.endpoints``.
REGION_CHOICES = ["ap-southeast-1", "cn-beijing"]

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port", "login"],
    "relabeling": {"password": "API Key", "host": "Base URL override"},
    "placeholders": {
        "password": "sk-...",
        "host": "Optional: e.g. http://127.0.0.1:8765 for the emulator, or a gateway URL",
    },
}

CONN_FIELDS: dict[str, Any] = {
    "region": {
        "label": "Region",
        "description": "Model Studio region of the API key: ap-southeast-1 (Singapore) or cn-beijing.",
        "schema": {"type": ["string", "null"], "enum": REGION_CHOICES, "default": "ap-southeast-1"},
    },
    "workspace_id": {
        "label": "Workspace ID",
        "description": "Optional. When set, calls go to https://{workspace_id}.{region}.maas.aliyuncs.com.",
        "schema": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"},
    },
}


def get_provider_info() -> dict[str, Any]:
    """Return the provider description validated against Airflow's ``provider_info.schema.json``."""
    return {
        "package-name": PACKAGE_NAME,
        "name": "Alibaba Cloud Model Studio Wanxiang",
        "description": (
            "Wanxiang wan2.5 image editing (``wan2.5-i2i-preview``) for Apache Airflow: submit edits, "
            "wait for them without holding a worker slot, and copy the results into object storage."
        ),
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://www.alibabacloud.com/help/en/model-studio/wan2-5-image-edit-api-reference",
                "tags": ["alibaba", "ai"],
            }
        ],
        "hooks": [{"integration-name": INTEGRATION, "python-modules": [f"{PACKAGE}.hooks.wanxiang"]}],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [f"{PACKAGE}.operators.wanxiang", f"{PACKAGE}.operators.batch"],
            }
        ],
        "sensors": [{"integration-name": INTEGRATION, "python-modules": [f"{PACKAGE}.sensors.wanxiang"]}],
        "triggers": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [f"{PACKAGE}.triggers.wanxiang", f"{PACKAGE}.triggers.batch"],
            }
        ],
        "extra-links": [f"{PACKAGE}.links.WanxiangTaskLink"],
        # A remote task reported through hook lineage (``wanxiang://<API host>/tasks/<id>``) is translated
        # for OpenLineage by our converter; no handler (the URI is used as it is).
        "asset-uris": [
            {
                "schemes": ["wanxiang"],
                "handler": None,
                "to_openlineage_converter": f"{PACKAGE}.lineage.convert_asset_to_openlineage",
            }
        ],
        "connection-types": [
            {
                "connection-type": CONNECTION_TYPE,
                "hook-class-name": HOOK_CLASS_NAME,
                "hook-name": INTEGRATION,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": CONN_FIELDS,
            }
        ],
    }
