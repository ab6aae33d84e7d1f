"""The provider client's I/O half: the published paths, and the query's customer and sign."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest
import respx

from services.tracking.kuaidi100.client import Kuaidi100Client
from services.tracking.kuaidi100.protocol import QueryOutcome, SubscribeOutcome

BASE = "https://poll.kuaidi100.com"
KEY = "k100-test-key"
CUSTOMER = "3F2504E04F8911D39A0C0305E82C3301"


def form_of(request: httpx.Request) -> dict[str, str]:
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    return dict(httpx.QueryParams(request.content.decode()))


def md5_upper(text: str) -> str:
    # Written out here rather than imported: the test must not share the client's signing code.
    return hashlib.md5(text.encode()).hexdigest().upper()


@pytest.mark.parametrize("base", [BASE, f"{BASE}/"])
async def test_query_posts_to_poll_query_do_with_customer_and_sign(base: str) -> None:
    last = {"message": "ok", "nu": "78000000001", "ischeck": "0", "condition": "00", "com": "zhongtong"}
    answer = {**last, "status": "200", "state": "0", "data": []}
    async with httpx.AsyncClient() as http:
        client = Kuaidi100Client(http, base, KEY, CUSTOMER, 5.0)
        with respx.mock(assert_all_called=True) as mock:
            route = mock.post(f"{BASE}/poll/query.do").respond(json=answer)
            result = await client.query("zhongtong", "78000000001")
    assert result.outcome == QueryOutcome.FOUND
    assert result.body == answer
    [call] = route.calls
    assert call.request.method == "POST"
    form = form_of(call.request)
    assert set(form) == {"customer", "param", "sign"}
    assert form["customer"] == CUSTOMER
    assert json.loads(form["param"]) == {"com": "zhongtong", "num": "78000000001"}
    assert form["sign"] == md5_upper(form["param"] + KEY + CUSTOMER)  # MD5(param + key + customer), upper hex


async def test_query_reads_the_providers_refusal() -> None:
    refusal = {"result": False, "returnCode": "400", "message": "验证签名失败"}
    async with httpx.AsyncClient() as http:
        client = Kuaidi100Client(http, BASE, KEY, CUSTOMER, 5.0)
        with respx.mock(assert_all_called=True) as mock:
            mock.post(f"{BASE}/poll/query.do").respond(json=refusal)
            result = await client.query("zhongtong", "78000000001")
    assert (result.outcome, result.code, result.body) == (QueryOutcome.REJECTED, "400", None)


async def test_subscribe_posts_to_poll() -> None:
    async with httpx.AsyncClient() as http:
        client = Kuaidi100Client(http, BASE, KEY, CUSTOMER, 5.0)
        with respx.mock(assert_all_called=True) as mock:
            route = mock.post(f"{BASE}/poll").respond(json={"result": True, "returnCode": "200", "message": "提交成功"})
            result = await client.subscribe("zhongtong", "78000000001", "https://us.example/cb", "s4lt")
    assert result.outcome == SubscribeOutcome.SUBSCRIBED
    form = form_of(route.calls.last.request)
    assert form["schema"] == "json"
    param = json.loads(form["param"])
    assert (param["company"], param["number"], param["key"]) == ("zhongtong", "78000000001", KEY)
    assert param["parameters"]["callbackurl"] == "https://us.example/cb"
    assert param["parameters"]["salt"] == "s4lt"
