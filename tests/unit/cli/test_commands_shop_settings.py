"""The shop's settings and store binding, alerts and their thresholds, webhooks, tracking."""

from __future__ import annotations

import json

import respx
from typer.testing import CliRunner

from cli.main import app
from tests.unit.cli.samples import (
    ORDER_ID,
    SHIP,
    TRACK,
    alert,
    alert_setting,
    delivery,
    endpoint,
    page,
    settings,
    tracking,
)

runner = CliRunner()


def test_settings_show_set_and_bind_the_store() -> None:
    with respx.mock:
        respx.get(f"{SHIP}/v1/settings").respond(json=settings())
        put = respx.put(f"{SHIP}/v1/settings").respond(json=settings())
        shown = runner.invoke(app, ["settings", "show"])
        set_ = runner.invoke(
            app, ["settings", "set", "--sender-name", "李四", "--default-carrier", "ZTO", "--weight", "price=2"]
        )
        store = runner.invoke(app, ["settings", "store", "杭州小铺", "--session", "sess-1", "--json"])
        renew = runner.invoke(app, ["settings", "session", "sess-2"])
        nothing = runner.invoke(app, ["settings", "set"])
        bad = runner.invoke(app, ["settings", "set", "--weight", "colour=1"])
    assert shown.exit_code == 0, shown.output
    assert "杭州小铺" in shown.output
    assert set_.exit_code == 0, set_.output
    # Only what was given: the API keeps the other fields as they are.
    assert json.loads(put.calls[0].request.content) == {
        "sender_name": "李四",
        "default_carrier": "ZTO",
        "weights": {"price": 2.0},
    }
    assert store.exit_code == 0, store.output
    assert json.loads(put.calls[1].request.content) == {"seller_nick": "杭州小铺", "session": "sess-1"}
    assert json.loads(store.stdout) == settings()
    assert renew.exit_code == 0, renew.output
    assert json.loads(put.calls[2].request.content) == {"session": "sess-2"}
    assert (nothing.exit_code, bad.exit_code) == (2, 2)
    assert len(put.calls) == 3


def test_settings_set_and_show_the_shops_time_zone() -> None:
    with respx.mock:
        respx.get(f"{SHIP}/v1/settings").respond(json=settings(time_zone="America/New_York"))
        put = respx.put(f"{SHIP}/v1/settings").respond(json=settings(time_zone="America/New_York"))
        set_ = runner.invoke(app, ["settings", "set", "--time-zone", "America/New_York", "--json"])
        shown = runner.invoke(app, ["settings", "show"])
    assert set_.exit_code == 0, set_.output
    assert json.loads(put.calls[0].request.content) == {"time_zone": "America/New_York"}  # alone: the rest stays
    assert json.loads(set_.stdout)["time_zone"] == "America/New_York"
    assert shown.exit_code == 0, shown.output
    assert "America/New_York" in shown.output


def test_a_time_zone_the_api_does_not_know_is_a_usage_error() -> None:
    error = {"error": {"code": "validation_error", "message": "invalid request: time_zone", "details": {}}}
    with respx.mock:
        respx.put(f"{SHIP}/v1/settings").respond(422, json=error)
        result = runner.invoke(app, ["settings", "set", "--time-zone", "Mars/Olympus_Mons"])
    assert result.exit_code == 2, result.output
    assert "validation_error" in result.output


def test_binding_a_store_the_marketplace_does_not_vouch_for_is_a_usage_error() -> None:
    error = {"error": {"code": "seller_not_verified", "message": "the session does not belong to seller x"}}
    with respx.mock:
        respx.put(f"{SHIP}/v1/settings").respond(422, json=error)
        result = runner.invoke(app, ["settings", "store", "x", "--session", "s"])
    assert result.exit_code == 2
    assert "seller_not_verified" in result.output


def test_alerts_ack_settings_and_set() -> None:
    with respx.mock:
        respx.post(f"{TRACK}/v1/alerts/41/ack").respond(json=alert(state="acknowledged"))
        respx.get(f"{TRACK}/v1/alert-settings").respond(json=page([alert_setting()]))
        put = respx.put(f"{TRACK}/v1/alert-settings").respond(json=alert_setting(carrier="ZTO", transit_days=2))
        every = respx.get(f"{TRACK}/v1/alerts").respond(json=page([alert(state="resolved")]))
        ack = runner.invoke(app, ["alerts", "ack", "41"])
        shown = runner.invoke(app, ["alerts", "settings"])
        set_ = runner.invoke(app, ["alerts", "set", "--carrier", "ZTO", "--transit-days", "2"])
        nothing = runner.invoke(app, ["alerts", "set"])
        all_states = runner.invoke(app, ["alerts", "list", "--state", "all", "--number", "YT1"])
    assert ack.exit_code == 0, ack.output
    assert "alert 41: acknowledged" in ack.output
    assert shown.exit_code == 0, shown.output
    assert "24.0" in shown.output
    assert set_.exit_code == 0, set_.output
    assert json.loads(put.calls[0].request.content) == {"transit_days": 2, "carrier": "ZTO"}
    assert nothing.exit_code == 2
    assert all_states.exit_code == 0, all_states.output
    assert dict(every.calls[0].request.url.params) == {"number": "YT1", "limit": "100"}


def test_webhook_endpoints_and_deliveries() -> None:
    made = endpoint(events=["shipment.confirmed"], secret="whsec_abc")
    with respx.mock:
        create = respx.post(f"{SHIP}/v1/webhook-endpoints").respond(201, json=made)
        respx.get(f"{SHIP}/v1/webhook-endpoints").respond(json=page([endpoint()]))
        disable = respx.delete(f"{SHIP}/v1/webhook-endpoints/we_1").respond(204)
        deliveries = respx.get(f"{SHIP}/v1/webhook-deliveries").respond(json=page([delivery(1)], "c3"))
        resend = respx.post(f"{SHIP}/v1/webhook-deliveries/{delivery(1)['id']}/resend").respond(
            json=delivery(1, status="pending")
        )
        c = runner.invoke(
            app, ["webhooks", "endpoints", "create", "https://shop.example.com/hooks", "--event", "shipment.confirmed"]
        )
        lst = runner.invoke(app, ["webhooks", "endpoints", "list"])
        off = runner.invoke(app, ["webhooks", "endpoints", "disable", "we_1", "--json"])
        d = runner.invoke(app, ["webhooks", "deliveries", "--status", "failed"])
        r = runner.invoke(app, ["webhooks", "resend", delivery(1)["id"]])
    assert c.exit_code == 0, c.output
    assert json.loads(create.calls[0].request.content) == {
        "url": "https://shop.example.com/hooks",
        "events": ["shipment.confirmed"],
    }
    assert "signing secret (shown once, store it now): whsec_abc" in c.output
    assert lst.exit_code == 0, lst.output
    assert "every event" in lst.output
    assert off.exit_code == 0, off.output
    assert json.loads(off.stdout) == {"id": "we_1", "active": False}
    assert len(disable.calls) == 1
    assert d.exit_code == 0, d.output
    assert delivery(1)["id"] in d.output
    assert "--cursor c3" in d.output
    assert dict(deliveries.calls[0].request.url.params) == {"status": "failed", "limit": "50"}
    assert r.exit_code == 0, r.output
    assert "pending" in r.output
    assert len(resend.calls) == 1


def test_track_a_number_and_an_order() -> None:
    late = alert(kind="late", carrier="ZTO", number="73100000000001")
    with respx.mock:
        number = respx.get(f"{TRACK}/v1/trackings/73100000000001").respond(json=tracking(alerts=[late]))
        respx.get(f"{TRACK}/v1/orders/{ORDER_ID}/tracking").respond(
            json={"order_id": ORDER_ID, "parcels": [tracking()]}
        )
        one = runner.invoke(app, ["track", "73100000000001", "--carrier", "ZTO"])
        order = runner.invoke(app, ["track", ORDER_ID, "--order"])
        raw = runner.invoke(app, ["track", ORDER_ID, "--order", "--json"])
    assert one.exit_code == 0, one.output
    assert "ZTO 73100000000001" in one.output
    assert "in_transit since 2026-11-28 12:00:00" in one.output
    assert "快件已到达杭州转运中心" in one.output
    assert "late" in one.output
    assert dict(number.calls[0].request.url.params) == {"carrier": "ZTO"}
    assert order.exit_code == 0, order.output
    assert f"(order {ORDER_ID})" in order.output
    assert json.loads(raw.stdout)["parcels"][0]["number"] == "73100000000001"
