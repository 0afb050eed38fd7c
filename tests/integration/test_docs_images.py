"""scripts/docs_images.py: the gallery's pictures come from the emulator and are what the script makes.

The script is run for real (its own emulator on loopback, the provider's client, result downloads) into a
temporary folder and compared with the committed pictures of docs/_static/gallery/: the same files at the
same sizes, each "after" far closer to its committed self than to its "before" (fonts and resampling may
differ by a few levels between Pillow versions, so bytes are not compared), and a page that shows them all.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "docs" / "_static" / "gallery"
PAGE = (ROOT / "docs" / "gallery.md").read_text()
#: The committed set stays small (the repository carries it forever).
MAX_TOTAL_BYTES = 300_000


def _rgb(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def _distance(a: Path, b: Path) -> float:
    """Mean absolute difference per channel (0-255), b resized to a's size."""
    first, second = _rgb(a), _rgb(b)
    second = second.resize(first.size)
    return sum(ImageStat.Stat(ImageChops.difference(first, second)).mean) / 3


def test_the_script_regenerates_the_committed_gallery(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "docs_images.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    made = sorted(path.name for path in tmp_path.glob("*.png"))
    assert made == sorted(path.name for path in GALLERY.glob("*.png"))
    assert {"edit-before.png", "edit-after.png", "fusion-after.png"} <= set(made)
    for name in made:
        assert _rgb(tmp_path / name).size == _rgb(GALLERY / name).size, name
    for case, before in (("edit", "edit-before.png"), ("fusion", "fusion-input-1.png")):
        after = f"{case}-after.png"
        same = _distance(tmp_path / after, GALLERY / after)
        edited = _distance(GALLERY / after, GALLERY / before)
        assert same < edited / 4, (after, same, edited)


def test_the_page_shows_every_committed_picture_and_the_set_stays_small() -> None:
    pictures = sorted(GALLERY.glob("*.png"))
    assert pictures
    for path in pictures:
        assert f"(_static/gallery/{path.name})" in PAGE, path.name
    assert sum(path.stat().st_size for path in pictures) < MAX_TOTAL_BYTES
