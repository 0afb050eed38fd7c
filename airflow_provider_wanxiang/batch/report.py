"""The per-item report (``{destination}/_wanxiang/report.jsonl``) and the run's summary for XCom.

Why a file and not XCom: a catalogue has thousands of items; XCom gets the counts (and the first failed
keys), the file gets one line per item — key, status, remote task id, stored URIs, billed images, and the
code and message of a failure — written atomically and streamed (memory stays flat). No result URL is ever
written: they are capabilities.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from airflow_provider_wanxiang.batch.items import ItemPlan
from airflow_provider_wanxiang.batch.ledger import LEDGER_DIR, ItemStatus, Ledger
from airflow_provider_wanxiang.batch.outputs import output_location
from airflow_provider_wanxiang.copying.destination import Location
from airflow_provider_wanxiang.copying.sinks import write_atomically

__all__ = ["REPORT_NAME", "report_lines", "run_results", "summarize", "write_report"]

REPORT_NAME = "report.jsonl"
#: Failed keys listed in the XCom summary (all of them are in the report file).
MAX_FAILED_KEYS = 100


def _status(plan: ItemPlan, ledger: Ledger, run_id: str) -> str:
    entry = ledger.entries.get(plan.key)
    if entry is None or entry.fingerprint != plan.fingerprint:
        return "not_submitted"
    if entry.status is ItemStatus.SUCCEEDED:
        return "succeeded" if entry.run == run_id else "skipped"
    if entry.status is ItemStatus.FAILED or (entry.status is ItemStatus.INTENT and entry.code is not None):
        return "failed"  # an intent with a code: an unconfirmed create, left for the next try
    return "not_submitted" if entry.status in (ItemStatus.INTENT, ItemStatus.RELEASED) else "in_flight"


def report_lines(root: Location, plans: list[ItemPlan], ledger: Ledger, run_id: str) -> Iterator[bytes]:
    """One JSON line per item, in catalogue order."""
    for plan in plans:
        entry = ledger.entries.get(plan.key)
        line: dict[str, Any] = {"key": plan.key, "status": _status(plan, ledger, run_id)}
        if entry is not None and entry.fingerprint == plan.fingerprint:
            line["wanxiang_task_id"] = entry.task_id
            line["outputs"] = [output_location(root, plan.key, i).uri for i, _ in entry.outputs]
            line["images"] = entry.images if entry.run == run_id else 0
            if entry.code is not None:
                line["code"] = entry.code
                line["message"] = entry.message
        line["fingerprint"] = plan.fingerprint
        yield (json.dumps(line, ensure_ascii=False) + "\n").encode()


def write_report(root: Location, plans: list[ItemPlan], ledger: Ledger, run_id: str) -> str:
    """Write the report atomically (streamed); return its URI."""
    target = root.child(LEDGER_DIR).child(REPORT_NAME)
    write_atomically(
        target.fs,
        target.path,
        report_lines(root, plans, ledger, run_id),
        lambda: None,
        content_type="application/x-ndjson",
    )
    return target.uri


def summarize(plans: list[ItemPlan], ledger: Ledger, run_id: str) -> dict[str, Any]:
    """The XCom summary: ``total``, ``succeeded``, ``failed``, ``skipped``, ``images`` (billed in this run)
    and ``failed_items`` (key → code, the first :data:`MAX_FAILED_KEYS`)."""
    summary: dict[str, Any] = {"total": len(plans), "succeeded": 0, "failed": 0, "skipped": 0, "images": 0}
    failed: dict[str, str] = {}
    for plan in plans:
        entry = ledger.entries.get(plan.key)
        if entry is not None and entry.run == run_id:
            summary["images"] += entry.images
        status = _status(plan, ledger, run_id)
        if status in ("succeeded", "skipped"):
            summary[status] += 1
        elif status != "in_flight":
            summary["failed"] += 1
            if len(failed) < MAX_FAILED_KEYS:
                failed[plan.key] = (entry.code if entry is not None else None) or "NotSubmitted"
    summary["failed_items"] = failed
    return summary


def run_results(
    root: Location, plans: list[ItemPlan], ledger: Ledger, run_id: str
) -> tuple[list[str], list[str]]:
    """What this run made, for lineage: ``(remote task ids, URIs of the images it stored)``.

    Items skipped as already done are left out (this run wrote nothing for them).
    """
    task_ids: list[str] = []
    written: list[str] = []
    for plan in plans:
        entry = ledger.entries.get(plan.key)
        if entry is None or entry.run != run_id or entry.fingerprint != plan.fingerprint:
            continue
        if entry.task_id is not None:
            task_ids.append(entry.task_id)
        if entry.status is ItemStatus.SUCCEEDED:
            written.extend(output_location(root, plan.key, index).uri for index, _ in entry.outputs)
    return task_ids, written
