"""Does copying a result image keep memory bounded whatever the image size?

Copies (1) the largest results the emulator makes (``size=1280*1280`` from a noise input, so the PNGs do
not compress: ~4.7 MiB each) and (2) a synthetic noise PNG far larger than any real result, to a local
directory and to S3 (moto server), with :func:`airflow_provider_wanxiang.copying.copy_png` ("stream") and,
for reference, the naive ``requests.get(url).content`` then write ("naive"). Each measurement runs in its
own fresh process, with the emulator, moto and the file server in other processes, and reports:

- peak RSS growth of the copying process during the copy (current RSS sampled every millisecond, minus
  the RSS before; measured after a warm-up copy of a tiny image, so libraries, sessions and connection
  pools already exist);
- the peak of Python allocations during the copy (``tracemalloc``; bytes objects, buffers).

Usage::

    python benchmarks/copy_memory.py [--images 4] [--synthetic-mib 64] [--block-mib 8]

Figures vary with the machine; they are reported, never asserted.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MIB = 1024 * 1024


# -- the measured process ---------------------------------------------------------------------------------
class RssSampler:
    """Samples this process's resident set size every millisecond and keeps the peak.

    ``ru_maxrss`` is a lifetime high-water mark: imports and the warm-up already set it, so memory freed
    and reused by the copy would not show. Sampling the current RSS (``/proc/self/statm``) measures the
    growth during the copy itself.
    """

    def __init__(self) -> None:
        import threading

        self._page = os.sysconf("SC_PAGE_SIZE")
        self._stop = threading.Event()
        self.baseline = self.current()
        self.peak = self.baseline
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def current(self) -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * self._page

    def _run(self) -> None:
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, self.current())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.current())
        return self.peak - self.baseline


def child(args: argparse.Namespace) -> None:
    """Copy the URLs in ``args.urls`` with one method to one destination; print the figures as JSON."""
    import tracemalloc

    import fsspec
    import requests

    from airflow_provider_wanxiang.copying import copy_png

    job = json.loads(Path(args.job).read_text())
    if args.dest == "s3":
        from s3fs import S3FileSystem

        fs: Any = S3FileSystem(
            key="testing",
            secret="testing",
            endpoint_url=job["s3_endpoint"],
            client_kwargs={"region_name": "us-east-1"},
        )
        root = f"{job['bucket']}/{args.mode}-{args.source}-{os.getpid()}"
    else:
        fs = fsspec.filesystem("file")
        root = tempfile.mkdtemp(prefix="wanxiang-bench-copy-")
    session = requests.Session()

    def copy(url: str, path: str) -> None:
        if args.mode == "stream":
            copy_png(url, fs, path, session=session, overwrite=True, block_size=args.block_mib * MIB)
        else:
            response = session.get(url, timeout=60)
            response.raise_for_status()
            fs.pipe_file(path, response.content)

    copy(job["warmup_url"], f"{root}/warmup.png")  # imports, session, pools: not what is measured
    rss = RssSampler()
    tracemalloc.start()
    started = time.perf_counter()
    for index, url in enumerate(job["sources"][args.source]):
        copy(url, f"{root}/{index}.png")
    elapsed = time.perf_counter() - started
    _, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    growth = rss.stop()
    print(
        json.dumps(
            {
                "rss_growth": growth,
                "rss_baseline": rss.baseline,
                "python_peak": python_peak,
                "seconds": elapsed,
            }
        )
    )


# -- the orchestrating process -----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def noise_png(width: int, height: int) -> bytes:
    from PIL import Image

    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def emulator_results(base_url: str, images: int) -> list[str]:
    """Submit one edit for the largest outputs the emulator makes; return its result URLs."""
    from airflow_provider_wanxiang.client import ClientConfig, WanxiangClient, build_edit_request

    # A noise input ~1 MP: the output (mirrored, colour-graded input plus a caption band) stays noise.
    data_uri = "data:image/png;base64," + base64.b64encode(noise_png(1024, 1024)).decode()
    with WanxiangClient(ClientConfig(api_key="sk-emulator", base_url=base_url)) as client:
        created = client.create_task(
            build_edit_request(prompt="benchmark", images=[data_uri], n=images, size="1280*1280")
        )
        for _ in range(200):
            task = client.get_task(created.task_id)
            if task.status.is_terminal:
                break
            time.sleep(0.1)
    if task.status.value != "SUCCEEDED":
        raise RuntimeError(f"benchmark edit ended {task.status}")
    return [image.url for image in task.succeeded_images if image.url]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=4, help="emulator results to copy (1-4)")
    parser.add_argument("--synthetic-mib", type=int, default=64, help="size of the synthetic PNG")
    parser.add_argument("--block-mib", type=int, default=8, help="upload part size for S3 (>= 5)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["stream", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--dest", choices=["file", "s3"], help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0

    import boto3
    import requests

    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    workdir = Path(tempfile.mkdtemp(prefix="wanxiang-bench-copy-memory-"))
    processes: list[subprocess.Popen[str]] = []
    try:
        # The emulator, in its own process (it renders and caches images in memory).
        emulator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airflow_provider_wanxiang.emulator",
                "--port",
                "0",
                "--task-seconds",
                "0",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        processes.append(emulator)
        assert emulator.stdout is not None
        ready = emulator.stdout.readline().strip()
        emulator_url = ready.rsplit(" ", 1)[-1]
        # S3: moto in server mode, in its own process (it keeps objects in memory).
        s3_port = free_port()
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        )
        wait_for_port(s3_port)
        s3_endpoint = f"http://127.0.0.1:{s3_port}"
        boto3.client(
            "s3",
            endpoint_url=s3_endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket="bench")
        # A plain file server for the synthetic image and the warm-up image.
        side = 1
        while side * side * 3 < args.synthetic_mib * MIB:
            side += 64
        (workdir / "synthetic.png").write_bytes(noise_png(side, side))
        (workdir / "tiny.png").write_bytes(noise_png(64, 64))
        files_port = free_port()
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "http.server", str(files_port), "-b", "127.0.0.1", "-d", str(workdir)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        )
        wait_for_port(files_port)
        files_url = f"http://127.0.0.1:{files_port}"

        results = emulator_results(emulator_url + "/api/v1", args.images)
        sizes = {"emulator": [len(requests.get(u, timeout=60).content) for u in results]}  # warms its cache
        sizes["synthetic"] = [(workdir / "synthetic.png").stat().st_size]
        job = {
            "s3_endpoint": s3_endpoint,
            "bucket": "bench",
            "warmup_url": f"{files_url}/tiny.png",
            "sources": {"emulator": results, "synthetic": [f"{files_url}/synthetic.png"]},
        }
        job_file = workdir / "job.json"
        job_file.write_text(json.dumps(job))

        header = (
            f"{'source':<24}{'images':>7}{'largest MiB':>13}  {'method':<8}{'dest':<6}"
            f"{'peak RSS +MiB':>15}{'Python peak MiB':>17}{'seconds':>9}"
        )
        print(header)
        print("-" * len(header))
        for source, label in (("emulator", "emulator 1280*1280"), ("synthetic", "synthetic noise PNG")):
            for dest in ("file", "s3"):
                for mode in ("stream", "naive"):
                    run = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--child",
                            "--job",
                            str(job_file),
                            "--mode",
                            mode,
                            "--dest",
                            dest,
                            "--source",
                            source,
                            "--block-mib",
                            str(args.block_mib),
                        ],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    figures = json.loads(run.stdout.strip().splitlines()[-1])
                    largest = max(sizes[source]) / MIB
                    print(
                        f"{label:<24}{len(sizes[source]):>7}{largest:>13.1f}  {mode:<8}{dest:<6}"
                        f"{figures['rss_growth'] / MIB:>15.1f}{figures['python_peak'] / MIB:>17.1f}"
                        f"{figures['seconds']:>9.2f}",
                        flush=True,
                    )
        print(
            f"stream = copying.copy_png (chunks of 256 KiB; S3 parts of {args.block_mib} MiB); "
            "naive = requests.get(url).content + write"
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
