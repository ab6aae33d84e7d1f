"""Alerts (物流预警): each kind opens at its threshold on the service clock and resolves when the parcel moves
on; thresholds per shop and carrier; acknowledge; filters; shop isolation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.integration.tracking.conftest import TrackingApp
from tests.integration.tracking.support import (
    NORMAL,
    T0,
    Journey,
    fetch,
    mark_subscribed,
    push,
    salt_of,
    shop_headers,
    subscribe,
    zto_number,
)

PROBLEM = [
    *NORMAL[:5],
    ("派送不成功，收件人电话无法接通", "疑难", "2"),
    ("派件员 正在为您派件", "派件", "5"),
    ("快件已签收（异常后签收）", "签收", "302"),
]
REFUSED = [
    *NORMAL[:5],
    ("收件人拒收，快件将退回寄件人", "拒签", "14"),
    ("快件已退回，正在返回寄件人所在地", "退回", "6"),
    ("退回件已签收，签收人：寄件人", "退签", "4"),
]


async def _parcel(
    tracking: TrackingApp, shop_id: str, kinds: list[tuple[str, str, str]] = NORMAL, carrier: str = "ZTO"
) -> tuple[Journey, str]:
    number = zto_number() if carrier == "ZTO" else "43" + zto_number()[1:12]
    resp = await subscribe(tracking.client, shop_id, number, carrier=carrier)
    assert resp.status_code == 201, resp.text
    await mark_subscribed(tracking.database_url, number)
    return Journey.of(number, kinds), await salt_of(tracking.database_url, number)


async def _alerts(tracking: TrackingApp, shop_id: str, number: str) -> list[tuple[str, str]]:
    resp = await tracking.client.get("/v1/alerts", params={"number": number}, headers=shop_headers(shop_id))
    assert resp.status_code == 200, resp.text
    page = resp.json()
    assert page["has_more"] is False
    return sorted((a["kind"], a["state"]) for a in page["data"])


async def _at(tracking: TrackingApp, **delta: float) -> None:
    tracking.clock.set(T0 + timedelta(**delta))


async def _step(tracking: TrackingApp, journey: Journey, salt: str, upto: int) -> None:
    assert (await push(tracking.client, journey.param(upto), salt)).status_code == 200
    await tracking.drain()


async def test_not_collected_opens_at_its_threshold_and_resolves_when_collected(
    tracking: TrackingApp, shop_id: str
) -> None:
    journey, salt = await _parcel(tracking, shop_id)
    await _at(tracking, hours=23.9)
    await tracking.scan()
    assert await _alerts(tracking, shop_id, journey.number) == []
    await _at(tracking, hours=24.1)
    await tracking.scan()
    await tracking.scan()  # a second scan opens nothing more
    assert await _alerts(tracking, shop_id, journey.number) == [("not_collected", "open")]
    await _step(tracking, journey, salt, 1)
    assert await _alerts(tracking, shop_id, journey.number) == [("not_collected", "resolved")]


async def test_no_update_opens_after_quiet_hours_and_resolves_on_the_next_event(
    tracking: TrackingApp, shop_id: str
) -> None:
    journey, salt = await _parcel(tracking, shop_id)
    await _at(tracking, hours=6)
    await _step(tracking, journey, salt, 2)  # last event at T0 + 6 h
    await _at(tracking, hours=6 + 47.9)
    await tracking.scan()
    assert await _alerts(tracking, shop_id, journey.number) == []
    await _at(tracking, hours=6 + 48.1)
    await tracking.scan()
    assert await _alerts(tracking, shop_id, journey.number) == [("no_update", "open")]
    # An old push repeating known events is not news.
    await _step(tracking, journey, salt, 1)
    assert await _alerts(tracking, shop_id, journey.number) == [("no_update", "open")]
    await _step(tracking, journey, salt, 3)
    assert await _alerts(tracking, shop_id, journey.number) == [("no_update", "resolved")]
    # Quiet again: a new alert once the threshold has passed again since the last news.
    await _at(tracking, hours=6 + 48.1 + 47.9)
    await tracking.scan()
    no_update = [a for a in await _alerts(tracking, shop_id, journey.number) if a[0] == "no_update"]
    assert no_update == [("no_update", "resolved")]
    await _at(tracking, hours=6 + 48.1 + 48.1)
    await tracking.scan()
    no_update = [a for a in await _alerts(tracking, shop_id, journey.number) if a[0] == "no_update"]
    assert no_update == [("no_update", "open"), ("no_update", "resolved")]


async def test_problem_opens_on_the_event_and_resolves_when_the_parcel_moves_on(
    tracking: TrackingApp, shop_id: str
) -> None:
    journey, salt = await _parcel(tracking, shop_id, PROBLEM)
    await _step(tracking, journey, salt, 6)
    assert await _alerts(tracking, shop_id, journey.number) == [("problem", "open")]
    await _step(tracking, journey, salt, 7)
    assert await _alerts(tracking, shop_id, journey.number) == [("problem", "resolved")]
    await _step(tracking, journey, salt, 8)
    view = (await tracking.client.get(f"/v1/trackings/{journey.number}", headers=shop_headers(shop_id))).json()
    assert view["status"] == "delivered"


async def test_a_problem_only_seen_in_hindsight_is_recorded_and_resolved(tracking: TrackingApp, shop_id: str) -> None:
    # The push reporting the problem was lost; a later one carries it in its history.
    journey, salt = await _parcel(tracking, shop_id, PROBLEM)
    await _step(tracking, journey, salt, 7)
    assert await _alerts(tracking, shop_id, journey.number) == [("problem", "resolved")]


async def test_refused_then_returning_then_returned(tracking: TrackingApp, shop_id: str) -> None:
    journey, salt = await _parcel(tracking, shop_id, REFUSED)
    await _step(tracking, journey, salt, 6)
    assert await _alerts(tracking, shop_id, journey.number) == [("refused", "open")]
    await _step(tracking, journey, salt, 7)
    assert await _alerts(tracking, shop_id, journey.number) == [("refused", "resolved"), ("returning", "open")]
    await _step(tracking, journey, salt, 8)
    assert await _alerts(tracking, shop_id, journey.number) == [("refused", "resolved"), ("returning", "resolved")]
    view = (await tracking.client.get(f"/v1/trackings/{journey.number}", headers=shop_headers(shop_id))).json()
    assert view["status"] == "returned"


async def test_late_opens_after_transit_time_and_grace_and_resolves_on_delivery(
    tracking: TrackingApp, shop_id: str
) -> None:
    journey, salt = await _parcel(tracking, shop_id)  # promised 3 days, default grace 24 h
    await _step(tracking, journey, salt, 2)
    await _at(tracking, days=3, hours=23.9)
    await tracking.scan()
    assert ("late", "open") not in await _alerts(tracking, shop_id, journey.number)
    await _at(tracking, days=4, hours=0.1)
    await tracking.scan()
    assert ("late", "open") in await _alerts(tracking, shop_id, journey.number)
    await _step(tracking, journey, salt, 6)
    assert await _alerts(tracking, shop_id, journey.number) == [("late", "resolved"), ("no_update", "resolved")]


async def test_thresholds_per_shop_and_carrier(tracking: TrackingApp, shop_id: str, other_shop_id: str) -> None:
    headers = shop_headers(shop_id)
    put = await tracking.client.put(
        "/v1/alert-settings", json={"carrier": "ZTO", "not_collected_hours": 2}, headers=headers
    )
    assert put.status_code == 200, put.text
    assert put.json() == {
        "carrier": "ZTO",
        "not_collected_hours": 2.0,
        "no_update_hours": 48.0,
        "late_grace_hours": 24.0,
        "transit_days": 3,
    }
    await tracking.client.put("/v1/alert-settings", json={"not_collected_hours": 5}, headers=headers)
    listed = (await tracking.client.get("/v1/alert-settings", headers=headers)).json()
    assert listed["has_more"] is False
    assert [(s["carrier"], s["not_collected_hours"]) for s in listed["data"]] == [("*", 5.0), ("ZTO", 2.0)]
    assert (await tracking.client.get("/v1/alert-settings", headers=shop_headers(other_shop_id))).json()["data"][0][
        "not_collected_hours"
    ] == 24.0

    zto, _ = await _parcel(tracking, shop_id)
    yunda, _ = await _parcel(tracking, shop_id, carrier="YUNDA")
    elsewhere, _ = await _parcel(tracking, other_shop_id)
    await _at(tracking, hours=2.1)
    await tracking.scan()
    assert await _alerts(tracking, shop_id, zto.number) == [("not_collected", "open")]
    assert await _alerts(tracking, shop_id, yunda.number) == []
    await _at(tracking, hours=5.1)
    await tracking.scan()
    assert await _alerts(tracking, shop_id, yunda.number) == [("not_collected", "open")]
    assert await _alerts(tracking, other_shop_id, elsewhere.number) == []

    bad = await tracking.client.put("/v1/alert-settings", json={"no_update_hours": 0}, headers=headers)
    assert bad.status_code == 422


async def test_acknowledge_filters_and_isolation(tracking: TrackingApp, shop_id: str, other_shop_id: str) -> None:
    headers = shop_headers(shop_id)
    journey, salt = await _parcel(tracking, shop_id, PROBLEM)
    await _step(tracking, journey, salt, 6)
    listed = (await tracking.client.get("/v1/alerts", params={"state": "open"}, headers=headers)).json()
    alert = next(a for a in listed["data"] if a["number"] == journey.number)
    assert alert["kind"] == "problem"
    assert alert["carrier"] == "ZTO"
    assert alert["order_id"] == f"o-{journey.number}"

    assert (
        await tracking.client.post(f"/v1/alerts/{alert['id']}/ack", headers=shop_headers(other_shop_id))
    ).status_code == 404
    acked = await tracking.client.post(f"/v1/alerts/{alert['id']}/ack", headers=headers)
    assert acked.status_code == 200
    assert acked.json()["state"] == "acknowledged"
    assert acked.json()["acknowledged_at"] is not None
    assert (await tracking.client.post(f"/v1/alerts/{alert['id']}/ack", headers=headers)).status_code == 200

    def ids(resp: Any) -> set[int]:
        page = resp.json()
        assert page["has_more"] is False  # the whole list: "not in" means not anywhere in it
        return {a["id"] for a in page["data"]}

    assert alert["id"] in ids(
        await tracking.client.get("/v1/alerts", params={"state": "acknowledged"}, headers=headers)
    )
    assert alert["id"] not in ids(await tracking.client.get("/v1/alerts", params={"state": "open"}, headers=headers))
    assert alert["id"] in ids(await tracking.client.get("/v1/alerts", params={"kind": "problem"}, headers=headers))
    assert alert["id"] not in ids(await tracking.client.get("/v1/alerts", params={"kind": "late"}, headers=headers))
    assert alert["id"] in ids(await tracking.client.get("/v1/alerts", params={"carrier": "ZTO"}, headers=headers))
    assert alert["id"] not in ids(await tracking.client.get("/v1/alerts", params={"carrier": "SF"}, headers=headers))
    assert alert["id"] not in ids(await tracking.client.get("/v1/alerts", headers=shop_headers(other_shop_id)))
    assert (await tracking.client.get("/v1/alerts", params={"kind": "nope"}, headers=headers)).status_code == 422

    # An acknowledged alert still resolves by itself; a resolved one cannot be acknowledged.
    await _step(tracking, journey, salt, 7)
    assert await _alerts(tracking, shop_id, journey.number) == [("problem", "resolved")]
    late_ack = await tracking.client.post(f"/v1/alerts/{alert['id']}/ack", headers=headers)
    assert late_ack.status_code == 409
    assert late_ack.json()["error"]["code"] == "invalid_transition"


async def test_alerts_and_status_changes_become_notifications_for_shipping(tracking: TrackingApp, shop_id: str) -> None:
    journey, salt = await _parcel(tracking, shop_id, PROBLEM)
    await _step(tracking, journey, salt, 6)
    await _step(tracking, journey, salt, 8)
    rows = await fetch(
        tracking.database_url,
        "SELECT n.kind, n.payload, n.shop_id FROM tracking.notifications n "
        "JOIN tracking.subscriptions s ON s.id = n.subscription_id WHERE s.number = $1 ORDER BY n.id",
        journey.number,
    )
    import json

    payloads = [json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"] for r in rows]
    assert [(r["kind"], p["status"]) for r, p in zip(rows, payloads, strict=True)] == [
        ("status_changed", "problem"),
        ("alert_opened", "problem"),
        ("status_changed", "delivered"),
        ("alert_resolved", "delivered"),
    ]
    assert {r["shop_id"] for r in rows} == {shop_id}
    assert len({p["event_id"] for p in payloads}) == 4
    assert payloads[1]["alert"]["kind"] == "problem"
    assert payloads[0]["order_id"] == f"o-{journey.number}"
