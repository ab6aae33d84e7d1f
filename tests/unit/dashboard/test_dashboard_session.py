"""The dashboard's session pieces that need no Redis: the opaque ids, what a stored record reveals, the
sealing of the key, and the CSRF tokens (the store itself: tests/integration/test_dashboard_sessions.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest

from services.dashboard.session import (
    REDIS_PREFIX,
    Sealer,
    Session,
    Signer,
    csrf_ok,
    decode_record,
    encode_record,
    login_token_ok,
    new_login_token,
    new_session_id,
    redis_key,
    well_formed,
)

SECRET = "a-test-secret-that-is-long-enough-000"
SIGNER = Signer(SECRET)
SEALER = Sealer(SECRET)
NOW = time.time()
SHOP = Session("shop", "wbk_k_s3cr3t", "s-1", "店", "csrf-secret-of-the-session", NOW, NOW)


def test_session_ids_are_random_and_anything_else_is_refused_unread() -> None:
    ids = {new_session_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(well_formed(i) and len(i) == 43 for i in ids)
    one = next(iter(ids))
    for bad in (None, "", one[:-1], one + "A", "é" * 43, one[:-1] + "é", one[:-1] + ".", "A" * 5000, "Ã©"):
        assert not well_formed(bad), bad


def test_redis_holds_the_ids_hash_not_the_id() -> None:
    sid = new_session_id()
    key = redis_key(sid)
    assert key == REDIS_PREFIX + hashlib.sha256(sid.encode()).hexdigest()
    assert sid not in key


def test_a_record_keeps_the_key_and_csrf_secret_sealed_to_its_session_id() -> None:
    sid = new_session_id()
    record = encode_record(SEALER, sid, SHOP)
    assert decode_record(SEALER, sid, record) == SHOP
    assert decode_record(SEALER, sid, record.encode()) == SHOP  # as Redis returns it
    for secret in (SHOP.key, SHOP.csrf, sid):
        assert secret not in record
    clear = json.loads(record)
    assert (clear["kind"], clear["shop_id"], clear["seen"]) == ("shop", "s-1", NOW)  # for operators reading Redis
    # Sealed to this id and this secret: another id (a record copied under another key) or a rotated
    # DASHBOARD_SECRET_KEY opens nothing.
    assert decode_record(SEALER, new_session_id(), record) is None
    assert decode_record(Sealer("another-secret-of-enough-length-0000"), sid, record) is None


def test_a_record_altered_in_redis_is_no_session() -> None:
    sid = new_session_id()
    clear = json.loads(encode_record(SEALER, sid, SHOP))
    # The clear role is for reading only: the sealed one decides, so "operator" here changes nothing.
    promoted = decode_record(SEALER, sid, json.dumps({**clear, "kind": "operator", "shop_id": None}))
    assert promoted is not None
    assert (promoted.kind, promoted.shop_id) == ("shop", "s-1")
    token = clear["sealed"]
    flipped = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    for raw in (
        json.dumps({**clear, "sealed": flipped}),
        json.dumps({**clear, "v": 0}),
        json.dumps({**clear, "sealed": 7}),
        json.dumps([1, 2]),
        "not json",
        b"\xff\xfe",
    ):
        assert decode_record(SEALER, sid, raw) is None, raw


def test_sealing_is_not_the_key_in_base64() -> None:
    sid = new_session_id()
    token = SEALER.seal(sid, SHOP.key.encode())
    assert SEALER.unseal(sid, token) == SHOP.key.encode()
    assert SHOP.key.encode() not in base64.urlsafe_b64decode(token)
    assert SEALER.seal(sid, SHOP.key.encode()) != token  # a fresh IV every time
    assert SEALER.unseal(sid, "garbage") is None


def test_csrf_tokens_are_the_sessions_own() -> None:
    assert csrf_ok(SHOP, SHOP.csrf)
    assert not csrf_ok(SHOP, "")
    assert not csrf_ok(SHOP, SHOP.csrf + "x")
    other = Session("shop", SHOP.key, "s-1", None, "another-sessions-csrf-secret", NOW, NOW)
    assert not csrf_ok(SHOP, other.csrf)
    assert not csrf_ok(SHOP, "é\udcff")  # odd characters are a wrong token, not an exception


@pytest.mark.parametrize("cookie", ["a.é", "Ã©.Ã©", "é", "\x00.\x00", "x" * 5000 + ".é"])
def test_the_sign_in_forms_cookie_refuses_non_ascii_without_raising(cookie: str) -> None:
    # compare_digest raises TypeError on non-ASCII str: the sign-in form answered 500 for such a cookie.
    token, _ = new_login_token(SIGNER)
    assert SIGNER.unsign(cookie) is None
    assert not login_token_ok(SIGNER, token, cookie)


def test_the_sign_in_forms_token() -> None:
    token, cookie = new_login_token(SIGNER)
    assert login_token_ok(SIGNER, token, cookie)
    assert not login_token_ok(SIGNER, token, None)
    assert not login_token_ok(SIGNER, "other", cookie)
    assert not login_token_ok(SIGNER, token, SIGNER.sign(b"other"))
    body, mac = cookie.rsplit(".", 1)
    assert not login_token_ok(SIGNER, token, body + "A." + mac)


def test_only_an_operator_sends_x_shop_id() -> None:
    operator = Session("operator", "admin", None, None, "c", NOW, NOW)
    assert SHOP.headers("s-1") == {"Authorization": "Bearer wbk_k_s3cr3t"}
    assert operator.headers("s-2") == {"Authorization": "Bearer admin", "X-Shop-Id": "s-2"}
    assert SHOP.may_see("s-1")
    assert not SHOP.may_see("s-2")
    assert operator.may_see("s-2")
