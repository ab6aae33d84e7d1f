"""A shop's time zone in its settings: Beijing time until set, an IANA name the API checks, kept by a PUT
that leaves it out (fields not given keep their value)."""

from __future__ import annotations

from tests.integration.conftest import make_shop
from tests.integration.shipping.conftest import World


async def test_time_zone_defaults_is_set_refused_when_unknown_and_kept(world: World) -> None:
    shop = await make_shop(world.allocation)
    fresh = await world.shipping.get("/v1/settings", headers=shop.headers)
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["time_zone"] == "Asia/Shanghai"  # no row yet

    # A row written without the field takes the column's default.
    first = await world.shipping.put("/v1/settings", json={"sender_name": "甲"}, headers=shop.headers)
    assert first.status_code == 200, first.text
    assert first.json()["time_zone"] == "Asia/Shanghai"

    set_ = await world.shipping.put("/v1/settings", json={"time_zone": "America/New_York"}, headers=shop.headers)
    assert set_.status_code == 200, set_.text
    assert set_.json()["time_zone"] == "America/New_York"
    assert set_.json()["sender_name"] == "甲"

    for bad in ("Mars/Olympus_Mons", "../etc/passwd", ""):
        refused = await world.shipping.put("/v1/settings", json={"time_zone": bad}, headers=shop.headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "validation_error"

    other = await world.shipping.put("/v1/settings", json={"sender_phone": "0571-1"}, headers=shop.headers)
    assert other.status_code == 200, other.text
    read = (await world.shipping.get("/v1/settings", headers=shop.headers)).json()
    assert read["time_zone"] == "America/New_York"  # neither the refused PUTs nor the other field's changed it
    assert read["sender_phone"] == "0571-1"
