"""The dashboard's signed cookies: tampering, expiry and the CSRF tokens."""

from __future__ import annotations

import time
from dataclasses import replace

from services.dashboard.session import (
    Signer,
    csrf_ok,
    dump_session,
    load_session,
    login_token_ok,
    new_login_token,
    new_session,
)

SIGNER = Signer("a-test-secret-that-is-long-enough-000")


def test_a_session_round_trips_and_a_changed_byte_or_key_breaks_it() -> None:
    session = new_session("shop", "wbk_k_s", "s-1", "店", hours=1)
    value = dump_session(SIGNER, session)
    assert load_session(SIGNER, value) == session
    body, mac = value.rsplit(".", 1)
    assert load_session(SIGNER, body[:-1] + ("A" if body[-1] != "A" else "B") + "." + mac) is None
    assert load_session(Signer("another-secret-of-enough-length-0000"), value) is None
    assert load_session(SIGNER, "") is None
    assert load_session(SIGNER, "garbage") is None


def test_an_expired_session_is_no_session() -> None:
    session = replace(new_session("operator", "admin", None, None, hours=1), expires=time.time() - 1)
    assert load_session(SIGNER, dump_session(SIGNER, session)) is None


def test_csrf_tokens() -> None:
    session = new_session("shop", "wbk_k_s", "s-1", None, hours=1)
    assert csrf_ok(session, session.csrf)
    assert not csrf_ok(session, "")
    assert not csrf_ok(session, session.csrf + "x")
    token, cookie = new_login_token(SIGNER)
    assert login_token_ok(SIGNER, token, cookie)
    assert not login_token_ok(SIGNER, token, None)
    assert not login_token_ok(SIGNER, "other", cookie)
    assert not login_token_ok(SIGNER, token, SIGNER.sign(b"other"))


def test_only_an_operator_sends_x_shop_id() -> None:
    shop = new_session("shop", "wbk_k_s", "s-1", None, hours=1)
    operator = new_session("operator", "admin", None, None, hours=1)
    assert shop.headers("s-1") == {"Authorization": "Bearer wbk_k_s"}
    assert operator.headers("s-2") == {"Authorization": "Bearer admin", "X-Shop-Id": "s-2"}
    assert shop.may_see("s-1")
    assert not shop.may_see("s-2")
    assert operator.may_see("s-2")
