"""The ``wanxiang`` connection turned into a wire client, for workers (sync) and triggers (async).

The hook owns exactly one concern: reading the Airflow connection (API key, region, workspace, optional base
URL override) and building a :class:`~airflow_provider_wanxiang.client.ClientConfig` from it. Everything
about the wire protocol lives in :mod:`airflow_provider_wanxiang.client`, which has no Airflow imports.
The TaskFlow helpers (``submit_and_wait``, ``copy_results``, ``edit_and_copy``) are entry points only: they
delegate to :mod:`airflow_provider_wanxiang.taskflow`, which runs the operators' own pieces.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.sdk import BaseHook

from airflow_provider_wanxiang.client import (
    DEFAULT_REGION,
    AsyncWanxiangClient,
    AuthenticationError,
    ClientConfig,
    NotFoundError,
    PermissionDeniedError,
    RetryPolicy,
    TransportError,
    UnsupportedOperationError,
    WanxiangClient,
    WanxiangError,
    WanxiangValidationError,
    console_task_url,
    resolve_base_url,
)
from airflow_provider_wanxiang.client.config import DEFAULT_QUERY_BUDGET
from airflow_provider_wanxiang.compat import connection_form_3_1, connection_form_widgets_3_1
from airflow_provider_wanxiang.exceptions import (
    WanxiangConnectionError as WanxiangConnectionError,  # re-exported
)
from airflow_provider_wanxiang.get_provider_info import CONNECTION_TYPE

if TYPE_CHECKING:
    from airflow.sdk import Connection


def client_config_from_connection(
    conn: Connection,
    extra: dict[str, Any],
    *,
    timeout: float,
    retry: RetryPolicy,
) -> ClientConfig:
    """Build a client configuration from a connection and its already-parsed ``extra``.

    Pure on purpose: the sync and async paths read the connection differently (the async path must not
    block the triggerer's event loop), then share this function so they cannot disagree.

    :raises WanxiangConnectionError: when the API key is missing or region/workspace/host are invalid.
    """
    api_key = (conn.password or "").strip()
    if not api_key:
        raise WanxiangConnectionError(
            f"Connection {conn.conn_id!r}: the API key (password field) is empty; "
            "set it to a Model Studio API key (sk-...)."
        )
    region = extra.get("region") or DEFAULT_REGION
    workspace_id = extra.get("workspace_id") or None
    host = _host_with_port(conn.host, conn.port)
    proxy = extra.get("proxy") or None
    if proxy is not None and not isinstance(proxy, str):
        raise WanxiangConnectionError(
            f"Connection {conn.conn_id!r}: extra.proxy must be a proxy URL string such as "
            f"'http://user:password@proxy.example.com:3128', got a {type(proxy).__name__}"
        )
    try:
        base_url = resolve_base_url(region=region, workspace_id=workspace_id, host=host)
        return ClientConfig(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            retry=retry,
            workspace_id=workspace_id,
            proxy=proxy,
            query_budget=_query_budget(extra.get("query_budget")),
        )
    except WanxiangValidationError as err:
        # The proxy's credentials are not in the message: the validation error shows it redacted.
        raise WanxiangConnectionError(f"Connection {conn.conn_id!r}: {err}") from None


def _query_budget(value: Any) -> Any:
    """``extra.query_budget`` as a number (the UI stores a string); ``ClientConfig`` checks its range."""
    if value is None or value == "":
        return DEFAULT_QUERY_BUDGET
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise WanxiangValidationError(
                "query_budget",
                value,
                "queries per second > 0",
                f"{value!r} is not a number of queries per second",
            ) from None
    return value


def _host_with_port(host: str | None, port: int | None) -> str | None:
    """Fold a separately given port into the host override (URI-style connections split them)."""
    if not host:
        return None
    host = host.strip()
    if port and urlsplit(host if "://" in host else f"//{host}").port is None:
        if "://" in host:
            scheme, _, rest = host.partition("://")
            netloc, sep, path = rest.partition("/")
            return f"{scheme}://{netloc}:{port}{sep}{path}"
        netloc, sep, path = host.partition("/")
        return f"{netloc}:{port}{sep}{path}"
    return host


class WanxiangHook(BaseHook):
    """Interact with Alibaba Cloud Model Studio Wanxiang (wan2.5 image editing).

    :param wanxiang_conn_id: The ``wanxiang`` connection: API key in ``password``, ``extra.region``
        (``ap-southeast-1`` or ``cn-beijing``), optional ``extra.workspace_id``, an optional ``host``
        that overrides the base URL (an emulator, a gateway or a reverse proxy) and an optional
        ``extra.proxy``, a forward proxy for every request made with this connection (API calls, uploads,
        the trigger's polls and result downloads), overriding ``HTTP(S)_PROXY``; an optional
        ``extra.query_budget``, the status queries/s all waits of this connection in one triggerer may
        make together (default 10).
    :param timeout: Connect/read timeout in seconds for each HTTP request.
    :param retry_policy: Backoff and retry budget for transient errors; defaults to the client's policy.
    """

    conn_name_attr = "wanxiang_conn_id"
    default_conn_name = "wanxiang_default"
    conn_type = CONNECTION_TYPE
    hook_name = "Alibaba Cloud Model Studio Wanxiang"

    def __init__(
        self,
        wanxiang_conn_id: str = default_conn_name,
        *,
        timeout: float = 30.0,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__()
        self.wanxiang_conn_id = wanxiang_conn_id
        self.timeout = timeout
        self.retry_policy = retry_policy or RetryPolicy()

    # -- sync (workers) -------------------------------------------------------------------------------
    @cached_property
    def connection(self) -> Connection:
        """The connection, read synchronously; never touch this from the triggerer's event loop."""
        return self.get_connection(self.wanxiang_conn_id)

    @cached_property
    def client_config(self) -> ClientConfig:
        conn = self.connection
        return client_config_from_connection(
            conn, conn.extra_dejson, timeout=self.timeout, retry=self.retry_policy
        )

    def get_conn(self) -> WanxiangClient:
        """Return the (cached) synchronous client for this connection."""
        return self._client

    @cached_property
    def _client(self) -> WanxiangClient:
        return WanxiangClient(self.client_config)

    def console_url(self, wanxiang_task_id: str) -> str:
        """Best-effort link to the task in the Model Studio console of the connection's region."""
        region = self.connection.extra_dejson.get("region") or DEFAULT_REGION
        return console_task_url(region, wanxiang_task_id)

    def cancel_quietly(self, wanxiang_task_id: str) -> bool:
        """Cancel a PENDING task; return whether it was canceled. Never raises: callers are cleaning up.

        A started task cannot be canceled (the server answers ``UnsupportedOperation``) and still bills.
        """
        try:
            self.get_conn().cancel_task(wanxiang_task_id)
        except UnsupportedOperationError:
            self.log.info("Wanxiang task %s has already started; it cannot be canceled", wanxiang_task_id)
            return False
        except (WanxiangError, WanxiangConnectionError) as err:
            self.log.warning("Could not cancel Wanxiang task %s: %s", wanxiang_task_id, err)
            return False
        self.log.info("Canceled pending Wanxiang task %s", wanxiang_task_id)
        return True

    # -- TaskFlow helpers (airflow_provider_wanxiang.taskflow; imported lazily: it imports the waiting
    # machinery, which imports this module) ------------------------------------------------------------
    def submit_and_wait(self, prompt: str, images: Any, **kwargs: Any) -> dict[str, Any]:
        """Submit one edit and wait for it in this task, with the operators' polling schedule, error budget,
        deadline and typed errors; return the URL-free summary. For ``@task`` code; see
        :func:`airflow_provider_wanxiang.taskflow.submit_and_wait` for the keywords."""
        from airflow_provider_wanxiang.taskflow import submit_and_wait

        return submit_and_wait(self, prompt, images, **kwargs)

    def copy_results(self, wanxiang_task_id: str, destination: Any, **kwargs: Any) -> list[str]:
        """Copy a finished task's images to object storage; return the URIs in place
        (:func:`airflow_provider_wanxiang.taskflow.copy_results`)."""
        from airflow_provider_wanxiang.taskflow import copy_results

        return copy_results(self, wanxiang_task_id, destination, **kwargs)

    def edit_and_copy(self, prompt: str, images: Any, destination: Any, **kwargs: Any) -> list[str]:
        """:meth:`submit_and_wait` then :meth:`copy_results`
        (:func:`airflow_provider_wanxiang.taskflow.edit_and_copy`)."""
        from airflow_provider_wanxiang.taskflow import edit_and_copy

        return edit_and_copy(self, prompt, images, destination, **kwargs)

    # -- async (triggers) -----------------------------------------------------------------------------
    async def aget_client_config(self) -> ClientConfig:
        """Resolve the connection without blocking the event loop (safe inside a trigger's ``run``)."""
        conn = await get_async_connection(self.wanxiang_conn_id, hook=self)
        extra = await get_async_extra_dejson(conn)
        return client_config_from_connection(conn, extra, timeout=self.timeout, retry=self.retry_policy)

    async def aget_conn(self) -> AsyncWanxiangClient:
        """Return a new async client; use it as ``async with`` so its one HTTP session is closed."""
        return AsyncWanxiangClient(await self.aget_client_config())

    # -- connection test and UI -----------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        """Make one cheap authenticated call (list one task) and explain what went wrong, if anything."""
        try:
            config = self.client_config
        except WanxiangConnectionError as err:
            return False, str(err)
        try:
            self.get_conn().list_tasks(page_size=1)
        except AuthenticationError as err:
            return False, (
                f"The API key was rejected by {config.base_url} ({err.code}). API keys are region-specific: "
                "check the key and that the connection's region matches it. "
                f"[request_id={err.request_id}]"
            )
        except (PermissionDeniedError, NotFoundError) as err:
            return False, f"Access denied by {config.base_url}: {err}. Check the workspace id and region."
        except TransportError as err:
            return False, f"Could not reach {config.base_url}: {err}. Check the host, region and network."
        except WanxiangError as err:
            return False, f"Unexpected answer from {config.base_url}: {err}"
        return True, f"Connected to {config.base_url}; the API key is valid."

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Form layout for Airflow 3.1 (:func:`airflow_provider_wanxiang.compat.connection_form_3_1`); 3.2+
        reads ``ui-field-behaviour`` and ``conn-fields`` from the provider info instead."""
        return connection_form_3_1()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The region dropdown and workspace field for Airflow 3.1
        (:func:`airflow_provider_wanxiang.compat.connection_form_widgets_3_1`); 3.2+ reads ``conn-fields``
        from the provider info and never calls this."""
        return connection_form_widgets_3_1()
