"""The provider metadata is what Airflow validates and shows: check it against Airflow's own schema."""

from __future__ import annotations

import json
from importlib import metadata, resources

import jsonschema
import pytest
from packaging.utils import canonicalize_name

from airflow_provider_wanxiang.client import REGIONS
from airflow_provider_wanxiang.get_provider_info import get_provider_info


def _airflow_schema() -> dict[str, object]:
    schema_text = resources.files("airflow").joinpath("provider_info.schema.json").read_text()
    return json.loads(schema_text)  # type: ignore[no-any-return]


def test_provider_info_validates_against_airflows_schema() -> None:
    jsonschema.validate(get_provider_info(), _airflow_schema())


def test_schema_rejects_a_broken_provider_info() -> None:
    """Guard against a vacuous validation: the same schema must reject a malformed entry."""
    broken = get_provider_info()
    broken["connection-types"] = [{"hook-class-name": "x.Y"}]  # connection-type missing
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, _airflow_schema())


def test_package_name_is_the_installed_distribution() -> None:
    info = get_provider_info()
    assert info["package-name"] == canonicalize_name(metadata.distribution(info["package-name"]).name)


def test_entry_point_points_at_get_provider_info() -> None:
    eps = metadata.entry_points(group="apache_airflow_provider")
    ours = [ep for ep in eps if ep.value.startswith("airflow_provider_wanxiang.")]
    assert len(ours) == 1
    assert ours[0].load()() == get_provider_info()


def test_connection_type_declares_region_dropdown_and_workspace() -> None:
    (conn_type,) = get_provider_info()["connection-types"]
    assert conn_type["connection-type"] == "wanxiang"
    assert conn_type["hook-class-name"] == "airflow_provider_wanxiang.hooks.wanxiang.WanxiangHook"
    fields = conn_type["conn-fields"]
    assert fields["region"]["schema"]["enum"] == list(REGIONS)
    assert "workspace_id" in fields
    behaviour = conn_type["ui-field-behaviour"]
    assert behaviour["relabeling"]["password"] == "API Key"
    assert {"schema", "port", "login"} <= set(behaviour["hidden-fields"])
    assert "host" not in behaviour["hidden-fields"]


def test_every_declared_module_and_link_imports() -> None:
    """A typo in a module path would only show up in Airflow's UI/registry; import each one here."""
    import importlib

    info = get_provider_info()
    modules = [
        module
        for kind in ("hooks", "operators", "sensors", "triggers")
        for entry in info[kind]
        for module in entry["python-modules"]
    ]
    assert len(modules) == 6  # the batch operator and its trigger are declared too
    for module in modules:
        importlib.import_module(module)
    for link in info["extra-links"]:
        module_name, _, class_name = link.rpartition(".")
        assert hasattr(importlib.import_module(module_name), class_name)
