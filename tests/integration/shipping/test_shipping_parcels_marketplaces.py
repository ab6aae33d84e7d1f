"""Several parcels, split orders, number changes and voids on the marketplaces (Taobao and Pinduoduo), against
fakes that answer as the sandbox does: what each marketplace is told (the exact calls and their parameters),
what it then holds, and what our orders, shipments and allocation's numbers become."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop, worker_ctx
from tests.integration.shipping.fake_pinduoduo import ONLINE_SEND, UPLOAD_EXTRA, ZTO, PddOrder
from tests.integration.shipping.fakes import ASCP_RESEND, ASCP_SEND, OFFLINE_SEND, RESEND, FakeTrade
from tests.support import Env

FULLINFO = "taobao.trade.fullinfo.get"
ORDER_INFO = "pdd.order.information.get"
CHANNELS = ["taobao", "pinduoduo"]
# The parameters every call carries (signing, app, session): left out of the comparisons below.
COMMON = frozenset(
    {"method", "app_key", "sign_method", "timestamp", "format", "v", "session", "sign"}
    | {"type", "client_id", "data_type", "version", "access_token"}
)


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(30)})


@dataclass
class Side:
    """A marketplace order on its channel, and our order for it."""

    channel: str
    external_id: str
    order: dict[str, Any]
    token: str
    seller_id: str
    trade: FakeTrade | None = None
    pdd: PddOrder | None = None

    @property
    def numbers(self) -> list[str]:
        """Every number the marketplace holds for the order."""
        if self.trade is not None:
            return self.trade.numbers
        assert self.pdd is not None
        return self.pdd.numbers


async def _side(world: World, shop: BoundShop, channel: str, lines: int = 1) -> Side:
    if channel == "taobao":
        trade = world.market.new_trade(shop.nick, lines=lines)
        resp = await world.shipping.post("/webhooks/marketplace", data=world.market.message(trade))
        assert resp.json()["status"] == "order_created", resp.text
        session = next(s for s, nick in world.market.sessions.items() if nick == shop.nick)
        order = await _only_order(world, shop, trade.tid)
        return Side(channel, trade.tid, order, session, shop.nick, trade=trade)
    mall_id, token = world.pdd.add_mall()
    bound = await world.shipping.post(
        "/v1/stores", json={"channel": "pinduoduo", "token": token, "name": "拼多多店"}, headers=shop.headers
    )
    assert bound.status_code == 201, bound.text
    pdd = world.pdd.new_order(mall_id, items=lines)
    body, headers = world.pdd.message(pdd)
    resp = await world.shipping.post("/webhooks/pinduoduo", content=body, headers=headers)
    assert resp.json()["status"] == "order_created", resp.text
    order = await _only_order(world, shop, pdd.order_sn)
    return Side(channel, pdd.order_sn, order, token, str(mall_id), pdd=pdd)


async def _only_order(world: World, shop: BoundShop, external_id: str) -> dict[str, Any]:
    found = await world.shipping.get("/v1/orders", params={"external_id": external_id}, headers=shop.headers)
    (order,) = found.json()["data"]
    assert len(order["items"]) >= 1
    return dict(order)


def _mark(world: World, side: Side) -> int:
    return len(world.market.calls if side.channel == "taobao" else world.pdd.calls)


def _calls(world: World, side: Side, since: int) -> list[tuple[str, dict[str, str]]]:
    """The order's calls to its marketplace since ``since``: (method, business parameters)."""
    if side.channel == "taobao":
        raw = [c for c in world.market.calls[since:] if c.get("tid") == side.external_id]
        return [(c["method"], {k: v for k, v in c.items() if k not in COMMON}) for c in raw]
    rows = [c for c in world.pdd.calls[since:] if c.get("order_sn") == side.external_id]
    return [(c["type"], {k: v for k, v in c.items() if k not in COMMON}) for c in rows]


def _pkgs(*numbers: str) -> list[dict[str, str]]:
    return [{"company_code": "ZTO", "out_sid": n} for n in numbers]


def _extras(*numbers: str) -> list[dict[str, Any]]:
    return [{"shipping_id": ZTO, "tracking_number": n} for n in numbers]


def _decoded(calls: list[tuple[str, dict[str, str]]]) -> list[tuple[str, dict[str, Any]]]:
    """The calls with their JSON parameters (consign_pkgs, extra_track_list) read."""
    out: list[tuple[str, dict[str, Any]]] = []
    for method, params in calls:
        found: dict[str, Any] = dict(params)
        for name in ("consign_pkgs", "extra_track_list"):
            if name in found:
                found[name] = json.loads(found[name])
        out.append((method, found))
    return out


def _first_send(side: Side, numbers: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """What confirming ``numbers`` (the whole order) sends on the side's channel."""
    tid = side.external_id
    if side.channel == "taobao":
        if len(numbers) == 1:
            return [(OFFLINE_SEND, {"tid": tid, "out_sid": numbers[0], "company_code": "ZTO"})]
        return [(ASCP_SEND, {"tid": tid, "consign_pkgs": _pkgs(*numbers)})]
    send = (ONLINE_SEND, {"order_sn": tid, "logistics_id": str(ZTO), "tracking_number": numbers[0]})
    if len(numbers) == 1:
        return [send]
    return [send, (UPLOAD_EXTRA, {"order_sn": tid, "extra_track_type": "1", "extra_track_list": _extras(*numbers[1:])})]


async def _ship(world: World, shop: BoundShop, order_id: str, **body: Any) -> dict[str, Any]:
    resp = await world.shipping.post(
        f"/v1/orders/{order_id}/ship", json={"carrier": "ZTO", **body}, headers=shop.headers
    )
    assert resp.status_code == 202, resp.text
    return dict(resp.json())


async def _get(world: World, shop: BoundShop, path: str) -> dict[str, Any]:
    resp = await world.shipping.get(path, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def _waybills(world: World, shop: BoundShop, numbers: list[str]) -> list[str]:
    found = []
    for n in numbers:
        found.append((await world.allocation.get(f"/v1/waybills/{n}", headers=shop.headers)).json()["status"])
    return found


def _live(shipment: dict[str, Any]) -> list[str]:
    return [p["number"] for p in sorted(shipment["parcels"], key=lambda p: p["seq"]) if p["status"] == "live"]


async def _read_back(redis: Any, side: Side) -> Any:
    """The order as our channel adapter reads it back from the marketplace."""
    from services.shipping.channels.base import StoreAccess

    async with worker_ctx(redis) as ctx:
        channel = ctx["resources"].channels.marketplace(side.channel)
        return await channel.fetch_order(StoreAccess("store", side.seller_id, side.token), side.external_id)


# --- several parcels --------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
async def test_three_parcels_are_confirmed_with_every_number_on_the_marketplace(
    world: World, shop: BoundShop, redis: Any, channel: str
) -> None:
    side = await _side(world, shop, channel)
    shipment = await _ship(world, shop, side.order["id"], parcel_count=3)
    numbers = _live(shipment)
    assert len(set(numbers)) == 3
    since = _mark(world, side)
    await world.run_jobs()
    # Taobao: one multi-package send with every package; Pinduoduo: the first number shipped, the others as
    # extra numbers of type 1 (分包发货).
    assert _decoded(_calls(world, side, since)) == _first_send(side, numbers)
    assert (await _get(world, shop, f"/v1/shipments/{shipment['id']}"))["status"] == "confirmed"
    assert (await _get(world, shop, f"/v1/orders/{side.order['id']}"))["status"] == "shipped"
    assert await _waybills(world, shop, numbers) == ["shipped"] * 3
    assert side.numbers == numbers
    if side.trade is not None:
        assert side.trade.status == "WAIT_BUYER_CONFIRM_GOODS"
        assert side.trade.shipped() == [(tuple(side.trade.oids), numbers)]
    else:
        assert side.pdd is not None
        assert (side.pdd.order_status, side.pdd.tracking_number) == (2, numbers[0])
    found = await _read_back(redis, side)
    assert found.state == "shipped"
    assert found.shipped_number == numbers[0]
    assert found.shipped_numbers == tuple(numbers)


# --- split orders -----------------------------------------------------------------------------------------


async def test_a_split_taobao_order_ships_in_two_parts_each_naming_its_lines(world: World, shop: BoundShop) -> None:
    side = await _side(world, shop, "taobao", lines=3)
    trade = side.trade
    assert trade is not None
    oid1, oid2, oid3 = trade.oids
    since = _mark(world, side)
    first = await _ship(world, shop, side.order["id"], lines=[1])
    await world.run_jobs()
    sent = {"tid": trade.tid, "out_sid": first["number"], "company_code": "ZTO", "is_split": "1", "sub_tid": oid1}
    assert _calls(world, side, since) == [(OFFLINE_SEND, sent)]
    assert trade.status == "SELLER_CONSIGNED_PART"
    assert (await _get(world, shop, f"/v1/orders/{side.order['id']}"))["status"] == "partly_shipped"

    since = _mark(world, side)
    rest = await _ship(world, shop, side.order["id"])  # lines 2 and 3, every line not shipped yet
    assert (await _get(world, shop, f"/v1/orders/{side.order['id']}"))["status"] == "partly_shipped"
    await world.run_jobs()
    sent = {
        "tid": trade.tid,
        "out_sid": rest["number"],
        "company_code": "ZTO",
        "is_split": "1",
        "sub_tid": f"{oid2},{oid3}",
    }
    assert _calls(world, side, since) == [(OFFLINE_SEND, sent)]
    assert trade.status == "WAIT_BUYER_CONFIRM_GOODS"
    assert trade.shipped() == [((oid1,), [first["number"]]), ((oid2, oid3), [rest["number"]])]
    assert (await _get(world, shop, f"/v1/orders/{side.order['id']}"))["status"] == "shipped"
    assert await _waybills(world, shop, [first["number"], rest["number"]]) == ["shipped", "shipped"]


async def test_a_split_taobao_part_in_two_parcels_is_one_multi_package_send_of_its_lines(
    world: World, shop: BoundShop
) -> None:
    side = await _side(world, shop, "taobao", lines=3)
    trade = side.trade
    assert trade is not None
    oid1, _, oid3 = trade.oids
    await _ship(world, shop, side.order["id"], lines=[2])
    await world.run_jobs()
    since = _mark(world, side)
    rest = await _ship(world, shop, side.order["id"], parcels=[{"lines": [1]}, {"lines": [3]}])
    numbers = _live(rest)
    await world.run_jobs()
    sent = {"tid": trade.tid, "consign_pkgs": _pkgs(*numbers), "sub_tid": f"{oid1},{oid3}"}
    assert _decoded(_calls(world, side, since)) == [(ASCP_SEND, sent)]
    assert trade.status == "WAIT_BUYER_CONFIRM_GOODS"
    assert trade.shipped()[1] == ((oid1, oid3), numbers)
    assert (await _get(world, shop, f"/v1/orders/{side.order['id']}"))["status"] == "shipped"


async def test_a_split_pinduoduo_order_ships_its_later_part_as_extra_numbers(world: World, shop: BoundShop) -> None:
    side = await _side(world, shop, "pinduoduo", lines=2)
    pdd = side.pdd
    assert pdd is not None
    since = _mark(world, side)
    first = await _ship(world, shop, side.order["id"], lines=[1])
    await world.run_jobs()
    # The first part ships the order on Pinduoduo (it names no line: the platform ships no line apart).
    sent = {"order_sn": pdd.order_sn, "logistics_id": str(ZTO), "tracking_number": first["number"]}
    assert _calls(world, side, since) == [(ONLINE_SEND, sent)]
    assert (await _get(world, shop, f"/v1/orders/{side.order['id']}"))["status"] == "partly_shipped"

    since = _mark(world, side)
    rest = await _ship(world, shop, side.order["id"], parcel_count=2)
    numbers = _live(rest)
    await world.run_jobs()
    extra = {"order_sn": pdd.order_sn, "extra_track_type": "1", "extra_track_list": _extras(*numbers)}
    assert _decoded(_calls(world, side, since)) == [(UPLOAD_EXTRA, extra)]
    assert pdd.numbers == [first["number"], *numbers]
    assert (await _get(world, shop, f"/v1/orders/{side.order['id']}"))["status"] == "shipped"
    assert await _waybills(world, shop, [first["number"], *numbers]) == ["shipped"] * 3


# --- changing numbers after confirmation ------------------------------------------------------------------


@pytest.mark.parametrize("parcels", [1, 2])
@pytest.mark.parametrize("channel", CHANNELS)
async def test_changing_a_confirmed_marketplace_shipments_numbers(
    world: World, shop: BoundShop, channel: str, parcels: int
) -> None:
    side = await _side(world, shop, channel)
    shipment = await _ship(world, shop, side.order["id"], parcel_count=parcels)
    old = _live(shipment)
    await world.run_jobs()
    since = _mark(world, side)
    resp = await world.shipping.post(f"/v1/shipments/{shipment['id']}/change-numbers", json={}, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    changed = resp.json()
    new = _live(changed)
    assert len(new) == parcels
    assert not set(new) & set(old)
    assert sorted(p["number"] for p in changed["parcels"] if p["status"] == "voided") == sorted(old)
    tid = side.external_id
    expected: list[tuple[str, dict[str, Any]]]
    if channel == "taobao":
        if parcels == 1:
            expected = [(RESEND, {"tid": tid, "out_sid": new[0], "company_code": "ZTO"})]
        else:
            expected = [(ASCP_RESEND, {"tid": tid, "consign_pkgs": _pkgs(*new)})]
    else:
        redelivery = {"order_sn": tid, "logistics_id": str(ZTO), "tracking_number": new[0], "redelivery_type": "2"}
        expected = [(ONLINE_SEND, redelivery)]
        if parcels > 1:
            expected.append(
                (UPLOAD_EXTRA, {"order_sn": tid, "extra_track_type": "1", "extra_track_list": _extras(*new[1:])})
            )
    assert _decoded(_calls(world, side, since)) == expected
    if side.trade is not None:
        assert side.trade.shipped() == [(tuple(side.trade.oids), new)]
        assert not set(old) & set(world.market.used_numbers)  # given up: free on the marketplace again
    else:
        assert side.pdd is not None
        assert side.pdd.tracking_number == new[0]
        # Pinduoduo cannot remove an extra number: the old ones stay beside the new.
        assert side.pdd.numbers == [new[0], *old[1:], *new[1:]]
    await world.run_jobs()
    assert await _waybills(world, shop, old) == ["voided"] * parcels
    assert await _waybills(world, shop, new) == ["shipped"] * parcels
    assert (await _get(world, shop, f"/v1/orders/{side.order['id']}"))["status"] == "shipped"


async def test_changing_a_split_taobao_parts_numbers_names_its_lines(world: World, shop: BoundShop) -> None:
    side = await _side(world, shop, "taobao", lines=2)
    trade = side.trade
    assert trade is not None
    oid1, oid2 = trade.oids
    first = await _ship(world, shop, side.order["id"], lines=[1])
    await world.run_jobs()
    since = _mark(world, side)
    resp = await world.shipping.post(f"/v1/shipments/{first['id']}/change-numbers", json={}, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    (new,) = _live(resp.json())
    sent = {"tid": trade.tid, "out_sid": new, "company_code": "ZTO", "is_split": "1", "sub_tid": oid1}
    assert _calls(world, side, since) == [(RESEND, sent)]
    assert trade.status == "SELLER_CONSIGNED_PART"
    assert trade.shipped() == [((oid1,), [new])]
    # The other line ships afterwards as before.
    rest = await _ship(world, shop, side.order["id"])
    await world.run_jobs()
    assert trade.shipped() == [((oid1,), [new]), ((oid2,), [rest["number"]])]
    assert (await _get(world, shop, f"/v1/orders/{side.order['id']}"))["status"] == "shipped"
    assert await _waybills(world, shop, [first["number"], new]) == ["voided", "shipped"]


async def test_changing_a_later_pinduoduo_parts_numbers_keeps_the_first_parts_main_number(
    world: World, shop: BoundShop
) -> None:
    side = await _side(world, shop, "pinduoduo", lines=2)
    pdd = side.pdd
    assert pdd is not None
    first = await _ship(world, shop, side.order["id"], lines=[1])
    await world.run_jobs()
    second = await _ship(world, shop, side.order["id"], lines=[2])
    await world.run_jobs()
    since = _mark(world, side)
    resp = await world.shipping.post(f"/v1/shipments/{second['id']}/change-numbers", json={}, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    (new,) = _live(resp.json())
    # No redelivery (it would replace the first part's number): the new number is uploaded as an extra one.
    extra = {"order_sn": pdd.order_sn, "extra_track_type": "1", "extra_track_list": _extras(new)}
    assert _decoded(_calls(world, side, since)) == [(UPLOAD_EXTRA, extra)]
    assert pdd.tracking_number == first["number"]
    assert pdd.numbers == [first["number"], second["number"], new]  # an extra number cannot be removed
    await world.run_jobs()
    assert await _waybills(world, shop, [first["number"], second["number"], new]) == ["shipped", "voided", "shipped"]


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_change_the_marketplace_refuses_changes_nothing(world: World, shop: BoundShop, channel: str) -> None:
    side = await _side(world, shop, channel)
    shipment = await _ship(world, shop, side.order["id"], parcel_count=2)
    old = _live(shipment)
    await world.run_jobs()
    # The marketplace no longer holds the shipment (a seller undid it there): it refuses to change its numbers.
    if side.trade is not None:
        side.trade.consignments, side.trade.status = [], "WAIT_SELLER_SEND_GOODS"
        code = "CD19"
    else:
        assert side.pdd is not None
        side.pdd.order_status = 1
        code = "50007"
    resp = await world.shipping.post(f"/v1/shipments/{shipment['id']}/change-numbers", json={}, headers=shop.headers)
    assert resp.status_code == 409, resp.text
    error = resp.json()["error"]
    assert error["details"]["channel_code"] == code
    if channel == "taobao":
        assert "has not shipped yet" in error["message"]
    after = await _get(world, shop, f"/v1/shipments/{shipment['id']}")
    assert _live(after) == old
    await world.run_jobs()
    assert await _waybills(world, shop, old) == ["shipped", "shipped"]


# --- a number refused among several -----------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_refused_number_of_a_multi_parcel_send_is_the_only_one_replaced(
    world: World, shop: BoundShop, channel: str
) -> None:
    side = await _side(world, shop, channel)
    shipment = await _ship(world, shop, side.order["id"], parcel_count=3)
    n1, n2, n3 = _live(shipment)
    # The marketplace has parcel 2's number (Taobao) or parcel 3's (Pinduoduo: among the extra numbers) on
    # another of the seller's orders: it refuses that number, naming it.
    if side.trade is not None:
        other_tid = world.market.new_trade(shop.nick).tid
        world.market.used_numbers[n2] = other_tid
        refused = n2
    else:
        assert side.pdd is not None
        other_sn = world.pdd.new_order(side.pdd.mall_id).order_sn
        world.pdd.used_numbers[n3] = other_sn
        refused = n3
    since = _mark(world, side)
    await world.run_jobs()
    done = await _get(world, shop, f"/v1/shipments/{shipment['id']}")
    assert done["status"] == "confirmed"
    assert done["reallocations"] == 1
    numbers = _live(done)
    replacement = next(n for n in numbers if n not in (n1, n2, n3))
    kept = [n1, n2, n3]
    expected_numbers = [replacement if n == refused else n for n in kept]
    assert numbers == expected_numbers
    assert done["number"] == n1
    events = [(h["number"], h["event"]) for h in done["history"]]
    code = "B60" if channel == "taobao" else "50005"
    assert events[-2:] == [(refused, f"quarantined ({code})"), (replacement, "assigned")]
    tid = side.external_id
    if channel == "taobao":
        assert _decoded(_calls(world, side, since)) == [
            (ASCP_SEND, {"tid": tid, "consign_pkgs": _pkgs(n1, n2, n3)}),
            (ASCP_SEND, {"tid": tid, "consign_pkgs": _pkgs(*expected_numbers)}),
        ]
    else:
        send = (ONLINE_SEND, {"order_sn": tid, "logistics_id": str(ZTO), "tracking_number": n1})
        assert _decoded(_calls(world, side, since)) == [
            send,
            (UPLOAD_EXTRA, {"order_sn": tid, "extra_track_type": "1", "extra_track_list": _extras(n2, n3)}),
            # Sent again: the order is shipped with our first number already (50002, read back), so only the
            # extra numbers are uploaded, the replacement among them.
            send,
            (ORDER_INFO, {"order_sn": tid}),
            (UPLOAD_EXTRA, {"order_sn": tid, "extra_track_type": "1", "extra_track_list": _extras(n2, replacement)}),
        ]
    assert side.numbers == expected_numbers
    assert await _waybills(world, shop, [refused]) == ["quarantined"]
    assert await _waybills(world, shop, expected_numbers) == ["shipped"] * 3
    assert (await _get(world, shop, f"/v1/orders/{side.order['id']}"))["status"] == "shipped"


# --- already shipped after a lost answer ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "lost"),
    [("taobao", "send"), ("pinduoduo", "send"), ("pinduoduo", "extra")],
    ids=["taobao-multi-package-send", "pinduoduo-online-send", "pinduoduo-extra-upload"],
)
async def test_already_shipped_after_a_lost_answer_with_several_numbers_is_success(
    world: World, shop: BoundShop, channel: str, lost: str
) -> None:
    side = await _side(world, shop, channel)
    shipment = await _ship(world, shop, side.order["id"], parcel_count=3)
    numbers = _live(shipment)
    # The marketplace takes the call, and its answer is lost (a read timeout): the retry is told "already
    # shipped", and the order read back holds our numbers.
    if side.trade is not None:
        world.market.script[side.external_id] = ["lost"]
    elif lost == "send":
        world.pdd.script[side.external_id] = ["lost"]
    else:
        world.pdd.extra_script[side.external_id] = ["lost"]
    since = _mark(world, side)
    await world.run_jobs()
    done = await _get(world, shop, f"/v1/shipments/{shipment['id']}")
    assert done["status"] == "confirmed", done
    assert done["reallocations"] == 0
    assert _live(done) == numbers
    tid = side.external_id
    methods = [m for m, _ in _calls(world, side, since)]
    if channel == "taobao":
        assert methods == [ASCP_SEND, ASCP_SEND, FULLINFO]
    elif lost == "send":
        assert methods == [ONLINE_SEND, ONLINE_SEND, ORDER_INFO, UPLOAD_EXTRA]
    else:
        assert methods == [ONLINE_SEND, UPLOAD_EXTRA, ONLINE_SEND, ORDER_INFO, UPLOAD_EXTRA]
    sent = _decoded(_calls(world, side, since))
    if side.trade is not None:
        # Both sends carried every package; the trade holds them once.
        assert [p for m, p in sent if m == ASCP_SEND] == [{"tid": tid, "consign_pkgs": _pkgs(*numbers)}] * 2
        assert side.trade.shipped() == [(tuple(side.trade.oids), numbers)]
    else:
        assert {p["tracking_number"] for m, p in sent if m == ONLINE_SEND} == {numbers[0]}
        assert sent[-1] == _first_send(side, numbers)[-1]  # the extra numbers, all of them
    assert side.numbers == numbers  # each once
    assert (await _get(world, shop, f"/v1/orders/{side.order['id']}"))["status"] == "shipped"
    assert await _waybills(world, shop, numbers) == ["shipped"] * 3


# --- voids ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_marketplace_confirmed_multi_parcel_shipment_cannot_be_voided(
    world: World, shop: BoundShop, channel: str
) -> None:
    side = await _side(world, shop, channel)
    shipment = await _ship(world, shop, side.order["id"], parcel_count=2)
    numbers = _live(shipment)
    await world.run_jobs()
    since = _mark(world, side)
    resp = await world.shipping.post(f"/v1/shipments/{shipment['id']}/void", json={}, headers=shop.headers)
    assert resp.status_code == 409, resp.text
    error = resp.json()["error"]
    assert error["code"] == "cannot_withdraw"
    assert error["details"]["channel"] == channel
    assert "change-numbers" in error["message"]
    await world.run_jobs()
    assert _calls(world, side, since) == []  # nothing asked of the marketplace: it has no call for it
    after = await _get(world, shop, f"/v1/shipments/{shipment['id']}")
    assert after["status"] == "confirmed"
    assert _live(after) == numbers
    assert side.numbers == numbers
    assert await _waybills(world, shop, numbers) == ["shipped", "shipped"]
    assert (await _get(world, shop, f"/v1/orders/{side.order['id']}"))["status"] == "shipped"
