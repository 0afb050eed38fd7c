"""The asynchronous client (``aiohttp``), for triggers running in the triggerer's event loop.

Same methods, same requests, same parsing and same retry decisions as the sync client (all of which live
in :mod:`~airflow_provider_wanxiang.client.protocol` and :mod:`~airflow_provider_wanxiang.client.retry`);
only the I/O differs. It never blocks the loop: waits go through the policy's ``async_sleep`` and large
request bodies are encoded in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import aiohttp

import airflow_provider_wanxiang.client.protocol as wire
from airflow_provider_wanxiang.client._logging import log_failure, log_response
from airflow_provider_wanxiang.client._text import shorten
from airflow_provider_wanxiang.client.bodies import ACCEPT_ENCODING, READ_CHUNK_BYTES, BoundedBody
from airflow_provider_wanxiang.client.config import ClientConfig
from airflow_provider_wanxiang.client.errors import DeadlineExceededError, TransportError, WanxiangError
from airflow_provider_wanxiang.client.models import (
    CreatedTask,
    EditRequest,
    ListTasksQuery,
    Task,
    TaskPage,
    UploadPolicy,
)
from airflow_provider_wanxiang.client.protocol import HttpRequest, UploadRequest
from airflow_provider_wanxiang.client.proxies import proxy_for_url, redact_credentials

__all__ = ["AsyncWanxiangClient", "open_session"]

_T = TypeVar("_T")
_R = TypeVar("_R", HttpRequest, UploadRequest)


_Answer = tuple[int, Mapping[str, str], bytes]


def _transport_error(exc: BaseException, request: HttpRequest | UploadRequest) -> TransportError:
    where = request.where
    detail = shorten(redact_credentials(str(exc) or type(exc).__name__), 200)
    # Order matters: the SSL and connect-timeout classes are subclasses of the broader ones below.
    if isinstance(exc, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientConnectorSSLError)):
        return TransportError(f"{where}: TLS error ({detail})", request_sent=False, retryable=False)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return TransportError(f"{where}: could not connect ({detail})", request_sent=False)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return TransportError(f"{where}: connect timeout ({detail})", request_sent=False)
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return TransportError(f"{where}: read timeout ({detail})", request_sent=True)
    if isinstance(exc, aiohttp.InvalidURL):
        return TransportError(f"{where}: invalid URL ({detail})", request_sent=False, retryable=False)
    return TransportError(f"{where}: connection dropped ({type(exc).__name__}: {detail})", request_sent=True)


def open_session(config: ClientConfig, *, connections: int | None = None) -> aiohttp.ClientSession:
    """The ``aiohttp`` session the client sends through: ``config``'s timeouts, no automatic decompression.

    ``connections`` bounds the sockets the session may hold at once (aiohttp's default, 100, when ``None``);
    idle sockets are kept alive for reuse. Call it inside the event loop that will use the session.
    """
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=config.connect_timeout, sock_read=config.read_timeout
    )
    connector = aiohttp.TCPConnector(limit=connections) if connections is not None else None
    return aiohttp.ClientSession(timeout=timeout, auto_decompress=False, connector=connector)


class AsyncWanxiangClient:
    """Non-blocking client for the wan2.5 image-editing task API over one ``aiohttp.ClientSession``.

    The session is created lazily, inside the running event loop, on the first call, and is owned by
    the client: use ``async with AsyncWanxiangClient(config) as client:`` or ``await client.aclose()``.
    A client belongs to the event loop that first used it.

    Many clients may share one session (``session=``, e.g. from :func:`open_session` with a socket bound,
    as :mod:`~airflow_provider_wanxiang.client.shared` does for all waits of a connection); the client then
    does not own it and ``aclose`` leaves it open for the others.

    One difference from ``requests`` that is harmless by construction: after a dropped connection,
    aiohttp itself resends an *idempotent* request (our GETs) once before our retry policy sees an error.
    It never resends a POST, so create and cancel go through the policy alone.

    As in the sync client: each attempt is bounded in total by ``config.attempt_deadline``, answers are
    capped at ``limits.MAX_RESPONSE_BYTES`` decoded bytes (aiohttp's own decompression is off), and the
    proxy comes from :func:`~airflow_provider_wanxiang.client.proxies.proxy_for_url`; the session never
    reads the environment (``trust_env`` stays off, so no ``~/.netrc`` either).
    """

    def __init__(self, config: ClientConfig, *, session: aiohttp.ClientSession | None = None) -> None:
        self._config = config
        self._session: aiohttp.ClientSession | None = session
        self._owns_session = session is None

    @property
    def config(self) -> ClientConfig:
        return self._config

    async def __aenter__(self) -> AsyncWanxiangClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if not self._owns_session:
            return
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._config.base_url!r})"

    def _get_session(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or (self._owns_session and session.closed):
            session = self._session = open_session(self._config)
        return session

    # -- API --------------------------------------------------------------------------------------------

    async def create_task(self, req: EditRequest) -> CreatedTask:
        """Submit an edit (billed per successful image). Retried only if it cannot have been enqueued."""
        return wire.parse_created(await self._call(wire.create_task_request(req)))

    async def get_task(self, task_id: str) -> Task:
        """Read a task; an unknown or expired id comes back as ``TaskStatus.UNKNOWN``, not as an error."""
        return wire.parse_task(await self._call(wire.get_task_request(task_id)), expected_task_id=task_id)

    async def cancel_task(self, task_id: str) -> None:
        """Cancel a PENDING task; a task that started raises ``UnsupportedOperationError``."""
        await self._call(wire.cancel_task_request(task_id))

    async def list_tasks(self, query: ListTasksQuery | None = None, /, **fields: Any) -> TaskPage:
        """List this account's tasks in a window of at most 24 h (default: the last 24 h).

        Pass a :class:`ListTasksQuery` or the keywords of
        :func:`~airflow_provider_wanxiang.client.validation.build_list_query` (``page_size=1``, ...).
        """
        return wire.parse_task_page(await self._call(wire.list_tasks_request(query, **fields)))

    async def get_upload_policy(self, model: str) -> UploadPolicy:
        """Fetch a short-lived credential for uploading files bound to ``model`` (Beijing region only)."""
        return wire.parse_upload_policy(await self._call(wire.upload_policy_request(model)))

    async def upload_file(self, data: bytes, filename: str, model: str) -> str:
        """Upload ``data`` to temporary storage (valid 48 h) and return its ``oss://`` URL for ``model``."""
        upload = wire.upload_file_request(await self.get_upload_policy(model), data, filename)
        await self._with_retries(upload, self._upload_once)
        return upload.oss_url

    # -- transport --------------------------------------------------------------------------------------

    async def _call(self, request: HttpRequest) -> Mapping[str, Any]:
        return await self._with_retries(request, self._send_once)

    async def _with_retries(self, request: _R, send_once: Callable[[_R, int], Awaitable[_T]]) -> _T:
        policy = self._config.retry
        attempt = 1
        while True:
            try:
                return await send_once(request, attempt)
            except WanxiangError as error:
                delay = policy.next_delay(error, request, attempt)
                log_failure(request, error, attempt, delay)
                if delay is None:
                    raise
            await policy.async_sleep(delay)
            attempt += 1

    async def _send_once(self, request: HttpRequest, attempt: int) -> Mapping[str, Any]:
        config = self._config
        headers = wire.send_headers(
            request, api_key=config.api_key, user_agent=config.user_agent, workspace_id=config.workspace_id
        )
        headers["Accept-Encoding"] = ACCEPT_ENCODING
        # A create body may hold three data URIs (tens of MB): encode it off the event loop.
        body = (
            await asyncio.to_thread(wire.encode_json, request)
            if request.kind == "create"
            else wire.encode_json(request)
        )
        url = request.url(config.base_url)

        def send() -> Any:
            proxy = self._proxy_arguments(url)
            return self._get_session().request(
                request.method,
                url,
                params=list(request.params),
                data=body,
                allow_redirects=False,
                **{**proxy, "headers": {**headers, **proxy.get("headers", {})}},
            )

        status, response_headers, content = await self._exchange(request, send)
        decoded = wire.decode_response(request, status, response_headers, content)
        log_response(request, status, decoded, attempt)
        return decoded

    async def _upload_once(self, upload: UploadRequest, attempt: int) -> None:
        config = self._config
        form = aiohttp.FormData()
        for name, value in upload.fields:
            form.add_field(name, value)
        form.add_field("file", upload.content, filename=upload.filename, content_type=upload.content_type)

        def send() -> Any:
            proxy = self._proxy_arguments(upload.url)
            headers = {"User-Agent": config.user_agent, "Accept-Encoding": ACCEPT_ENCODING}
            return self._get_session().post(
                upload.url,
                data=form,
                allow_redirects=False,
                **{**proxy, "headers": {**headers, **proxy.get("headers", {})}},
            )

        status, response_headers, content = await self._exchange(upload, send)
        wire.check_upload_response(status, response_headers, content)
        log_response(upload, status, None, attempt)

    def _proxy_arguments(self, url: str) -> dict[str, Any]:
        """aiohttp's ``proxy``/``proxy_headers`` for ``url``, with the credentials in a header, not the URL.

        aiohttp sends ``proxy_headers`` only on a CONNECT (https targets); a plain-http request goes to the
        proxy as is, so there the ``Proxy-Authorization`` header travels with the request itself (never
        inside a tunnel, where the origin server would see it).
        """
        route = proxy_for_url(url, self._config.proxy)
        if route is None:
            return {}
        authorization = route.authorization()
        if authorization is None:
            return {"proxy": route.url}
        proxy_headers = {"Proxy-Authorization": authorization}
        arguments: dict[str, Any] = {"proxy": route.url, "proxy_headers": proxy_headers}
        if url.lower().startswith("http://"):
            arguments["headers"] = proxy_headers
        return arguments

    async def _exchange(self, request: HttpRequest | UploadRequest, send: Callable[[], Any]) -> _Answer:
        """One exchange (send, headers, the whole capped body) within the total deadline of an attempt."""
        seconds = self._config.attempt_deadline
        try:
            return await asyncio.wait_for(self._exchange_unbounded(request, send), seconds)
        except TimeoutError:
            # Only the deadline gets here: aiohttp's own timeouts became TransportError inside.
            raise DeadlineExceededError(
                f"{request.where}: no complete answer within the total deadline of {seconds:g} s "
                "(connect, send, headers and body)"
            ) from None

    async def _exchange_unbounded(
        self, request: HttpRequest | UploadRequest, send: Callable[[], Any]
    ) -> _Answer:
        try:
            async with send() as response:
                body = BoundedBody(response.headers, where=request.where, http_status=response.status)
                async for raw in response.content.iter_chunked(READ_CHUNK_BYTES):
                    body.feed(raw)
                return response.status, response.headers, body.finish()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _transport_error(exc, request) from exc
