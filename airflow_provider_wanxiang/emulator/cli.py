"""``wanxiang-emulator`` / ``python -m airflow_provider_wanxiang.emulator``: the emulator as a process.

Prints exactly one line, ``wanxiang-emulator listening on http://HOST:PORT``, once the port is bound (so
scripts can start it with ``--port 0`` and read the address), then serves until SIGINT/SIGTERM and
exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from airflow_provider_wanxiang.emulator.config import OVER_CONCURRENCY_POLICIES, ConfigError, EmulatorConfig
from airflow_provider_wanxiang.emulator.core import EmulatorCore
from airflow_provider_wanxiang.emulator.server import start_site

READY_LINE = "wanxiang-emulator listening on {url}"


def build_parser() -> argparse.ArgumentParser:
    d = EmulatorConfig()
    p = argparse.ArgumentParser(
        prog="wanxiang-emulator",
        description="Local emulator of the DashScope wan2.5-i2i-preview image-editing API.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--host", default=d.host, help="address to bind")
    p.add_argument("--port", type=int, default=d.port, help="port to bind; 0 = pick a free port")
    p.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        metavar="KEY",
        help="accepted API key (repeatable; default sk-emulator)",
    )
    p.add_argument(
        "--key-account",
        action="append",
        default=[],
        metavar="KEY=ACCOUNT",
        help="group keys into one account (shared limits and task visibility); repeatable",
    )
    p.add_argument(
        "--task-seconds", type=float, default=d.task_seconds, help="median task run time; 0 = instant"
    )
    p.add_argument(
        "--task-seconds-spread",
        type=float,
        default=d.task_seconds_spread,
        help="lognormal sigma of run times",
    )
    p.add_argument(
        "--pending-fraction", type=float, default=d.pending_fraction, help="share of run time spent PENDING"
    )
    p.add_argument(
        "--max-concurrent", type=int, default=d.max_concurrent, help="PENDING+RUNNING tasks per account"
    )
    p.add_argument(
        "--submit-rps", type=float, default=d.submit_rps, help="creates per second per account; 0 = off"
    )
    p.add_argument(
        "--query-qps",
        type=float,
        default=d.query_qps,
        help="get/list/cancel per second per account each; 0 = off",
    )
    p.add_argument(
        "--task-ttl", type=float, default=d.task_ttl, help="seconds until a task id answers UNKNOWN"
    )
    p.add_argument(
        "--result-ttl", type=float, default=d.result_ttl, help="seconds until result URLs answer 403"
    )
    p.add_argument(
        "--upload-policy-ttl", type=float, default=d.upload_policy_ttl, help="temp-upload policy life"
    )
    p.add_argument("--upload-ttl", type=float, default=d.upload_ttl, help="life of an uploaded oss:// file")
    p.add_argument("--fault-rate", type=float, default=d.fault_rate, help="share of API requests faulted")
    p.add_argument(
        "--create-fault-after-enqueue-rate",
        type=float,
        default=d.create_fault_after_enqueue_rate,
        help="share of creates answered 500/dropped AFTER the task was stored",
    )
    p.add_argument(
        "--download-fault-rate",
        type=float,
        default=d.download_fault_rate,
        help="share of result downloads faulted (429/500/503, reset before or mid-body, slow)",
    )
    p.add_argument(
        "--fault-slow-seconds",
        type=float,
        default=d.fault_slow_seconds,
        help="when > 0, random faults include answers this many seconds late",
    )
    p.add_argument("--latency", type=float, default=d.latency, help="seconds added to every API answer")
    p.add_argument(
        "--over-concurrency",
        choices=OVER_CONCURRENCY_POLICIES,
        default=d.over_concurrency,
        help="beyond --max-concurrent: answer 429 (reject) or keep the task PENDING (queue)",
    )
    p.add_argument("--retry-after", type=float, default=None, help="send Retry-After on 429s (seconds)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed for run times, output seeds and faults")
    p.add_argument(
        "--download-timeout", type=float, default=d.download_timeout, help="input download timeout"
    )
    p.add_argument(
        "--access-log", action="store_true", help="log one line per request to stdout (aiohttp's format)"
    )
    p.add_argument("--region", default=d.region, help="region reported by the list endpoint")
    p.add_argument(
        "--public-url", default=None, help="base URL for result/upload links (default: bound address)"
    )
    return p


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    key_accounts: dict[str, str] = {}
    for item in args.key_account:
        key, sep, account = item.partition("=")
        if not sep or not key or not account:
            raise ConfigError(f"--key-account expects KEY=ACCOUNT, got {item!r}")
        key_accounts[key] = account
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        api_keys=args.api_keys or ["sk-emulator"],
        key_accounts=key_accounts,
        task_seconds=args.task_seconds,
        task_seconds_spread=args.task_seconds_spread,
        pending_fraction=args.pending_fraction,
        max_concurrent=args.max_concurrent,
        submit_rps=args.submit_rps,
        query_qps=args.query_qps,
        task_ttl=args.task_ttl,
        result_ttl=args.result_ttl,
        upload_policy_ttl=args.upload_policy_ttl,
        upload_ttl=args.upload_ttl,
        fault_rate=args.fault_rate,
        create_fault_after_enqueue_rate=args.create_fault_after_enqueue_rate,
        download_fault_rate=args.download_fault_rate,
        fault_slow_seconds=args.fault_slow_seconds,
        latency=args.latency,
        over_concurrency=args.over_concurrency,
        retry_after=args.retry_after,
        seed=args.seed,
        download_timeout=args.download_timeout,
        region=args.region,
        public_url=args.public_url,
    )


async def serve(config: EmulatorConfig, *, access_log: bool = False) -> None:
    """Serve until SIGINT or SIGTERM."""
    if access_log:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger = logging.getLogger("aiohttp.access")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    runner, url = await start_site(EmulatorCore(config), access_log=access_log)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(READY_LINE.format(url=url), flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        parser.error(str(exc))
    try:
        asyncio.run(serve(config, access_log=args.access_log))
    except OSError as exc:  # e.g. port in use
        print(f"wanxiang-emulator: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
