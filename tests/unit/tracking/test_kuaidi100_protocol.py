"""Kuaidi100 wire format against recorded payloads (taken from the provider's documented shapes)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from services.tracking.kuaidi100 import protocol as p
from shared.tracking import TrackingStatus

RECORDED_PUSH = (
    '{"status":"polling","billstatus":"polling","message":"","autoCheck":"0","comOld":"","comNew":"",'
    '"lastResult":{"message":"ok","state":"1002","status":"200","condition":"00","ischeck":"0",'
    '"com":"zhongtong","nu":"78000000001","data":[{"time":"2026-11-19 01:11:53","ftime":"2026-11-19 01:11:53",'
    '"context":"【杭州市】 快件已到达 【杭州转运中心】","status":"在途","areaCode":"330100000000",'
    '"areaName":"浙江,杭州市","statusCode":"1002"},{"time":"2026-11-18 22:46:53","ftime":"2026-11-18 22:46:53",'
    '"context":"【杭州市】 快件离开 【杭州上城区营业部】 已发往 【杭州转运中心】","status":"在途",'
    '"areaCode":"330100000000","areaName":"浙江,杭州市","statusCode":"1002"},{"time":"2026-11-18 20:15:34",'
    '"ftime":"2026-11-18 20:15:34","context":"【杭州市】 【杭州上城区营业部】 的 任师傅（13534234785） 已揽收",'
    '"status":"揽收","areaCode":"330100000000","areaName":"浙江,杭州市","statusCode":"103"}]}}'
)
RECORDED_ABORT = (
    '{"status":"abort","billstatus":"polling","message":"3天查询无记录","autoCheck":"0","comOld":"","comNew":"",'
    '"lastResult":{"message":"ok","state":"0","status":"200","condition":"00","ischeck":"0","com":"yunda",'
    '"nu":"4300000000001","data":[]}}'
)


def test_subscribe_form() -> None:
    form = p.subscribe_form("zhongtong", "78000000001", "k", "http://us/webhooks/tracking/kuaidi100", "s4lt")
    assert form["schema"] == "json"
    param = json.loads(form["param"])
    assert param == {
        "company": "zhongtong",
        "number": "78000000001",
        "key": "k",
        "parameters": {"callbackurl": "http://us/webhooks/tracking/kuaidi100", "salt": "s4lt", "resultv2": "4"},
    }


def test_subscribe_answers() -> None:
    ok = p.parse_subscribe(200, '{"result":true,"returnCode":"200","message":"提交成功"}'.encode())
    assert ok.outcome == p.SubscribeOutcome.SUBSCRIBED
    dup = p.parse_subscribe(200, '{"result":false,"returnCode":"501","message":"重复订阅"}'.encode())
    assert dup.outcome == p.SubscribeOutcome.SUBSCRIBED
    assert dup.code == "501"
    for code in ("700", "702"):
        assert p.parse_subscribe(200, f'{{"result":false,"returnCode":"{code}","message":"x"}}'.encode()).outcome == (
            p.SubscribeOutcome.REJECTED
        )
    refused = p.parse_subscribe(200, b'{"result":false,"returnCode":"701","message":"carrier refused"}')
    assert refused.outcome == p.SubscribeOutcome.REFUSED
    assert p.parse_subscribe(200, b'{"result":false,"returnCode":"500","message":"x"}').outcome == (
        p.SubscribeOutcome.RETRY
    )
    assert p.parse_subscribe(502, b"Bad Gateway").outcome == p.SubscribeOutcome.RETRY


def test_push_sign_matches_the_documented_formula() -> None:
    # MD5(param + salt), uppercase hex.
    assert p.push_sign(RECORDED_PUSH, "s4lt") == hashlib.md5((RECORDED_PUSH + "s4lt").encode()).hexdigest().upper()
    sign = p.push_sign(RECORDED_PUSH, "s4lt")
    assert p.verify_push(RECORDED_PUSH, "s4lt", sign)
    assert p.verify_push(RECORDED_PUSH, "s4lt", sign.lower())
    assert not p.verify_push(RECORDED_PUSH, "other", sign)
    assert not p.verify_push(RECORDED_PUSH + " ", "s4lt", sign)


def test_parse_push() -> None:
    push = p.parse_push(RECORDED_PUSH)
    assert (push.status, push.com, push.number, push.state, push.finished) == (
        "polling",
        "zhongtong",
        "78000000001",
        "1002",
        False,
    )
    assert [e.status for e in push.events] == [
        TrackingStatus.COLLECTED,
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.IN_TRANSIT,
    ]  # oldest first
    first = push.events[0]
    assert first.occurred_at == datetime(2026, 11, 18, 12, 15, 34, tzinfo=UTC)
    assert first.code == "103"
    assert first.area_name == "浙江,杭州市"
    assert len({e.fingerprint for e in push.events}) == 3
    assert p.push_number(RECORDED_PUSH) == ("zhongtong", "78000000001")


def test_the_same_event_has_the_same_fingerprint_in_every_push() -> None:
    again = p.parse_push(RECORDED_PUSH.replace('"state":"1002"', '"state":"5"'))
    assert [e.fingerprint for e in again.events] == [e.fingerprint for e in p.parse_push(RECORDED_PUSH).events]


def test_parse_abort() -> None:
    push = p.parse_push(RECORDED_ABORT)
    assert push.aborted
    assert push.events == []
    assert push.message == "3天查询无记录"


def test_unreadable_pushes() -> None:
    for bad in ("not json", "[]", '{"status":"polling"}', '{"lastResult":{"data":[{"time":"yesterday"}]}}'):
        try:
            p.parse_push(bad)
        except p.PushError:
            continue
        raise AssertionError(f"accepted {bad!r}")
    assert p.push_number("nope") is None


def test_query_form_and_answers() -> None:
    form = p.query_form("zhongtong", "78000000001", "key", "cust")
    assert json.loads(form["param"]) == {"com": "zhongtong", "num": "78000000001"}
    assert form["sign"] == p.md5_upper(form["param"] + "key" + "cust")
    assert form["customer"] == "cust"
    last = json.loads(RECORDED_PUSH)["lastResult"]
    found = p.parse_query(200, json.dumps(last, ensure_ascii=False).encode())
    assert found.outcome == p.QueryOutcome.FOUND
    assert found.body is not None
    wrapped = p.parse_push(p.query_as_param(found.body))
    assert wrapped.number == "78000000001"
    assert wrapped.status == "polling"
    for code, outcome in (
        ("500", p.QueryOutcome.NO_RESULT),
        ("503", p.QueryOutcome.RATE_LIMITED),
        ("400", p.QueryOutcome.REJECTED),
        ("502", p.QueryOutcome.RETRY),
    ):
        answer = f'{{"result":false,"returnCode":"{code}","message":"x"}}'.encode()
        assert p.parse_query(200, answer).outcome == outcome
    assert p.parse_query(500, b"oops").outcome == p.QueryOutcome.RETRY


# -- the webhook's form reader ------------------------------------------------------------------------


def _stdlib_form(body: bytes) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def test_parse_form_reads_a_push_exactly_as_the_standard_library() -> None:
    from urllib.parse import urlencode

    sign = hashlib.md5((RECORDED_PUSH + "salt").encode()).hexdigest().upper()
    body = urlencode({"param": RECORDED_PUSH, "sign": sign}).encode()
    assert p.parse_form(body) == _stdlib_form(body) == {"param": RECORDED_PUSH, "sign": sign}


def test_parse_form_matches_the_standard_library_on_awkward_bodies() -> None:
    cases = [
        b"",
        b"a=1&&b=2&",
        b"a&b=&=c",
        b"a=1&a=2",  # the last one wins, as with dict(parse_qsl(...))
        b"x=a+b%2Bc%20d",
        b"x=back\\slash\\x41%5Cx41",  # backslashes are data, never escapes
        b"x=%E4%B8%AD%e6%96%87",  # lower- and upper-case hex
        b"x=%ZZ&y=%4",  # malformed escapes stay as they are
        b"x=%",
        b"x=%FF%FE",  # not UTF-8: replaced, as the standard library does
        "x=中文&y=%E4%B8%AD".encode(),  # raw non-ASCII bytes
        b"x=\xff",
    ]
    for body in cases:
        assert p.parse_form(body) == _stdlib_form(body), body


def test_parse_form_matches_the_standard_library_on_random_bodies() -> None:
    import random

    rng = random.Random(7)
    alphabet = b"ab=&%+\\x0123456789ABCDEFfz \xe4\xb8\xad"
    for _ in range(5000):
        body = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 24)))
        assert p.parse_form(body) == _stdlib_form(body), body
