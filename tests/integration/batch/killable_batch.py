"""Run one batch wave in a process of its own, so a test can SIGKILL it mid-batch (as the OOM killer or a
lost node would).

Usage: ``python -m tests.integration.batch.killable_batch URL KEY DESTINATION ITEMS.jsonl``.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from airflow_provider_wanxiang.batch.engine import BatchEngine, BatchSettings
from airflow_provider_wanxiang.batch.items import Catalogue, validate_catalogue
from airflow_provider_wanxiang.batch.ledger import Ledger
from airflow_provider_wanxiang.batch.outputs import make_copier
from airflow_provider_wanxiang.client import ClientConfig
from airflow_provider_wanxiang.copying import CopySettings
from airflow_provider_wanxiang.copying.destination import destination_root


def main(base_url: str, api_key: str, destination: str, items: str) -> None:
    logging.basicConfig(level=logging.INFO)
    root = destination_root(destination, None)
    catalogue = Catalogue(items)
    ledger = Ledger(root)
    engine = BatchEngine(
        catalogue=catalogue,
        plans=validate_catalogue(catalogue),
        ledger=ledger,
        config=ClientConfig(api_key=api_key, base_url=base_url),
        copier=make_copier(root, CopySettings()),
        settings=BatchSettings(max_concurrent=3, submit_rps=5.0, poll_interval=0.2, run_id="run-1"),
    )
    asyncio.run(engine.run(ledger.load()))


if __name__ == "__main__":
    main(*sys.argv[1:5])
