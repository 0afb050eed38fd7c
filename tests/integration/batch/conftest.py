"""Real parts for the batch tests: the shipped emulator over HTTP, a real S3 API (moto server), and a helper
that runs one wave of the batch engine against a destination, as the operator does."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wanxiang.batch.engine import BatchEngine, BatchSettings, WaveResult
from airflow_provider_wanxiang.batch.items import Catalogue, ItemPlan, validate_catalogue
from airflow_provider_wanxiang.batch.ledger import Ledger
from airflow_provider_wanxiang.batch.outputs import ListedOutputs, make_copier
from airflow_provider_wanxiang.client import ClientConfig
from airflow_provider_wanxiang.copying import CopySettings, OverwritePolicy
from airflow_provider_wanxiang.copying.destination import Location, destination_root
from airflow_provider_wanxiang.testing.connection import connection_env_var
from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.images import png_data_uri
from tests.integration.copy.conftest import MotoS3

#: A connection id no other module uses (Airflow caches one filesystem per scheme and connection).
S3_CONN_ID = "aws_batch_moto"
IMAGE = png_data_uri(480, 400, (20, 160, 90))


def items_for(prompts: dict[str, str], n: int = 1) -> list[dict[str, Any]]:
    return [{"key": key, "prompt": prompt, "images": [IMAGE], "n": n} for key, prompt in prompts.items()]


def config_for(emulator: WanxiangEmulator, **fields: Any) -> ClientConfig:
    return ClientConfig(api_key=emulator.api_key, base_url=emulator.base_url, **fields)


class Batch:
    """One destination and catalogue; :meth:`wave` runs the engine over it like one operator wave."""

    def __init__(
        self, emulator: WanxiangEmulator, destination: str, items: Any, config: ClientConfig | None = None
    ) -> None:
        self.emulator = emulator
        self.config = config or config_for(emulator)
        self.root: Location = destination_root(destination, None)
        self.catalogue = Catalogue(items)
        self.plans: list[ItemPlan] = validate_catalogue(self.catalogue)
        self.ledger = Ledger(self.root)
        self.ambiguous: list[str] = []

    def engine(self, run_id: str = "run-1", **settings: Any) -> BatchEngine:
        self.ledger = Ledger(self.root)
        self.ambiguous = self.ledger.load()
        listed = ListedOutputs(self.root)
        return BatchEngine(
            catalogue=self.catalogue,
            plans=self.plans,
            ledger=self.ledger,
            config=self.config,
            copier=make_copier(self.root, CopySettings(overwrite=OverwritePolicy.IF_DIFFERENT)),
            settings=BatchSettings(run_id=run_id, **{"poll_interval": 0.2, **settings}),
            done_outputs=lambda key, entry: entry.run == run_id or listed.present(key, entry),
            log=logging.getLogger("tests.batch"),
        )

    def wave(self, run_id: str = "run-1", **settings: Any) -> WaveResult:
        engine = self.engine(run_id, **settings)
        return asyncio.run(engine.run(self.ambiguous))


def read_report(root: Path) -> dict[str, dict[str, Any]]:
    lines = (root / "_wanxiang" / "report.jsonl").read_text().splitlines()
    return {line["key"]: line for line in map(json.loads, lines)}


@pytest.fixture
def emulator(wanxiang_emulator: WanxiangEmulator) -> WanxiangEmulator:
    """The session emulator, fresh: 5 concurrent, 5 creates/s (rejecting beyond), short edits."""
    wanxiang_emulator.configure(task_seconds=0.3, task_seconds_spread=0.0)
    return wanxiang_emulator


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = MotoS3()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> str:
    extra = {"endpoint_url": moto_s3.endpoint, "region_name": "us-east-1"}
    monkeypatch.setenv(
        connection_env_var(S3_CONN_ID),
        json.dumps({"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}),
    )
    name = f"wanxiang-batch-{int(time.time() * 1000)}"
    moto_s3.client.create_bucket(Bucket=name)
    return name
