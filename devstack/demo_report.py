"""What `make demo` found: the summary of a seller's day, its invariants, and the tables it prints.

Kept apart from the run itself so the invariants can be checked on any summary (a unit test feeds one
with a number used twice) and so other tools (the dashboard test) can reuse the run and read its result.

A shipment is one or more parcels (一单多包), each with its own number; an order is shipped in one or more
shipments (拆单), each carrying some of its lines. The invariants are stated on parcels and lines: no number on
two live parcels, no line of an order on two live shipments, every live parcel of a confirmed marketplace
shipment on its marketplace, every voided number credited once; a shipment held until collection confirmed only
once released, none of its numbers on the marketplace while held; an address changed after printing (改址) at
the courier for every number, which stays.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

POOL_STATES = ("available", "allocated", "printed", "shipped", "voided", "expired", "quarantined")
SHIPPED_STATES = frozenset({"shipped", "in_transit", "delivered", "exception", "returned"})
FINISHED_ITEM_STATES = frozenset({"shipped", "failed", "skipped"})
# A shipment that holds its numbers and its lines; the others (failed, cancelled, voided) gave them up.
LIVE_SHIPMENT_STATES = frozenset({"pending", "confirming", "held", "confirmed"})
MARKETPLACES = frozenset({"taobao", "pinduoduo"})
# Allocation's reference of an order's parcel: the order's own for parcel 1 of its first shipment, ``<ref>:P<n>``
# for the others (a hash of a reference too long to take the suffix): services/shipping/parcels.allocation_ref.
_PARCEL_REF = re.compile(r"^(?P<base>.+):P\d+$")
ORDER_REF_MAX = 64


@dataclass(frozen=True)
class OrderSeen:
    """One order as shipping lists it at the end of the day."""

    id: str
    external_id: str
    status: str
    carrier: str | None
    number: str | None
    channel: str = "own"
    lines: int = 1  # the order's lines (its items; one for an order without items)


@dataclass(frozen=True)
class ParcelSeen:
    """One box of a shipment: its number, live / released / voided, and the order lines it holds ([]: not said)."""

    number: str
    status: str = "live"
    lines: tuple[int, ...] = ()
    # When the courier collected it (揽收), as tracking reported it: the provider's clock, which in the demo is
    # the sandbox's fast one, so it is not compared with shipping's times.
    collected_at: datetime | None = None


@dataclass(frozen=True)
class ShipmentSeen:
    id: str
    order_id: str
    number: str
    status: str
    # Every parcel; none listed: one parcel with ``number``, live while the shipment is.
    parcels: tuple[ParcelSeen, ...] = ()
    confirm_mode: str = "at_print"
    confirmed_at: datetime | None = None
    # A shipment held until collection (at_collection): when shipping released it and why, from its history
    # ("parcel <number> collected (...)", or "the shop's confirmation time"); None while it is held.
    released_at: datetime | None = None
    release: str | None = None

    @property
    def live(self) -> bool:
        return self.status in LIVE_SHIPMENT_STATES

    @property
    def boxes(self) -> tuple[ParcelSeen, ...]:
        if self.parcels:
            return self.parcels
        return (ParcelSeen(self.number, "live" if self.live else "released"),)

    @property
    def live_numbers(self) -> list[str]:
        return [p.number for p in self.boxes if p.status == "live"] if self.live else []

    def lines_of(self, order_lines: int) -> frozenset[int]:
        """The lines this shipment carries: its parcels' lines, or (none said) every line of the order."""
        said = {line for p in self.boxes for line in p.lines}
        return frozenset(said) if said else frozenset(range(1, order_lines + 1))


@dataclass(frozen=True)
class VoidSeen:
    """A number voided before collection, as allocation holds it (GET /v1/waybills/{number} ``void``)."""

    number: str
    courier: str  # pending, discarded, collected, refused, not_sent
    credit_policy: str | None
    credited_cents: int


@dataclass(frozen=True)
class AddressChangeSeen:
    """An order whose receiver changed after its labels were printed (改址): its parcels' numbers then, and the
    receiver its couriers must hold for each, as the sandbox courier records it (name, phone, address with
    province, city, district, detail)."""

    order_id: str
    numbers: tuple[str, ...]
    recipient: dict[str, Any]


@dataclass(frozen=True)
class SceneSeen:
    """What one scene of the day did with the orders it took out of the batches (``devstack.demo.SCENES``)."""

    name: str
    orders: list[str]
    shipments: int = 0
    parcels: int = 0
    # Scene-specific counts, shown as they are (e.g. voids refused with cannot_withdraw, numbers changed).
    counts: dict[str, int] = field(default_factory=dict)
    # The address change scene's orders, for the invariants.
    address_changes: tuple[AddressChangeSeen, ...] = ()


@dataclass(frozen=True)
class BatchSeen:
    id: str
    status: str
    total: int
    done: int
    failed: int
    skipped: int
    pending: int
    # order id -> the item's status in this batch (shipped, failed, skipped, pending, shipping)
    items: dict[str, str] = field(default_factory=dict)


@dataclass
class DemoSummary:
    shop_id: str
    api_key: str
    seller_nick: str
    tids: list[str]
    orders: list[OrderSeen]
    shipments: list[ShipmentSeen]
    batches: list[BatchSeen]
    # number -> the order reference allocation holds it for (shipping gives it the marketplace order id)
    waybill_orders: dict[str, str | None]
    pools: dict[str, dict[str, int]]
    alerts: Counter[tuple[str, str]]
    balance_cents: int
    ledger_total_cents: int
    phases: dict[str, float]
    total_s: float
    label_path: Path | None
    batch_labels_path: Path | None
    label_pages: int
    tracking_parcels: int
    tracking_settled: int
    tracking_kinds: Counter[str]
    pushes: Counter[str]
    # The scenes worked on orders one by one beside the batches: each scene's figures, by name.
    scenes: dict[str, SceneSeen] = field(default_factory=dict)
    # Every number voided or released by a parcel that allocation has a void for: what the courier said.
    voids: dict[str, VoidSeen] = field(default_factory=dict)
    # The ledger's void credits: (number, cents), one per entry.
    void_credits: list[tuple[str, int]] = field(default_factory=list)
    # Marketplace order id (ours) -> every number its marketplace holds (read from the sandbox's control API).
    marketplace_numbers: dict[str, set[str]] = field(default_factory=dict)
    # Every number of an address-changed order -> the receiver its courier holds (the sandbox courier's record;
    # None: never told one).
    courier_recipients: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    # The ledger's top-ups, and the day's spend report (GET /v1/reports/spend over the demo's days): its totals
    # and, per carrier, the numbers used, what they cost and the net spend.
    topups_cents: int = 0
    spend: dict[str, Any] = field(default_factory=dict)
    spend_by_carrier: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def address_changes(self) -> list[AddressChangeSeen]:
        return [change for scene in self.scenes.values() for change in scene.address_changes]

    @property
    def individually(self) -> dict[str, str]:
        """Order id -> the scene that shipped it one by one, outside any batch."""
        return {order_id: scene.name for scene in self.scenes.values() for order_id in scene.orders}

    @property
    def orders_by_state(self) -> Counter[str]:
        return Counter(o.status for o in self.orders)

    def invariant_breaks(self) -> list[str]:
        return invariant_breaks(self)


def invariant_breaks(s: DemoSummary) -> list[str]:
    """Every broken invariant, each as a sentence naming what broke and an example."""
    broken: list[str] = []
    broken += lines_shipped_once(s)
    broken += numbers_used_once(s)

    if s.balance_cents != s.ledger_total_cents:
        broken.append(f"the ledger sums to {s.ledger_total_cents} cents but the balance is {s.balance_cents}")

    broken += spend_report_is_the_ledger(s)
    broken += voids_credited_once(s)
    broken += marketplaces_hold_every_parcel(s)
    broken += held_until_released(s)
    broken += address_changes_at_the_courier(s)
    broken += split_orders_shipped_with_their_lines(s)
    broken += every_order_accounted_for(s)
    return broken


def _example(found: Iterable[str]) -> tuple[int, str]:
    ordered = sorted(found)
    return len(ordered), ordered[0]


def lines_shipped_once(s: DemoSummary) -> list[str]:
    """No order shipped twice: no line of an order on two live shipments (a split order's parts carry
    different lines; a shipment that says no lines carries them all, so two such are the order twice)."""
    lines_of = {o.id: o.lines for o in s.orders}
    holders: dict[tuple[str, int], list[str]] = {}
    for sh in s.shipments:
        if sh.live:
            for line in sh.lines_of(lines_of.get(sh.order_id, 1)):
                holders.setdefault((sh.order_id, line), []).append(sh.id)
    twice = {f"{order_id} line {line} ({', '.join(ids)})" for (order_id, line), ids in holders.items() if len(ids) > 1}
    if not twice:
        return []
    n, first = _example(twice)
    return [f"{n} order line(s) on two live shipments (an order shipped twice), e.g. {first}"]


def _owned_by(owner: str | None, external_id: str) -> bool:
    """Whether allocation's reference of a number is one of this order's (its own, or one of its parcels')."""
    if owner is None:
        return False
    if owner == external_id:
        return True
    found = _PARCEL_REF.match(owner)
    if found is None:
        return False
    suffix = owner[len(found["base"]) :]
    base = external_id
    if len(external_id) + len(suffix) > ORDER_REF_MAX:
        base = hashlib.sha256(external_id.encode()).hexdigest()[: ORDER_REF_MAX - len(suffix)]
    return found["base"] == base


def numbers_used_once(s: DemoSummary) -> list[str]:
    """No waybill number used twice: not on two orders (their numbers, every shipment's main number), not on two
    live parcels (of two orders, or two boxes of one), and each live parcel's number held by allocation for its
    own order."""
    broken: list[str] = []
    by_number: dict[str, set[str]] = {}
    for o in s.orders:
        if o.number:
            by_number.setdefault(o.number, set()).add(o.id)
    for sh in s.shipments:
        by_number.setdefault(sh.number, set()).add(sh.order_id)
    reused = [n for n, owners in by_number.items() if len(owners) > 1]
    if reused:
        n, first = _example(reused)
        broken.append(f"{n} waybill number(s) used on two orders, e.g. {first}")

    live: Counter[str] = Counter(number for sh in s.shipments for number in sh.live_numbers)
    doubled = [number for number, count in live.items() if count > 1]
    if doubled:
        n, first = _example(doubled)
        broken.append(f"{n} waybill number(s) on two live parcels, e.g. {first}")

    external = {o.id: o.external_id for o in s.orders}
    held: dict[str, str] = {}  # number -> the external id of the order it ships
    for o in s.orders:
        if o.number and o.status in SHIPPED_STATES:
            held[o.number] = o.external_id
    for sh in s.shipments:
        if sh.status == "confirmed" and sh.order_id in external:
            held.update(dict.fromkeys(sh.live_numbers, external[sh.order_id]))
    wrong_owner = [n for n, ext in held.items() if not _owned_by(s.waybill_orders.get(n), ext)]
    if wrong_owner:
        n, first = _example(wrong_owner)
        broken.append(
            f"{n} shipped number(s) held by allocation for another order, "
            f"e.g. {first} (allocation: {s.waybill_orders.get(first)})"
        )
    return broken


def voids_credited_once(s: DemoSummary) -> list[str]:
    """Every number a parcel gave up by a void (before collection) was cancelled at the courier and credited
    exactly once, by the amount allocation's void record says; and no credit names a number nobody voided."""
    broken: list[str] = []
    voided = {p.number for sh in s.shipments for p in sh.boxes if p.status == "voided"}
    credits: dict[str, list[int]] = {}
    for number, cents in s.void_credits:
        credits.setdefault(number, []).append(cents)
    unrecorded = [n for n in voided if n not in s.voids]
    if unrecorded:
        n, first = _example(unrecorded)
        broken.append(f"{n} voided number(s) without a void in allocation, e.g. {first}")
    uncancelled = [n for n in voided if n in s.voids and s.voids[n].courier != "discarded"]
    if uncancelled:
        n, first = _example(uncancelled)
        broken.append(
            f"{n} number(s) voided before pickup not cancelled at the courier, e.g. {first} "
            f"(courier: {s.voids[first].courier})"
        )
    wrong = []
    for number, v in s.voids.items():
        paid = credits.get(number, [])
        owed = v.courier == "discarded" and v.credited_cents > 0
        if len(paid) != (1 if owed else 0) or sum(paid) != v.credited_cents:
            wrong.append(f"{number} (credited {len(paid)} time(s), {sum(paid)} cents; void record: {v.credited_cents})")
    if wrong:
        n, first = _example(wrong)
        broken.append(f"{n} voided number(s) not credited exactly once, e.g. {first}")
    stray = [n for n in credits if n not in s.voids]
    if stray:
        n, first = _example(stray)
        broken.append(f"{n} void credit(s) for a number no parcel gave up, e.g. {first}")
    return broken


def marketplaces_hold_every_parcel(s: DemoSummary) -> list[str]:
    """Each confirmed shipment of a marketplace order has every live parcel's number on its marketplace (a Taobao
    trade's consignments, a Pinduoduo order's number and extra numbers), as the sandbox shows them."""
    channel = {o.id: o.channel for o in s.orders}
    missing = []
    for sh in s.shipments:
        if sh.status != "confirmed" or channel.get(sh.order_id) not in MARKETPLACES:
            continue
        there = s.marketplace_numbers.get(sh.order_id, set())
        missing += [f"{sh.order_id}: {n}" for n in sh.live_numbers if n not in there]
    if not missing:
        return []
    n, first = _example(missing)
    return [f"{n} live parcel number(s) of confirmed shipments not on their marketplace, e.g. {first}"]


def held_until_released(s: DemoSummary) -> list[str]:
    """A shipment confirmed at collection (at_collection) is held once its label is made and confirmed only
    after shipping released it: a parcel collected (that parcel has its collection recorded) or the shop's
    confirmation time; while held, its marketplace holds none of its numbers. (That a confirmed one's marketplace
    holds every parcel's number is ``marketplaces_hold_every_parcel``'s, as for any shipment.)"""
    channel = {o.id: o.channel for o in s.orders}
    unreleased, early, uncollected, told = [], [], [], []
    for sh in s.shipments:
        if sh.confirm_mode != "at_collection":
            continue
        if sh.status == "confirmed":
            if sh.released_at is None:
                unreleased.append(sh.id)
            elif sh.confirmed_at is None or sh.confirmed_at < sh.released_at:
                early.append(f"{sh.id} (confirmed {sh.confirmed_at}, released {sh.released_at})")
            collected = re.match(r"parcel (\S+) collected", sh.release or "")
            if collected and not any(p.number == collected[1] and p.collected_at for p in sh.boxes):
                uncollected.append(f"{sh.id} ({sh.release})")
        elif sh.status == "held" and channel.get(sh.order_id) in MARKETPLACES:
            there = s.marketplace_numbers.get(sh.order_id, set())
            told += [f"{sh.order_id}: {n}" for n in sh.live_numbers if n in there]
    broken = []
    for found, what in (
        (unreleased, "at-collection shipment(s) confirmed but never released (no collection, no confirmation time)"),
        (early, "at-collection shipment(s) confirmed before their release"),
        (uncollected, "at-collection shipment(s) released by a collection their parcel does not record"),
        (told, "number(s) of held shipments already on their marketplace"),
    ):
        if found:
            n, first = _example(found)
            broken.append(f"{n} {what}, e.g. {first}")
    return broken


def address_changes_at_the_courier(s: DemoSummary) -> list[str]:
    """An order whose receiver changed after printing (改址) keeps its parcels' numbers, and the courier of each
    holds the new receiver."""
    live: dict[str, set[str]] = {}
    for sh in s.shipments:
        live.setdefault(sh.order_id, set()).update(sh.live_numbers)
    renumbered, stale = [], []
    for change in s.address_changes:
        now = live.get(change.order_id, set())
        if now != set(change.numbers):
            renumbered.append(f"{change.order_id} ({', '.join(change.numbers)} now {', '.join(sorted(now)) or 'none'})")
        for number in change.numbers:
            held = s.courier_recipients.get(number)
            if held != change.recipient:
                stale.append(f"{number} of {change.order_id} (courier: {held})")
    broken = []
    if renumbered:
        n, first = _example(renumbered)
        broken.append(f"{n} address-changed order(s) whose numbers changed, e.g. {first}")
    if stale:
        n, first = _example(stale)
        broken.append(f"{n} number(s) of address-changed orders without the new receiver at the courier, e.g. {first}")
    return broken


def split_orders_shipped_with_their_lines(s: DemoSummary) -> list[str]:
    """An order is shipped (or on its way) once every line is on a confirmed shipment, and not before: some
    lines confirmed and others not leaves it partly shipped."""
    confirmed: dict[str, set[int]] = {}
    lines_of = {o.id: o.lines for o in s.orders}
    for sh in s.shipments:
        if sh.status == "confirmed":
            confirmed.setdefault(sh.order_id, set()).update(sh.lines_of(lines_of.get(sh.order_id, 1)))
    not_shipped, too_soon = [], []
    for o in s.orders:
        covered = confirmed.get(o.id, set())
        if not covered:
            continue
        if covered >= set(range(1, o.lines + 1)):
            if o.status not in SHIPPED_STATES:
                not_shipped.append(f"{o.id} ({o.status})")
        elif o.status != "partly_shipped":
            too_soon.append(f"{o.id} ({o.status}, lines {sorted(covered)} of {o.lines} confirmed)")
    broken = []
    if not_shipped:
        n, first = _example(not_shipped)
        broken.append(f"{n} order(s) with every line confirmed are not shipped, e.g. {first}")
    if too_soon:
        n, first = _example(too_soon)
        broken.append(f"{n} order(s) with lines left to ship are not partly shipped, e.g. {first}")
    return broken


def every_order_accounted_for(s: DemoSummary) -> list[str]:
    """Every trade the marketplace sent became exactly one order; every order ended its batch, or was shipped
    by a scene of its own; every batch finished."""
    broken: list[str] = []
    by_tid = Counter(o.external_id for o in s.orders)
    missing = [t for t in s.tids if by_tid[t] == 0]
    if missing:
        broken.append(f"{len(missing)} marketplace trade(s) never became an order, e.g. {missing[0]}")
    doubled = sorted(t for t, n in by_tid.items() if n > 1)
    if doubled:
        broken.append(f"{len(doubled)} trade(s) became two orders, e.g. {doubled[0]}")
    item_of: dict[str, str] = {}
    for b in s.batches:
        item_of.update(b.items)
    sent = set(s.tids)
    alone = s.individually
    unaccounted = sorted(
        o.id
        for o in s.orders
        if o.external_id in sent and o.id not in alone and item_of.get(o.id) not in FINISHED_ITEM_STATES
    )
    if unaccounted:
        broken.append(
            f"{len(unaccounted)} order(s) not accounted for by any batch, e.g. {unaccounted[0]} "
            f"({item_of.get(unaccounted[0], 'in no batch')})"
        )
    shipped_not_shipped = sorted(
        o.id for o in s.orders if item_of.get(o.id) == "shipped" and o.status not in SHIPPED_STATES
    )
    if shipped_not_shipped:
        broken.append(
            f"{len(shipped_not_shipped)} order(s) a batch shipped are not shipped, e.g. {shipped_not_shipped[0]}"
        )

    unfinished = [
        b.id for b in s.batches if b.status != "completed" or b.pending != 0 or b.done + b.failed + b.skipped != b.total
    ]
    if unfinished:
        broken.append(f"{len(unfinished)} batch(es) did not finish, e.g. {unfinished[0]}")
    return broken


def render(s: DemoSummary, console: Console) -> None:
    orders = Table(title="orders by state")
    orders.add_column("state")
    orders.add_column("orders", justify="right")
    for state, n in sorted(s.orders_by_state.items()):
        orders.add_row(state, str(n))
    orders.add_row("[bold]total[/]", f"[bold]{len(s.orders)}[/]")
    console.print(orders)

    channels = Table(title="orders by channel")
    channels.add_column("channel")
    channels.add_column("orders", justify="right")
    channels.add_column("shipped", justify="right")
    for channel in sorted({o.channel for o in s.orders}):
        mine = [o for o in s.orders if o.channel == channel]
        channels.add_row(channel, str(len(mine)), str(sum(o.status in SHIPPED_STATES for o in mine)))
    console.print(channels)

    render_parcels(s, console)

    numbers = Table(title="numbers by state per carrier")
    numbers.add_column("carrier")
    for state in POOL_STATES:
        numbers.add_column(state, justify="right")
    for carrier, counts in sorted(s.pools.items()):
        numbers.add_row(carrier, *(str(counts.get(state, 0)) for state in POOL_STATES))
    console.print(numbers)

    alerts = Table(title="alerts by kind")
    alerts.add_column("kind")
    states = sorted({state for _, state in s.alerts}) or ["open", "resolved"]
    for state in states:
        alerts.add_column(state, justify="right")
    for kind in sorted({kind for kind, _ in s.alerts}):
        alerts.add_row(kind, *(str(s.alerts[(kind, state)]) for state in states))
    console.print(alerts)

    phases = Table(title="time taken")
    phases.add_column("phase")
    phases.add_column("seconds", justify="right")
    for name, seconds in s.phases.items():
        phases.add_row(name, f"{seconds:.1f}")
    phases.add_row("[bold]total[/]", f"[bold]{s.total_s:.1f}[/]")
    console.print(phases)

    kinds = ", ".join(f"{k} {n}" for k, n in sorted(s.tracking_kinds.items()))
    pushes = ", ".join(f"{k} {n}" for k, n in sorted(s.pushes.items()))
    console.print(
        f"tracking: {s.tracking_settled} of {s.tracking_parcels} parcels settled; journeys: {kinds}; pushes: {pushes}"
    )
    console.print(f"balance ¥{s.balance_cents / 100:,.2f} (ledger ¥{s.ledger_total_cents / 100:,.2f})")
    if s.spend:
        console.print(spend_line(s))
    console.print(f"shop {s.shop_id} (seller {s.seller_nick})")
    if s.batch_labels_path:
        console.print(f"a batch's labels ({s.label_pages} pages): {s.batch_labels_path}")
    if s.label_path:
        console.print(f"sample label PDF: [bold]{s.label_path}[/]")


def spend_report_is_the_ledger(s: DemoSummary) -> list[str]:
    """The spend report's net over the demo's days is the ledger's rows but top-ups, to the cent (the shop was
    made by the demo: its whole ledger is the day's)."""
    if not s.spend:
        return ["no spend report was read"]
    ledger_net = s.topups_cents - s.ledger_total_cents
    if s.spend["net_cents"] != ledger_net:
        return [
            f"the spend report's net is {s.spend['net_cents']} cents but the ledger's rows but top-ups are {ledger_net}"
        ]
    return []


def spend_line(s: DemoSummary) -> str:
    """The day's spend as the report says it, in yuan."""
    t = s.spend
    average = "-" if t.get("average_cost_cents") is None else f"¥{t['average_cost_cents'] / 100:,.4f}"
    return (
        f"spend report: spent ¥{t['spent_cents'] / 100:,.2f}, refunded ¥{t['refunded_cents'] / 100:,.2f}, extension "
        f"fees ¥{t['extension_fees_cents'] / 100:,.2f}, net ¥{t['net_cents'] / 100:,.2f} (the ledger's, to the cent); "
        f"{t['used']} numbers used at {average} a parcel"
    )


def parcel_counts(s: DemoSummary) -> dict[str, int]:
    """The day's parcels, split orders, voids and number changes, as the summary's table shows them."""
    live = [sh for sh in s.shipments if sh.live]
    per_order = Counter(sh.order_id for sh in live)
    boxes = [len(sh.live_numbers) for sh in live]
    voided = {p.number for sh in s.shipments for p in sh.boxes if p.status == "voided"}
    return {
        "live shipments": len(live),
        "live parcels": sum(boxes),
        "multi-parcel shipments": sum(1 for n in boxes if n > 1),
        "orders in several shipments": sum(1 for n in per_order.values() if n > 1),
        "shipments voided": sum(1 for sh in s.shipments if sh.status == "voided"),
        "numbers voided": len(voided),
        "numbers credited": len({n for n, _ in s.void_credits}),
        "credited (cents)": sum(cents for _, cents in s.void_credits),
    }


def render_parcels(s: DemoSummary, console: Console) -> None:
    scenes = Table(title="orders worked one by one (beside the batches)")
    scenes.add_column("scene")
    scenes.add_column("orders", justify="right")
    scenes.add_column("shipments", justify="right")
    scenes.add_column("parcels", justify="right")
    scenes.add_column("of note")
    for scene in s.scenes.values():
        notes = ", ".join(f"{k} {v}" for k, v in scene.counts.items())
        scenes.add_row(scene.name, str(len(scene.orders)), str(scene.shipments), str(scene.parcels), notes)
    console.print(scenes)
    counts = parcel_counts(s)
    console.print(
        "parcels: {live parcels} live in {live shipments} live shipments ({multi-parcel shipments} with several "
        "parcels; {orders in several shipments} orders in several shipments); voids: {shipments voided} "
        "shipments, {numbers voided} numbers, {numbers credited} credited".format(**counts)
        + f" (¥{counts['credited (cents)'] / 100:,.2f})"
    )
