"""The demo's invariants on hand-made summaries, and the command's exit status and message when one breaks."""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack import demo
from devstack.demo_report import BatchSeen, DemoSummary, OrderSeen, ShipmentSeen, invariant_breaks
from services.shipping import labels


def _summary(n: int = 3) -> DemoSummary:
    """A clean day of ``n`` orders, each shipped once with its own number in one finished batch."""
    orders = [OrderSeen(f"ord_{i}", f"tid{i}", "delivered", "ZTO", f"7000000000{i}") for i in range(n)]
    return DemoSummary(
        shop_id="s-1",
        api_key="wbk_x",
        seller_nick="nick",
        tids=[o.external_id for o in orders],
        orders=orders,
        shipments=[ShipmentSeen(f"shp_{i}", o.id, o.number or "", "confirmed") for i, o in enumerate(orders)],
        batches=[BatchSeen("bat_1", "completed", n, n, 0, 0, 0, {o.id: "shipped" for o in orders})],
        waybill_orders={o.number or "": o.external_id for o in orders},
        pools={"ZTO": {"available": 10, "shipped": n}},
        alerts=Counter({("problem", "resolved"): 1, ("aborted", "open"): 1}),
        balance_cents=5000,
        ledger_total_cents=5000,
        phases={"shop": 1.0},
        total_s=1.0,
        label_path=Path("/tmp/sample-label.pdf"),
        batch_labels_path=None,
        label_pages=n,
        tracking_parcels=n,
        tracking_settled=n,
        tracking_kinds=Counter({"normal": n}),
        pushes=Counter({"acked": n}),
    )


def _with_number(s: DemoSummary, index: int, number: str) -> DemoSummary:
    orders = list(s.orders)
    orders[index] = dataclasses.replace(orders[index], number=number)
    shipments = list(s.shipments)
    shipments[index] = dataclasses.replace(shipments[index], number=number)
    return dataclasses.replace(s, orders=orders, shipments=shipments)


def test_a_clean_day_breaks_nothing() -> None:
    assert invariant_breaks(_summary()) == []


def test_a_number_on_two_orders_is_caught() -> None:
    s = _with_number(_summary(), 1, _summary().orders[0].number or "")
    assert any("waybill number(s) used on two orders" in b for b in invariant_breaks(s))


def test_an_order_with_two_live_shipments_is_caught() -> None:
    s = _summary()
    again = ShipmentSeen("shp_again", s.orders[0].id, "70000000099", "confirmed")
    assert any("shipped twice" in b for b in invariant_breaks(dataclasses.replace(s, shipments=[*s.shipments, again])))
    # A failed attempt before the one that shipped is not shipping twice.
    failed = dataclasses.replace(again, status="failed")
    assert not any(
        "shipped twice" in b for b in invariant_breaks(dataclasses.replace(s, shipments=[*s.shipments, failed]))
    )


def test_a_number_allocation_holds_for_another_order_is_caught() -> None:
    s = _summary()
    owners = {**s.waybill_orders, s.orders[2].number or "": "tid0"}
    assert any(
        "held by allocation for another order" in b
        for b in invariant_breaks(dataclasses.replace(s, waybill_orders=owners))
    )


def test_ledger_not_summing_to_the_balance_is_caught() -> None:
    broken = invariant_breaks(dataclasses.replace(_summary(), ledger_total_cents=4999))
    assert broken == ["the ledger sums to 4999 cents but the balance is 5000"]


def test_a_trade_without_an_order_and_an_order_in_no_batch_are_caught() -> None:
    s = _summary()
    lost = dataclasses.replace(s, tids=[*s.tids, "tid-lost"])
    assert any("never became an order" in b for b in invariant_breaks(lost))
    batch = dataclasses.replace(s.batches[0], items={s.orders[0].id: "shipped"})
    assert any("not accounted for" in b for b in invariant_breaks(dataclasses.replace(s, batches=[batch])))


def test_an_unfinished_batch_is_caught() -> None:
    s = _summary()
    batch = dataclasses.replace(s.batches[0], status="processing", pending=1, done=2)
    assert any("did not finish" in b for b in invariant_breaks(dataclasses.replace(s, batches=[batch])))


def _run_main(monkeypatch: pytest.MonkeyPatch, summary: DemoSummary) -> int:
    @contextlib.contextmanager
    def up(*_: Any) -> Iterator[None]:
        yield

    async def day(*_: Any, **__: Any) -> DemoSummary:
        return summary

    monkeypatch.setattr(demo, "system", up)
    monkeypatch.setattr(demo, "arun_demo", day)
    return demo.main()


def test_the_command_exits_non_zero_naming_a_number_used_twice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    duplicated = _with_number(_summary(), 2, _summary().orders[1].number or "")
    assert _run_main(monkeypatch, duplicated) == 1
    out = capsys.readouterr().out
    assert "invariant broken" in out
    assert "waybill number(s) used on two orders, e.g. 70000000001" in out
    assert "invariants hold" not in out


def test_the_command_exits_zero_and_prints_the_summary_when_all_hold(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run_main(monkeypatch, _summary()) == 0
    out = capsys.readouterr().out
    for title in ("orders by state", "numbers by state per carrier", "alerts by kind", "time taken"):
        assert title in out
    assert "invariants hold" in out
    assert "sample-label.pdf" in out


def test_pdf_pages_counts_the_pages_of_shipping_s_labels() -> None:
    label = labels.LabelData(
        shipment_id="shp_1", order_ref="tid1", carrier="ZTO", carrier_name="中通快递", number="70000000001",
        sender_name="s", sender_phone="1", sender_address="a", receiver_name="r", receiver_phone="2",
        receiver_address="b", weight_g=100, reprint=0,
    )  # fmt: skip
    assert demo.pdf_pages(labels.render_one(label)) == 1
    assert demo.pdf_pages(b"".join(labels.stream([label] * 3))) == 3
    assert demo.pdf_pages(labels.render_one(label)[:-20]) == 0  # cut short: not a complete PDF


def test_the_day_splits_between_the_three_channels_and_adds_up() -> None:
    assert demo.channel_shares(200) == (130, 50, 20)
    for total in (1, 3, 7, 2000):
        assert sum(demo.channel_shares(total)) == total


def test_the_summary_counts_orders_and_shipped_orders_by_channel(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    day = _summary(4)
    channels = ["taobao", "pinduoduo", "own", "own"]
    orders = [dataclasses.replace(o, channel=c) for o, c in zip(day.orders, channels, strict=True)]
    orders[3] = dataclasses.replace(orders[3], status="label_printed")
    assert _run_main(monkeypatch, dataclasses.replace(day, orders=orders)) in (0, 1)
    out = capsys.readouterr().out
    assert "orders by channel" in out
    rows = {line.split("│")[1].strip(): line.split("│")[2:4] for line in out.splitlines() if line.count("│") >= 4}
    assert [c.strip() for c in rows["own"]] == ["2", "1"]
    assert [c.strip() for c in rows["pinduoduo"]] == ["1", "1"]
