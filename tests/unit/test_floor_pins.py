"""scripts/floor_pins.py: the pins the floors job installs are the floors pyproject.toml declares."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "floor_pins.py"


@pytest.fixture(scope="module")
def floor_pins() -> ModuleType:
    spec = importlib.util.spec_from_file_location("floor_pins", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["floor_pins"] = module
    spec.loader.exec_module(module)
    return module


def test_each_floor_becomes_an_exact_pin_with_extras_dropped_and_markers_kept(floor_pins: ModuleType) -> None:
    project = {
        "dependencies": ["Pillow>=9.2.0", "requests>=2.32.0,<3", "tomli>=2.0; python_version < '3.11'"],
        "optional-dependencies": {"s3": ["apache-airflow-providers-amazon[s3fs]>=9.4.0"], "test": ["x"]},
    }

    assert floor_pins.floor_pins(project, ["s3"]) == [
        "apache-airflow-providers-amazon==9.4.0",
        "pillow==9.2.0",
        "requests==2.32.0",
        'tomli==2.0; python_version < "3.11"',
    ]


@pytest.mark.parametrize("line", ["aiohttp", "aiohttp<4", "aiohttp==3.10.0", "aiohttp>=3.9,>=3.10"])
def test_a_dependency_without_exactly_one_floor_is_an_error_naming_it(
    floor_pins: ModuleType, line: str
) -> None:
    with pytest.raises(SystemExit, match=r"aiohttp.*exactly one floor"):
        floor_pins.floor_pins({"dependencies": [line]}, [])


def test_two_floors_for_one_package_are_an_error(floor_pins: ModuleType) -> None:
    project = {"dependencies": ["fsspec>=2023.12.1"], "optional-dependencies": {"s3": ["fsspec>=2024.1.0"]}}

    with pytest.raises(SystemExit, match="two floors for fsspec"):
        floor_pins.floor_pins(project, ["s3"])


def test_an_unknown_extra_is_an_error_listing_the_extras(floor_pins: ModuleType) -> None:
    with pytest.raises(SystemExit, match=r"no extra 's4'.*\['s3'\]"):
        floor_pins.floor_pins({"dependencies": [], "optional-dependencies": {"s3": []}}, ["s4"])


def test_the_check_names_what_is_installed_instead_of_the_floor(floor_pins: ModuleType) -> None:
    installed = importlib.metadata.version("pytest")

    assert floor_pins.mismatches([f"pytest=={installed}"]) == []
    assert floor_pins.mismatches(["pytest==0.1"]) == [f"pytest==0.1 (installed: {installed})"]
    assert floor_pins.mismatches(["no-such-distribution-here==1.0"]) == [
        "no-such-distribution-here==1.0 (installed: nothing)"
    ]
    assert floor_pins.mismatches(["pytest==0.1; python_version < '3'"]) == []  # not for this Python
