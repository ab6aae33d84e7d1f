"""Shipping in several parcels and some lines, a shipment's parcels, voids and number changes, one parcel's
label; orders' ship-by filters and the receiver update; the confirmation mode of the shop and its stores;
order alerts."""

from __future__ import annotations

import json
from pathlib import Path

import respx
from typer.testing import CliRunner

from cli.main import app
from tests.unit.cli.samples import (
    ORDER_ID,
    SHIP,
    SHIPMENT_ID,
    STORE_ID,
    order,
    order_alert,
    page,
    parcel,
    receiver,
    settings,
    shipment_in_parcels,
    store,
)

runner = CliRunner()


def _error(status: int, code: str, message: str) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "details": {}, "request_id": "r-9"}}


def _sent(route: respx.Route, call: int = -1) -> object:
    return json.loads(route.calls[call].request.content)


def test_ship_in_several_parcels_by_count_by_box_and_by_lines() -> None:
    three = shipment_in_parcels("73100000000001", "73100000000002", "73100000000003")
    with respx.mock:
        shipped = respx.post(f"{SHIP}/v1/orders/{ORDER_ID}/ship").respond(202, json=three)
        counted = runner.invoke(app, ["ship", ORDER_ID, "--parcels", "3", "--carrier", "YTO"])
        boxes = runner.invoke(app, ["ship", ORDER_ID, "--parcel", "1200:1,2", "--parcel", "-:3", "--json"])
        part = runner.invoke(app, ["ship", ORDER_ID, "--lines", "2", "--lines", "3"])
        bad_box = runner.invoke(app, ["ship", ORDER_ID, "--parcel", "heavy:1"])
        bad_lines = runner.invoke(app, ["ship", ORDER_ID, "--lines", "0"])
        typed_in_two = runner.invoke(app, ["ship", ORDER_ID, "--parcels", "2", "--number", "73100000000009"])
    assert counted.exit_code == 0, counted.output
    assert _sent(shipped, 0) == {"carrier": "YTO", "parcel_count": 3}
    assert "73100000000001 (3 parcels), confirmed" in counted.output
    assert "parcel 2/3 73100000000002" in counted.output
    assert "parcel 3/3 73100000000003" in counted.output
    assert boxes.exit_code == 0, boxes.output
    assert _sent(shipped, 1) == {"parcels": [{"weight_g": 1200, "lines": [1, 2]}, {"lines": [3]}]}
    assert json.loads(boxes.stdout) == three  # the API's answer, whole
    assert part.exit_code == 0, part.output
    assert _sent(shipped, 2) == {"lines": [2, 3]}
    assert (bad_box.exit_code, bad_lines.exit_code) == (2, 2)
    assert typed_in_two.exit_code == 2  # a typed number ships one parcel: refused before any call
    assert "typed number" in typed_in_two.output
    assert len(shipped.calls) == 3


def test_shipments_show_lists_every_parcel_with_its_tracking() -> None:
    two = shipment_in_parcels("73100000000001", "73100000000002")
    two["parcels"][0] |= {"tracking_status": "in_transit", "collected_at": "2026-11-28T06:00:00+00:00", "lines": [1]}
    two["parcels"][1] |= {"status": "voided"}
    with respx.mock:
        respx.get(f"{SHIP}/v1/shipments/{SHIPMENT_ID}").respond(json=two)
        shown = runner.invoke(app, ["shipments", "show", SHIPMENT_ID])
        raw = runner.invoke(app, ["shipments", "show", SHIPMENT_ID, "--json"])
    assert shown.exit_code == 0, shown.output
    assert f"parcels of {SHIPMENT_ID}" in shown.output
    assert "in_transit" in shown.output
    assert "2026-11-28 14:00:00" in shown.output  # collected, in Beijing time
    assert "voided" in shown.output
    assert json.loads(raw.stdout) == two


def test_void_a_shipment_and_the_refusals_say_why() -> None:
    voided = shipment_in_parcels("73100000000001", "73100000000002", status="voided")
    voided["voided_at"] = "2026-11-28T05:00:00+00:00"
    for p in voided["parcels"]:
        p["status"] = "voided"
    withdraw = (
        "shipment is confirmed on taobao, which cannot take a confirmation back. 平台无法撤回已确认的发货：请改用换单号"
    )
    with respx.mock:
        route = respx.post(f"{SHIP}/v1/shipments/{SHIPMENT_ID}/void").respond(json=voided)
        done = runner.invoke(app, ["shipments", "void", SHIPMENT_ID, "--reason", "买家退款"])
        plain = runner.invoke(app, ["shipments", "void", SHIPMENT_ID, "--json"])
        route.respond(409, json=_error(409, "cannot_withdraw", withdraw))
        refused = runner.invoke(app, ["shipments", "void", SHIPMENT_ID])
        route.respond(409, json=_error(409, "already_collected", "the courier has collected 73100000000001"))
        collected = runner.invoke(app, ["shipments", "void", SHIPMENT_ID, "--json"])
    assert done.exit_code == 0, done.output
    assert _sent(route, 0) == {"reason": "买家退款"}
    assert "voided 2026-11-28 13:00:00: 73100000000001, 73100000000002; the order can ship again" in done.output
    assert plain.exit_code == 0, plain.output
    assert route.calls[1].request.content == b""
    assert json.loads(plain.stdout)["status"] == "voided"
    assert refused.exit_code == 5
    assert "cannot_withdraw" in refused.stderr
    assert "请改用换单号" in refused.stderr  # the API's word for the seller, as it said it
    assert collected.exit_code == 5
    assert json.loads(collected.stdout)["error"]["code"] == "already_collected"


def test_change_numbers_says_the_old_and_the_new() -> None:
    before = shipment_in_parcels("73100000000001", "73100000000002")
    after = shipment_in_parcels("73100000000011", "73100000000012", carrier="YTO")
    after["parcels"] = [
        parcel(1, "73100000000001", status="voided"),
        parcel(2, "73100000000002", status="voided"),
        *after["parcels"],
    ]
    with respx.mock:
        respx.get(f"{SHIP}/v1/shipments/{SHIPMENT_ID}").respond(json=before)
        change = respx.post(f"{SHIP}/v1/shipments/{SHIPMENT_ID}/change-numbers").respond(json=after)
        done = runner.invoke(app, ["shipments", "change-numbers", SHIPMENT_ID, "--carrier", "YTO"])
        same = runner.invoke(app, ["shipments", "change-numbers", SHIPMENT_ID, "--json"])
    assert done.exit_code == 0, done.output
    assert _sent(change, 0) == {"carrier": "YTO"}
    assert "numbers changed: 73100000000001, 73100000000002 -> 73100000000011, 73100000000012" in done.output
    assert f"waybill label {SHIPMENT_ID}" in done.output
    assert same.exit_code == 0, same.output
    assert change.calls[1].request.content == b""
    assert json.loads(same.stdout) == after


def test_one_parcels_label(tmp_path: Path) -> None:
    pdf = b"%PDF-1.4 parcel 2\n%%EOF\n"
    out = tmp_path / "box2.pdf"
    with respx.mock:
        got = respx.get(f"{SHIP}/v1/shipments/{SHIPMENT_ID}/parcels/2/label.pdf").respond(
            content=pdf, headers={"content-type": "application/pdf"}
        )
        wrote = runner.invoke(app, ["label", SHIPMENT_ID, "--parcel", "2", "-o", str(out)])
        both = runner.invoke(app, ["label", SHIPMENT_ID, "--parcel", "2", "--batch"])
        zero = runner.invoke(app, ["label", SHIPMENT_ID, "--parcel", "0"])
    assert wrote.exit_code == 0, wrote.output
    assert out.read_bytes() == pdf
    assert got.call_count == 1
    assert (both.exit_code, zero.exit_code) == (2, 2)


def test_orders_list_by_ship_by_time_and_hold() -> None:
    held = order(held="address_invalid", flags=[{"kind": "address_invalid", "message": "区县不属于该市", "at": "x"}])
    with respx.mock:
        listed = respx.get(f"{SHIP}/v1/orders").respond(json=page([held]))
        due = runner.invoke(
            app,
            ["orders", "list", "--ship-by-before", "2026-11-30 18:00", "--ship-by-after", "2026-11-29T00:00:00+00:00"],
        )
        on_hold = runner.invoke(app, ["orders", "list", "--held", "--sort", "ship_by"])
        not_held = runner.invoke(app, ["orders", "list", "--not-held"])
        bad = runner.invoke(app, ["orders", "list", "--ship-by-before", "tomorrow"])
    assert due.exit_code == 0, due.output
    params = listed.calls[0].request.url.params
    # A time without its zone is the zone times are shown in (Beijing time by default).
    assert params["ship_by_before"].startswith("2026-11-30")
    assert params["ship_by_before"].endswith("18:00:00+08:00")
    assert params["ship_by_after"].endswith("00:00:00+00:00")
    assert "2026-11-30 12:00:00" in due.output  # the ship-by column, in Beijing time
    assert "address_invalid" in due.output
    assert (on_hold.exit_code, not_held.exit_code) == (0, 0)
    assert dict(listed.calls[1].request.url.params) == {"held": "true", "sort": "ship_by", "limit": "50"}
    assert listed.calls[2].request.url.params["held"] == "false"
    assert bad.exit_code == 2
    assert len(listed.calls) == 3


def test_the_receiver_update_merges_what_is_given_into_the_current_one() -> None:
    fixed = order(receiver={**receiver(), "district": "余杭区"})
    still = order(
        held="address_invalid",
        flags=[{"kind": "address_invalid", "message": "区县「南山区」不属于「杭州市」", "at": "x"}],
    )
    with respx.mock:
        respx.get(f"{SHIP}/v1/orders/{ORDER_ID}").respond(json=order())
        put = respx.put(f"{SHIP}/v1/orders/{ORDER_ID}/receiver").respond(json=fixed)
        done = runner.invoke(app, ["orders", "receiver", "update", ORDER_ID, "--district", " 余杭区 "])
        put.respond(json=still)
        held = runner.invoke(app, ["orders", "receiver", "update", ORDER_ID, "--district", "南山区"])
        put.respond(409, json=_error(409, "already_collected", "collected already"))
        late = runner.invoke(app, ["orders", "receiver", "update", ORDER_ID, "--address", "新地址", "--json"])
        nothing = runner.invoke(app, ["orders", "receiver", "update", ORDER_ID])
    assert done.exit_code == 0, done.output
    assert _sent(put, 0) == {**receiver(), "district": "余杭区"}  # whole: the API replaces the receiver
    assert f"order {ORDER_ID}: receiver 张三 13800000000 浙江省杭州市余杭区文三路 1 号" in done.output
    assert held.exit_code == 0, held.output
    assert "still held (address_invalid): 区县「南山区」不属于「杭州市」" in held.output
    assert late.exit_code == 5
    assert json.loads(late.stdout)["error"]["code"] == "already_collected"
    assert nothing.exit_code == 2
    assert len(put.calls) == 3


def test_the_confirmation_mode_of_the_shop_and_of_a_store() -> None:
    at_collection = settings(confirm_mode="at_collection", confirm_time="18:00", late_to_ship_lead_minutes=120)
    with respx.mock:
        put = respx.put(f"{SHIP}/v1/settings").respond(json=at_collection)
        mode = runner.invoke(app, ["settings", "confirm-mode", "at_collection", "--time", "18:00"])
        time_ = runner.invoke(app, ["settings", "confirm-time", "none", "--json"])
        lead = runner.invoke(app, ["settings", "set", "--late-to-ship-lead-minutes", "120"])
        bad_mode = runner.invoke(app, ["settings", "confirm-mode", "whenever"])
        bad_time = runner.invoke(app, ["settings", "confirm-time", "25:00"])
        patch = respx.patch(f"{SHIP}/v1/stores/{STORE_ID}").respond(json=store(confirm_mode="at_collection"))
        own = runner.invoke(app, ["stores", "confirm-mode", STORE_ID, "at_collection"])
        patch.respond(json=store(confirm_mode=None))
        shops = runner.invoke(app, ["stores", "confirm-mode", STORE_ID, "shop"])
    assert mode.exit_code == 0, mode.output
    assert _sent(put, 0) == {"confirm_mode": "at_collection", "confirm_time": "18:00"}
    assert "at_collection" in mode.output
    assert time_.exit_code == 0, time_.output
    assert _sent(put, 1) == {"confirm_time": None}
    assert lead.exit_code == 0, lead.output
    assert _sent(put, 2) == {"late_to_ship_lead_minutes": 120}
    assert (bad_mode.exit_code, bad_time.exit_code) == (2, 2)
    assert len(put.calls) == 3
    assert own.exit_code == 0, own.output
    assert _sent(patch, 0) == {"confirm_mode": "at_collection"}
    assert f"store {STORE_ID} confirms at_collection" in own.output
    assert shops.exit_code == 0, shops.output
    assert _sent(patch, 1) == {"confirm_mode": None}  # null: the shop's mode again
    assert "confirms as the shop does" in shops.output


def test_order_alerts_list_and_acknowledge() -> None:
    with respx.mock:
        listed = respx.get(f"{SHIP}/v1/order-alerts").respond(json=page([order_alert()], "c2"))
        ack = respx.post(f"{SHIP}/v1/order-alerts/1042/acknowledge").respond(json=order_alert(state="acknowledged"))
        shown = runner.invoke(app, ["order-alerts", "list"])
        every = runner.invoke(app, ["order-alerts", "list", "--state", "all", "--kind", "address_invalid"])
        one = runner.invoke(app, ["order-alerts", "list", "--order", ORDER_ID, "--json"])
        acked = runner.invoke(app, ["order-alerts", "ack", "1042"])
        bad_kind = runner.invoke(app, ["order-alerts", "list", "--kind", "not_collected"])
    assert shown.exit_code == 0, shown.output
    assert dict(listed.calls[0].request.url.params) == {"state": "open", "limit": "100"}
    assert "须在 2026-11-30 12:00 前发货" in shown.output  # the seller's message, in Chinese
    assert "late_to_ship" in shown.output
    assert "next page: the same command with --cursor c2" in shown.output
    assert every.exit_code == 0, every.output
    assert dict(listed.calls[1].request.url.params) == {"kind": "address_invalid", "limit": "100"}
    assert listed.calls[2].request.url.params["order_id"] == ORDER_ID
    assert json.loads(one.stdout) == page([order_alert()], "c2")
    assert acked.exit_code == 0, acked.output
    assert f"order alert 1042 (late_to_ship, order {ORDER_ID}): acknowledged" in acked.output
    assert ack.call_count == 1
    assert bad_kind.exit_code == 2  # a logistics alert's kind, not an order alert's
