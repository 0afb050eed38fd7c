"""Copy the result images of a finished wan2.5 task into object storage (S3, GCS, Azure, local disk, ...).

Result URLs are signed, expire 24 h after the task ended, and are capabilities: they never travel through
XCom. So this operator takes only the remote task id, re-reads the task, and copies every image that
succeeded. It is plan → copy → report → raise over the pieces of :mod:`airflow_provider_wanxiang.copying`;
what a failure means for the Airflow task is decided in :mod:`airflow_provider_wanxiang.exceptions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import Asset, BaseOperator, ObjectStoragePath

from airflow_provider_wanxiang.coercion import (
    to_bool,
    to_int,
    to_optional_str,
    to_seconds,
    to_task_id,
    unless_template,
)
from airflow_provider_wanxiang.copying import (
    DEFAULT_DOWNLOAD_DEADLINE,
    DEFAULT_DOWNLOAD_RETRY,
    DEFAULT_FILE_NAME,
    CopySettings,
    OverwritePolicy,
    copy_task,
    destination_root,
)
from airflow_provider_wanxiang.exceptions import raise_for_copy_report, raise_for_uncopyable
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook
from airflow_provider_wanxiang.lineage import (
    LineageRef,
    operator_lineage,
    output_ref,
    record_hook_lineage,
    task_ref,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_wanxiang.lineage import OperatorLineage

__all__ = ["DEFAULT_FILE_NAME", "REPORT_XCOM_KEY", "WanxiangCopyResultsOperator"]

#: XCom key of the URL-free per-image report (pushed on success and on failure).
REPORT_XCOM_KEY = "wanxiang_copy_report"


class WanxiangCopyResultsOperator(BaseOperator):
    """Copy every successful result image of a finished wan2.5 task to ``destination``; return their URIs.

    The task is re-read by id, because result URLs are signed capabilities that expire after 24 h and must
    not travel through XCom. Each image is streamed (memory stays bounded), verified (PNG signature,
    header and end chunk, byte count and MD5 when the server announces them) and written so that no reader
    ever sees half an object; see :mod:`airflow_provider_wanxiang.copying`.

    Re-running is safe and cheap: an existing complete PNG of the right size is kept, so a retry after a
    partial failure writes only what is missing, and the return value lists every image in place (written
    now or before). Images that failed remotely are logged and reported; ``fail_on_image_failure`` decides
    whether they fail the task, always after everything else was copied.

    The per-image report goes to XCom ``wanxiang_copy_report`` (also when the task fails): index, outcome
    (``written``/``replaced``/``kept``/``failed_remote``/``copy_error``, see
    :class:`~airflow_provider_wanxiang.copying.report.ImageOutcome`), URI, bytes, width and height, and
    ``code``/``message`` for failures. Neither the report nor sidecars contain result URLs.
    Bad ``destination``, ``file_name`` or ``overwrite`` values raise ``WanxiangValidationError`` (a
    ``ValueError``) naming the field, the value and what is allowed, before any download.

    Lineage (:mod:`airflow_provider_wanxiang.lineage`): the remote task is the input and every image in
    place at the destination an output (never a result URL), reported to Airflow's hook lineage and, when
    the OpenLineage provider is installed, as this task's OpenLineage inputs and outputs.

    To publish the copies as an Airflow Asset, declare it in ``outlets`` (e.g.
    ``outlets=[Asset("s3://bucket/edits/")]``): on success the asset event's ``extra`` carries the task id
    and the written URIs, for asset-scheduled DAGs downstream.

    :param wanxiang_task_id: The remote task id (templated; typically the submit operator's return value).
    :param destination: Where to write: an ``ObjectStoragePath`` or a URL such as
        ``s3://[conn_id@]bucket/prefix/``, ``file:///abs/dir/`` or an absolute path (templated). Alibaba OSS
        is reached through its S3-compatible endpoint: ``s3://`` with an ``aws`` connection whose
        ``extra.endpoint_url`` is ``https://s3.oss-<region>.aliyuncs.com`` (see docs/storage.md).
    :param dest_conn_id: The connection for ``destination`` when it does not name one (templated).
    :param wanxiang_conn_id: The ``wanxiang`` connection (templated).
    :param file_name: Relative object name per image, a ``str.format`` pattern with fields
        ``{wanxiang_task_id}``, ``{index}`` (0-based position in the task's results), ``{number}``
        (``index + 1``) and ``{total}`` (images requested); also Jinja-templated, so ``{{ ds }}`` etc. work.
        It must give each image its own name.
    :param overwrite: When the object exists: ``False`` (default) keeps an existing complete PNG of the
        same size and fails the image if a different object is there; ``"if_different"`` replaces a
        different object; ``True`` always replaces. Replacement is atomic too.
    :param fail_on_image_failure: Fail the Airflow task (after copying the others, without retries) when
        some images failed remotely (e.g. output moderation). By default a partial result succeeds, as it
        does for the sensor and the API itself; the failures are logged and reported either way.
    :param write_sidecar: Also write ``<name>.json`` beside each image: task id, index, prompt,
        actual prompt, width, height, bytes, submit/end times, plus ``sidecar_metadata``.
    :param sidecar_metadata: Extra JSON-able fields for every sidecar (templated), e.g.
        ``{"model": "wan2.5-i2i-preview", "seed": 42}``: the task API does not report model or seed.
        ``model`` and ``seed`` are always present (``null`` when unknown).
    :param download_timeout: Seconds to wait for the result server to answer or send the next chunk.
    :param download_deadline: Seconds one image may take in all (every attempt, connect to last byte):
        a stalled or trickling result server fails that image with a ``DownloadError`` instead of holding
        the worker. Generous by default (600 s); a result PNG is a few MB.
    :param download_attempts: Tries per image for transient download failures (network, 429/5xx, a body
        cut short); destination failures are left to the Airflow task's own retries.

    ``overwrite``, ``fail_on_image_failure`` and ``write_sidecar`` are templated; like every rendered value
    they are typed by :mod:`airflow_provider_wanxiang.coercion` (``"false"``/``"no"``/``"0"`` are
    ``False``; ``dest_conn_id`` rendered to ``"None"`` means "not set"), and a value that cannot be typed
    fails the task before the task is read.
    """

    template_fields: Sequence[str] = (
        "wanxiang_task_id",
        "destination",
        "dest_conn_id",
        "file_name",
        "wanxiang_conn_id",
        "sidecar_metadata",
        "overwrite",
        "fail_on_image_failure",
        "write_sidecar",
    )
    template_fields_renderers = {"sidecar_metadata": "json"}
    ui_color = "#c9e7ff"

    def __init__(
        self,
        *,
        wanxiang_task_id: str,
        destination: str | ObjectStoragePath,
        dest_conn_id: str | None = None,
        wanxiang_conn_id: str = WanxiangHook.default_conn_name,
        file_name: str = DEFAULT_FILE_NAME,
        overwrite: bool | str = False,
        fail_on_image_failure: bool = False,
        write_sidecar: bool = False,
        sidecar_metadata: dict[str, Any] | None = None,
        download_timeout: float = 60.0,
        download_attempts: int = 3,
        download_deadline: float = DEFAULT_DOWNLOAD_DEADLINE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wanxiang_task_id = unless_template(wanxiang_task_id, to_task_id)
        self.destination = destination
        self.dest_conn_id = dest_conn_id
        self.wanxiang_conn_id = wanxiang_conn_id
        self.file_name = file_name
        # Literal values fail at DAG parse time; templated ones are typed again in execute.
        unless_template(overwrite, OverwritePolicy.coerce)  # kept as given: an enum would render as text
        self.overwrite = overwrite
        self.fail_on_image_failure = unless_template(fail_on_image_failure, to_bool, "fail_on_image_failure")
        self.write_sidecar = unless_template(write_sidecar, to_bool, "write_sidecar")
        self.sidecar_metadata = sidecar_metadata
        self.download_timeout = to_seconds("download_timeout", download_timeout)
        self.download_attempts = to_int("download_attempts", download_attempts, minimum=1)
        self.download_deadline = to_seconds("download_deadline", download_deadline)
        #: What this try read and wrote, for OpenLineage (set in execute, read by the listener after it).
        self._lineage_inputs: list[LineageRef] = []
        self._lineage_outputs: list[LineageRef] = []

    @cached_property
    def hook(self) -> WanxiangHook:
        return WanxiangHook(self.wanxiang_conn_id)

    # -- execute --------------------------------------------------------------------------------------------
    def execute(self, context: Context) -> list[str]:
        self._coerce_rendered()
        root = destination_root(self.destination, self.dest_conn_id)
        task = self.hook.get_conn().get_task(str(self.wanxiang_task_id))
        raise_for_uncopyable(task)
        report = copy_task(
            task, root, file_name=self.file_name, write_sidecar=self.write_sidecar, settings=self._settings()
        )
        context["ti"].xcom_push(key=REPORT_XCOM_KEY, value=report.to_xcom())
        self.log.info(report.summary_line())
        self._record_lineage(task.task_id, report.uris)
        raise_for_copy_report(report, fail_on_image_failure=self.fail_on_image_failure)
        self._annotate_outlets(context, task.task_id, report.uris)
        return report.uris

    # -- steps --------------------------------------------------------------------------------------------
    def _coerce_rendered(self) -> None:
        """Type the rendered values (:mod:`airflow_provider_wanxiang.coercion`) before anything is read."""
        self.wanxiang_task_id = to_task_id(self.wanxiang_task_id)
        self.dest_conn_id = to_optional_str("dest_conn_id", self.dest_conn_id)
        self.overwrite = OverwritePolicy.coerce(self.overwrite)
        self.fail_on_image_failure = to_bool("fail_on_image_failure", self.fail_on_image_failure)
        self.write_sidecar = to_bool("write_sidecar", self.write_sidecar)

    def _settings(self) -> CopySettings:
        return CopySettings(
            overwrite=OverwritePolicy.coerce(self.overwrite),
            timeout=(min(10.0, self.download_timeout), self.download_timeout),
            retry=replace(DEFAULT_DOWNLOAD_RETRY, max_attempts=self.download_attempts),
            deadline=self.download_deadline,
            proxy=self.hook.client_config.proxy,  # the connection's extra.proxy, for the downloads too
            sidecar_metadata=self.sidecar_metadata,
        )

    def _record_lineage(self, task_id: str, uris: list[str]) -> None:
        """Report the task read and the objects in place (also when some images failed: those are real)."""
        self._lineage_inputs = [task_ref(self.hook.client_config.base_url, task_id)]
        self._lineage_outputs = [ref for uri in uris if (ref := output_ref(uri)) is not None]
        record_hook_lineage(self.hook, inputs=self._lineage_inputs, outputs=self._lineage_outputs)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Any, Any]:
        """OpenLineage at the end (also on failure): the remote task in, the objects in place out."""
        return operator_lineage(inputs=self._lineage_inputs, outputs=self._lineage_outputs)

    def _annotate_outlets(self, context: Context, task_id: str, uris: list[str]) -> None:
        """Put the task id and the URIs in the ``extra`` of each outlet Asset's event."""
        outlet_events = context.get("outlet_events")
        if outlet_events is None:
            return
        for outlet in self.outlets or ():
            if isinstance(outlet, Asset):
                extra: dict[str, Any] = {"wanxiang_task_id": task_id, "uris": list(uris)}
                outlet_events[outlet].extra.update(extra)
