"""Temp-file uploads: the getPolicy certificate and the OSS-like object store behind ``oss://`` URLs.

Follows reference section 8: a policy is valid ``expire_in_seconds`` (300 s), its objects are bound to the
account and model named at getPolicy, live 48 h, cannot be overwritten (``x-oss-forbid-overwrite``) and
are only readable by the create endpoint (with ``X-DashScope-OssResourceResolve: enable``).
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow_provider_wanxiang.emulator import signing

UPLOAD_BUCKET = "dashscope-instant"
MAX_FILE_SIZE_MB = 100


@dataclass(frozen=True)
class Policy:
    upload_dir: str
    account: str
    model: str
    expires: float


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    account: str
    model: str
    created: float


class UploadError(Exception):
    """An OSS-style rejection: HTTP status, OSS error code and message (sent as XML)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class UploadStore:
    policies: dict[str, Policy] = field(default_factory=dict)  # by encoded policy document
    objects: dict[str, StoredObject] = field(default_factory=dict)  # by key (without "oss://")

    def clear(self) -> None:
        self.policies.clear()
        self.objects.clear()

    def issue_policy(
        self, secret: bytes, account: str, model: str, now: float, ttl: float, upload_host: str
    ) -> dict[str, Any]:
        """The ``data`` object of a getPolicy answer (field names and types as documented)."""
        day = datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%d")
        account_tag = signing.sign(secret, "account", account)[:12]
        upload_dir = f"{UPLOAD_BUCKET}/{account_tag}/{day}/{uuid.uuid4()}"
        expiration = datetime.fromtimestamp(now + ttl, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        document = {
            "expiration": expiration,
            "conditions": [
                ["content-length-range", 0, MAX_FILE_SIZE_MB * 1024 * 1024],
                ["starts-with", "$key", upload_dir],
                {"bucket": UPLOAD_BUCKET},
            ],
        }
        policy = base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode("ascii")
        self.policies = {text: p for text, p in self.policies.items() if p.expires > now}  # forget dead ones
        self.policies[policy] = Policy(upload_dir=upload_dir, account=account, model=model, expires=now + ttl)
        return {
            "policy": policy,
            "signature": signing.sign(secret, "policy", policy),
            "upload_dir": upload_dir,
            "upload_host": upload_host,
            "expire_in_seconds": int(ttl),
            "max_file_size_mb": MAX_FILE_SIZE_MB,
            "capacity_limit_mb": 999999999,
            "oss_access_key_id": signing.ACCESS_KEY_ID,
            "x_oss_object_acl": "private",
            "x_oss_forbid_overwrite": "true",
        }

    def accept(self, secret: bytes, form: dict[str, str], data: bytes | None, now: float) -> str:
        """Store one form upload and return its key, or raise ``UploadError`` as OSS would."""
        policy_text = form.get("policy", "")
        policy = self.policies.get(policy_text)
        if policy is None or not signing.verify(secret, form.get("Signature", ""), "policy", policy_text):
            raise UploadError(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if now >= policy.expires:
            raise UploadError(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        key = form.get("key", "")
        if not key.startswith(policy.upload_dir + "/") or key.endswith("/"):
            raise UploadError(
                403,
                "AccessDenied",
                f'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", '
                f'"{policy.upload_dir}"]',
            )
        if data is None:
            raise UploadError(400, "InvalidArgument", "The file field is missing in the form.")
        if len(data) > MAX_FILE_SIZE_MB * 1024 * 1024:
            raise UploadError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
        forbid = form.get("x-oss-forbid-overwrite", "false").lower() == "true"
        if forbid and key in self.objects:
            raise UploadError(
                409,
                "FileAlreadyExists",
                "The object you specified already exists and can not be overwritten.",
            )
        self.objects[key] = StoredObject(data=data, account=policy.account, model=policy.model, created=now)
        return key

    def resolve(self, url: str, account: str, model: str, now: float, ttl: float) -> bytes | None:
        """The bytes behind an ``oss://`` URL if this account uploaded it for this model and it is alive."""
        obj = self.objects.get(url.removeprefix("oss://"))
        if obj is None or obj.account != account or obj.model != model or now >= obj.created + ttl:
            return None
        return obj.data
