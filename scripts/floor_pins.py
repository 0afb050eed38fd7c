"""Print a pip constraints file that pins every direct dependency to the floor pyproject.toml declares.

Why: ``uv pip compile --resolution lowest-direct`` does not test a floor. Airflow's own requirements
(common-compat, standard, requests, fsspec, ...) lift our declared minimums to whatever they need, so a
floor we declare too low never gets installed and never fails. Pinning each direct dependency ``==floor``
makes the resolver either install exactly that version or fail, and ``make test-lowest`` then runs the
suites on it. The floors stay written once, in pyproject.toml; this script only reads them.

Every runtime dependency (and every requirement of the extras named with ``--extra``) must declare its floor
with ``>=``: a requirement without one is an error, because "any version" is a promise nobody tests.

Usage: ``python scripts/floor_pins.py [--extra s3] [-o requirements/floor-pins.txt]``

``--check`` instead verifies that the running interpreter has every pinned version installed (``make
test-lowest`` runs it in its venv first): a floor changed in pyproject.toml without ``make lock`` would
otherwise leave the old lock installed and the job green for floors nobody tested.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def floor_of(requirement: Requirement) -> str:
    """The version after ``>=`` (the only way a floor is written here); an error names the requirement."""
    floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
    if len(floors) != 1:
        raise SystemExit(
            f"pyproject.toml: {requirement} must declare exactly one floor with '>=' "
            f"(found {len(floors)}); the floors job pins each direct dependency to it"
        )
    return floors[0]


def floor_pins(project: dict[str, Any], extras: list[str]) -> list[str]:
    """``name==floor`` for the runtime dependencies and the requirements of ``extras``, sorted by name."""
    requirements: list[str] = list(project.get("dependencies", []))
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise SystemExit(f"pyproject.toml has no extra {extra!r} (extras: {sorted(optional)})")
        requirements.extend(optional[extra])
    pins: dict[str, str] = {}
    for line in requirements:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        pin = f"{name}=={floor_of(requirement)}" + (f"; {requirement.marker}" if requirement.marker else "")
        if pins.setdefault(name, pin) != pin:
            raise SystemExit(f"pyproject.toml declares two floors for {name}: {pins[name]} and {pin}")
    return [pins[name] for name in sorted(pins)]


def mismatches(pins: list[str]) -> list[str]:
    """The pins the running environment does not satisfy, each with what is installed instead."""
    wrong = []
    for pin in pins:
        requirement = Requirement(pin)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            # Not asked of the specifier: packaging 25 raises on a string that is not a version.
            wrong.append(f"{pin} (installed: nothing)")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            wrong.append(f"{pin} (installed: {installed})")
    return wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", action="append", default=[], help="also pin this extra's requirements")
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    parser.add_argument("--check", action="store_true", help="verify this environment has every pin")
    args = parser.parse_args(argv)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    if args.check:
        wrong = mismatches(floor_pins(project, args.extra))
        for line in wrong:
            print(f"not at its declared floor: {line}; run `make lock`", file=sys.stderr)
        return 1 if wrong else 0
    extras = "".join(f" --extra {extra}" for extra in args.extra)
    text = "\n".join(
        [
            "# Generated from pyproject.toml by scripts/floor_pins.py"
            + extras
            + " (make lock); do not edit.",
            "# Every direct dependency at its declared floor: requirements/floors.txt is compiled with it.",
            *floor_pins(project, args.extra),
            "",
        ]
    )
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
