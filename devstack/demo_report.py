"""What `make demo` found: the summary of a seller's day, its invariants, and the tables it prints.

Kept apart from the run itself so the invariants can be checked on any summary (a unit test feeds one
with a number used twice) and so other tools (the dashboard test) can reuse the run and read its result.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

POOL_STATES = ("available", "allocated", "printed", "shipped", "voided", "expired", "quarantined")
SHIPPED_STATES = frozenset({"shipped", "in_transit", "delivered", "exception", "returned"})
FINISHED_ITEM_STATES = frozenset({"shipped", "failed", "skipped"})


@dataclass(frozen=True)
class OrderSeen:
    """One order as shipping lists it at the end of the day."""

    id: str
    external_id: str
    status: str
    carrier: str | None
    number: str | None
    channel: str = "own"


@dataclass(frozen=True)
class ShipmentSeen:
    id: str
    order_id: str
    number: str
    status: str


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

    @property
    def orders_by_state(self) -> Counter[str]:
        return Counter(o.status for o in self.orders)

    def invariant_breaks(self) -> list[str]:
        return invariant_breaks(self)


def invariant_breaks(s: DemoSummary) -> list[str]:
    """Every broken invariant, each as a sentence naming what broke and an example."""
    broken: list[str] = []

    # No order shipped twice: at most one live (not failed or cancelled) shipment per order.
    live: Counter[str] = Counter(sh.order_id for sh in s.shipments if sh.status not in ("failed", "cancelled"))
    twice = sorted(o for o, n in live.items() if n > 1)
    if twice:
        broken.append(f"{len(twice)} order(s) shipped twice, e.g. {twice[0]}")

    # No waybill number used on two orders: across orders, across shipments, and as allocation sees it.
    by_number: dict[str, set[str]] = {}
    for o in s.orders:
        if o.number:
            by_number.setdefault(o.number, set()).add(o.id)
    for sh in s.shipments:
        by_number.setdefault(sh.number, set()).add(sh.order_id)
    reused = sorted(n for n, owners in by_number.items() if len(owners) > 1)
    if reused:
        broken.append(f"{len(reused)} waybill number(s) used on two orders, e.g. {reused[0]}")
    wrong_owner = sorted(
        o.number
        for o in s.orders
        if o.number and o.status in SHIPPED_STATES and s.waybill_orders.get(o.number) != o.external_id
    )
    if wrong_owner:
        n = wrong_owner[0]
        broken.append(
            f"{len(wrong_owner)} shipped number(s) held by allocation for another order, "
            f"e.g. {n} (allocation: {s.waybill_orders.get(n)})"
        )

    if s.balance_cents != s.ledger_total_cents:
        broken.append(f"the ledger sums to {s.ledger_total_cents} cents but the balance is {s.balance_cents}")

    # Every trade the marketplace sent became exactly one order, and every order ended its batch.
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
    unaccounted = sorted(
        o.id for o in s.orders if o.external_id in sent and item_of.get(o.id) not in FINISHED_ITEM_STATES
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
    console.print(f"shop {s.shop_id} (seller {s.seller_nick})")
    if s.batch_labels_path:
        console.print(f"a batch's labels ({s.label_pages} pages): {s.batch_labels_path}")
    if s.label_path:
        console.print(f"sample label PDF: [bold]{s.label_path}[/]")
