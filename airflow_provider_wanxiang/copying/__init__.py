"""Copying result images into object storage, one concern per module, free of Airflow's task machinery.

- :mod:`.png` — PNG checks on a stream (signature, IHDR, IEND, length, MD5);
- :mod:`.sinks` — atomic writes per kind of filesystem (rename, single upload, temp object);
- :mod:`.policy` — what is at the destination, and keep / replace / refuse (:class:`OverwritePolicy`);
- :mod:`.http` — reading a signed result URL without leaking it (statuses, headers, body, logs);
- :mod:`.download` — one image: :func:`copy_png` (retries from the client's ``RetryPolicy``, a total
  deadline, the connection's proxy);
- :mod:`.destination` — ``destination`` and ``file_name`` parsed and checked before any download;
- :mod:`.report` — the typed per-image report and the XCom JSON users read;
- :mod:`.task` — every image of one task: :func:`copy_task`, what operators call;
- :mod:`.errors` — the per-image errors (part of the client's error tree).

``WanxiangCopyResultsOperator`` (:mod:`airflow_provider_wanxiang.operators.copy_results`) is plan → copy →
report → raise over these pieces; what its failures mean for Airflow is decided in
:mod:`airflow_provider_wanxiang.exceptions`.
"""

from __future__ import annotations

from airflow_provider_wanxiang.copying.destination import (
    DEFAULT_FILE_NAME,
    FILE_NAME_FIELDS,
    Location,
    Target,
    destination_root,
    file_name_for,
    plan,
)
from airflow_provider_wanxiang.copying.download import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_DOWNLOAD_DEADLINE,
    DEFAULT_DOWNLOAD_RETRY,
    CopyAction,
    CopyResult,
    copy_png,
)
from airflow_provider_wanxiang.copying.errors import (
    CopyError,
    DestinationError,
    DestinationExistsError,
    DownloadError,
    IntegrityError,
    ResultExpiredError,
    ResultNotFoundError,
)
from airflow_provider_wanxiang.copying.http import result_host
from airflow_provider_wanxiang.copying.png import PNG_SIGNATURE, PngInfo, StreamCheck, parse_png_header
from airflow_provider_wanxiang.copying.policy import (
    ExistingObject,
    OverwritePolicy,
    keeps_existing,
    probe_existing,
)
from airflow_provider_wanxiang.copying.report import CopyReport, ImageOutcome, ImageReport
from airflow_provider_wanxiang.copying.sinks import (
    DEFAULT_BLOCK_SIZE,
    OBJECT_STORE_PROTOCOLS,
    Sink,
    open_sink,
    read_small,
    write_atomically,
    write_bytes_atomic,
)
from airflow_provider_wanxiang.copying.task import CopySettings, copy_targets, copy_task, sidecar_document

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_DOWNLOAD_DEADLINE",
    "DEFAULT_DOWNLOAD_RETRY",
    "DEFAULT_FILE_NAME",
    "FILE_NAME_FIELDS",
    "OBJECT_STORE_PROTOCOLS",
    "PNG_SIGNATURE",
    "CopyAction",
    "CopyError",
    "CopyReport",
    "CopyResult",
    "CopySettings",
    "DestinationError",
    "DestinationExistsError",
    "DownloadError",
    "ExistingObject",
    "ImageOutcome",
    "ImageReport",
    "IntegrityError",
    "Location",
    "OverwritePolicy",
    "PngInfo",
    "ResultExpiredError",
    "ResultNotFoundError",
    "Sink",
    "StreamCheck",
    "Target",
    "copy_png",
    "copy_targets",
    "copy_task",
    "destination_root",
    "file_name_for",
    "keeps_existing",
    "open_sink",
    "parse_png_header",
    "plan",
    "probe_existing",
    "read_small",
    "result_host",
    "sidecar_document",
    "write_atomically",
    "write_bytes_atomic",
]
