"""Lineage: which images went into an edit, which remote task made it, which objects came out.

Two audiences read it, through one description (:class:`LineageRef`, an OpenLineage namespace and name):

- Airflow's hook lineage (:func:`record_hook_lineage`), through the common-compat shim so it works on every
  supported Airflow; the OpenLineage provider falls back to it for tasks that describe no lineage
  themselves (a ``@task`` calling :meth:`WanxiangHook.submit_and_wait`, a batch operator).
- OpenLineage (:func:`operator_lineage`), returned by the operators' ``get_openlineage_facets_on_*``.
  The OpenLineage provider is optional: it is imported only inside that function, which the provider's
  own listener calls, so the package never needs it.

What is never a dataset, on purpose: ``data:`` URIs and inline bytes (no name; the content would leak into
events), query strings and fragments of URLs (signed URLs carry their signature there), user info
(``user:password@`` or an object-storage connection id) and result URLs (signed capabilities, never seen
here at all: the copy operator reports where it *wrote*). The API key is never passed to this module.

The batch operator reuses it: :func:`output_ref` for each written object, :func:`task_ref` per remote task
(the destination and :func:`tasks_ref` past a thousand of either), :func:`record_hook_lineage` and
:func:`operator_lineage` for the two audiences.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import ObjectStoragePath

if TYPE_CHECKING:
    # Re-exported for the operators' annotations: this module is the only one that names the provider.
    from airflow.providers.openlineage.extractors import OperatorLineage as OperatorLineage

__all__ = [
    "TASK_SCHEME",
    "LineageRef",
    "convert_asset_to_openlineage",
    "input_ref",
    "input_refs",
    "operator_lineage",
    "output_ref",
    "record_hook_lineage",
    "task_ref",
    "tasks_ref",
]

log = logging.getLogger(__name__)

#: URI scheme of a remote Wanxiang task as an asset (registered in the provider info for OpenLineage).
TASK_SCHEME = "wanxiang"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
#: Object stores whose OpenLineage namespace is ``scheme://bucket`` and name the key (the naming spec).
_BUCKET_SCHEMES = frozenset({"s3", "s3a", "gs", "gcs", "oss", "abfs", "abfss", "wasb", "wasbs", "hdfs"})


@dataclass(frozen=True)
class LineageRef:
    """One dataset as OpenLineage names it, and the Airflow asset URI that says the same."""

    namespace: str
    name: str

    @property
    def uri(self) -> str:
        """The asset URI for hook lineage (``file`` datasets keep their absolute path)."""
        if self.namespace == "file":
            return f"file://{self.name}"
        return f"{self.namespace}/{self.name.lstrip('/')}"


def _from_url(url: str) -> LineageRef | None:
    """A URL without user info, query and fragment as a dataset; ``None`` when it names nothing."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    if scheme == "file":
        return LineageRef("file", parts.path) if parts.path else None
    if not host:
        return None
    if scheme in _BUCKET_SCHEMES:
        key = parts.path.lstrip("/")
        return LineageRef(f"{'gs' if scheme == 'gcs' else scheme}://{host}", key) if key else None
    return LineageRef(f"{scheme}://{host}", parts.path or "/")


def input_ref(image: Any) -> LineageRef | None:
    """The dataset of one ``images`` entry as the DAG gave it, or ``None`` when it has no name.

    http(s) URLs, ``scheme://[conn_id@]bucket/key`` strings, ``ObjectStoragePath`` objects and local paths
    (``file://`` or plain) are datasets; ``data:`` URIs, bytes and anything unreadable are not.
    """
    if isinstance(image, ObjectStoragePath):
        return _from_url(str(image))
    if isinstance(image, Path):
        return LineageRef("file", str(image.absolute()))
    if not isinstance(image, str):
        return None
    text = image.strip()
    match = _SCHEME.match(text)
    if match is None:
        return LineageRef("file", str(Path(text).absolute())) if text else None
    if match.group(1).lower() == "data" or "://" not in text:
        return None
    return _from_url(text)


def input_refs(images: Any) -> list[LineageRef]:
    """:func:`input_ref` of each image (one or a sequence, as the operator's ``images``), deduplicated."""
    if isinstance(images, (str, bytes, Path, ObjectStoragePath)) or not isinstance(images, Sequence):
        images = [images]
    return _unique(ref for image in images if (ref := input_ref(image)) is not None)


def output_ref(uri: str) -> LineageRef | None:
    """The dataset of an object written by the provider (a URI the copy or batch operator returns)."""
    return _from_url(uri) if "://" in uri else LineageRef("file", uri)


def task_ref(base_url: str, wanxiang_task_id: str) -> LineageRef:
    """The remote task as a dataset: ``wanxiang://<API host>`` / ``tasks/<id>``.

    The host tells the region or workspace apart (and an emulator or gateway from the real service); the
    path and any user info of a host override are left out.
    """
    return LineageRef(_task_namespace(base_url), f"tasks/{wanxiang_task_id}")


def tasks_ref(base_url: str) -> LineageRef:
    """Every remote task of the API at ``base_url`` as one dataset (a batch too large to name each)."""
    return LineageRef(_task_namespace(base_url), "tasks")


def _task_namespace(base_url: str) -> str:
    parts = urlsplit(base_url)
    host = parts.hostname or "unknown"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"{TASK_SCHEME}://{host}"


def _unique(refs: Iterable[LineageRef]) -> list[LineageRef]:
    return list(dict.fromkeys(refs))


# -- Airflow hook lineage ----------------------------------------------------------------------------------
def record_hook_lineage(
    context: Any,
    *,
    inputs: Iterable[LineageRef] = (),
    outputs: Iterable[LineageRef] = (),
) -> None:
    """Report datasets to Airflow's hook lineage collector (a no-op unless a lineage reader is installed).

    Never raises: it runs right after a paid submission or a copy, and lineage is worth less than the task.
    A dataset the collector refuses (an asset URI a provider's normaliser rejects) is logged and skipped.

    :param context: what produced them, normally the :class:`WanxiangHook` (Airflow's ``LineageContext``).
    """
    try:
        from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector

        collector = get_hook_lineage_collector()  # type: ignore[no-untyped-call,unused-ignore]
    except Exception:
        log.warning("Airflow's hook lineage collector is unavailable; lineage not reported", exc_info=True)
        return
    for add, refs in ((collector.add_input_asset, inputs), (collector.add_output_asset, outputs)):
        for ref in refs:
            try:
                add(context=context, uri=ref.uri)
            except Exception:
                log.warning("Hook lineage refused %s; skipped", ref.uri, exc_info=True)


# -- OpenLineage --------------------------------------------------------------------------------------------
def operator_lineage(
    *, inputs: Iterable[LineageRef] = (), outputs: Iterable[LineageRef] = ()
) -> OperatorLineage[Any, Any]:
    """An ``OperatorLineage`` for ``get_openlineage_facets_on_*``; imports the OpenLineage provider, which
    only its own listener calls these methods from, so the import cannot fail there."""
    from airflow.providers.common.compat.openlineage.facet import Dataset
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(
        inputs=[Dataset(namespace=ref.namespace, name=ref.name) for ref in _unique(inputs)],
        outputs=[Dataset(namespace=ref.namespace, name=ref.name) for ref in _unique(outputs)],
    )


def convert_asset_to_openlineage(asset: Any, lineage_context: Any) -> Any:
    """OpenLineage's converter for ``wanxiang://`` assets (registered as ``asset-uris`` in the provider info),
    so a remote task reported through hook lineage reaches OpenLineage events too."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    parts = urlsplit(asset.uri)
    return Dataset(namespace=f"{parts.scheme}://{parts.netloc}", name=parts.path.lstrip("/"))
