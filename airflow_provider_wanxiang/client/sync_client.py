"""The synchronous client (``requests``), for Airflow workers.

It only moves bytes: requests are built and responses interpreted by
:mod:`~airflow_provider_wanxiang.client.protocol`, and retries are decided by the config's
:class:`~airflow_provider_wanxiang.client.retry.RetryPolicy`, exactly as in the async client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import requests
import urllib3.exceptions

import airflow_provider_wanxiang.client.protocol as wire
from airflow_provider_wanxiang.client._logging import log_failure, log_response
from airflow_provider_wanxiang.client._text import shorten
from airflow_provider_wanxiang.client.bodies import ACCEPT_ENCODING, READ_CHUNK_BYTES, BoundedBody
from airflow_provider_wanxiang.client.config import ClientConfig
from airflow_provider_wanxiang.client.deadlines import Deadline, mount_deadline_adapter, total_deadline
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
from airflow_provider_wanxiang.client.proxies import proxy_for_url, redact_credentials, requests_proxies

__all__ = ["WanxiangClient"]

_T = TypeVar("_T")


def _no_netrc_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Passed as ``auth`` so requests never reads ~/.netrc and swaps in another Authorization header
    (or sends netrc credentials to the OSS upload host). Our own header comes from ``send_headers``."""
    return request


_R = TypeVar("_R", HttpRequest, UploadRequest)


def _never_connected(exc: requests.ConnectionError) -> bool:
    """Whether urllib3 failed before a connection existed (refused, DNS, connect timeout, proxy down)."""
    cause: object = exc.args[0] if exc.args else None
    if isinstance(cause, urllib3.exceptions.MaxRetryError):
        cause = cause.reason
    while isinstance(cause, urllib3.exceptions.ProxyError):
        cause = cause.original_error
    return isinstance(cause, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))


def _transport_error(exc: requests.RequestException, request: HttpRequest | UploadRequest) -> TransportError:
    where = request.where
    detail = shorten(redact_credentials(str(exc)), 200)
    if isinstance(exc, requests.ConnectTimeout):
        return TransportError(f"{where}: connect timeout ({detail})", request_sent=False)
    if isinstance(exc, requests.exceptions.SSLError):
        # A certificate problem does not go away by itself; the request was never sent.
        return TransportError(f"{where}: TLS error ({detail})", request_sent=False, retryable=False)
    if isinstance(exc, requests.ConnectionError):
        if _never_connected(exc):
            return TransportError(f"{where}: could not connect ({detail})", request_sent=False)
        return TransportError(f"{where}: connection dropped ({detail})", request_sent=True)
    if isinstance(exc, requests.Timeout):
        return TransportError(f"{where}: read timeout ({detail})", request_sent=True)
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema)):
        return TransportError(f"{where}: invalid URL ({detail})", request_sent=False, retryable=False)
    return TransportError(f"{where}: {type(exc).__name__} ({detail})", request_sent=True)


def _deadline_error(request: HttpRequest | UploadRequest, deadline: Deadline) -> DeadlineExceededError:
    return DeadlineExceededError(
        f"{request.where}: no complete answer within the total deadline of {deadline.seconds:g} s "
        "(connect, send, headers and body)"
    )


def _read_body(response: requests.Response, request: HttpRequest | UploadRequest) -> bytes:
    """The raw body through :class:`BoundedBody` (size-capped on the decoded bytes)."""
    body = BoundedBody(response.headers, where=request.where, http_status=response.status_code)
    try:
        for raw in response.raw.stream(READ_CHUNK_BYTES, decode_content=False):
            body.feed(raw)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        detail = shorten(redact_credentials(str(exc) or type(exc).__name__), 200)
        raise TransportError(
            f"{request.where}: connection dropped while reading the answer ({detail})", request_sent=True
        ) from exc
    return body.finish()


class WanxiangClient:
    """Blocking client for the wan2.5 image-editing task API over one ``requests.Session``.

    Use it as a context manager, or call :meth:`close`. Every call validates its input before sending and
    raises a :class:`~airflow_provider_wanxiang.client.errors.WanxiangError` subclass on failure.

    Each attempt is bounded in total by ``config.attempt_deadline`` (see
    :mod:`~airflow_provider_wanxiang.client.deadlines`), its answer is capped at
    ``limits.MAX_RESPONSE_BYTES`` decoded bytes, and its proxy comes from
    :func:`~airflow_provider_wanxiang.client.proxies.proxy_for_url` (requests' own proxy and netrc lookups
    are overridden). A session passed in gets the deadline adapter mounted.
    """

    def __init__(self, config: ClientConfig, *, session: requests.Session | None = None) -> None:
        self._config = config
        self._session = mount_deadline_adapter(session or requests.Session())

    @property
    def config(self) -> ClientConfig:
        return self._config

    def __enter__(self) -> WanxiangClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._config.base_url!r})"

    # -- API --------------------------------------------------------------------------------------------

    def create_task(self, req: EditRequest) -> CreatedTask:
        """Submit an edit (billed per successful image). Retried only if it cannot have been enqueued."""
        return wire.parse_created(self._call(wire.create_task_request(req)))

    def get_task(self, task_id: str) -> Task:
        """Read a task; an unknown or expired id comes back as ``TaskStatus.UNKNOWN``, not as an error."""
        return wire.parse_task(self._call(wire.get_task_request(task_id)), expected_task_id=task_id)

    def cancel_task(self, task_id: str) -> None:
        """Cancel a PENDING task; a task that started raises ``UnsupportedOperationError``."""
        self._call(wire.cancel_task_request(task_id))

    def list_tasks(self, query: ListTasksQuery | None = None, /, **fields: Any) -> TaskPage:
        """List this account's tasks in a window of at most 24 h (default: the last 24 h).

        Pass a :class:`ListTasksQuery` or the keywords of
        :func:`~airflow_provider_wanxiang.client.validation.build_list_query` (``page_size=1``, ...).
        """
        return wire.parse_task_page(self._call(wire.list_tasks_request(query, **fields)))

    def get_upload_policy(self, model: str) -> UploadPolicy:
        """Fetch a short-lived credential for uploading files bound to ``model`` (Beijing region only)."""
        return wire.parse_upload_policy(self._call(wire.upload_policy_request(model)))

    def upload_file(self, data: bytes, filename: str, model: str) -> str:
        """Upload ``data`` to temporary storage (valid 48 h) and return its ``oss://`` URL for ``model``.

        Two steps: fetch an upload policy, then a multipart form POST to the policy's OSS host *without*
        the API key. The returned URL makes the create call send ``X-DashScope-OssResourceResolve``.
        """
        upload = wire.upload_file_request(self.get_upload_policy(model), data, filename)
        self._with_retries(upload, self._upload_once)
        return upload.oss_url

    # -- transport --------------------------------------------------------------------------------------

    def _call(self, request: HttpRequest) -> Mapping[str, Any]:
        return self._with_retries(request, self._send_once)

    def _with_retries(self, request: _R, send_once: Callable[[_R, int], _T]) -> _T:
        policy = self._config.retry
        attempt = 1
        while True:
            try:
                return send_once(request, attempt)
            except WanxiangError as error:
                delay = policy.next_delay(error, request, attempt)
                log_failure(request, error, attempt, delay)
                if delay is None:
                    raise
            policy.sleep(delay)
            attempt += 1

    def _send_once(self, request: HttpRequest, attempt: int) -> Mapping[str, Any]:
        config = self._config
        headers = wire.send_headers(
            request, api_key=config.api_key, user_agent=config.user_agent, workspace_id=config.workspace_id
        )
        headers["Accept-Encoding"] = ACCEPT_ENCODING
        url = request.url(config.base_url)
        status, response_headers, content = self._exchange(
            request,
            lambda: self._session.request(
                request.method,
                url,
                params=list(request.params),
                data=wire.encode_json(request),
                headers=headers,
                auth=_no_netrc_auth,
                proxies=requests_proxies(proxy_for_url(url, config.proxy)),
                timeout=(config.connect_timeout, config.read_timeout),
                allow_redirects=False,
                stream=True,
            ),
        )
        body = wire.decode_response(request, status, response_headers, content)
        log_response(request, status, body, attempt)
        return body

    def _upload_once(self, upload: UploadRequest, attempt: int) -> None:
        config = self._config
        status, response_headers, content = self._exchange(
            upload,
            lambda: self._session.post(
                upload.url,
                data=list(upload.fields),
                files=[("file", (upload.filename, upload.content, upload.content_type))],
                headers={"User-Agent": config.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
                auth=_no_netrc_auth,
                proxies=requests_proxies(proxy_for_url(upload.url, config.proxy)),
                timeout=(config.connect_timeout, config.read_timeout),
                allow_redirects=False,
                stream=True,
            ),
        )
        wire.check_upload_response(status, response_headers, content)
        log_response(upload, status, None, attempt)

    def _exchange(
        self, request: HttpRequest | UploadRequest, send: Callable[[], requests.Response]
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One bounded exchange: send, then read the whole (capped) body, all within the total deadline."""
        with total_deadline(self._config.attempt_deadline) as deadline:
            try:
                with send() as response:
                    content = _read_body(response, request)
                if deadline.expired:
                    # A cut can look like an answer (headers cut mid-line read as their end, then an
                    # empty body until EOF): nothing read after the deadline fired is trusted.
                    raise _deadline_error(request, deadline)
                return response.status_code, response.headers, content
            except requests.RequestException as exc:
                if deadline.expired:
                    raise _deadline_error(request, deadline) from None
                raise _transport_error(exc, request) from exc
            except DeadlineExceededError:
                raise
            except TransportError:
                if deadline.expired:
                    raise _deadline_error(request, deadline) from None
                raise
