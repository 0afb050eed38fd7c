"""``make docs-images``: the pictures of docs/gallery.md, made by the bundled emulator from the sample images.

An image product's docs should show an edit. The real service cannot be reached from CI or our machines,
so the pictures come from the emulator, through the provider's own client: the same request a DAG sends
(the sample images of ``dags/sample_images/`` as inputs, fixed seeds), the same result URLs downloaded.
The emulator does not edit, it shows what it received (image 1 mirrored and colour-graded, further images
as insets, a caption with seed and prompt), which is what the gallery says.

The PNGs are downscaled and palette-quantised so the committed set stays small (a few hundred KB); the
output is a pure function of the inputs, seeds and prompts, so running this again rewrites the same files.
"""

from __future__ import annotations

import argparse
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import requests
from PIL import Image

from airflow_provider_wanxiang.client import ClientConfig, WanxiangClient, build_edit_request
from airflow_provider_wanxiang.client.models import TaskStatus
from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "dags" / "sample_images"
OUT = ROOT / "docs" / "_static" / "gallery"
#: Width of every picture in the gallery (the page shows them side by side).
WIDTH = 400
#: Colours kept per picture: the emulator's flat grades and insets survive 128 colours without banding.
COLOURS = 128


@dataclass(frozen=True)
class Case:
    """One gallery entry: the request a DAG would send (inputs, prompt, a fixed seed)."""

    name: str
    prompt: str
    images: tuple[Path, ...]
    seed: int
    size: str | None = None


EDIT = Case(
    name="edit",
    prompt="Place the mug on a white studio backdrop with a soft shadow",
    images=(SAMPLES / "mug.png",),
    seed=7,
)
FUSION = Case(
    name="fusion",
    prompt="Put the lamp from Image 1 and the mug from Image 2 on the table in Image 3, evening light",
    images=(SAMPLES / "lamp.png", SAMPLES / "mug.png", SAMPLES / "table.png"),
    seed=20261125,
    size="1280*960",
)


def small_png(data: bytes) -> bytes:
    """Downscale to :data:`WIDTH` and quantise: a 1280² result of ~140 KB becomes ~20 KB."""
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
    height = round(rgb.height * WIDTH / rgb.width)
    resized = rgb.resize((WIDTH, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    resized.quantize(COLOURS).save(out, "PNG", optimize=True)
    return out.getvalue()


def edit(client: WanxiangClient, case: Case) -> bytes:
    """Submit one edit, read its result (the emulator runs with 0 s tasks) and download the image."""
    request = build_edit_request(
        prompt=case.prompt, images=[str(path) for path in case.images], seed=case.seed, size=case.size
    )
    created = client.create_task(request)
    task = client.get_task(created.task_id)
    if task.status is not TaskStatus.SUCCEEDED:
        raise SystemExit(f"docs-images: task {created.task_id} ended {task.status.value}: {task.message}")
    (result,) = task.succeeded_images
    assert result.url is not None
    response = requests.get(result.url, timeout=30)
    response.raise_for_status()
    return response.content


def write(name: str, data: bytes, out: Path) -> Path:
    path = out / name
    path.write_bytes(small_png(data))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description="Regenerate the gallery pictures from the emulator.")
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder (default {OUT.relative_to(ROOT)})")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    emulator = WanxiangEmulator(task_seconds=0).start()
    try:
        config = ClientConfig(api_key=emulator.api_key, base_url=f"{emulator.url}/api/v1")
        with WanxiangClient(config) as client:
            written = []
            for case in (EDIT, FUSION):
                inputs = case.images
                names = ["before"] if len(inputs) == 1 else [f"input-{k}" for k in range(1, len(inputs) + 1)]
                for name, path in zip(names, inputs, strict=True):
                    written.append(write(f"{case.name}-{name}.png", path.read_bytes(), out))
                written.append(write(f"{case.name}-after.png", edit(client, case), out))
    finally:
        emulator.stop()
    total = sum(path.stat().st_size for path in written)
    for path in written:
        print(f"docs-images: {path} ({path.stat().st_size} bytes)")
    print(f"docs-images: {len(written)} pictures, {total} bytes in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
