"""A trade as TOP shows it and what each order message carries, without a running sandbox."""

from __future__ import annotations

import json

from services.sandbox.addresses import Receiver
from services.sandbox.marketplace.messages import address_content, close_content, paid_content
from services.sandbox.marketplace.trades import Consignment, OrderLine, Package, Trade, TradeStatus, yuan

OIDS = ("3000000000000000002", "3000000000000000003")
RECEIVER = Receiver("张三", "13800000000", "浙江省", "杭州市", "西湖区", "文三路1号", "310000")


def a_trade(**changes: object) -> Trade:
    values: dict[str, object] = {
        "tid": "3000000000000000001",
        "seller_nick": "shop-a",
        "buyer_nick": "tb123",
        "status": TradeStatus.WAIT_SELLER_SEND_GOODS,
        "created": 1_750_000_000.0,
        "modified": 1_750_000_060.0,
        "pay_time": 1_750_000_060.0,
        "receiver": RECEIVER,
        "orders": [OrderLine(OIDS[0], "杯子", 2, 1990), OrderLine(OIDS[1], "T恤", 1, 5900)],
        "weight_g": 900,
        **changes,
    }
    return Trade(**values)  # type: ignore[arg-type]


def test_yuan_writes_cents_as_a_two_decimal_string() -> None:
    assert [yuan(0), yuan(5), yuan(1990), yuan(123456)] == ["0.00", "0.05", "19.90", "1234.56"]


def test_a_trade_shows_totals_per_line_and_overall() -> None:
    top = a_trade().to_top()
    assert (top["payment"], top["total_fee"], top["num"]) == ("98.80", "98.80", 3)
    first = top["orders"]["order"][0]
    assert (first["price"], first["total_fee"], first["payment"], first["status"]) == (
        "19.90",
        "39.80",
        "39.80",
        "WAIT_SELLER_SEND_GOODS",
    )
    assert "consign_time" not in top
    assert "invoice_no" not in first


def test_a_shipped_trade_names_its_carrier_and_number() -> None:
    whole = Consignment(OIDS, [Package("ZTO", "71234567890")], consigned=1.0e9, consigned_sim=1.0e9)
    view = a_trade(status=TradeStatus.WAIT_BUYER_CONFIRM_GOODS, consignments=[whole]).control_view()
    assert view["shipping"] == {"company_code": "ZTO", "out_sid": "71234567890", "consign_time": "2001-09-09 09:46:40"}
    assert {o["invoice_no"] for o in view["orders"]["order"]} == {"71234567890"}
    assert {o["status"] for o in view["orders"]["order"]} == {"WAIT_BUYER_CONFIRM_GOODS"}
    assert json.loads(json.dumps(view))["status"] == "WAIT_BUYER_CONFIRM_GOODS"


def test_a_partly_shipped_trade_shows_each_lines_own_state_and_packages() -> None:
    packages = [Package("ZTO", "71234567890"), Package("ZTO", "71234567891")]
    part = Consignment(OIDS[:1], packages, consigned=1.0e9, consigned_sim=1.0e9)
    top = a_trade(status=TradeStatus.SELLER_CONSIGNED_PART, consignments=[part]).to_top()
    shipped, waiting = top["orders"]["order"]
    assert (shipped["status"], shipped["invoice_no"], shipped["logistics_company"]) == (
        "WAIT_BUYER_CONFIRM_GOODS",
        "71234567890",
        "ZTO",
    )
    assert shipped["consign_pkgs"] == [
        {"company_code": "ZTO", "out_sid": "71234567890"},
        {"company_code": "ZTO", "out_sid": "71234567891"},
    ]
    assert waiting["status"] == "WAIT_SELLER_SEND_GOODS"
    assert "invoice_no" not in waiting
    assert "consign_pkgs" not in waiting
    assert top["consign_time"] == "2001-09-09 09:46:40"


def test_message_contents_per_topic() -> None:
    trade = a_trade()
    assert paid_content(trade) == {
        "tid": trade.tid,
        "oid": "3000000000000000002",
        "payment": "98.80",
        "buyer_nick": "tb123",
        "seller_nick": "shop-a",
        "type": "fixed",
    }
    assert close_content(trade) == {**paid_content(trade), "status": "TRADE_CLOSED"}
    assert address_content(trade) == {"tid": trade.tid, "seller_nick": "shop-a", "buyer_nick": "tb123"}
