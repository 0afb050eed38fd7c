"""Auth, the async-header rule, and every create-time validation error (code + message)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.emulator.emu_helpers import CREATE, MODEL, Emu, error_of
from tests.image_host import ImageHost
from tests.images import MIME, data_uri, image_bytes, png_bytes

PIXELS = (
    'Parameter "parameters.size" must have a total pixel count in [589824, 1638400] (768*768 to 1280*1280), '
)
ASYNC_ONLY = (403, "AccessDenied", "current user api does not support synchronous calls.")


def body(images: list[str] | None = None, prompt: Any = "edit", **parameters: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "input": {"prompt": prompt, "images": images or [data_uri(png_bytes())]},
        "parameters": parameters,
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", CREATE),
        ("GET", "/tasks/abc"),
        ("POST", "/tasks/abc/cancel"),
        ("GET", "/tasks"),
        ("GET", "/uploads?action=getPolicy&model=wan2.5-i2i-preview"),
    ],
)
def test_auth_errors_on_every_api_route(emu: Emu, method: str, path: str) -> None:
    url = emu.base + path
    missing = requests.request(method, url, timeout=10)
    assert error_of(missing) == (401, "InvalidApiKey", "No API-key provided.")
    empty = requests.request(method, url, headers={"Authorization": "Bearer "}, timeout=10)
    assert error_of(empty) == (401, "InvalidApiKey", "No API-key provided.")
    wrong = requests.request(method, url, headers={"Authorization": "Bearer sk-nope"}, timeout=10)
    assert error_of(wrong) == (401, "InvalidApiKey", "Invalid API-key provided.")


def test_missing_async_header_is_access_denied(emu: Emu) -> None:
    headers = {"Authorization": f"Bearer {emu.server.api_key}"}
    response = requests.post(emu.base + CREATE, json=body(), headers=headers, timeout=10)
    assert error_of(response) == ASYNC_ONLY
    assert emu.server.stats()["tasks_created"] == 0


def test_any_host_and_workspace_header_are_accepted(emu: Emu) -> None:
    headers = {"Host": "ws-123.ap-southeast-1.maas.aliyuncs.com", "X-DashScope-WorkSpace": "ws-123"}
    response = emu.create_raw(body(), **headers)
    assert response.status_code == 200, response.text
    # Result URLs still point at the bound emulator address, not at the Host the client claimed.
    task = emu.get(response.json()["output"]["task_id"])
    assert task["output"]["results"][0]["url"].startswith(emu.server.url + "/results/")


def test_non_json_body(emu: Emu) -> None:
    response = requests.post(emu.base + CREATE, data=b"{nope", headers=emu.headers(), timeout=10)
    assert error_of(response) == (400, "BadRequest.IllegalInput", "The input parameter requires json format.")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"input": {"prompt": "x"}},
            ("BadRequest.EmptyModel", 'Required parameter "model" missing from request.'),
        ),
        ({"model": "wan9-nope", "input": {"prompt": "x"}}, ("InvalidParameter", "Model not exist.")),
        ({"model": MODEL}, ("BadRequest.EmptyInput", "Required input parameter missing from request.")),
        (
            {"model": MODEL, "input": {"images": ["x"]}},
            ("InvalidParameter", 'Required parameter "input.prompt" missing from request.'),
        ),
        (
            {"model": MODEL, "input": {"prompt": "x"}},
            ("InvalidParameter", 'Required parameter "input.images" missing from request.'),
        ),
        (
            {"model": MODEL, "input": {"prompt": "x", "images": ["a", "b", "c", "d"]}},
            ("InvalidParameter", 'Parameter "input.images" must contain 1 to 3 images, got 4.'),
        ),
        (
            {"model": MODEL, "input": {"prompt": "x", "images": [7]}},
            ("InvalidParameter", 'Parameter "input.images[0]" must be a non-empty string.'),
        ),
        (
            {"model": MODEL, "input": {"prompt": "x", "images": ["a"]}, "parameters": []},
            ("InvalidParameter", "Required body invalid, please check the request body format."),
        ),
    ],
)
def test_structural_errors(emu: Emu, payload: dict[str, Any], expected: tuple[str, str]) -> None:
    assert error_of(emu.create_raw(payload)) == (400, *expected)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"n": 0}, 'Parameter "parameters.n" must be an integer in [1, 4], got 0.'),
        ({"n": 5}, 'Parameter "parameters.n" must be an integer in [1, 4], got 5.'),
        ({"n": "2"}, "Parameter \"parameters.n\" must be an integer in [1, 4], got '2'."),
        ({"seed": -1}, 'Parameter "parameters.seed" must be an integer in [0, 2147483647], got -1.'),
        (
            {"seed": 2147483648},
            'Parameter "parameters.seed" must be an integer in [0, 2147483647], got 2147483648.',
        ),
        (
            {"size": "1024x1024"},
            'Parameter "parameters.size" must be "width*height", e.g. "1280*1280", got \'1024x1024\'.',
        ),
        (
            {"size": "640*640"},
            PIXELS + "got 640*640 = 409600.",
        ),
        (
            {"size": "1281*1280"},
            PIXELS + "got 1281*1280 = 1639680.",
        ),
        (
            {"size": "2560*384"},
            'Parameter "parameters.size" must have an aspect ratio between 1:4 and 4:1, got 2560*384.',
        ),
        ({"prompt_extend": "yes"}, "Parameter \"parameters.prompt_extend\" must be a boolean, got 'yes'."),
        ({"watermark": 1}, 'Parameter "parameters.watermark" must be a boolean, got 1.'),
    ],
)
def test_parameter_errors(emu: Emu, parameters: dict[str, Any], message: str) -> None:
    assert error_of(emu.create_raw(body(**parameters))) == (400, "InvalidParameter", message)


@pytest.mark.parametrize("size", ["768*768", "1280*1280", "2048*512", "512*2048", "1344*576"])
def test_boundary_sizes_are_accepted(emu: Emu, size: str) -> None:
    assert emu.create_raw(body(size=size)).status_code == 200


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (data_uri(png_bytes(383, 500)), "The image size is not supported for the data inspection."),
        (data_uri(png_bytes(5001, 400)), "The image size is not supported for the data inspection."),
        (
            data_uri(image_bytes("GIF", 400, 400), "image/png"),
            "The media format is not supported or incorrect for the data inspection.",
        ),
        (
            data_uri(png_bytes(), "image/gif"),
            "The media format is not supported or incorrect for the data inspection.",
        ),
        (data_uri(b"definitely not an image"), "Failed to decode the image during the data inspection."),
        ("data:image/png;base64,@@@@", "Failed to decode the image during the data inspection."),
        (
            "data:image/png;base64," + "A" * 10_485_760,
            "Exceeded limit on max bytes per data-uri item : 10485760",
        ),
    ],
)
def test_image_content_errors(emu: Emu, image: str, message: str) -> None:
    assert error_of(emu.create_raw(body([image]))) == (400, "InvalidParameter", message)


@pytest.mark.parametrize("fmt", ["JPEG", "BMP", "WEBP", "PNG"])
def test_all_documented_formats_and_alpha_are_accepted(emu: Emu, fmt: str) -> None:
    mode = "RGBA" if fmt in ("PNG", "WEBP") else "RGB"
    response = emu.create_raw(body([data_uri(image_bytes(fmt, 384, 5000 // 10, mode=mode), MIME[fmt])]))
    assert response.status_code == 200, response.text


def test_http_inputs_are_downloaded_by_the_server(emu: Emu, image_host: ImageHost) -> None:
    good = image_host.add("ok.png", png_bytes())
    assert emu.create_raw(body([good])).status_code == 200
    missing = image_host.add("gone.png", b"", status=404)
    assert error_of(emu.create_raw(body([missing]))) == (
        400,
        "InvalidParameter",
        "Failed to download multimodal content.",
    )
    forbidden = image_host.add("private.png", b"", status=403)
    assert error_of(emu.create_raw(body([forbidden])))[2] == (
        "Don't have authorization to access the media resource during the data inspection process."
    )
    unreachable = "http://127.0.0.1:9/nothing-listens-here.png"
    assert error_of(emu.create_raw(body([unreachable]))) == (
        400,
        "InvalidParameter",
        "Failed to download multimodal content.",
    )
    too_big = image_host.add("big.png", b"\x89PNG" + b"\0" * (10 * 1024 * 1024))
    assert (
        error_of(emu.create_raw(body([too_big])))[2]
        == "The image size is not supported for the data inspection."
    )


def test_unsupported_schemes_and_oss_without_header(emu: Emu) -> None:
    assert error_of(emu.create_raw(body(["file:///tmp/x.png"]))) == (
        400,
        "InvalidURL",
        "Invalid URL provided in your request.",
    )
    assert error_of(emu.create_raw(body(["oss://dashscope-instant/a/b.png"]))) == (
        400,
        "InvalidParameter.DataInspection",
        "Unable to download the media resource during the data inspection process.",
    )


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("DataInspectionFailed", "Input data may contain inappropriate content."),
        ("IPInfringementSuspect", "Input data is suspected of being involved in IP infringement."),
    ],
)
def test_reject_markers_answer_synchronously(emu: Emu, code: str, message: str) -> None:
    response = emu.create_raw(body(prompt=f"a cat [reject:{code}]"))
    assert error_of(response) == (400, code, message)
    stats = emu.server.stats()
    assert stats["tasks_created"] == 0
    assert stats["rejected"] == {code: 1}


def test_long_prompts_are_truncated_not_rejected(emu: Emu) -> None:
    prompt = "p" * 2100
    response = emu.create_raw(
        {
            "model": MODEL,
            "input": {"prompt": prompt, "images": [data_uri(png_bytes())], "negative_prompt": "n" * 900},
        }
    )
    assert response.status_code == 200, response.text
    task = emu.get(response.json()["output"]["task_id"])
    results = task["output"]["results"]
    assert len(results) == 4  # n defaults to 4 on the wire
    assert results[0]["orig_prompt"] == "p" * 2000


def test_text2image_path_misuse_and_wrong_method(emu: Emu) -> None:
    t2i = emu.base + "/services/aigc/text2image/image-synthesis"
    response = requests.post(t2i, json=body(), headers=emu.headers(), timeout=10)
    assert error_of(response) == (400, "InvalidParameter", "url error, please check url\uff01")
    wrong_method = requests.get(emu.base + CREATE, headers=emu.headers(), timeout=10)
    assert error_of(wrong_method) == (400, "InvalidParameter", "Request method 'GET' is not supported.")
    unknown = requests.get(emu.base + "/no/such/path", headers=emu.headers(), timeout=10)
    assert error_of(unknown)[:2] == (400, "InvalidURL")


def test_every_json_answer_has_a_request_id(emu: Emu) -> None:
    ok = emu.create_raw(body())
    ids = {ok.json()["request_id"], emu.get(ok.json()["output"]["task_id"])["request_id"]}
    ids.add(emu.list().json()["request_id"])
    ids.add(requests.post(emu.base + CREATE, json=body(), timeout=10).json()["request_id"])
    assert len(ids) == 4
    assert all(len(i) == 36 and i.count("-") == 4 for i in ids)
    assert ok.headers["X-Request-Id"] == ok.json()["request_id"]
