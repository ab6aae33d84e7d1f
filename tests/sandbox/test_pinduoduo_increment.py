"""``pdd.order.number.list.increment.get``: the mall's orders updated in a window, by status, in pages."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.sandbox.test_pinduoduo_support import PddHarness, error_of, running_pdd

LIST = "pdd.order.number.list.increment.get"
KEY = "order_sn_increment_get_response"


@pytest.fixture
async def pdd() -> AsyncIterator[PddHarness]:
    async with running_pdd() as harness:
        yield harness


async def listed(pdd: PddHarness, token: str, span_s: int = 600, **extra: str) -> dict[str, Any]:
    now = int(time.time())
    params = {
        "start_updated_at": str(now - span_s),
        "end_updated_at": str(now + 1),
        "order_status": "1",
        "refund_status": "5",
        **extra,
    }
    return await pdd.call(LIST, token, **params)


def sns(body: dict[str, Any]) -> list[str]:
    return [row["order_sn"] for row in body[KEY]["order_sn_list"]]


async def test_lists_the_malls_confirmed_orders_updated_in_the_window_as_order_info(pdd: PddHarness) -> None:
    mall_id, token = await pdd.mall()
    other_mall, _ = await pdd.mall()
    paid = await pdd.orders(mall_id, 3)
    await pdd.orders(mall_id, 1, confirmed=False)  # not confirmed: not 待发货
    await pdd.orders(other_mall, 2)
    body = await listed(pdd, token)
    assert sorted(sns(body)) == sorted(paid)
    assert body[KEY]["total_count"] == 3
    row = body[KEY]["order_sn_list"][0]
    info = (await pdd.call("pdd.order.information.get", token, order_sn=row["order_sn"]))["order_info_get_response"]
    assert row == info["order_info"]
    assert row["updated_at"]


async def test_the_window_bounds_updated_at(pdd: PddHarness) -> None:
    mall_id, token = await pdd.mall()
    await pdd.orders(mall_id, 2)
    now = int(time.time())
    later = await pdd.call(
        LIST,
        token,
        start_updated_at=str(now + 60),
        end_updated_at=str(now + 120),
        order_status="1",
        refund_status="5",
    )
    assert sns(later) == []
    assert later[KEY]["total_count"] == 0


async def test_statuses_filter(pdd: PddHarness) -> None:
    mall_id, token = await pdd.mall()
    shipped, refunding, waiting = await pdd.orders(mall_id, 3)
    sent = await pdd.call(
        "pdd.logistics.online.send", token, order_sn=shipped, logistics_id="115", tracking_number="731234567890"
    )
    assert sent["logistics_online_send_response"]["is_success"] is True
    asked = await pdd.client.post(f"/control/pinduoduo/orders/{refunding}/refund", json={"agree": False})
    assert asked.status_code == 200
    assert sorted(sns(await listed(pdd, token))) == sorted([refunding, waiting])
    assert sns(await listed(pdd, token, refund_status="1")) == [waiting]
    assert sns(await listed(pdd, token, order_status="2")) == [shipped]
    assert sorted(sns(await listed(pdd, token, order_status="5"))) == sorted([shipped, refunding, waiting])


async def test_pages_with_total_or_has_next(pdd: PddHarness) -> None:
    mall_id, token = await pdd.mall()
    made = await pdd.orders(mall_id, 5)
    pages = [await listed(pdd, token, page=str(n), page_size="2") for n in (1, 2, 3, 4)]
    assert [len(sns(p)) for p in pages] == [2, 2, 1, 0]
    assert sorted(sn for p in pages for sn in sns(p)) == sorted(made)
    assert {p[KEY]["total_count"] for p in pages} == {5}
    first = await listed(pdd, token, page="1", page_size="2", use_has_next="true")
    last = await listed(pdd, token, page="3", page_size="2", use_has_next="true")
    assert (first[KEY]["has_next"], last[KEY]["has_next"]) == (True, False)
    assert "total_count" not in first[KEY]
    # Oldest update first: an order updated while one pages moves to the last page.
    updated = [row["updated_at"] for p in pages for row in p[KEY]["order_sn_list"]]
    assert updated == sorted(updated)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"span_s": 1801}, "end_updated_at"),
        ({"page_size": "101"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"page": "0"}, "page"),
        ({"order_status": "4"}, "order_status"),
        ({"refund_status": "6"}, "refund_status"),
    ],
)
async def test_limits_are_refused_as_parameter_errors(pdd: PddHarness, changes: dict[str, Any], named: str) -> None:
    _, token = await pdd.mall()
    body = await listed(pdd, token, **changes)
    assert error_of(body) == 10000
    assert body["error_response"]["error_msg"] == f"参数错误:{named}"


async def test_a_span_of_exactly_thirty_minutes_is_taken(pdd: PddHarness) -> None:
    _, token = await pdd.mall()
    assert sns(await listed(pdd, token, span_s=1799)) == []


async def test_required_parameters_and_the_token(pdd: PddHarness) -> None:
    _, token = await pdd.mall()
    now = str(int(time.time()))
    missing = await pdd.call(LIST, token, start_updated_at=now, end_updated_at=now, refund_status="5")
    assert error_of(missing) == 10000
    assert missing["error_response"]["error_msg"] == "参数错误:order_status"
    backwards = await pdd.call(
        LIST, token, start_updated_at=now, end_updated_at=str(int(now) - 1), order_status="1", refund_status="5"
    )
    assert error_of(backwards) == 10000
    no_token = await pdd.call(LIST, None, start_updated_at=now, end_updated_at=now, order_status="1", refund_status="5")
    assert error_of(no_token) == 10000


async def test_faults_strike_the_list_method(pdd: PddHarness) -> None:
    _, token = await pdd.mall()
    await pdd.faults(error_rate={LIST: 1.0})
    assert error_of(await listed(pdd, token)) == 52103
