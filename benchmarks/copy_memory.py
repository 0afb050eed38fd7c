"""Copy throughput and memory: does copying result images keep memory bounded, and how fast is it?

Copies (1) the largest results the emulator makes (``size=1280*1280`` from a noise input, so the PNGs do
not compress: ~4.7 MiB each) and (2) ``--synthetic-count`` synthetic noise PNGs of ``--synthetic-mib``
each (default 4 x ~8 MiB), to a local directory (``file://``) and to S3 (moto server), with
:func:`airflow_provider_wanxiang.copying.copy_png` ("stream"), the naive ``requests.get(url).content`` then
write ("naive") and, to S3 only, boto3's ``upload_fileobj`` streaming the same HTTP body ("boto3", the
reference throughput). Each measurement runs in its own fresh process, with the emulator, moto and the
file server in other processes, ``--repeats`` times (medians reported), and reports:

- peak RSS growth of the copying process during the copy (current RSS sampled every millisecond, minus
  the RSS before; measured after a warm-up copy of a tiny image, so libraries, sessions and connection
  pools already exist);
- the peak of Python allocations during the copy (``tracemalloc``; bytes objects, buffers);
- throughput: bytes copied / seconds of the copy loop (MiB/s).

Usage::

    python benchmarks/copy_memory.py [--images 4] [--synthetic-mib 8] [--synthetic-count 4] [--repeats 3]

Figures vary with the machine; they are reported, never asserted.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import MIB, command_line, exit_on_sigterm, free_port, median, wait_for_port, write_figures


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
    s3: Any = None
    if args.mode == "boto3":
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=job["s3_endpoint"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def copy(url: str, path: str) -> None:
        if args.mode == "boto3":
            bucket, key = path.split("/", 1)
            with session.get(url, timeout=60, stream=True) as response:
                response.raise_for_status()
                s3.upload_fileobj(response.raw, bucket, key)
        elif args.mode == "stream":
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
                "mib_per_s": sum(job["sizes"][args.source]) / MIB / elapsed,
            }
        )
    )


# -- the orchestrating process -----------------------------------------------------------------------------
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
    parser.add_argument("--synthetic-mib", type=int, default=8, help="size of each synthetic PNG")
    parser.add_argument("--synthetic-count", type=int, default=4, help="synthetic PNGs copied per run")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per figure (medians)")
    parser.add_argument("--json", help="write the figures here (for benchmarks/run.py)")
    parser.add_argument(
        "--block-mib", type=int, default=None, help="upload part size for S3 (>= 5; default: the library's)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["stream", "naive", "boto3"], help=argparse.SUPPRESS)
    parser.add_argument("--dest", choices=["file", "s3"], help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.block_mib is None:
        from airflow_provider_wanxiang.copying import DEFAULT_BLOCK_SIZE

        args.block_mib = DEFAULT_BLOCK_SIZE // MIB
    if args.child:
        child(args)
        return 0

    import boto3
    import requests

    exit_on_sigterm()
    command = command_line()
    print(f"command: {command}")
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
        for index in range(args.synthetic_count):
            (workdir / f"synthetic-{index}.png").write_bytes(noise_png(side, side))
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
        synthetic = [f"synthetic-{index}.png" for index in range(args.synthetic_count)]
        sizes["synthetic"] = [(workdir / name).stat().st_size for name in synthetic]
        job = {
            "s3_endpoint": s3_endpoint,
            "bucket": "bench",
            "warmup_url": f"{files_url}/tiny.png",
            "sources": {"emulator": results, "synthetic": [f"{files_url}/{name}" for name in synthetic]},
            "sizes": sizes,
        }
        job_file = workdir / "job.json"
        job_file.write_text(json.dumps(job))

        header = (
            f"{'source':<24}{'images':>7}{'largest MiB':>13}  {'method':<8}{'dest':<6}"
            f"{'peak RSS +MiB':>15}{'Python peak MiB':>17}{'seconds':>9}{'MiB/s':>8}"
        )
        print(header)
        print("-" * len(header))
        runs: list[dict[str, Any]] = []
        for source, label in (("emulator", "emulator 1280*1280"), ("synthetic", "synthetic noise PNG")):
            for dest, modes in (("file", ("stream", "naive")), ("s3", ("stream", "naive", "boto3"))):
                for repeat in range(args.repeats):
                    for mode in modes:  # interleaved, so a noisy neighbour hurts every method alike
                        run = subprocess.run(
                            [
                                sys.executable, __file__, "--child", "--job", str(job_file), "--mode", mode,
                                "--dest", dest, "--source", source, "--block-mib", str(args.block_mib),
                            ],
                            capture_output=True, text=True, check=True,
                        )  # fmt: skip
                        figures = json.loads(run.stdout.strip().splitlines()[-1])
                        figures.update(source=source, dest=dest, mode=mode, repeat=repeat)
                        figures["images"] = len(sizes[source])
                        figures["largest_mib"] = max(sizes[source]) / MIB
                        runs.append(figures)
                        print(
                            f"{label:<24}{len(sizes[source]):>7}{figures['largest_mib']:>13.1f}  {mode:<8}"
                            f"{dest:<6}{figures['rss_growth'] / MIB:>15.1f}"
                            f"{figures['python_peak'] / MIB:>17.1f}"
                            f"{figures['seconds']:>9.2f}{figures['mib_per_s']:>8.1f}",
                            flush=True,
                        )
        print(
            f"stream = copying.copy_png (chunks of 256 KiB; S3 parts of {args.block_mib} MiB); "
            "naive = requests.get(url).content + write; boto3 = s3.upload_fileobj(response.raw)"
        )
        write_figures(
            args.json,
            {"name": "copy_memory", "command": command, "runs": runs, "medians": summarize(runs)},
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


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median of the repeats per (source, destination, method); throughput relative to boto3's on S3."""
    rows = []
    for key in dict.fromkeys((r["source"], r["dest"], r["mode"]) for r in runs):
        mine = [r for r in runs if (r["source"], r["dest"], r["mode"]) == key]
        rows.append(
            {
                "source": key[0],
                "dest": key[1],
                "mode": key[2],
                "repeats": len(mine),
                "images": mine[0]["images"],
                "largest_mib": mine[0]["largest_mib"],
                "rss_growth_mib": median([r["rss_growth"] / MIB for r in mine]),
                "python_peak_mib": median([r["python_peak"] / MIB for r in mine]),
                "seconds": median([r["seconds"] for r in mine]),
                "mib_per_s": median([r["mib_per_s"] for r in mine]),
            }
        )
    for row in rows:
        boto = next((r for r in rows if r["source"] == row["source"] and r["mode"] == "boto3"), None)
        if boto and row["dest"] == "s3":
            row["throughput_vs_boto3"] = row["mib_per_s"] / boto["mib_per_s"]
    return rows


if __name__ == "__main__":
    sys.exit(main())
