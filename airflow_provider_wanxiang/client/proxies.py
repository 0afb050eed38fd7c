"""Which forward proxy (if any) a request to a URL goes through: decided here, once, for every route.

``requests`` and ``aiohttp`` read ``HTTP(S)_PROXY``/``NO_PROXY`` differently (aiohttp ignores them unless
``trust_env=True``, requests also honours ``ALL_PROXY`` and CIDR ranges in ``NO_PROXY``), and ``trust_env``
in both also reads ``~/.netrc`` and would send those credentials to the OSS upload host or alongside a
signed result URL. So neither transport resolves proxies itself: every caller asks
:func:`proxy_for_url` and hands the answer to its transport explicitly. Pure and free of I/O apart from
reading the environment, through the standard library's own reader (``urllib.request``).

The rules, identical for the API calls, the OSS upload, the trigger's polls and the result downloads:

- the connection's own proxy (``extra.proxy``), when set, is used for every URL of that connection;
  otherwise ``HTTPS_PROXY`` for ``https://`` URLs and ``HTTP_PROXY`` for ``http://`` URLs (lower-case
  names win over upper-case ones, as in the standard library; ``ALL_PROXY`` is not read);
- a host matched by ``NO_PROXY`` (host names, ``.domain`` suffixes, ``host:port``, ``*``, and IP networks
  such as ``10.0.0.0/8``) goes direct, whichever proxy would have applied;
- a proxy URL without a scheme means ``http://`` (as requests reads it); only ``http://`` and ``https://``
  proxies are supported.

Proxy credentials (``http://user:pass@proxy:3128``) are a secret: :class:`ProxyRoute` keeps them out of its
``repr``/``str``, and :func:`redact_credentials` removes them from any text before it reaches a log or an
exception.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from airflow_provider_wanxiang.client.errors import WanxiangValidationError

__all__ = ["ProxyRoute", "parse_proxy_url", "proxy_for_url", "redact_credentials", "requests_proxies"]

_SUPPORTED_SCHEMES = ("http", "https")
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")


def redact_credentials(text: str) -> str:
    """``text`` with the user-info of every URL in it replaced, so ``http://u:p@proxy`` reads
    ``http://***@proxy``: for messages that may quote a proxy URL (HTTP libraries' exceptions do)."""
    return _USERINFO.sub(r"\g<scheme>***@", text)


@dataclass(frozen=True, slots=True)
class ProxyRoute:
    """One forward proxy: its URL without credentials, and the credentials apart (never shown).

    :param url: ``scheme://host:port`` of the proxy (no user-info, no path).
    :param username: Proxy user, decoded; ``None`` for an open proxy.
    :param password: Proxy password, decoded.
    """

    url: str
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.url

    def url_with_credentials(self) -> str:
        """The URL with re-quoted credentials, as ``requests`` wants it (it sends Proxy-Authorization)."""
        if self.username is None:
            return self.url
        scheme, _, rest = self.url.partition("://")
        userinfo = quote(self.username, safe="")
        if self.password is not None:
            userinfo += ":" + quote(self.password, safe="")
        return f"{scheme}://{userinfo}@{rest}"

    def authorization(self) -> str | None:
        """The ``Proxy-Authorization`` header value (Basic), or ``None`` for an open proxy."""
        if self.username is None:
            return None
        token = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(token).decode("ascii")


def parse_proxy_url(value: str, *, source: str = "proxy") -> ProxyRoute:
    """Validate a proxy URL and split off its credentials.

    :param source: What to name in the error (``proxy`` for the connection's extra, or the variable name).
    :raises WanxiangValidationError: for an unsupported scheme or a URL without a host (the value shown
        has its credentials removed).
    """
    text = value.strip()
    if "://" not in text:
        text = "http://" + text
    shown = redact_credentials(text)
    allowed = "an http:// or https:// proxy URL, e.g. http://user:password@proxy.example.com:3128"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise WanxiangValidationError(source, shown, allowed, f"{shown!r} is not {allowed}") from None
    if parts.scheme.lower() not in _SUPPORTED_SCHEMES or not parts.hostname:
        raise WanxiangValidationError(source, shown, allowed, f"{shown!r} is not {allowed}")
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return ProxyRoute(
        url=f"{parts.scheme.lower()}://{netloc}",
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def _bypassed(host: str, port: int | None, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` sends ``host`` direct: the standard library's rules plus IP networks."""
    netloc = f"{host}:{port}" if port is not None else host
    # CPython's own NO_PROXY matcher (what urllib.request.proxy_bypass uses); typeshed omits it.
    if urllib.request.proxy_bypass_environment(netloc, {"no": no_proxy}):  # type: ignore[attr-defined]
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    for entry in no_proxy.split(","):
        entry = entry.strip()
        if "/" not in entry:
            continue
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def proxy_for_url(url: str, configured: str | None = None) -> ProxyRoute | None:
    """The proxy a request to ``url`` must go through, or ``None`` to connect directly.

    :param url: The full target URL (API endpoint, OSS upload host or signed result URL).
    :param configured: The connection's own proxy (``extra.proxy``); overrides ``HTTP(S)_PROXY``.
    :raises WanxiangValidationError: when the proxy that applies is not a usable http(s) proxy URL.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    environment = urllib.request.getproxies_environment()
    no_proxy = environment.get("no", "")
    if host and no_proxy and _bypassed(host, parts.port, no_proxy):
        return None
    if configured and configured.strip():
        return parse_proxy_url(configured)
    chosen = environment.get(scheme)
    if not chosen or not chosen.strip():
        return None
    return parse_proxy_url(chosen, source=f"{scheme.upper()}_PROXY")


def requests_proxies(route: ProxyRoute | None) -> dict[str, str]:
    """The ``proxies=`` argument that makes ``requests`` use exactly ``route`` and nothing it reads itself.

    Every key requests consults is present, so its own environment lookup (``setdefault``) cannot add a
    proxy; keys set to ``None`` are dropped by requests before sending, which means "direct".
    """
    chosen = route.url_with_credentials() if route is not None else None
    proxies: dict[str, Any] = {"http": chosen, "https": chosen, "all": None}
    return proxies  # requests' stubs say str values; None ("no proxy") is what it documents and drops
