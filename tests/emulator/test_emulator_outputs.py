"""Result images: real PNGs, sizes, determinism, input dependence, signed-URL expiry."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from airflow_provider_wanxiang.emulator import views
from airflow_provider_wanxiang.emulator.imaging import default_output_size
from tests.emulator.emu_helpers import Emu
from tests.images import data_uri, open_image, png_bytes


def result_urls(emu: Emu, task_id: str) -> list[str]:
    return [r["url"] for r in emu.get(task_id)["output"]["results"] if "url" in r]


def download(url: str) -> bytes:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/png"
    assert int(response.headers["Content-Length"]) == len(response.content)
    md5 = base64.b64encode(hashlib.md5(response.content).digest()).decode()
    assert response.headers["Content-MD5"] == md5
    return response.content


def test_explicit_size(emu: Emu) -> None:
    (url,) = result_urls(emu, emu.create_ok(size="1024*768"))
    assert open_image(download(url)).size == (1024, 768)
    query = parse_qs(urlsplit(url).query)
    assert set(query) == {"Expires", "OSSAccessKeyId", "Signature"}
    assert abs(int(query["Expires"][0]) - (time.time() + 86400)) < 5


def test_default_size_follows_the_last_input(emu: Emu) -> None:
    wide, tall = data_uri(png_bytes(1600, 900)), data_uri(png_bytes(500, 1000))
    (url,) = result_urls(emu, emu.create_ok(images=[wide, tall]))
    width, height = open_image(download(url)).size
    assert (width, height) == default_output_size((500, 1000))
    assert abs(width / height - 0.5) < 0.02
    assert 0.97 * 1280 * 1280 <= width * height <= 1280 * 1280
    (url2,) = result_urls(emu, emu.create_ok(images=[tall, wide]))
    assert open_image(download(url2)).size == default_output_size((1600, 900))


@pytest.mark.parametrize(
    ("last", "expected"),
    [((1000, 1000), (1280, 1280)), ((1344, 896), (1568, 1040)), ((5000, 400), (2560, 640))],
)
def test_default_size_rule(last: tuple[int, int], expected: tuple[int, int]) -> None:
    assert default_output_size(last) == expected


def test_outputs_are_deterministic_per_seed_and_depend_on_inputs(emu: Emu) -> None:
    image = data_uri(png_bytes(800, 600))
    a = result_urls(emu, emu.create_ok(images=[image], seed=42, n=2))
    b = result_urls(emu, emu.create_ok(images=[image], seed=42))
    c = result_urls(emu, emu.create_ok(images=[image], seed=43))
    other_input = result_urls(
        emu, emu.create_ok(images=[data_uri(png_bytes(800, 600, (0, 160, 90)))], seed=42)
    )
    a0, a1, b0, c0, d0 = (download(u) for u in (a[0], a[1], b[0], c[0], other_input[0]))
    assert a0 == b0  # same seed, same input → same bytes
    assert a1 == c0  # image i of a task uses seed + i
    assert a0 != a1
    assert a0 != d0
    assert emu.server.stats()["result_downloads"] == 5


def test_fusion_uses_every_input(emu: Emu) -> None:
    red, green = data_uri(png_bytes(600, 600, (220, 20, 20))), data_uri(png_bytes(600, 600, (20, 220, 20)))
    blue = data_uri(png_bytes(600, 600, (20, 20, 220)))
    single = download(result_urls(emu, emu.create_ok(images=[red], seed=1, size="1024*1024"))[0])
    fused = download(result_urls(emu, emu.create_ok(images=[red, green, blue], seed=1, size="1024*1024"))[0])
    assert single != fused
    image = open_image(fused).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    greenish = sum(count for count, (r, g, b) in colours if g > 150 and r < 100 and b < 100)
    bluish = sum(count for count, (r, g, b) in colours if b > 150 and r < 100 and g < 100)
    assert greenish > 10_000 and bluish > 10_000  # the insets are really there


def test_signed_urls_expire_and_resist_tampering(make_emu: Any) -> None:
    emu = make_emu(result_ttl=0.5)
    (url,) = result_urls(emu, emu.create_ok())
    tampered = url.replace("/0.png", "/1.png")
    response = requests.get(tampered, timeout=10)
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("application/xml")
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text
    assert requests.get(url.split("&Signature")[0], timeout=10).status_code == 403
    download(url)
    time.sleep(0.55)
    expired = requests.get(url, timeout=10)
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code>" in expired.text and "Request has expired." in expired.text


def test_result_ttl_change_applies_to_issued_urls(emu: Emu) -> None:
    (url,) = result_urls(emu, emu.create_ok())
    download(url)
    emu.server.configure(result_ttl=0)
    assert requests.get(url, timeout=10).status_code == 403


def test_public_url_is_live_for_urls_issued_after_the_change(emu: Emu) -> None:
    """``public_url`` changes the base of result URLs answered from then on (so a test can put a proxy in
    front of the one shared emulator's results); URLs issued before keep theirs and still work."""
    task_id = emu.create_ok()
    (before,) = result_urls(emu, task_id)
    assert before.startswith(emu.server.url + "/results/")

    emu.server.configure(public_url="http://results.example:9000/")
    (after,) = result_urls(emu, task_id)

    assert after.startswith("http://results.example:9000/results/")
    assert urlsplit(after)._replace(scheme="", netloc="") == urlsplit(before)._replace(scheme="", netloc="")
    assert download(before) == download(emu.server.url + after.removeprefix("http://results.example:9000"))
    emu.server.configure(public_url=None)
    assert result_urls(emu, task_id) == [before]


@pytest.mark.parametrize(
    "bad", ["ftp://results.example", "results.example:9000", "http://", "http://h/?q=1", 5]
)
def test_a_public_url_that_cannot_prefix_results_is_refused(emu: Emu, bad: object) -> None:
    response = emu.control("POST", "config", json={"public_url": bad})
    assert response.status_code == 400, response.text
    assert "public_url" in response.text
    assert emu.server.config.public_url is None


def test_failed_images_have_no_object(emu: Emu) -> None:
    task_id = emu.create_ok(prompt="[partial:1]", n=2)
    (url,) = result_urls(emu, task_id)
    download(url)
    expires = int(parse_qs(urlsplit(url).query)["Expires"][0])
    # Sign a URL for the failed index with the server's own key: the object simply does not exist.
    forged = views.result_url(emu.server.url, emu.server._core.secret, task_id, 1, expires)
    response = requests.get(forged, timeout=10)
    assert response.status_code == 404
    assert "<Code>NoSuchKey</Code>" in response.text
