"""Who is signed in: sessions kept server-side in Redis, behind an opaque id in the browser's cookie.

The cookie (HttpOnly, SameSite=Strict) carries only a random id (``secrets.token_urlsafe(32)``), never a
key: signed or not, a cookie that held the key would hand it to anyone who copied the cookie, and could
not be ended before it expired. Redis holds the session under ``dashboard:session:<SHA-256 of the id>``,
so a dump of Redis (a backup, a replica, ``KEYS``) holds no usable cookie. Its value is JSON: role, shop
and timestamps in clear (for an operator reading Redis), and a Fernet token that seals the API key, the
session's CSRF secret, the role, the shop and the sign-in time under a key derived (HKDF-SHA256) from
DASHBOARD_SECRET_KEY *and the session id*. The id never reaches Redis, so neither a Redis dump alone nor
one with the secret key yields an API key; and whoever can write to Redis cannot turn a shop's session
into an operator's or stretch it past its absolute lifetime.

A session ends after ``idle`` unused (the Redis TTL, extended on use at most once a minute so a busy page
does not write on every request), ``max`` after sign-in whatever its use, or at sign-out, which deletes
it: the old cookie then opens nothing, even replayed. Every sign-in starts a new id (no fixation).

Redis trouble raises ``SessionStoreUnavailable`` (the pages answer 503) and is reported to a RedisHealth;
a cookie that is not a well-formed id (non-ASCII, too long, tampered) is no session, without asking Redis.
The sign-in form, which has no session yet, carries a signed double-submit token (``Signer``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis.asyncio import Redis

from runtime.redis_health import REDIS_ERRORS, RedisHealth

SESSION_COOKIE = "waybill_dashboard"
LOGIN_CSRF_COOKIE = "waybill_dashboard_csrf"
REDIS_PREFIX = "dashboard:session:"
ID_BYTES = 32
# token_urlsafe(32) is 43 characters of URL-safe base64; anything else is refused before Redis is asked.
_ID = re.compile(r"[A-Za-z0-9_-]{43}")
# Extend a session's idle TTL at most this often: one write a minute per active session, not per request.
TOUCH_EVERY_S = 60.0
# One page load waits at most this long for Redis (the pool's own deadlines allow retries beyond it).
CALL_TIMEOUT_S = 3.0
RECORD_VERSION = 1
_KEY_CONTEXT = b"waybill-dashboard-session-v1:"

Kind = Literal["shop", "operator"]
T = TypeVar("T")


@dataclass(frozen=True)
class Session:
    kind: Kind
    key: str
    shop_id: str | None
    shop_name: str | None
    csrf: str
    created: float
    seen: float

    def headers(self, shop_id: str | None = None) -> dict[str, str]:
        """Headers for a call to a service; an operator acts for a shop with X-Shop-Id (the admin key
        with X-Shop-Id is scoped to that shop, runtime.auth.get_principal)."""
        headers = {"Authorization": f"Bearer {self.key}"}
        if self.kind == "operator" and shop_id is not None:
            headers["X-Shop-Id"] = shop_id
        return headers

    def may_see(self, shop_id: str) -> bool:
        return self.kind == "operator" or self.shop_id == shop_id


class SessionStoreUnavailable(Exception):
    """Redis did not answer: nobody can be signed in or recognised until it does."""


def new_session_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


def well_formed(session_id: str | None) -> bool:
    return session_id is not None and _ID.fullmatch(session_id) is not None


def redis_key(session_id: str) -> str:
    """Where a session lives: the id's SHA-256, so what Redis holds cannot be replayed as a cookie."""
    return REDIS_PREFIX + hashlib.sha256(session_id.encode()).hexdigest()


class Sealer:
    """Fernet (AES-128-CBC + HMAC-SHA256) under a key per session, derived from the secret and the id."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def _fernet(self, session_id: str) -> Fernet:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_CONTEXT + session_id.encode())
        return Fernet(base64.urlsafe_b64encode(key.derive(self._secret)))

    def seal(self, session_id: str, data: bytes) -> str:
        return self._fernet(session_id).encrypt(data).decode()

    def unseal(self, session_id: str, token: str) -> bytes | None:
        """The sealed bytes, or None for a token altered, sealed for another id or under another secret."""
        try:
            return self._fernet(session_id).decrypt(token.encode())
        except (InvalidToken, ValueError):
            return None


def encode_record(sealer: Sealer, session_id: str, session: Session) -> str:
    secret = {
        "kind": session.kind,
        "key": session.key,
        "shop_id": session.shop_id,
        "shop_name": session.shop_name,
        "csrf": session.csrf,
        "created": session.created,
    }
    sealed = sealer.seal(session_id, json.dumps(secret, separators=(",", ":")).encode())
    record = {
        "v": RECORD_VERSION,
        "kind": session.kind,
        "shop_id": session.shop_id,
        "created": session.created,
        "seen": session.seen,
        "sealed": sealed,
    }
    return json.dumps(record, separators=(",", ":"))


def decode_record(sealer: Sealer, session_id: str, raw: bytes | str) -> Session | None:
    """The session a stored record holds, or None for one unreadable (another secret, altered, old format).
    Everything but ``seen`` comes from the sealed part."""
    try:
        record = json.loads(raw)
        plain = sealer.unseal(session_id, record["sealed"]) if record.get("v") == RECORD_VERSION else None
        if plain is None:
            return None
        inner: dict[str, Any] = json.loads(plain)
        session = Session(
            kind=inner["kind"],
            key=inner["key"],
            shop_id=inner["shop_id"],
            shop_name=inner["shop_name"],
            csrf=inner["csrf"],
            created=float(inner["created"]),
            seen=float(record["seen"]),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if (
        session.kind not in ("shop", "operator")
        or not isinstance(session.key, str)
        or not isinstance(session.csrf, str)
    ):
        return None
    return session


class SessionStore:
    """The sessions in Redis. ``clock`` is wall time (sessions outlive a process)."""

    def __init__(
        self,
        redis: Redis,
        secret: str,
        *,
        idle_s: float,
        max_s: float,
        health: RedisHealth | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._sealer = Sealer(secret)
        self._idle_s = idle_s
        self._max_s = max_s
        self._health = health or RedisHealth("dashboard_sessions")
        self._clock = clock

    async def create(self, kind: Kind, key: str, shop_id: str | None, shop_name: str | None) -> tuple[str, Session]:
        """A new session under a new id (the caller sets the cookie to it)."""
        now = self._clock()
        session_id = new_session_id()
        session = Session(kind, key, shop_id, shop_name, secrets.token_urlsafe(32), now, now)
        record = encode_record(self._sealer, session_id, session)
        ttl = self._ttl_ms(session, now)
        await self._call(lambda: self._redis.set(redis_key(session_id), record, px=ttl))
        return session_id, session

    async def load(self, session_id: str | None) -> Session | None:
        """The live session behind a cookie's value, or None (no cookie, malformed, unknown, ended)."""
        if session_id is None or not well_formed(session_id):
            return None
        key = redis_key(session_id)
        raw = await self._call(lambda: self._redis.get(key))
        if raw is None:
            return None
        now = self._clock()
        session = decode_record(self._sealer, session_id, raw)
        if session is None or now >= session.created + self._max_s or now - session.seen >= self._idle_s:
            # Unreadable (the secret changed) or past its lifetime (Redis's TTL is only the idle one):
            # gone for good, so the next request does not read it again.
            await self._call(lambda: self._redis.delete(key))
            return None
        if now - session.seen >= TOUCH_EVERY_S:
            session = replace(session, seen=now)
            record = encode_record(self._sealer, session_id, session)
            ttl = self._ttl_ms(session, now)
            # XX: a sign-out that deleted the session meanwhile must not be undone by this page load.
            if not await self._call(lambda: self._redis.set(key, record, xx=True, px=ttl)):
                return None
        return session

    async def delete(self, session_id: str | None) -> None:
        if session_id is not None and well_formed(session_id):
            await self._call(lambda: self._redis.delete(redis_key(session_id)))

    async def ping(self) -> None:
        await self._call(lambda: self._redis.ping())

    def _ttl_ms(self, session: Session, now: float) -> int:
        """The idle timeout, cut short by the absolute lifetime."""
        return max(1, int(min(self._idle_s, session.created + self._max_s - now) * 1000))

    async def _call(self, command: Callable[[], Awaitable[T]]) -> T:
        # While Redis is known down, one call a second goes through to find it back; the rest fail at
        # once instead of each page waiting for a connect timeout.
        if not self._health.should_try():
            raise SessionStoreUnavailable("Redis is unavailable")
        try:
            result = await asyncio.wait_for(command(), CALL_TIMEOUT_S)
        except REDIS_ERRORS as exc:  # asyncio's TimeoutError is an OSError
            self._health.failed(exc)
            raise SessionStoreUnavailable(f"Redis is unavailable ({type(exc).__name__})") from exc
        self._health.ok()
        return result


class Signer:
    """HMAC-SHA256 signatures for the sign-in form's double-submit cookie."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def sign(self, payload: bytes) -> str:
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{body}.{self._mac(body)}"

    def unsign(self, value: str) -> bytes | None:
        # A cookie is whatever bytes the client sent (Starlette decodes them as Latin-1): compare_digest
        # refuses non-ASCII str with a TypeError, which must be a refusal here, not a 500.
        if not value.isascii():
            return None
        body, _, mac = value.rpartition(".")
        if not body or not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            return None

    def _mac(self, body: str) -> str:
        return hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()


def new_login_token(signer: Signer) -> tuple[str, str]:
    """(form token, cookie value): the cookie is the token signed, so a cross-site form cannot know it."""
    token = secrets.token_urlsafe(24)
    return token, signer.sign(token.encode())


def login_token_ok(signer: Signer, form_token: str, cookie: str | None) -> bool:
    raw = signer.unsign(cookie or "")
    return raw is not None and bool(form_token) and hmac.compare_digest(raw, _utf8(form_token))


def csrf_ok(session: Session, form_token: str) -> bool:
    """The form carries this session's own CSRF secret (a token from another session is refused)."""
    return bool(form_token) and hmac.compare_digest(session.csrf.encode(), _utf8(form_token))


def _utf8(text: str) -> bytes:
    # A form field may carry lone surrogates; such a token is simply wrong, never a 500.
    return text.encode("utf-8", "replace")
