"""Temp uploads: getPolicy, the OSS form upload, and ``oss://`` resolution on create."""

from __future__ import annotations

from typing import Any

import requests

from tests.emulator.emu_helpers import Emu, error_of
from tests.images import open_image, png_bytes

MODEL = "wan2.5-i2i-preview"


def get_policy(emu: Emu, key: str | None = None, model: str = MODEL) -> dict[str, Any]:
    response = requests.get(
        emu.base + "/uploads",
        params={"action": "getPolicy", "model": model},
        headers={"Authorization": f"Bearer {key or emu.server.api_key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"request_id", "data"}
    return dict(body["data"])


def upload(policy: dict[str, Any], name: str, data: bytes, status: str = "200") -> requests.Response:
    """The form upload exactly as the dashscope SDK sends it (field order, file last)."""
    form = {
        "OSSAccessKeyId": policy["oss_access_key_id"],
        "Signature": policy["signature"],
        "policy": policy["policy"],
        "key": f"{policy['upload_dir']}/{name}",
        "x-oss-object-acl": policy["x_oss_object_acl"],
        "x-oss-forbid-overwrite": policy["x_oss_forbid_overwrite"],
        "success_action_status": status,
        "x-oss-content-type": "image/png",
    }
    return requests.post(policy["upload_host"], data=form, files={"file": (name, data)}, timeout=10)


def test_policy_shape(emu: Emu) -> None:
    policy = get_policy(emu)
    assert set(policy) == {
        "policy",
        "signature",
        "upload_dir",
        "upload_host",
        "expire_in_seconds",
        "max_file_size_mb",
        "capacity_limit_mb",
        "oss_access_key_id",
        "x_oss_object_acl",
        "x_oss_forbid_overwrite",
    }
    assert policy["upload_host"] == emu.server.url + "/_oss/upload"
    assert policy["upload_dir"].startswith("dashscope-instant/")
    assert policy["expire_in_seconds"] == 300
    assert (policy["x_oss_object_acl"], policy["x_oss_forbid_overwrite"]) == ("private", "true")
    bad_action = requests.get(
        emu.base + "/uploads", params={"action": "nope", "model": MODEL}, headers=emu.headers(), timeout=10
    )
    assert error_of(bad_action)[:2] == (400, "InvalidParameter")


def test_upload_host_follows_a_live_public_url(emu: Emu) -> None:
    emu.server.configure(public_url="http://uploads.example:8080")
    assert get_policy(emu)["upload_host"] == "http://uploads.example:8080/_oss/upload"


def test_upload_then_create_with_oss_url(emu: Emu) -> None:
    policy = get_policy(emu)
    response = upload(policy, "cat.png", png_bytes(900, 600))
    assert (response.status_code, response.content) == (200, b"")
    oss_url = f"oss://{policy['upload_dir']}/cat.png"

    without_header = emu.create(images=[oss_url])
    assert error_of(without_header) == (
        400,
        "InvalidParameter.DataInspection",
        "Unable to download the media resource during the data inspection process.",
    )
    task_id = emu.create_ok(images=[oss_url], headers={"X-DashScope-OssResourceResolve": "enable"})
    url = emu.get(task_id)["output"]["results"][0]["url"]
    png = requests.get(url, timeout=10).content
    assert open_image(png).size == (1568, 1040)  # default size follows the uploaded 3:2 image
    stats = emu.server.stats()
    assert (stats["upload_policies"], stats["uploads"]) == (1, 1)


def test_oss_objects_are_bound_to_account_and_model(emu: Emu) -> None:
    policy = get_policy(emu, key=emu.server.other_api_key)
    assert upload(policy, "dog.png", png_bytes()).status_code == 200
    oss_url = f"oss://{policy['upload_dir']}/dog.png"
    resolve = {"X-DashScope-OssResourceResolve": "enable"}
    foreign = emu.create(images=[oss_url], headers=resolve)
    assert error_of(foreign) == (400, "InvalidParameter", "Failed to download multimodal content.")
    assert emu.create(images=[oss_url], key=emu.server.other_api_key, headers=resolve).status_code == 200
    other_model = get_policy(emu, model="qwen-vl-max")
    assert upload(other_model, "x.png", png_bytes()).status_code == 200
    wrong_model = emu.create(images=[f"oss://{other_model['upload_dir']}/x.png"], headers=resolve)
    assert error_of(wrong_model)[1] == "InvalidParameter"


def test_forbid_overwrite_status_and_signature(emu: Emu) -> None:
    policy = get_policy(emu)
    assert upload(policy, "a.png", png_bytes(), status="").status_code == 204
    again = upload(policy, "a.png", png_bytes())
    assert again.status_code == 409
    assert "<Code>FileAlreadyExists</Code>" in again.text
    outside = dict(policy, upload_dir="dashscope-instant/someone-else")
    assert upload(outside, "b.png", png_bytes()).status_code == 403
    forged = dict(policy, signature="AAAA")
    response = upload(forged, "c.png", png_bytes())
    assert response.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text


def test_expired_policy(make_emu: Any) -> None:
    emu = make_emu(upload_policy_ttl=0)
    response = upload(get_policy(emu), "late.png", png_bytes())
    assert response.status_code == 403
    assert "Invalid according to Policy: Policy expired." in response.text
    assert response.headers["Content-Type"].startswith("application/xml")
