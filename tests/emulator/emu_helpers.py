"""Helpers shared by the emulator tests: an ``Emu`` request wrapper and the error-envelope reader.

A uniquely named module (not ``conftest``) so test modules can import it without clashing with other
directories' conftest files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.images import data_uri, png_bytes

CREATE = "/services/aigc/image2image/image-synthesis"
MODEL = "wan2.5-i2i-preview"


@dataclass
class Emu:
    """A running emulator plus request helpers bound to its first key."""

    server: WanxiangEmulator
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def base(self) -> str:
        return self.server.base_url

    def headers(self, key: str | None = None, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {key or self.server.api_key}",
            "X-DashScope-Async": "enable",
            **extra,
        }

    def create_raw(self, body: Any, key: str | None = None, **headers: str) -> requests.Response:
        return self.session.post(
            self.base + CREATE, json=body, headers=self.headers(key, **headers), timeout=30
        )

    def create(
        self,
        images: list[str] | None = None,
        prompt: str = "make it brighter",
        key: str | None = None,
        headers: dict[str, str] | None = None,
        **parameters: Any,
    ) -> requests.Response:
        body = {
            "model": MODEL,
            "input": {"prompt": prompt, "images": images or [data_uri(png_bytes())]},
            "parameters": {"n": 1, **parameters},
        }
        return self.create_raw(body, key, **(headers or {}))

    def create_ok(self, *args: Any, **kwargs: Any) -> str:
        response = self.create(*args, **kwargs)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["output"]["task_status"] == "PENDING"
        return str(body["output"]["task_id"])

    def get(self, task_id: str, key: str | None = None) -> dict[str, Any]:
        response = self.session.get(f"{self.base}/tasks/{task_id}", headers=self.headers(key), timeout=30)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def cancel(self, task_id: str, key: str | None = None) -> requests.Response:
        return self.session.post(f"{self.base}/tasks/{task_id}/cancel", headers=self.headers(key), timeout=30)

    def list(self, key: str | None = None, **params: Any) -> requests.Response:
        return self.session.get(f"{self.base}/tasks", params=params, headers=self.headers(key), timeout=30)

    def control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.server.url}/_emulator/{path}", timeout=30, **kwargs)


def error_of(response: requests.Response) -> tuple[int, str, str]:
    """``(status, code, message)`` of a DashScope error answer, checking the envelope on the way."""
    body = response.json()
    assert set(body) == {"code", "message", "request_id"}, body
    assert len(body["request_id"]) == 36
    return response.status_code, body["code"], body["message"]
