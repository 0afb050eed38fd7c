"""The files a user or a packager reads besides the code: the licence and the docs' pictures.

The licence is what pyproject.toml declares (an SPDX expression, PEP 639) and ships in the wheel
(``license-files``). Every picture under docs/_static is shown by a page (or a snippet a page includes) and
every picture a page shows is there: a picture that nothing shows is weight in every clone.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DOCS = ROOT / "docs"


def test_the_licence_file_is_the_apache_2_0_text_pyproject_declares_and_ships() -> None:
    project = PYPROJECT["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
    # PEP 639 metadata needs setuptools 77; licence classifiers are superseded by the expression there.
    (setuptools,) = [
        Requirement(r) for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")
    ]
    assert not setuptools.specifier.contains("76.99") and setuptools.specifier.contains(Version("77.0"))
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]


def test_every_docs_picture_is_shown_and_every_shown_picture_exists() -> None:
    sources = [*DOCS.glob("*.md"), *DOCS.glob("_snippets/*.md")]
    shown: set[Path] = set()
    for source in sources:
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+\.png)\)", source.read_text(), flags=re.DOTALL):
            path = DOCS / target.lstrip("/") if target.startswith("/") else source.parent / target
            assert path.is_file(), f"{source.name} shows {target}, which does not exist"
            shown.add(path.resolve())
    pictures = {path.resolve() for path in (DOCS / "_static").rglob("*.png")}
    assert pictures, "no pictures under docs/_static"
    assert pictures <= shown, sorted(str(p.relative_to(DOCS)) for p in pictures - shown)
