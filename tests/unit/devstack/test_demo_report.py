"""The demo's invariants on hand-made summaries, and the command's exit status and message when one breaks."""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devstack import demo
from devstack.demo_report import (
    AddressChangeSeen,
    BatchSeen,
    DemoSummary,
    OrderSeen,
    ParcelSeen,
    SceneSeen,
    ShipmentSeen,
    VoidSeen,
    invariant_breaks,
    spend_line,
)
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
        topups_cents=8000,
        spend=_SPEND,
    )


# 8,000 topped up, 5,000 left: the day spent 3,000 net, as its spend report says.
_SPEND = {
    "bought": 10, "used": 3, "voided": 0, "expired": 0, "refunded": 0, "spent_cents": 3000, "refunded_cents": 0,
    "extension_fees_cents": 0, "net_cents": 3000, "used_cost_cents": 900, "average_cost_cents": 300.0,
}  # fmt: skip


def test_a_spend_report_that_is_not_the_ledger_is_caught() -> None:
    s = dataclasses.replace(_summary(), spend={**_SPEND, "net_cents": 2999})
    assert any("spend report's net is 2999 cents but the ledger's rows but top-ups are 3000" in b
               for b in invariant_breaks(s))  # fmt: skip
    assert any("no spend report was read" in b for b in invariant_breaks(dataclasses.replace(_summary(), spend={})))


def test_the_summary_says_the_days_spend() -> None:
    line = spend_line(_summary())
    assert "spent ¥30.00" in line
    assert "net ¥30.00" in line
    assert "3 numbers used at ¥3.0000 a parcel" in line


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


def test_an_order_with_two_live_shipments_of_all_its_lines_is_caught() -> None:
    s = _summary()
    again = ShipmentSeen("shp_again", s.orders[0].id, "70000000099", "confirmed")
    broken = invariant_breaks(dataclasses.replace(s, shipments=[*s.shipments, again]))
    assert any("order line(s) on two live shipments (an order shipped twice), e.g. ord_0 line 1" in b for b in broken)
    # A failed attempt, or a voided shipment, before the one that shipped is not shipping twice.
    for status in ("failed", "voided", "cancelled"):
        gone = dataclasses.replace(again, status=status)
        assert invariant_breaks(dataclasses.replace(s, shipments=[*s.shipments, gone])) == []


def _split_day(first: str = "confirmed", second: str = "confirmed", status: str = "shipped") -> DemoSummary:
    """Order 0 has three lines, shipped as line 1, then lines 2 and 3 in a parcel each."""
    s = _summary()
    orders = [dataclasses.replace(s.orders[0], lines=3, status=status), *s.orders[1:]]
    part1 = ShipmentSeen("shp_0", "ord_0", "70000000000", first, (ParcelSeen("70000000000", lines=(1,)),))
    part2 = ShipmentSeen(
        "shp_0b",
        "ord_0",
        "70000000010",
        second,
        (ParcelSeen("70000000010", lines=(2,)), ParcelSeen("70000000011", lines=(3,))),
    )
    owners = {**s.waybill_orders, "70000000010": "tid0:P2", "70000000011": "tid0:P3"}
    return _by_scene(
        dataclasses.replace(s, orders=orders, shipments=[part1, part2, *s.shipments[1:]], waybill_orders=owners),
        "split",
        "ord_0",
    )


def _by_scene(s: DemoSummary, scene: str, order_id: str) -> DemoSummary:
    """The order shipped by a scene of the demo, one by one, rather than by the batch."""
    batch = s.batches[0]
    items = {o: status for o, status in batch.items.items() if o != order_id}
    batch = dataclasses.replace(batch, total=len(items), done=len(items), items=items)
    return dataclasses.replace(s, batches=[batch], scenes={scene: SceneSeen(scene, [order_id])})


def test_a_split_order_s_parts_carry_different_lines_and_one_line_on_two_is_caught() -> None:
    assert invariant_breaks(_split_day()) == []
    s = _split_day()
    overlapping = ShipmentSeen("shp_0c", "ord_0", "70000000020", "pending", (ParcelSeen("70000000020", lines=(3,)),))
    broken = invariant_breaks(dataclasses.replace(s, shipments=[*s.shipments, overlapping]))
    assert any("order line(s) on two live shipments" in b and "ord_0 line 3 (shp_0b, shp_0c)" in b for b in broken)


def test_a_split_order_is_shipped_with_its_last_line_and_not_before() -> None:
    # The second part not confirmed yet: partly shipped is right, shipped is not.
    assert invariant_breaks(_split_day(second="pending", status="partly_shipped")) == []
    early = invariant_breaks(_split_day(second="pending", status="shipped"))
    assert any(
        "with lines left to ship are not partly shipped, e.g. ord_0 (shipped, lines [1] of 3" in b for b in early
    )
    # Every line confirmed: the order must have moved on.
    late = invariant_breaks(_split_day(status="partly_shipped"))
    assert any("with every line confirmed are not shipped, e.g. ord_0 (partly_shipped)" in b for b in late)


def _multi_parcel(s: DemoSummary, numbers: tuple[str, ...], index: int = 0) -> DemoSummary:
    """Order ``index`` shipped in parcels of these numbers (parcel 1 the order's reference, the others its own)."""
    o = s.orders[index]
    boxes = tuple(ParcelSeen(n) for n in numbers)
    shipments = list(s.shipments)
    shipments[index] = dataclasses.replace(shipments[index], number=numbers[0], parcels=boxes)
    owners = {**s.waybill_orders, **{n: f"{o.external_id}:P{i}" for i, n in enumerate(numbers[1:], start=2)}}
    return dataclasses.replace(s, shipments=shipments, waybill_orders=owners)


def test_parcels_with_numbers_of_their_own_hold_and_a_number_on_two_live_parcels_is_caught() -> None:
    s = _summary()
    assert invariant_breaks(_multi_parcel(s, ("70000000000", "70000000050", "70000000051"))) == []
    within = invariant_breaks(_multi_parcel(s, ("70000000000", "70000000050", "70000000050")))
    assert any("1 waybill number(s) on two live parcels, e.g. 70000000050" in b for b in within)
    # Order 1's second parcel has order 2's number.
    across = invariant_breaks(_multi_parcel(s, ("70000000001", "70000000002"), index=1))
    assert any("waybill number(s) on two live parcels, e.g. 70000000002" in b for b in across)
    # A voided parcel gave its number up: the same number live elsewhere is not two live parcels.
    gone = _multi_parcel(s, ("70000000001", "70000000060"), index=1)
    shipments = list(gone.shipments)
    shipments[1] = dataclasses.replace(
        shipments[1], parcels=(ParcelSeen("70000000001"), ParcelSeen("70000000002", "voided"))
    )
    voids = {"70000000002": VoidSeen("70000000002", "discarded", "full", 0)}
    assert not any(
        "live parcels" in b for b in invariant_breaks(dataclasses.replace(gone, shipments=shipments, voids=voids))
    )


def test_a_parcel_number_allocation_holds_for_another_order_s_parcel_is_caught() -> None:
    s = _multi_parcel(_summary(), ("70000000000", "70000000050"))
    owners = {**s.waybill_orders, "70000000050": "tid1:P2"}
    broken = invariant_breaks(dataclasses.replace(s, waybill_orders=owners))
    assert any("held by allocation for another order, e.g. 70000000050 (allocation: tid1:P2)" in b for b in broken)


def _voided_day(courier: str = "discarded", credited: int = 300, credits: int = 1) -> DemoSummary:
    """Order 2 refunded before pickup: its two-parcel shipment voided, both numbers cancelled and credited."""
    s = _summary()
    numbers = ("70000000002", "70000000052")
    voided = ShipmentSeen("shp_2", "ord_2", numbers[0], "voided", tuple(ParcelSeen(n, "voided") for n in numbers))
    orders = [*s.orders[:2], dataclasses.replace(s.orders[2], status="cancelled", number=None)]
    day = dataclasses.replace(
        s,
        orders=orders,
        shipments=[*s.shipments[:2], voided],
        voids={n: VoidSeen(n, courier, "full", credited) for n in numbers},
        void_credits=[(n, credited) for n in numbers for _ in range(credits)],
    )
    return _by_scene(day, "refunded before pickup", "ord_2")


def test_voided_numbers_credited_once_hold_and_twice_or_never_are_caught() -> None:
    assert invariant_breaks(_voided_day()) == []
    twice = invariant_breaks(_voided_day(credits=2))
    assert any(
        "2 voided number(s) not credited exactly once, e.g. 70000000002 (credited 2 time(s), 600 cents; "
        "void record: 300)" in b
        for b in twice
    )
    never = invariant_breaks(_voided_day(credits=0))
    assert any("not credited exactly once, e.g. 70000000002 (credited 0 time(s)" in b for b in never)


def test_a_voided_number_not_cancelled_at_the_courier_or_unknown_to_allocation_is_caught() -> None:
    collected = invariant_breaks(_voided_day(courier="collected", credited=0, credits=0))
    assert any("not cancelled at the courier, e.g. 70000000002 (courier: collected)" in b for b in collected)
    s = _voided_day()
    unknown = dataclasses.replace(s, voids={k: v for k, v in s.voids.items() if k != "70000000052"})
    broken = invariant_breaks(unknown)
    assert any("1 voided number(s) without a void in allocation, e.g. 70000000052" in b for b in broken)
    assert any("1 void credit(s) for a number no parcel gave up, e.g. 70000000052" in b for b in broken)


def _marketplace_day(held: set[str]) -> DemoSummary:
    s = _multi_parcel(_summary(), ("70000000000", "70000000050"))
    orders = [dataclasses.replace(s.orders[0], channel="taobao"), *s.orders[1:]]
    return dataclasses.replace(s, orders=orders, marketplace_numbers={"ord_0": held})


def test_every_live_parcel_on_its_marketplace_holds_and_one_missing_is_caught() -> None:
    assert invariant_breaks(_marketplace_day({"70000000000", "70000000050"})) == []
    broken = invariant_breaks(_marketplace_day({"70000000000"}))
    assert broken == [
        "1 live parcel number(s) of confirmed shipments not on their marketplace, e.g. ord_0: 70000000050"
    ]
    # The shop's own orders have no marketplace to hold their numbers.
    own = _multi_parcel(_summary(), ("70000000000", "70000000050"))
    assert invariant_breaks(own) == []


def test_orders_a_scene_shipped_one_by_one_are_accounted_for_without_a_batch() -> None:
    s = _summary()
    batch = dataclasses.replace(s.batches[0], total=2, done=2, items={o.id: "shipped" for o in s.orders[1:]})
    alone = dataclasses.replace(s, batches=[batch])
    assert any("not accounted for by any batch, e.g. ord_0" in b for b in invariant_breaks(alone))
    scenes = {"multi-parcel": SceneSeen("multi-parcel", ["ord_0"], 1, 2)}
    assert invariant_breaks(dataclasses.replace(alone, scenes=scenes)) == []


def test_a_number_allocation_holds_for_another_order_is_caught() -> None:
    s = _summary()
    owners = {**s.waybill_orders, s.orders[2].number or "": "tid0"}
    assert any(
        "held by allocation for another order" in b
        for b in invariant_breaks(dataclasses.replace(s, waybill_orders=owners))
    )


def test_ledger_not_summing_to_the_balance_is_caught() -> None:
    broken = invariant_breaks(dataclasses.replace(_summary(), balance_cents=5001))
    assert broken == ["the ledger sums to 5000 cents but the balance is 5001"]


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


def test_the_plan_takes_a_few_orders_of_each_channel_for_the_scenes_and_batches_the_rest() -> None:
    plan = demo.plan_day(2000)
    assert (plan.taobao, plan.pinduoduo, plan.own) == demo.channel_shares(2000)
    assert sum(plan.sources.values()) == 2000
    assert (plan.split, plan.refunded) == (3, 10)
    assert plan.multi_parcel == {"taobao": 39, "pinduoduo": 15, "own": 6}
    sources = {name: [f"{name}-{i}" for i in range(n)] for name, n in plan.sources.items()}
    picked, batched = demo.pick_orders(plan, sources)
    assert set(picked) == {scene.name for scene in demo.SCENES}
    every = [o for ids in picked.values() for o in ids] + batched
    assert sorted(every) == sorted(o for ids in sources.values() for o in ids)  # each order once
    assert picked["split"] == sources["split"]
    assert len(picked["refunded before pickup"]) == 10
    assert all(o.startswith("own-") for o in picked["refunded before pickup"])
    assert [o.split("-")[0] for o in picked["number change"]] == ["taobao", "pinduoduo"]
    # The at-collection store's trades come out of Taobao's share, and only that scene ships them.
    assert plan.at_collection == 5
    assert plan.sources["taobao"] == plan.taobao - plan.split - plan.at_collection
    assert picked["at-collection store"] == sources["at_collection"]
    assert [o.split("-")[0] for o in picked["address change reprint"]] == ["taobao"] * 2 + ["pinduoduo"] * 2 + ["own"]
    assert len(batched) == 2000 - 39 - 15 - 6 - 3 - 10 - 2 - 5 - 5
    # A small day still batches most of its orders; a tiny one has no scene at all.
    small = demo.pick_orders(
        demo.plan_day(200), {n: [f"{n}{i}" for i in range(c)] for n, c in demo.plan_day(200).sources.items()}
    )
    assert len(small[1]) >= 100
    assert demo.pick_orders(demo.plan_day(7), {n: ["x"] * c for n, c in demo.plan_day(7).sources.items()})[0] == {}


def test_an_order_settles_when_all_its_parcels_ended_as_the_order_shows() -> None:
    delivered = {"finished": True, "aborted": False, "final_state": "3"}
    travelling = {"finished": False, "aborted": False, "final_state": "3"}
    assert demo.order_settled([delivered, delivered], "delivered")
    assert not demo.order_settled([delivered, delivered], "in_transit")
    assert not demo.order_settled([delivered, travelling], "in_transit")
    # Parcels ending differently, or one never collected, leave nothing to compare.
    assert demo.order_settled([delivered, {**delivered, "final_state": "4"}], "exception")
    assert demo.order_settled([delivered, {"finished": False, "aborted": True}], "in_transit")


def test_the_summary_shows_the_scenes_and_the_voids(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    day = _voided_day()
    scenes = {
        "refunded before pickup": SceneSeen("refunded before pickup", ["ord_2"], 1, 2, {"numbers voided": 2}),
        "split": SceneSeen("split", [], 2, 3, {"parts": 2}),
    }
    assert _run_main(monkeypatch, dataclasses.replace(day, scenes=scenes)) == 0
    out = capsys.readouterr().out
    assert "orders worked one by one" in out
    assert "refunded before pickup" in out
    assert "numbers voided 2" in out
    assert "voids: 1 shipments, 2 numbers, 2 credited (¥6.00)" in out


T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def _held_day(
    status: str = "confirmed",
    released: datetime | None = T0,
    confirmed: datetime | None = T0 + timedelta(seconds=1),
    release: str | None = "parcel 70000000000 collected (collected)",
    collected: datetime | None = T0 + timedelta(hours=3),  # the provider's (fast) clock: not compared
    on_marketplace: frozenset[str] = frozenset({"70000000000"}),
) -> DemoSummary:
    """Order 0 of a Taobao store that confirms at collection: its shipment held once printed, released by its
    parcel's collection and confirmed."""
    s = _summary()
    orders = [dataclasses.replace(s.orders[0], channel="taobao"), *s.orders[1:]]
    if status == "held":
        orders[0] = dataclasses.replace(orders[0], status="label_printed")
    held = ShipmentSeen(
        "shp_0", "ord_0", "70000000000", status, (ParcelSeen("70000000000", collected_at=collected),),
        "at_collection", confirmed, released, release,
    )  # fmt: skip
    day = dataclasses.replace(
        s, orders=orders, shipments=[held, *s.shipments[1:]], marketplace_numbers={"ord_0": set(on_marketplace)}
    )
    return _by_scene(day, "at-collection store", "ord_0")


def test_an_at_collection_shipment_confirmed_after_its_release_holds() -> None:
    assert invariant_breaks(_held_day()) == []
    by_time = _held_day(release="the shop's confirmation time", collected=None)
    assert invariant_breaks(by_time) == []
    # Still held (the courier never came): nothing on the marketplace, nothing broken.
    assert invariant_breaks(_held_day("held", None, None, None, None, frozenset())) == []


def test_an_at_collection_shipment_confirmed_unreleased_early_or_uncollected_is_caught() -> None:
    never = invariant_breaks(_held_day(released=None, release=None))
    assert never == [
        "1 at-collection shipment(s) confirmed but never released (no collection, no confirmation time), e.g. shp_0"
    ]
    early = invariant_breaks(_held_day(confirmed=T0 - timedelta(seconds=1)))
    assert len(early) == 1
    assert "1 at-collection shipment(s) confirmed before their release, e.g. shp_0" in early[0]
    uncollected = invariant_breaks(_held_day(collected=None))
    assert uncollected == [
        "1 at-collection shipment(s) released by a collection their parcel does not record, e.g. shp_0 "
        "(parcel 70000000000 collected (collected))"
    ]


def test_a_held_shipment_already_on_its_marketplace_is_caught() -> None:
    told = invariant_breaks(_held_day("held", None, None, None, None))
    assert told == ["1 number(s) of held shipments already on their marketplace, e.g. ord_0: 70000000000"]


MOVED: dict[str, Any] = {
    "name": "周杰",
    "phone": "13957112345",
    "address": {"province": "浙江省", "city": "杭州市", "district": "西湖区", "detail": "文三路 90 号"},
}


def _moved_day(courier: dict[str, Any] | None = MOVED, numbers: tuple[str, ...] = ("70000000001",)) -> DemoSummary:
    """Order 1's buyer moved after printing: its number kept, its courier told the new receiver."""
    s = _by_scene(_summary(), "address change reprint", "ord_1")
    scene = dataclasses.replace(
        s.scenes["address change reprint"], address_changes=(AddressChangeSeen("ord_1", numbers, MOVED),)
    )
    return dataclasses.replace(s, scenes={scene.name: scene}, courier_recipients=dict.fromkeys(numbers, courier))


def test_an_address_change_at_the_courier_with_its_number_kept_holds() -> None:
    assert invariant_breaks(_moved_day()) == []


def test_an_address_change_the_courier_never_got_or_a_number_changed_is_caught() -> None:
    untold = invariant_breaks(_moved_day(courier=None))
    assert untold == [
        "1 number(s) of address-changed orders without the new receiver at the courier, e.g. 70000000001 of ord_1 "
        "(courier: None)"
    ]
    old = {**MOVED, "address": {**MOVED["address"], "detail": "中山北路 30 号"}}
    assert "without the new receiver at the courier" in invariant_breaks(_moved_day(courier=old))[0]
    renumbered = invariant_breaks(_moved_day(numbers=("70000000099",)))
    assert any(
        "1 address-changed order(s) whose numbers changed, e.g. ord_1 (70000000099 now 70000000001)" in b
        for b in renumbered
    )


def test_a_shipment_as_the_api_lists_it_says_its_release_and_collections() -> None:
    api = {
        "id": "shp_1", "order_id": "ord_1", "number": "7001", "status": "confirmed", "confirm_mode": "at_collection",
        "confirmed_at": "2026-11-28T02:00:05Z",
        "history": [
            {"number": "7001", "event": "assigned", "at": "2026-11-28T02:00:00+00:00"},
            {"event": "released: parcel 7001 collected (collected)", "at": "2026-11-28T02:00:04+00:00"},
        ],
        "parcels": [{"number": "7001", "status": "live", "lines": [], "collected_at": "2026-11-28T09:00:00+08:00"}],
    }  # fmt: skip
    seen = demo.shipment_seen(api)
    assert seen.confirm_mode == "at_collection"
    assert seen.release == "parcel 7001 collected (collected)"
    assert seen.released_at == datetime(2026, 11, 28, 2, 0, 4, tzinfo=UTC)
    assert seen.confirmed_at == datetime(2026, 11, 28, 2, 0, 5, tzinfo=UTC)
    assert seen.boxes[0].collected_at == datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    held = demo.shipment_seen({**api, "status": "held", "confirmed_at": None, "history": api["history"][:1]})
    assert (held.released_at, held.release, held.confirmed_at) == (None, None, None)
    assert demo.followed_numbers([{**api, "status": "held"}]) == {"7001": "ord_1"}  # tracking follows held ones


def test_pdf_texts_reads_each_label_page_with_its_address_wrapped_or_not() -> None:
    address = "浙江省 杭州市 西湖区 文三路 90 号 2 幢 501 室，" + "很长的地址" * 6
    label = labels.LabelData(
        shipment_id="shp_1", order_ref="tid1", carrier="ZTO", carrier_name="中通快递", number="70000000001",
        sender_name="s", sender_phone="1", sender_address="a", receiver_name="周杰", receiver_phone="13957112345",
        receiver_address=address, weight_g=100, reprint=1,
    )  # fmt: skip
    [page] = demo.pdf_texts(labels.render_one(label))
    assert demo.squeezed(address) in page  # wrapped over lines, read as one
    assert "70000000001" in page
    assert "reprint1" in page
    pages = demo.pdf_texts(b"".join(labels.stream([label, dataclasses.replace(label, number="70000000002")])))
    assert ["70000000001" in p for p in pages] == [True, False]
    assert "70000000002" in pages[1]
    assert demo.label_address({"state": "北京市", "city": "北京市", "district": "", "address": "建国路 88 号"}) == (
        "北京市 北京市 建国路 88 号"
    )


async def test_the_scenes_waiting_for_couriers_settle_and_the_others_stay_as_they_were() -> None:
    async def settle(_: demo.Day, seen: SceneSeen) -> SceneSeen:
        return dataclasses.replace(seen, counts={**seen.counts, "released": 1})

    async def run(_: demo.Day, orders: list[str]) -> SceneSeen:
        return SceneSeen("x", orders)

    scenes = (demo.Scene("a", lambda p: {}, run, settle), demo.Scene("b", lambda p: {}, run))
    seen = {"a": SceneSeen("a", ["o1"], counts={"held": 1}), "b": SceneSeen("b", ["o2"])}
    day = demo.Day(None, None, demo.DemoOptions())  # type: ignore[arg-type]
    settled = await demo.settle_scenes(day, seen, scenes)
    assert settled["a"].counts == {"held": 1, "released": 1}
    assert settled["b"] is seen["b"]
    assert await demo.settle_scenes(day, {"b": seen["b"]}, scenes) == {"b": seen["b"]}
