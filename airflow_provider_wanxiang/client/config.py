"""Client configuration: where to send requests, with which key, how patiently.

The API key lives only here (hidden from ``repr``) and is read by the transports at send time.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_wanxiang import __version__
from airflow_provider_wanxiang.client.endpoints import DEFAULT_REGION, resolve_base_url, validate_workspace_id
from airflow_provider_wanxiang.client.errors import WanxiangValidationError
from airflow_provider_wanxiang.client.proxies import parse_proxy_url
from airflow_provider_wanxiang.client.retry import RetryPolicy

__all__ = ["DEFAULT_QUERY_BUDGET", "DEFAULT_TIMEOUT", "DEFAULT_USER_AGENT", "ClientConfig"]

DEFAULT_USER_AGENT = f"airflow-provider-wanxiang/{__version__}"
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
"""(connect, read) seconds. Create answers within a second or two; 60 s of read silence means trouble."""

DEFAULT_QUERY_BUDGET = 10.0
"""Status queries/s all waits of one connection in one process may make together: half the documented
account-wide limit of 20 task queries/s, leaving room for other processes and the workers' own queries."""

_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
_REDACTED = "<redacted>"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Everything a client needs to talk to one Model Studio endpoint.

    :param api_key: The Model Studio API key (``sk-...``); never shown in ``repr``, logs or errors.
    :param base_url: The API base URL, normally from
        :func:`~airflow_provider_wanxiang.client.endpoints.resolve_base_url`.
    :param timeout: Seconds, either one number for both connect and read, or ``(connect, read)``.
    :param retry: The retry policy shared by the sync and async clients.
    :param user_agent: Sent as ``User-Agent``.
    :param workspace_id: Sent as ``X-DashScope-WorkSpace`` when set.
    :param proxy: A forward proxy for every request of this client (``http://user:pass@proxy:3128``),
        overriding ``HTTP(S)_PROXY``; ``NO_PROXY`` still applies (see
        :mod:`~airflow_provider_wanxiang.client.proxies`). Never shown in ``repr``, logs or errors.
    :param total_timeout: Seconds one attempt may take in all (connect, send, headers and the whole body),
        however the server trickles its answer; default connect + 2 x read timeout (see
        :attr:`attempt_deadline`).
    :param query_budget: Status queries per second that the waits sharing this configuration in one
        process (:mod:`~airflow_provider_wanxiang.client.shared`) may make together; a positive number.
    """

    api_key: str = field(repr=False)
    base_url: str
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    user_agent: str = DEFAULT_USER_AGENT
    workspace_id: str | None = None
    proxy: str | None = field(default=None, repr=False)
    total_timeout: float | None = None
    query_budget: float = DEFAULT_QUERY_BUDGET

    def __post_init__(self) -> None:
        # Checked here because an HTTP library rejecting a malformed header tends to quote its value,
        # and the value is "Bearer <key>".
        if not isinstance(self.api_key, str) or not _HEADER_SAFE.fullmatch(self.api_key):
            raise WanxiangValidationError(
                "api_key",
                _REDACTED,
                "a non-empty key of printable ASCII without spaces",
                "the API key is empty or contains whitespace or non-ASCII characters (value not shown)",
            )
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise WanxiangValidationError(
                "base_url", self.base_url, "an http(s) URL", f"{self.base_url!r} is not an http(s) URL"
            )
        if self.workspace_id:
            validate_workspace_id(self.workspace_id)
        if self.proxy is not None and self.proxy.strip():
            parse_proxy_url(self.proxy)  # the error shows the URL without its credentials
        if self.total_timeout is not None and not self.total_timeout > 0:
            raise WanxiangValidationError(
                "total_timeout",
                self.total_timeout,
                "seconds > 0",
                f"{self.total_timeout!r} is not a positive number of seconds",
            )
        budget = self.query_budget
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 < budget < math.inf:
            raise WanxiangValidationError(
                "query_budget",
                budget,
                "queries per second > 0 (the service allows 20 task queries/s per account)",
                f"{budget!r} is not a positive number of queries per second (the service allows 20 task "
                "queries/s per account; the default is 10)",
            )
        for value in (self.connect_timeout, self.read_timeout):
            if not value > 0:
                raise WanxiangValidationError(
                    "timeout",
                    self.timeout,
                    "seconds > 0",
                    f"{self.timeout!r} is not a positive number of seconds",
                )

    @property
    def connect_timeout(self) -> float:
        return float(self.timeout[0] if isinstance(self.timeout, tuple) else self.timeout)

    @property
    def read_timeout(self) -> float:
        return float(self.timeout[1] if isinstance(self.timeout, tuple) else self.timeout)

    @property
    def attempt_deadline(self) -> float:
        """Seconds one attempt may take in all: ``total_timeout``, or connect + 2 x read timeout.

        The read timeout bounds silence between two reads; twice that bounds a slow but moving answer
        (API answers are small) plus the sending of a large create body.
        """
        if self.total_timeout is not None:
            return float(self.total_timeout)
        return self.connect_timeout + 2 * self.read_timeout

    @classmethod
    def for_region(
        cls,
        api_key: str,
        *,
        region: str = DEFAULT_REGION,
        workspace_id: str | None = None,
        host: str | None = None,
        **options: Any,
    ) -> ClientConfig:
        """Build a configuration from region / workspace / host the way the Airflow connection does."""
        base_url = resolve_base_url(region=region, workspace_id=workspace_id, host=host)
        return cls(api_key=api_key, base_url=base_url, workspace_id=workspace_id or None, **options)
