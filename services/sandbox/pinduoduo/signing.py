"""Pinduoduo's two signatures: the gateway call's, and the sandbox's HTTP message delivery's.

Gateway (verified in lywzx/pdd-node-sdk packages/core/src/libs/pdd-client.ts ``sign`` and the official Java
SDK's ``com.pdd.pop.sdk.common.util.SignUtils.buildSignSource``): every parameter except ``sign``, sorted by
name, ``name + value`` concatenated with no separator, the client secret on both sides, MD5, uppercase hex.
Neither SDK leaves empty values out (both concatenate every entry), so an empty value is signed as its name
alone.

Message delivery (the sandbox's own webhook, agreed with our side, not a platform fact): uppercase hex
MD5(client_secret + timestamp + raw body bytes + client_secret), in ``X-Pdd-Sign``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def gateway_sign(params: Mapping[str, str], secret: str) -> str:
    joined = "".join(f"{name}{params[name]}" for name in sorted(params) if name != "sign")
    key = secret.encode()
    return hashlib.md5(key + joined.encode() + key).hexdigest().upper()


def gateway_verify(params: Mapping[str, str], secret: str, sign: str) -> bool:
    # The official SDK's checkSign compares exactly (the sign is uppercase); bytes, so non-ASCII cannot raise.
    return hmac.compare_digest(gateway_sign(params, secret).encode(), sign.encode())


def message_sign(secret: str, timestamp: str, body: bytes) -> str:
    key = secret.encode()
    return hashlib.md5(key + timestamp.encode() + body + key).hexdigest().upper()
