"""The marketplace's shipping calls: split sends by line (SELLER_CONSIGNED_PART), multi-package sends, resends
within 24 h on the sandbox clock, refusals naming the refused number, and no collection at confirmation."""

from __future__ import annotations

import json
from typing import Any

from tests.sandbox.support import Harness

SEND = "taobao.logistics.offline.send"
ASCP_SEND = "alibaba.ascp.logistics.offline.send"
RESEND = "taobao.logistics.consign.resend"
ASCP_RESEND = "alibaba.ascp.logistics.consign.resend"
FIELDS = "tid,status,consign_time,orders"


def sub(body: dict[str, Any]) -> str:
    assert "error_response" in body, body
    code: str = body["error_response"]["sub_code"]
    return code


def sub_msg(body: dict[str, Any]) -> str:
    text: str = body["error_response"]["sub_msg"]
    return text


def offline(xx: str) -> str:
    return f"isv.logistics-offline-service-error:{xx}"


def resend(xx: str) -> str:
    return f"isv.logistics-update-company-or-mailno-error:{xx}"


def pkgs(*numbers: str, company: str = "ZTO") -> str:
    return json.dumps([{"company_code": company, "out_sid": n} for n in numbers])


async def new_trade(sb: Harness, lines: int, nick: str = "shop-a") -> tuple[str, str, list[str]]:
    """A paid trade of ``lines`` lines: the seller's session, its tid and its lines' oids."""
    session = await sb.seller(nick)
    made = await sb.client.post(
        "/control/marketplace/trades", json={"seller_nick": nick, "count": 1, "paid": True, "lines": lines}
    )
    assert made.status_code == 200, made.text
    [tid] = made.json()["tids"]
    oids = [o["oid"] for o in (await trade(sb, tid))["orders"]["order"]]
    assert len(oids) == lines
    return session, tid, oids


async def trade(sb: Harness, tid: str) -> dict[str, Any]:
    found: dict[str, Any] = (await sb.client.get(f"/control/marketplace/trades/{tid}")).json()
    return found


async def shipped(sb: Harness, session: str, tid: str, number: str) -> None:
    body = await sb.top(SEND, session, tid=tid, out_sid=number, company_code="ZTO")
    assert body["logistics_offline_send_response"]["shipping"] == {"is_success": True}


async def test_a_split_send_ships_its_lines_and_the_trade_waits_for_the_rest(sandbox: Harness) -> None:
    session, tid, oids = await new_trade(sandbox, 3)
    a, b = await sandbox.issue("ZTO", "s-1", "p-1", 2)
    body = await sandbox.top(SEND, session, tid=tid, out_sid=a, company_code="ZTO", is_split="1", sub_tid=oids[0])
    assert body["logistics_offline_send_response"]["shipping"] == {"is_success": True}
    top = (await sandbox.top("taobao.trade.fullinfo.get", session, tid=tid, fields=FIELDS))[
        "trade_fullinfo_get_response"
    ]
    assert top["trade"]["status"] == "SELLER_CONSIGNED_PART"
    lines = top["trade"]["orders"]["order"]
    assert [(o["status"], o.get("invoice_no")) for o in lines] == [
        ("WAIT_BUYER_CONFIRM_GOODS", a),
        ("WAIT_SELLER_SEND_GOODS", None),
        ("WAIT_SELLER_SEND_GOODS", None),
    ]
    # The shipped line cannot ship again; the trade, split now, only ships by line.
    again = await sandbox.top(SEND, session, tid=tid, out_sid=b, company_code="ZTO", is_split="1", sub_tid=oids[0])
    assert sub(again) == offline("B04")
    assert sub(await sandbox.top(SEND, session, tid=tid, out_sid=b, company_code="ZTO")) == offline("CD23")
    rest = ",".join(oids[1:])
    body = await sandbox.top(SEND, session, tid=tid, out_sid=b, company_code="ZTO", is_split="1", sub_tid=rest)
    assert "error_response" not in body
    view = await trade(sandbox, tid)
    assert view["status"] == "WAIT_BUYER_CONFIRM_GOODS"
    assert [c["oids"] for c in view["consignments"]] == [oids[:1], oids[1:]]
    assert [o["invoice_no"] for o in view["orders"]["order"]] == [a, b, b]
    assert view["shipping"]["out_sid"] == a


async def test_split_flags_and_lines_are_checked(sandbox: Harness) -> None:
    session, tid, oids = await new_trade(sandbox, 2)
    [n] = await sandbox.issue("ZTO", "s-1", "p-1", 1)
    common = {"tid": tid, "out_sid": n, "company_code": "ZTO"}
    assert sub(await sandbox.top(SEND, session, **common, is_split="1")) == offline("CD26")
    assert sub(await sandbox.top(SEND, session, **common, sub_tid=oids[0])) == offline("CD25")
    unknown = await sandbox.top(SEND, session, **common, is_split="1", sub_tid="1234")
    assert sub(unknown) == offline("B06")
    assert "1234" in sub_msg(unknown)
    assert (await trade(sandbox, tid))["status"] == "WAIT_SELLER_SEND_GOODS"


async def test_a_multi_package_send_records_every_package(sandbox: Harness) -> None:
    session, tid, _ = await new_trade(sandbox, 2)
    numbers = await sandbox.issue("ZTO", "s-1", "p-1", 3)
    body = await sandbox.top(ASCP_SEND, session, tid=tid, consign_pkgs=pkgs(*numbers))
    assert body["alibaba_ascp_logistics_offline_send_response"]["result"] == {"success": True}
    view = await trade(sandbox, tid)
    assert view["status"] == "WAIT_BUYER_CONFIRM_GOODS"
    for line in view["orders"]["order"]:
        assert line["invoice_no"] == numbers[0]
        assert [p["out_sid"] for p in line["consign_pkgs"]] == numbers
    # Every package's number is used now: another trade cannot ship with the second one.
    other_session, other, _ = await new_trade(sandbox, 1)
    refused = await sandbox.top(SEND, other_session, tid=other, out_sid=numbers[1], company_code="ZTO")
    assert sub(refused) == offline("B60")
    assert numbers[1] in sub_msg(refused)


async def test_a_multi_package_refusal_names_the_refused_number_and_ships_nothing(sandbox: Harness) -> None:
    session, tid, oids = await new_trade(sandbox, 2)
    good, discarded = await sandbox.issue("ZTO", "s-1", "p-1", 2)
    await sandbox.courier("TMS_WAYBILL_DISCARD", {"cp_code": "ZTO", "seller_id": "s-1", "waybill_code": discarded})
    cases = [
        (pkgs(good, "12345"), offline("B60"), "12345"),
        (pkgs(good, discarded), offline("F04"), discarded),
        (pkgs(good, good), offline("B60"), good),
        (pkgs(good, "71234567890", company="NOPE"), offline("B56"), None),
        ("[{]", offline("P01"), None),
        ("[]", offline("P01"), None),
    ]
    for consign_pkgs, code, named in cases:
        body = await sandbox.top(ASCP_SEND, session, tid=tid, sub_tid=oids[0], consign_pkgs=consign_pkgs)
        assert sub(body) == code, consign_pkgs
        if named:
            assert named in sub_msg(body)
    view = await trade(sandbox, tid)
    assert (view["status"], view["consignments"]) == ("WAIT_SELLER_SEND_GOODS", [])


async def test_a_number_another_seller_shipped_is_f05_and_named(sandbox: Harness) -> None:
    s_a, tid_a, _ = await new_trade(sandbox, 1, "shop-a")
    s_b, tid_b, _ = await new_trade(sandbox, 1, "shop-b")
    first, second = await sandbox.issue("ZTO", "s-1", "p-1", 2)
    await shipped(sandbox, s_a, tid_a, first)
    body = await sandbox.top(ASCP_SEND, s_b, tid=tid_b, consign_pkgs=pkgs(second, first))
    assert sub(body) == offline("F05")
    assert first in sub_msg(body)


async def test_a_confirmation_collects_nothing(sandbox: Harness) -> None:
    session, tid, _ = await new_trade(sandbox, 1)
    numbers = await sandbox.issue("ZTO", "s-1", "p-1", 2)
    body = await sandbox.top(ASCP_SEND, session, tid=tid, consign_pkgs=pkgs(*numbers))
    assert "error_response" not in body
    assert [await sandbox.number_state(n) for n in numbers] == ["issued", "issued"]
    # Not collected, so the courier still takes it back: the seller may cancel a label it never handed over.
    key = {"cp_code": "ZTO", "seller_id": "s-1", "waybill_code": numbers[1]}
    assert (await sandbox.courier("TMS_WAYBILL_DISCARD", key)).json() == {"success": True}
    await sandbox.collect("zhongtong", numbers[0])


async def test_a_resend_replaces_the_number_and_frees_the_old_one(sandbox: Harness) -> None:
    session, tid, _ = await new_trade(sandbox, 1)
    old, new = await sandbox.issue("ZTO", "s-1", "p-1", 2)
    await shipped(sandbox, session, tid, old)
    body = await sandbox.top(RESEND, session, tid=tid, out_sid=new, company_code="ZTO")
    assert body["logistics_consign_resend_response"]["shipping"] == {"is_success": True}
    view = await trade(sandbox, tid)
    assert (view["status"], view["shipping"]["out_sid"]) == ("WAIT_BUYER_CONFIRM_GOODS", new)
    assert sub(await sandbox.top(RESEND, session, tid=tid, out_sid=new, company_code="ZTO")) == resend("P07")
    other_session, other, _ = await new_trade(sandbox, 1)
    await shipped(sandbox, other_session, other, old)  # free again


async def test_a_multi_package_resend_replaces_one_parts_packages(sandbox: Harness) -> None:
    session, tid, oids = await new_trade(sandbox, 2)
    a, b, c, d = await sandbox.issue("ZTO", "s-1", "p-1", 4)
    assert "error_response" not in await sandbox.top(ASCP_SEND, session, tid=tid, sub_tid=oids[0], consign_pkgs=pkgs(a))
    assert (await trade(sandbox, tid))["status"] == "SELLER_CONSIGNED_PART"
    body = await sandbox.top(ASCP_RESEND, session, tid=tid, sub_tids=oids[0], consign_pkgs=pkgs(a, b, c))
    assert body["alibaba_ascp_logistics_consign_resend_response"]["result"] == {"success": True}
    view = await trade(sandbox, tid)
    assert [p["out_sid"] for p in view["consignments"][0]["packages"]] == [a, b, c]
    # The part's lines must be named exactly, and a split trade's resend must name them.
    assert sub(await sandbox.top(ASCP_RESEND, session, tid=tid, consign_pkgs=pkgs(d))) == resend("CD22")
    wrong = ",".join(oids)
    assert sub(await sandbox.top(ASCP_RESEND, session, tid=tid, sub_tids=wrong, consign_pkgs=pkgs(d))) == resend("B06")


async def test_resend_refusals(sandbox: Harness) -> None:
    session, tid, _ = await new_trade(sandbox, 1)
    a, b, expired = await sandbox.issue("ZTO", "s-1", "p-1", 3)
    one = {"company_code": "ZTO"}
    not_shipped = await sandbox.top(RESEND, session, tid=tid, out_sid=a, **one)
    assert sub(not_shipped) == resend("CD19")
    assert sub(await sandbox.top(RESEND, session, tid="123", out_sid=a, **one)) == resend("CD30")
    await shipped(sandbox, session, tid, a)
    other_session, other, _ = await new_trade(sandbox, 1)
    await shipped(sandbox, other_session, other, b)
    used = await sandbox.top(RESEND, session, tid=tid, out_sid=b, **one)
    assert sub(used) == resend("P10")
    assert b in sub_msg(used)
    off_rule = await sandbox.top(ASCP_RESEND, session, tid=tid, consign_pkgs=pkgs(a, "12345"))
    assert (sub(off_rule), "12345" in sub_msg(off_rule)) == (resend("P10"), True)
    await sandbox.client.post("/control/courier/expire", json={"waybill_codes": [expired]})
    assert sub(await sandbox.top(RESEND, session, tid=tid, out_sid=expired, **one)) == resend("F01")
    assert sub(await sandbox.top(RESEND, session, tid=tid, out_sid=a, company_code="NOPE")) == resend("P03")
    assert (await trade(sandbox, tid))["shipping"]["out_sid"] == a


async def test_a_resend_is_refused_24_hours_after_shipping_on_the_sandbox_clock(sandbox: Harness) -> None:
    session, tid, _ = await new_trade(sandbox, 1)
    a, b, c = await sandbox.issue("ZTO", "s-1", "p-1", 3)
    await shipped(sandbox, session, tid, a)
    await sandbox.client.post("/control/clock/advance", json={"seconds": 23 * 3600})
    assert "error_response" not in await sandbox.top(RESEND, session, tid=tid, out_sid=b, company_code="ZTO")
    await sandbox.client.post("/control/clock/advance", json={"seconds": 2 * 3600})
    late = await sandbox.top(RESEND, session, tid=tid, out_sid=c, company_code="ZTO")
    assert sub(late) == resend("P08")
    assert "24" in sub_msg(late)
    assert (await trade(sandbox, tid))["shipping"]["out_sid"] == b


async def test_a_signed_trade_cannot_change_its_number(sandbox: Harness) -> None:
    session, tid, _ = await new_trade(sandbox, 1)
    a, b = await sandbox.issue("ZTO", "s-1", "p-1", 2)
    await shipped(sandbox, session, tid, a)
    await sandbox.client.put(f"/control/marketplace/trades/{tid}/status", json={"status": "TRADE_BUYER_SIGNED"})
    assert sub(await sandbox.top(RESEND, session, tid=tid, out_sid=b, company_code="ZTO")) == resend("P06")
