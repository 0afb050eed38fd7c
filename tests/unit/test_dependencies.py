"""The declared runtime dependencies are exactly what the package imports.

A dependency declared but never imported costs every user an install (the http provider was one); an import
that is not declared works only while something else happens to pull the library in (fsspec and urllib3
were). This reads the imports from the source (every module, including the emulator and the testing helpers,
which ship in the wheel) and compares them with ``[project].dependencies``. Floors are tested by
``make test-lowest``, not here.
"""

from __future__ import annotations

import ast
import importlib.metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "airflow_provider_wanxiang"

#: Imports that are not runtime dependencies, and why.
NOT_RUNTIME = {
    # testing/pytest_plugin.py is loaded only by pytest itself (the pytest11 entry point).
    "pytest": "testing/pytest_plugin.py",
    # Imported only inside functions that the OpenLineage provider's own listener calls (and for typing).
    "apache-airflow-providers-openlineage": "lineage.py",
    # Imported only when Airflow 3.1's API server asks for the connection form, and only there when it has
    # wtforms itself (Airflow skips provider fields otherwise); docs/connection.md says so.
    "wtforms": "compat.py",
}


def _imported_modules() -> dict[str, set[str]]:
    """Absolute imported module names (``a.b.c``) -> the files importing them."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name, set()).add(str(path.relative_to(PACKAGE)))
    return found


def _distribution(module: str) -> str | None:
    """The distribution that provides ``module``; None for the standard library and the package itself."""
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top == "__future__" or top == PACKAGE.name:
        return None
    parts = module.split(".")
    if parts[:2] == ["airflow", "providers"]:
        # Each provider is its own distribution: airflow.providers.common.compat -> ...-common-compat.
        candidates = [
            f"apache-airflow-providers-{'-'.join(parts[2:end])}" for end in range(len(parts), 2, -1)
        ]
        installed = _installed_distributions()
        provider = next((name for name in candidates if canonicalize_name(name) in installed), None)
        assert provider is not None, f"no installed provider distribution provides {module!r}"
        return canonicalize_name(provider)
    if top == "airflow":
        return "apache-airflow"  # core and the Task SDK come with it, at versions it pins
    owners = importlib.metadata.packages_distributions().get(top)
    assert owners, f"no installed distribution provides {module!r}"
    return canonicalize_name(owners[0])


def _installed_distributions() -> set[str]:
    return {canonicalize_name(dist.metadata["Name"]) for dist in importlib.metadata.distributions()}


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {canonicalize_name(Requirement(line).name) for line in project["dependencies"]}


def _imported_distributions() -> dict[str, set[str]]:
    """Distribution -> the files importing it, without the allowed non-runtime imports."""
    by_distribution: dict[str, set[str]] = {}
    for module, files in _imported_modules().items():
        distribution = _distribution(module)
        if distribution is None:
            continue
        if distribution in NOT_RUNTIME and files == {NOT_RUNTIME[distribution]}:
            continue
        by_distribution.setdefault(distribution, set()).update(files)
    return by_distribution


def test_every_import_is_declared() -> None:
    undeclared = {name: sorted(files) for name, files in _imported_distributions().items()}
    for name in _declared():
        undeclared.pop(name, None)
    assert undeclared == {}, "imported but not in [project].dependencies"


def test_every_declared_dependency_is_imported() -> None:
    unused = _declared() - set(_imported_distributions())
    assert unused == set(), "declared in [project].dependencies but never imported by the package"
