"""The validated plan of one DAG run, kept in ``{destination}/_wanxiang/plan.json`` between waves.

Why: the deferrable operator runs one short wave per finished task; validating 10,000 items (reading their
images) at every wave would cost far more than the edits. The first wave of a DAG run validates every item
and stores key, fingerprint and image count of each, with the run id, a digest of the items and the batch's
absolute deadline; later waves and retries of the same run read it back in one request. A new DAG run (or
changed items) validates afresh, so an incremental run sees every changed input.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from airflow_provider_wanxiang.batch.items import Catalogue, ItemPlan, validate_catalogue
from airflow_provider_wanxiang.batch.ledger import LEDGER_DIR
from airflow_provider_wanxiang.copying.destination import Location
from airflow_provider_wanxiang.copying.sinks import read_small, write_bytes_atomic

__all__ = ["RunPlan", "catalogue_digest", "load_or_validate"]

#: The largest plan read back (a 10,000-item plan is about 1 MB).
_MAX_PLAN_BYTES = 256 << 20


@dataclass
class RunPlan:
    run_id: str
    digest: str
    deadline: float
    items: list[ItemPlan]


def catalogue_digest(catalogue: Catalogue) -> str:
    """A digest of the items as given: the list itself, or the file's identity (path, size, ETag/mtime)."""
    if not catalogue.is_file:
        text = json.dumps(catalogue.source, sort_keys=True, default=str)
    else:
        from airflow_provider_wanxiang.copying.destination import destination_root

        location = destination_root(catalogue.source, None)
        location.fs.invalidate_cache(location.path)
        info = location.fs.info(location.path)
        fields = ("size", "ETag", "etag", "mtime", "LastModified", "created")
        text = json.dumps([location.uri, *[str(info.get(name)) for name in fields]])
    return hashlib.sha256(text.encode()).hexdigest()


def _location(root: Location) -> Location:
    return root.child(LEDGER_DIR).child("plan.json")


def load_or_validate(catalogue: Catalogue, root: Location, run_id: str, deadline: float) -> RunPlan:
    """This run's plan from the destination when it matches, else validate every item and store the plan.

    :raises BatchValidationError: (from validation) listing every invalid item; nothing is stored then.
    """
    digest = catalogue_digest(catalogue)
    target = _location(root)
    stored = read_small(target.fs, target.path, _MAX_PLAN_BYTES)
    if stored is not None:
        document: dict[str, Any] = json.loads(stored)
        if document.get("run") == run_id and document.get("digest") == digest:
            items = [ItemPlan(key, fingerprint, n) for key, fingerprint, n in document["items"]]
            return RunPlan(run_id, digest, float(document["deadline"]), items)
    plans = validate_catalogue(catalogue)
    document = {
        "run": run_id,
        "digest": digest,
        "deadline": deadline,
        "items": [[p.key, p.fingerprint, p.n] for p in plans],
    }
    body = json.dumps(document, separators=(",", ":")).encode()
    write_bytes_atomic(target.fs, target.path, body, content_type="application/json")
    return RunPlan(run_id, digest, deadline, plans)
