"""A local, wire-compatible emulator of DashScope's wan2.5-i2i-preview image-editing API.

Standalone on purpose: it imports neither Airflow nor the provider's client, so it starts fast and
models the server independently of the code it tests. See docs/emulator.md.
"""

from __future__ import annotations

from airflow_provider_wanxiang.emulator.config import EmulatorConfig
from airflow_provider_wanxiang.emulator.server import EmulatorServer

__all__ = ["EmulatorConfig", "EmulatorServer"]
