"""Emulator knobs: one dataclass shared by the CLI, ``EmulatorServer`` and ``POST /_emulator/config``.

Keeping every knob in one typed place means the CLI defaults, the Python defaults and the live-update
endpoint cannot drift apart. Defaults mirror the real service (DESIGN.md section 2), so an emulator
started with no options is as strict and as slow as DashScope itself.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

#: Policies for a create that would exceed ``max_concurrent``: answer 429, or accept and keep it PENDING.
OVER_CONCURRENCY_POLICIES = ("reject", "queue")

#: Knobs that may change while the server runs (``POST /_emulator/config``, ``EmulatorServer.configure``).
#: host/port/api_keys are fixed once bound: changing them live would invalidate clients' state silently.
#: ``public_url`` is live because result and upload URLs are built from it on every answer: a test can put
#: a misbehaving proxy in front of the results of the one shared emulator instead of starting another.
LIVE_KNOBS = frozenset(
    {
        "task_seconds",
        "task_seconds_spread",
        "pending_fraction",
        "max_concurrent",
        "submit_rps",
        "query_qps",
        "task_ttl",
        "result_ttl",
        "upload_policy_ttl",
        "upload_ttl",
        "fault_rate",
        "create_fault_after_enqueue_rate",
        "download_fault_rate",
        "fault_slow_seconds",
        "latency",
        "over_concurrency",
        "retry_after",
        "seed",
        "time_offset",
        "download_timeout",
        "data_uri_max_bytes",
        "region",
        "public_url",
    }
)


class ConfigError(ValueError):
    """A knob has a value the emulator cannot honour (raised before anything changes)."""


@dataclass
class EmulatorConfig:
    """Every emulator setting; field names equal the CLI option names with ``-`` → ``_``.

    Times are seconds. ``0`` disables a rate limit (``submit_rps``, ``query_qps``) and makes tasks finish at
    once (``task_seconds``).
    """

    host: str = "127.0.0.1"
    port: int = 8765
    api_keys: list[str] = field(default_factory=lambda: ["sk-emulator"])
    #: Optional key → account grouping. Limits and task visibility are per account (the real service
    #: counts per Alibaba Cloud root account); a key not listed here is its own account.
    key_accounts: dict[str, str] = field(default_factory=dict)
    task_seconds: float = 45.0
    #: Sigma of the lognormal run-time spread around the ``task_seconds`` median (0 = always exact).
    task_seconds_spread: float = 0.35
    #: Share of a task's run time spent PENDING before it is scheduled (RUNNING).
    pending_fraction: float = 0.1
    max_concurrent: int = 5
    submit_rps: float = 5.0
    #: Per-account limit for each of get / list / cancel (the reference says 20 QPS each).
    query_qps: float = 20.0
    task_ttl: float = 86400.0
    result_ttl: float = 86400.0
    #: Lifetime of a temp-upload policy (``expire_in_seconds``) and of an uploaded object.
    upload_policy_ttl: float = 300.0
    upload_ttl: float = 172800.0
    fault_rate: float = 0.0
    create_fault_after_enqueue_rate: float = 0.0
    #: Share of result downloads faulted: 429/500/503, a reset before or in the middle of the body, slow.
    download_fault_rate: float = 0.0
    #: When > 0, "slow answer" (this many seconds late, then the normal answer) joins the random faults.
    fault_slow_seconds: float = 0.0
    latency: float = 0.0
    over_concurrency: str = "reject"
    #: Seconds for a ``Retry-After`` header on 429 answers; ``None`` sends none (the real service
    #: documents none).
    retry_after: float | None = None
    #: Seeds run times, random output seeds and random faults, so runs are reproducible.
    seed: int = 0
    #: Added to the emulator's clock: lets tests jump past TTLs without waiting.
    time_offset: float = 0.0
    download_timeout: float = 10.0
    data_uri_max_bytes: int = 10_485_760
    region: str = "ap-southeast-1"
    #: Base URL written into result and upload URLs; ``None`` = the bound address. Live: URLs issued after
    #: a change use the new base, URLs issued before keep theirs (as a CDN switch would).
    public_url: str | None = None

    def __post_init__(self) -> None:
        self.validate()

    def account_of(self, api_key: str) -> str:
        """The account a key belongs to (limits and visibility are per account)."""
        return self.key_accounts.get(api_key, api_key)

    def validate(self) -> None:
        """Reject values that would make the emulator misbehave rather than fail loudly later."""
        if not self.api_keys or any(not isinstance(k, str) or not k.strip() for k in self.api_keys):
            raise ConfigError("api_keys must be a non-empty list of non-empty strings")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be in [0, 65535], got {self.port}")
        non_negative = (
            "task_seconds",
            "task_seconds_spread",
            "submit_rps",
            "query_qps",
            "task_ttl",
            "result_ttl",
            "upload_policy_ttl",
            "upload_ttl",
            "latency",
            "download_timeout",
            "fault_slow_seconds",
        )
        for name in non_negative:
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
        for name in (
            "fault_rate",
            "create_fault_after_enqueue_rate",
            "download_fault_rate",
            "pending_fraction",
        ):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ConfigError(f"{name} must be in [0, 1], got {value!r}")
        if self.max_concurrent < 1:
            raise ConfigError(f"max_concurrent must be >= 1, got {self.max_concurrent}")
        if self.over_concurrency not in OVER_CONCURRENCY_POLICIES:
            raise ConfigError(
                f"over_concurrency must be one of {OVER_CONCURRENCY_POLICIES}, got {self.over_concurrency!r}"
            )
        if self.retry_after is not None and (not math.isfinite(self.retry_after) or self.retry_after < 0):
            raise ConfigError(f"retry_after must be >= 0 or None, got {self.retry_after!r}")
        if self.data_uri_max_bytes < 1:
            raise ConfigError("data_uri_max_bytes must be >= 1")
        if self.public_url is not None and not _is_http_base(self.public_url):
            raise ConfigError(
                f"public_url must be an http(s)://host[:port] URL or None, got {self.public_url!r}"
            )

    def live_view(self) -> dict[str, Any]:
        """The knobs as JSON-able values (what ``/_emulator/config`` returns)."""
        data = dataclasses.asdict(self)
        data["api_keys"] = [f"{k[:5]}…" for k in self.api_keys]  # never echo whole keys
        data.pop("key_accounts")
        return data

    def updated(self, changes: dict[str, Any]) -> EmulatorConfig:
        """A copy with ``changes`` applied and validated; unknown or fixed knobs raise ``ConfigError``."""
        unknown = sorted(set(changes) - LIVE_KNOBS)
        if unknown:
            raise ConfigError(f"not live-configurable: {', '.join(unknown)} (allowed: {sorted(LIVE_KNOBS)})")
        coerced: dict[str, Any] = {}
        types = {f.name: f.type for f in dataclasses.fields(self)}
        for name, value in changes.items():
            coerced[name] = _coerce(name, str(types[name]), value)
        return dataclasses.replace(self, **coerced)


def _coerce(name: str, type_name: str, value: Any) -> Any:
    """Coerce a JSON value to the knob's declared type, refusing anything ambiguous (e.g. bools)."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must not be a boolean")
    if type_name == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string")
        return value
    if type_name == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer")
        return value
    if type_name in ("float | None", "str | None") and value is None:
        return None
    if type_name == "str | None":
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string or null")
        return value
    if not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number")
    return float(value)


def _is_http_base(url: str) -> bool:
    """Whether ``url`` can prefix result paths: http(s), a host, no query or fragment."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not (parts.query or parts.fragment)
