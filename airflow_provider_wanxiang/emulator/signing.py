"""HMAC signatures for result URLs and upload policies.

Result URLs are capabilities (anyone holding one can download until it expires), exactly like the real
signed OSS URLs: the signature binds the object path to its ``Expires`` so neither can be edited.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

#: Looks like an OSS AccessKeyId in URLs; carries no secret.
ACCESS_KEY_ID = "LTAI5tWanxiangEmulator"


def sign(secret: bytes, *parts: str) -> str:
    """URL-safe base64 HMAC-SHA256 over the parts (joined by newlines)."""
    digest = hmac.new(secret, "\n".join(parts).encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def verify(secret: bytes, signature: str, *parts: str) -> bool:
    return hmac.compare_digest(sign(secret, *parts), signature)
