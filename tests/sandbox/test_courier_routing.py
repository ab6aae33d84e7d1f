"""The couriers' routing (TMS_WAYBILL_ROUTE, and the routing an update answers): each number bound to its
destination, its sort code (三段码), sortation name (大头笔) and consolidation centre (集包地) derived from the
destination alone, per carrier in its own format."""

from __future__ import annotations

import re
from typing import Any

from tests.sandbox.support import Harness
from tests.sandbox.test_couriers import RECIPIENT, failure

HANGZHOU = {"province": "浙江省", "city": "杭州市", "district": "余杭区", "detail": "文一西路 969 号"}
BEIJING = {"province": "北京", "city": "北京市", "district": "朝阳区", "detail": "建国路 1 号"}
# Our own statement of each carrier's sort code shape (the sandbox README), for Hangzhou (dialling code 0571).
FORMATS = {
    "ZTO": r"571-[A-HJ-NP-Z]\d{2} \d{2}",
    "YTO": r"571 \d{3}-\d{2}",
    "STO": r"571-\d{2}-\d{3}",
    "YUNDA": r"571[A-HJ-NP-Z]-\d{2}-\d{2}",
    "SF": r"571[A-HJ-NP-Z]{2}",
    "JD": r"[A-HJ-NP-Z]571-\d{3}",
    "JT": r"[A-HJ-NP-Z]\d{2}-571 \d{3}",
    "EMS": r"571-\d{4}-\d{2}",
    "POSTB": r"571-\d{4}-\d{2}",
    "UC": r"571-\d{3} \d{2}",
}
CENTRES = {"ZTO": "杭州包", "YTO": "杭州转运中心", "STO": "杭州中转部", "SF": "杭州集散中心", "EMS": "杭州邮件处理中心"}


async def _route(sandbox: Harness, cp_code: str, seller: str, *waybills: dict[str, Any]) -> list[dict[str, Any]]:
    resp = await sandbox.courier("TMS_WAYBILL_ROUTE", {"cp_code": cp_code, "seller_id": seller, "waybills": waybills})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["success"] is True, body
    cols: list[dict[str, Any]] = body["waybill_route_cols"]
    return cols


async def _control(sandbox: Harness, cp_code: str, place: dict[str, str]) -> dict[str, Any]:
    resp = await sandbox.client.post("/control/courier/routing", json={"cp_code": cp_code, **place})
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def test_every_carrier_routes_a_destination_in_its_own_format(sandbox: Harness) -> None:
    codes = {}
    for cp_code, shape in FORMATS.items():
        [number] = await sandbox.issue(cp_code, "s-1", f"r-{cp_code}", 1)
        [col] = await _route(sandbox, cp_code, "s-1", {"waybill_code": number, "address": HANGZHOU})
        assert (col["success"], col["waybill_code"]) == (True, number), col
        info = col["routingInfo"]
        assert re.fullmatch(shape, info["routeCode"]), (cp_code, info)
        assert info["sortation"] == {"name": "杭州余杭"}
        assert re.fullmatch(r"571\d{3}", info["consolidation"]["code"]), info
        if cp_code in CENTRES:
            assert info["consolidation"]["name"] == CENTRES[cp_code]
        codes[cp_code] = info["routeCode"]
    assert len(set(codes.values())) == len(codes)  # no two carriers write the same code


async def test_the_same_destination_always_routes_the_same_and_another_differently(sandbox: Harness) -> None:
    numbers = await sandbox.issue("ZTO", "s-1", "p-1", 3)
    again = {**HANGZHOU, "detail": "另一个门牌 2 号", "province": " 浙江省 "}  # the street does not route
    cols = await _route(
        sandbox,
        "ZTO",
        "s-1",
        {"waybill_code": numbers[0], "address": HANGZHOU},
        {"waybill_code": numbers[1], "address": again},
        {"waybill_code": numbers[2], "address": {**HANGZHOU, "district": "西湖区"}},
    )
    assert [c["waybill_code"] for c in cols] == numbers
    first, same, other = (c["routingInfo"] for c in cols)
    assert same == first
    assert other["routeCode"] != first["routeCode"]
    assert other["routeCode"].startswith("571-")
    assert other["sortation"] == {"name": "杭州西湖"}
    assert first == await _control(sandbox, "ZTO", {k: HANGZHOU[k] for k in ("province", "city", "district")})
    beijing = await _control(sandbox, "ZTO", {"province": "北京", "city": "北京市", "district": "朝阳区"})
    assert beijing["routeCode"].startswith("010-"), beijing
    unknown = await _control(sandbox, "YTO", {"province": "某省", "city": "某市"})
    assert re.fullmatch(r"9\d{2} \d{3}-\d{2}", unknown["routeCode"]), unknown
    assert unknown == await _control(sandbox, "YTO", {"province": "某省", "city": "某市"})


async def test_a_routed_number_is_bound_to_its_destination_and_an_update_answers_the_new_routing(
    sandbox: Harness,
) -> None:
    [number] = await sandbox.issue("ZTO", "s-1", "p-1", 1)
    view = (await sandbox.client.get(f"/control/courier/numbers/{number}")).json()
    assert (view["destination"], view["routing"]) == (None, None)
    [col] = await _route(sandbox, "ZTO", "s-1", {"waybill_code": number, "address": HANGZHOU})
    view = (await sandbox.client.get(f"/control/courier/numbers/{number}")).json()
    assert view["destination"] == HANGZHOU
    assert view["routing"] == col["routingInfo"]
    body = {"cp_code": "ZTO", "seller_id": "s-1", "waybill_code": number, "recipient": RECIPIENT}
    updated = (await sandbox.courier("TMS_WAYBILL_UPDATE", body)).json()
    nanjing = await _control(sandbox, "ZTO", {"province": "江苏省", "city": "南京市", "district": "鼓楼区"})
    assert updated == {"success": True, "routingInfo": nanjing}
    assert nanjing["routeCode"].startswith("025-")  # 南京 025: a three-digit code as it is
    view = (await sandbox.client.get(f"/control/courier/numbers/{number}")).json()
    assert (view["destination"], view["routing"]) == (RECIPIENT["address"], nanjing)


async def test_each_waybill_is_refused_on_its_own(sandbox: Harness) -> None:
    numbers = await sandbox.issue("ZTO", "s-1", "p-1", 4)
    await sandbox.courier("TMS_WAYBILL_DISCARD", {"cp_code": "ZTO", "seller_id": "s-1", "waybill_code": numbers[1]})
    await _route(sandbox, "ZTO", "s-1", {"waybill_code": numbers[3], "address": HANGZHOU})
    await sandbox.collect("zhongtong", numbers[3])
    cols = await _route(
        sandbox,
        "ZTO",
        "s-1",
        {"waybill_code": numbers[0], "address": HANGZHOU},
        {"waybill_code": numbers[1], "address": HANGZHOU},
        {"waybill_code": "700000000000", "address": HANGZHOU},
        {"waybill_code": numbers[2], "address": {"province": "浙江省"}},
        {"waybill_code": numbers[3], "address": BEIJING},
        {"waybill_code": numbers[3], "address": HANGZHOU},
    )
    assert [c["success"] for c in cols] == [True, False, False, False, False, True]
    assert [c.get("errorCode") for c in cols[1:5]] == [
        "waybill.already-discarded",
        "waybill.not-exist",
        "isv.invalid-parameter",
        "waybill.already-collected",
    ]
    # Collected: still bound where it was, and routed as before.
    assert cols[5]["routingInfo"] == cols[0]["routingInfo"]
    view = (await sandbox.client.get(f"/control/courier/numbers/{numbers[3]}")).json()
    assert view["destination"] == HANGZHOU
    [theirs] = await _route(sandbox, "ZTO", "s-2", {"waybill_code": numbers[0], "address": HANGZHOU})
    assert theirs["errorCode"] == "waybill.not-exist"
    [elsewhere] = await _route(sandbox, "YTO", "s-1", {"waybill_code": numbers[0], "address": HANGZHOU})
    assert elsewhere["errorCode"] == "waybill.not-exist"


async def test_a_malformed_message_binds_nothing(sandbox: Harness) -> None:
    [number] = await sandbox.issue("ZTO", "s-1", "p-1", 1)
    key = {"cp_code": "ZTO", "seller_id": "s-1"}
    good = {"waybill_code": number, "address": HANGZHOU}
    for waybills, code in (
        ([], "isv.invalid-parameter"),
        ("nope", "isv.invalid-parameter"),
        ([good, "nope"], "isv.invalid-parameter"),
        ([good, {"address": HANGZHOU}], "isv.invalid-parameter"),
        ([good] * 101, "isv.too-many-objects"),
    ):
        assert failure(await sandbox.courier("TMS_WAYBILL_ROUTE", {**key, "waybills": waybills})) == code
    assert failure(await sandbox.courier("TMS_WAYBILL_ROUTE", {**key, "cp_code": "XX", "waybills": [good]})) == (
        "isv.cp-not-supported"
    )
    view = (await sandbox.client.get(f"/control/courier/numbers/{number}")).json()
    assert view["destination"] is None
    assert len(await _route(sandbox, "ZTO", "s-1", *[good] * 100)) == 100


async def test_routing_is_a_courier_endpoint_faults_can_strike(sandbox: Harness) -> None:
    [number] = await sandbox.issue("ZTO", "s-1", "p-1", 1)
    await sandbox.faults(error_rate={"TMS_WAYBILL_ROUTE": 1.0})
    body = {"cp_code": "ZTO", "seller_id": "s-1", "waybills": [{"waybill_code": number, "address": HANGZHOU}]}
    response = await sandbox.courier("TMS_WAYBILL_ROUTE", body)
    assert (response.status_code, response.json()["errorCode"]) == (500, "S01")
