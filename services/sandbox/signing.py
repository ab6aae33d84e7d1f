"""Signatures of the three protocols, written here on purpose rather than shared with the services.

If both sides used one implementation, a bug in it would sign and verify identically and never show.
"""

from __future__ import annotations

import base64
import hashlib


def courier_digest(logistics_interface: str, secret: str) -> str:
    """Cainiao-style ``data_digest``: standard base64 of the raw MD5 of the body followed by the secret."""
    return base64.b64encode(hashlib.md5(f"{logistics_interface}{secret}".encode()).digest()).decode()


def kuaidi100_push_sign(param: str, salt: str) -> str:
    """Sign of a tracking push: uppercase hex MD5 of ``param`` then the subscriber's salt."""
    return hashlib.md5(f"{param}{salt}".encode()).hexdigest().upper()


def kuaidi100_query_sign(param: str, key: str, customer: str) -> str:
    """Sign of a tracking query: uppercase hex MD5 of ``param + key + customer``."""
    return hashlib.md5(f"{param}{key}{customer}".encode()).hexdigest().upper()
