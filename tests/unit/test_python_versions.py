"""The Python versions the package claims are the ones CI runs the suite on, and ones it can be installed on.

pyproject.toml's classifiers are what users read on PyPI; ``requires-python`` is what pip enforces. Both drift
silently: a classifier for a version nothing tests, a lower bound that a dependency's own ``Requires-Python``
has since overtaken (3.10 was claimed while common-compat 1.23.0 requires 3.11, so no install resolved).
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
MAKEFILE = (ROOT / "Makefile").read_text()
CI = (ROOT / ".ci" / "run").read_text()


def _classified() -> set[str]:
    prefix = "Programming Language :: Python :: "
    return {
        c.removeprefix(prefix)
        for c in PROJECT["classifiers"]
        if re.fullmatch(r"3\.\d+", c.removeprefix(prefix))
    }


def _default_python() -> str:
    """The version the main lock is compiled for (``make test`` runs on it)."""
    (version,) = set(re.findall(r"--python-version (3\.\d+)", MAKEFILE))
    return version


def _extra_pythons() -> list[str]:
    match = re.search(r"^EXTRA_PYTHONS := (.+)$", MAKEFILE, re.MULTILINE)
    assert match, "the Makefile no longer declares EXTRA_PYTHONS"
    return match.group(1).split()


def test_every_classified_version_has_a_ci_job_and_every_ci_job_a_classifier() -> None:
    tested = {_default_python(), *_extra_pythons()}
    assert _classified() == tested
    assert re.search(r"^make test$", CI, re.MULTILINE)
    for version in _extra_pythons():
        assert re.search(rf"^make test-py{re.escape(version)}$", CI, re.MULTILINE), version


def test_each_extra_python_has_a_lock_compiled_for_it() -> None:
    for version in _extra_pythons():
        lock = (ROOT / "requirements" / f"airflow-3.3-py{version}.txt").read_text()
        assert f"--python-version {version} " in lock.splitlines()[1], version
        assert re.search(r"^apache-airflow==3\.3\.2$", lock, re.MULTILINE), version


def test_requires_python_starts_at_the_lowest_classified_version() -> None:
    lowest = min(_classified(), key=lambda v: tuple(map(int, v.split("."))))
    spec = SpecifierSet(PROJECT["requires-python"])
    assert lowest in spec
    below = f"3.{int(lowest.split('.')[1]) - 1}"
    assert below not in spec, f"requires-python admits {below}, which no CI job runs"


def test_the_running_interpreter_is_a_classified_one() -> None:
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in _classified()


def test_every_installed_runtime_dependency_accepts_the_lowest_claimed_python() -> None:
    """The lower bound must be installable: each dependency's own Requires-Python admits it."""
    floor = min(_classified(), key=lambda v: tuple(map(int, v.split("."))))
    for line in PROJECT["dependencies"]:
        name = Requirement(line).name
        requires = importlib.metadata.metadata(name).get("Requires-Python") or ""
        assert floor in SpecifierSet(requires), f"{name} requires Python {requires}, not {floor}"
