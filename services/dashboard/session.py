"""Who is signed in, kept in a signed cookie: the key they pasted, which the dashboard presents to the
services on their behalf (so a revoked key stops working here too), and a CSRF token for forms.

The cookie is HttpOnly and SameSite=Strict; its HMAC-SHA256 signature makes it tamper-proof. Forms carry
the session's CSRF token; the sign-in form, which has no session yet, carries a signed double-submit token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Literal

SESSION_COOKIE = "waybill_dashboard"
LOGIN_CSRF_COOKIE = "waybill_dashboard_csrf"


@dataclass(frozen=True)
class Session:
    kind: Literal["shop", "operator"]
    key: str
    shop_id: str | None
    shop_name: str | None
    csrf: str
    expires: float

    def headers(self, shop_id: str | None = None) -> dict[str, str]:
        """Headers for a call to a service; an operator acts for a shop with X-Shop-Id (the admin key
        with X-Shop-Id is scoped to that shop, runtime.auth.get_principal)."""
        headers = {"Authorization": f"Bearer {self.key}"}
        if self.kind == "operator" and shop_id is not None:
            headers["X-Shop-Id"] = shop_id
        return headers

    def may_see(self, shop_id: str) -> bool:
        return self.kind == "operator" or self.shop_id == shop_id


class Signer:
    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def sign(self, payload: bytes) -> str:
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{body}.{self._mac(body)}"

    def unsign(self, value: str) -> bytes | None:
        body, _, mac = value.rpartition(".")
        if not body or not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            return None

    def _mac(self, body: str) -> str:
        return hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()


def new_session(
    kind: Literal["shop", "operator"], key: str, shop_id: str | None, shop_name: str | None, hours: float
) -> Session:
    return Session(kind, key, shop_id, shop_name, secrets.token_urlsafe(24), time.time() + hours * 3600)


def dump_session(signer: Signer, session: Session) -> str:
    return signer.sign(json.dumps(asdict(session), separators=(",", ":")).encode())


def load_session(signer: Signer, value: str | None) -> Session | None:
    if not value:
        return None
    raw = signer.unsign(value)
    if raw is None:
        return None
    try:
        session = Session(**json.loads(raw))
    except (ValueError, TypeError):
        return None
    if session.kind not in ("shop", "operator") or session.expires < time.time():
        return None
    return session


def new_login_token(signer: Signer) -> tuple[str, str]:
    """(form token, cookie value): the cookie is the token signed, so a cross-site form cannot know it."""
    token = secrets.token_urlsafe(24)
    return token, signer.sign(token.encode())


def login_token_ok(signer: Signer, form_token: str, cookie: str | None) -> bool:
    raw = signer.unsign(cookie or "")
    return raw is not None and bool(form_token) and hmac.compare_digest(raw, form_token.encode())


def csrf_ok(session: Session, form_token: str) -> bool:
    return bool(form_token) and hmac.compare_digest(session.csrf.encode(), form_token.encode())
