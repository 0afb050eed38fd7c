"""``make demo``: start the bundled emulator, run one edit end to end through the hook, save the PNGs.

No account and no network are needed. The emulator runs as a real subprocess (the ``wanxiang-emulator``
console script), the provider talks to it over HTTP exactly as it would talk to Model Studio, and the edited
images land in ``demo-output/``. Any failing step exits non-zero with a message.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "demo-output"
API_KEY = "sk-emulator"


def _start_emulator() -> tuple[subprocess.Popen[str], str]:
    emulator_bin = Path(sys.executable).with_name("wanxiang-emulator")
    proc = subprocess.Popen(
        [str(emulator_bin), "--port", "0", "--task-seconds", "3", "--api-key", API_KEY],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    prefix = "wanxiang-emulator listening on "
    if not line.startswith(prefix):
        proc.kill()
        raise SystemExit(f"demo: the emulator did not start (got {line!r})")
    return proc, line.removeprefix(prefix)


def _sample_image(path: Path) -> None:
    """A recognisable input: a sunset-like gradient with a disc, so the edit is visible."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (960, 640))
    draw = ImageDraw.Draw(image)
    for y in range(640):
        draw.line([(0, y), (960, y)], fill=(255 - y // 4, 120 + y // 8, 60 + y // 3))
    draw.ellipse((380, 180, 580, 380), fill=(250, 220, 80))
    image.save(path)


def main() -> int:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="wanxiang-demo-home-"))
    proc, url = _start_emulator()
    try:
        print(f"demo: emulator running at {url}")
        os.environ["AIRFLOW_CONN_WANXIANG_DEFAULT"] = json.dumps(
            {"conn_type": "wanxiang", "password": API_KEY, "host": url}
        )
        from airflow_provider_wanxiang.client import TaskStatus, build_edit_request
        from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook

        shutil.rmtree(OUTPUT, ignore_errors=True)
        OUTPUT.mkdir()
        source = OUTPUT / "input.png"
        _sample_image(source)

        hook = WanxiangHook()
        ok, message = hook.test_connection()
        print(f"demo: test_connection -> {message}")
        if not ok:
            return 1
        client = hook.get_conn()
        request = build_edit_request(
            prompt="Turn the sunset into a watercolour painting", images=[str(source)], n=2, seed=7
        )
        created = client.create_task(request)
        print(f"demo: submitted task {created.task_id} ({created.status.value})")
        deadline = time.monotonic() + 120
        task = client.get_task(created.task_id)
        while not task.status.is_terminal and time.monotonic() < deadline:
            time.sleep(1)
            task = client.get_task(created.task_id)
        print(f"demo: task finished with status {task.status.value}")
        if task.status is not TaskStatus.SUCCEEDED:
            return 1
        for image in task.succeeded_images:
            assert image.url is not None
            response = requests.get(image.url, timeout=30)
            response.raise_for_status()
            target = OUTPUT / f"{created.task_id}-{image.index}.png"
            target.write_bytes(response.content)
            print(f"demo: wrote {target.relative_to(ROOT)} ({len(response.content)} bytes)")
        print(f"demo: done; input and edited images are in {OUTPUT.relative_to(ROOT)}/")
        return 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())
