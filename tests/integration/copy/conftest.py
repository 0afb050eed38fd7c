"""Real parts for the copy tests: the shipped emulator over HTTP, a real S3 API (moto in server mode on
loopback), a result host that relays (and spoils) the emulator's result URLs, and helpers to make finished
remote tasks quickly.

The S3 API is :class:`tests.moto_s3.MotoS3` (shared with the Celery campaign).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_wanxiang.client import ClientConfig, Task, WanxiangClient, build_edit_request
from airflow_provider_wanxiang.emulator import EmulatorServer
from airflow_provider_wanxiang.testing.connection import connection_env_var
from airflow_provider_wanxiang.testing.emulator import UNLIMITED_INSTANT, WanxiangEmulator
from tests.images import png_data_uri
from tests.integration.copy.result_host import ResultHost
from tests.moto_s3 import MotoS3

#: A connection id no other test module uses: Airflow caches one filesystem per (scheme, conn_id) for the
#: whole process, so a shared name could hand us another module's (dead) endpoint.
S3_CONN_ID = "aws_copy_moto"

IMAGE = png_data_uri(480, 400, (30, 140, 200))


# -- moto -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    server = MotoS3()
    yield server
    server.stop()


_bucket_numbers = itertools.count()


@pytest.fixture
def bucket(moto_s3: MotoS3) -> str:
    name = f"wanxiang-copy-{next(_bucket_numbers)}-{int(time.time())}"
    moto_s3.client.create_bucket(Bucket=name)
    return name


# -- emulator and connections -----------------------------------------------------------------------------
@pytest.fixture
def emulator(wanxiang_emulator: WanxiangEmulator) -> WanxiangEmulator:
    """The shipped session emulator, fresh, with instant tasks and no limits; ``wanxiang_default`` points
    at it (set by ``wanxiang_emulator``)."""
    wanxiang_emulator.configure(**UNLIMITED_INSTANT)
    return wanxiang_emulator


@pytest.fixture(autouse=True)
def _connections(emulator: WanxiangEmulator, moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every copy test: the Wanxiang connection (from ``emulator``) and the S3 one for moto."""
    # Few botocore retries and short timeouts: an S3 outage must fail in a second, not after minutes.
    extra = {
        "endpoint_url": moto_s3.endpoint,
        "region_name": "us-east-1",
        "config_kwargs": {"retries": {"max_attempts": 1, "mode": "standard"}, "connect_timeout": 2},
    }
    monkeypatch.setenv(
        connection_env_var(S3_CONN_ID),
        json.dumps({"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}),
    )


def finished_task(
    emulator: EmulatorServer,
    prompt: str = "Make the sky orange",
    n: int = 3,
    wait: bool = True,
    **params: Any,
) -> Task:
    """Create a task on ``emulator`` and return it once terminal (instant with ``task_seconds=0``), or at
    once with ``wait=False``."""
    config = ClientConfig(api_key=emulator.api_key, base_url=emulator.base_url)
    with WanxiangClient(config) as client:
        created = client.create_task(build_edit_request(prompt=prompt, images=[IMAGE], n=n, **params))
        deadline = time.monotonic() + 10
        while True:
            task = client.get_task(created.task_id)
            if not wait or task.status.is_terminal or time.monotonic() > deadline:
                return task
            time.sleep(0.05)


def fetch(url: str) -> bytes:
    """What a result URL serves (to compare with what was copied)."""
    response = requests.get(url, timeout=10)
    response.raise_for_status()
    return response.content


# -- running the operator directly --------------------------------------------------------------------------
class RecordingTI:
    """Stands in for the task instance in fault-matrix tests: records XComs (checked to be JSON-able)."""

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = json.loads(json.dumps(value))


def run_operator(operator: Any) -> tuple[Any, RecordingTI]:
    """``operator.execute`` with a minimal context; returns (return value or raised exception, ti)."""
    ti = RecordingTI()
    try:
        return operator.execute({"ti": ti}), ti
    except Exception as err:
        return err, ti


# -- a result host in front of the emulator's result URLs -------------------------------------------------
@pytest.fixture(scope="session")
def result_host() -> Iterator[ResultHost]:
    """One loopback result host for the session (``serve`` a path, or relay via :func:`result_proxy`)."""
    host = ResultHost()
    yield host
    host.close()


@pytest.fixture
def result_proxy(emulator: WanxiangEmulator, result_host: ResultHost) -> ResultHost:
    """The result host relaying the emulator's result URLs (its live ``public_url``, which the next test's
    restore puts back), ready to spoil them; the API calls still go straight to the emulator."""
    host = result_host
    host.upstream = emulator.url
    host.misbehave("pass", times=0)
    emulator.configure(public_url=host.url)
    return host


def leftovers(directory: Path) -> list[str]:
    """Temp files of interrupted writes (hidden ``.name.xxxx.tmp`` siblings)."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*.tmp"))


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
