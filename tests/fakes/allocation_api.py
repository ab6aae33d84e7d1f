"""An in-memory allocation service (``runtime.apis.allocation.AllocationApi``) for unit tests.

Each shop has a pool of numbers per carrier (``stock``); a number is handed out once, to one order, and
asking again for the same order answers the same number (``created`` false), as allocation does. Marks and
releases move a number through allocation's own lifecycle; what allocation would refuse is raised as the
``ServiceError`` its HTTP client raises (``pool_exhausted``, ``not_found``, ``conflict``,
``invalid_transition``, ``waybill_in_use``). ``fail_next`` makes the next call of a method fail, e.g. with
an outage (status 0 or 503, transient).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from runtime.service_client import ServiceError
from shared.allocation import (
    Allocation,
    BatchAllocation,
    BatchMarkResult,
    MarkItem,
    MarkOutcome,
    MarkState,
    Recipient,
    RecipientUpdated,
    ReleaseResult,
    WaybillInfo,
    WaybillState,
)
from shared.carriers import CarrierCode
from shared.catalogue import CarrierOut, PackageOut
from shared.errors import ErrorCode
from shared.pools import PoolCounts, PoolOut
from shared.routing import RoutesResult, WaybillDestination, WaybillRoute

SERVICE = "allocation"
VALIDITY = timedelta(days=30)

# Which states a mark may start from (allocation's own rule; a mark to the state a number is in is a no-op).
MARK_FROM: dict[MarkState, frozenset[WaybillState]] = {
    MarkState.PRINTED: frozenset({WaybillState.ALLOCATED, WaybillState.PRINTED}),
    MarkState.SHIPPED: frozenset({WaybillState.ALLOCATED, WaybillState.PRINTED, WaybillState.SHIPPED}),
    MarkState.QUARANTINED: frozenset(
        {WaybillState.AVAILABLE, WaybillState.ALLOCATED, WaybillState.PRINTED, WaybillState.QUARANTINED}
    ),
    MarkState.EXPIRED: frozenset(
        {WaybillState.AVAILABLE, WaybillState.ALLOCATED, WaybillState.PRINTED, WaybillState.EXPIRED}
    ),
}


def carrier(
    code: str,
    *,
    coverage: Sequence[str] = (),
    transit_days: dict[str, int] | None = None,
    packages: Sequence[tuple[int, int]] = ((1000, 300_000),),
    inactive_packages: Sequence[tuple[int, int]] = (),
    active: bool = True,
) -> CarrierOut:
    """A catalogue entry; ``packages`` are (quantity, price in cents) on sale, ``inactive_packages`` off sale."""
    sold = [(q, p, True) for q, p in packages] + [(q, p, False) for q, p in inactive_packages]
    return CarrierOut(
        code=CarrierCode(code),
        name_zh=f"{code} 快递",
        name_en=code,
        marketplace_code=code,
        kdniao_code=code,
        kuaidi100_code=code.lower(),
        number_rule=[],
        coverage=list(coverage),
        transit_days=dict(transit_days or {}),
        active=active,
        packages=[
            PackageOut(
                id=f"pkg_{code}_{i}",
                carrier=code,
                quantity=quantity,
                price_cents=price,
                validity_days=30,
                extension_fee_cents_per_30_days=0,
                active=on_sale,
            )
            for i, (quantity, price, on_sale) in enumerate(sold)
        ],
    )


@dataclass
class Waybill:
    shop_id: str
    carrier: str
    number: str
    status: WaybillState = WaybillState.AVAILABLE
    order_id: str | None = None
    source: str = "courier"
    reason: str | None = None
    expires_at: datetime = field(default_factory=lambda: datetime.now(UTC) + VALIDITY)


def route_of(carrier: str, city: str, district: str) -> tuple[str, str]:
    """The fake courier's sort code and consolidation centre for a destination: stable, one per place."""
    return f"{carrier}-{len(city)}{len(district)} {sum(map(ord, city + district)) % 100:02d}", f"{city}包"


def _refusal(http_status: int, code: str, message: str, **details: object) -> ServiceError:
    return ServiceError(SERVICE, http_status, code, message, details)


class FakeAllocationApi:
    def __init__(self, catalogue: Iterable[CarrierOut] = ()) -> None:
        self.catalogue = list(catalogue)
        self.waybills: dict[tuple[str, str], Waybill] = {}  # (shop, number) -> its state
        self.keys: dict[tuple[str, str], str] = {}  # (key id, secret hash) -> shop
        self.calls: list[str] = []  # the method of every call, in order
        self.recipients: dict[str, Recipient] = {}  # number -> the receiver the courier was last told
        self._failures: dict[str, list[ServiceError]] = defaultdict(list)

    # --- arranging a test ---------------------------------------------------------------------

    def stock(self, shop_id: str, carrier_code: str, numbers: Iterable[str]) -> None:
        for number in numbers:
            self.waybills[(shop_id, number)] = Waybill(shop_id, carrier_code, number)

    def fail_next(self, method: str, error: ServiceError) -> None:
        """The next call of ``method`` raises ``error`` (queued: several calls fail in turn)."""
        self._failures[method].append(error)

    def waybill(self, shop_id: str, number: str) -> Waybill:
        return self.waybills[(shop_id, number)]

    def _call(self, method: str) -> None:
        self.calls.append(method)
        if self._failures[method]:
            raise self._failures[method].pop(0)

    # --- AllocationApi ------------------------------------------------------------------------

    async def allocate(self, shop_id: str, carrier: str, order_id: str) -> Allocation:
        self._call("allocate")
        return self._allocate(shop_id, carrier, order_id)

    async def allocate_batch(self, shop_id: str, carrier: str, order_ids: list[str]) -> BatchAllocation:
        self._call("allocate_batch")
        new = [o for o in order_ids if self._held(shop_id, carrier, o) is None]
        available = self._available(shop_id, carrier)
        if len(available) < len(new):
            # All or nothing, as allocation answers a batch it cannot fill.
            raise _refusal(
                409,
                ErrorCode.POOL_EXHAUSTED,
                f"no available {carrier} numbers for shop {shop_id}",
                requested=len(order_ids),
                missing=len(new) - len(available),
            )
        return BatchAllocation(
            carrier=CarrierCode(carrier), allocations=[self._allocate(shop_id, carrier, o) for o in order_ids]
        )

    async def register_manual(self, shop_id: str, carrier: str, number: str, order_id: str) -> Allocation:
        self._call("register_manual")
        known = self.waybills.get((shop_id, number))
        if known is not None and known.order_id != order_id:
            raise _refusal(409, ErrorCode.WAYBILL_IN_USE, f"waybill {number} is already used", number=number)
        if known is None:
            known = Waybill(shop_id, carrier, number, WaybillState.ALLOCATED, order_id, source="manual")
            self.waybills[(shop_id, number)] = known
        return self._allocation(known, created=True)

    async def mark(
        self,
        shop_id: str,
        number: str,
        state: MarkState,
        order_id: str | None = None,
        reason: str | None = None,
        *,
        store_id: str | None = None,
        channel: str | None = None,
    ) -> WaybillInfo:
        self._call("mark")
        waybill = self._mark(shop_id, number, state, order_id, reason)
        return WaybillInfo(
            number=waybill.number,
            carrier=CarrierCode(waybill.carrier),
            status=waybill.status,
            order_id=waybill.order_id,
            expires_at=waybill.expires_at,
            purchase_id=None,
            source=waybill.source,
            verified=waybill.source == "courier",
            allocated_at=None,
        )

    async def mark_many(
        self, shop_id: str, state: MarkState, items: Sequence[MarkItem], reason: str | None = None
    ) -> BatchMarkResult:
        self._call("mark_many")
        results: list[MarkOutcome] = []
        for item in items:
            try:
                waybill = self._mark(shop_id, item.number, state, item.order_id, reason)
            except ServiceError as exc:
                results.append(MarkOutcome(number=item.number, error_code=exc.code, error=exc.message))
                continue
            results.append(MarkOutcome(number=waybill.number, status=waybill.status))
        refused = sum(1 for r in results if r.error_code)
        return BatchMarkResult(status=state, marked=len(results) - refused, refused=refused, results=results)

    async def release(self, shop_id: str, number: str, order_id: str | None = None) -> ReleaseResult:
        self._call("release")
        waybill = self._own(shop_id, number)
        belongs = order_id is None or waybill.order_id == order_id
        if waybill.status is WaybillState.VOIDED and belongs:
            return ReleaseResult(number=number, status=WaybillState.VOIDED)  # a repeated release
        if waybill.status not in (WaybillState.ALLOCATED, WaybillState.PRINTED, WaybillState.SHIPPED):
            raise self._invalid(waybill, "release it")
        self._check_order(waybill, order_id)
        if waybill.status is WaybillState.ALLOCATED and waybill.source == "courier":
            waybill.status, waybill.order_id = WaybillState.AVAILABLE, None
        else:
            waybill.status = WaybillState.VOIDED  # printed (a label may exist), or typed by the shop
        return ReleaseResult(number=number, status=waybill.status)

    async def update_recipient(self, shop_id: str, number: str, recipient: Recipient) -> RecipientUpdated:
        self._call("update_recipient")
        waybill = self._own(shop_id, number)
        if waybill.status not in (WaybillState.ALLOCATED, WaybillState.PRINTED, WaybillState.SHIPPED):
            raise self._invalid(waybill, "change its receiver")
        self.recipients[number] = recipient
        return RecipientUpdated(number=number, carrier=waybill.carrier)

    async def routes(
        self, shop_id: str, waybills: Sequence[WaybillDestination], *, timeout_s: float | None = None
    ) -> RoutesResult:
        """Each live number of the shop's routed as ``route_of`` says for its city and district."""
        self._call("routes")
        answers = []
        for w in waybills:
            known = self.waybills.get((shop_id, w.number))
            if known is None or known.status not in (
                WaybillState.ALLOCATED,
                WaybillState.PRINTED,
                WaybillState.SHIPPED,
            ):
                answers.append(WaybillRoute(number=w.number, error_code=ErrorCode.NOT_FOUND, error="not routable"))
                continue
            sort_code, centre = route_of(known.carrier, w.city, w.district)
            answers.append(WaybillRoute(number=w.number, sort_code=sort_code, package_center=centre))
        refused = sum(1 for a in answers if a.error_code)
        return RoutesResult(routed=len(answers) - refused, refused=refused, routes=answers)

    async def carriers(self, shop_id: str) -> list[CarrierOut]:
        self._call("carriers")
        return list(self.catalogue)

    async def pools(self, shop_id: str) -> list[PoolOut]:
        self._call("pools")
        counts: dict[str, PoolCounts] = defaultdict(PoolCounts)
        for w in self.waybills.values():
            if w.shop_id == shop_id:
                pool = counts[w.carrier]
                setattr(pool, w.status.value, getattr(pool, w.status.value) + 1)
        return [
            PoolOut(
                carrier=code,
                counts=c,
                expiring_soon=0,
                expiring_within_days=7,
                low_stock_threshold=100,
                low_stock=c.available < 100,
                auto_replenish_package=None,
            )
            for code, c in sorted(counts.items())
        ]

    async def shop_of_key(self, key_id: str, secret_hash: str) -> str | None:
        self._call("shop_of_key")
        return self.keys.get((key_id, secret_hash))

    # --- allocation's rules -------------------------------------------------------------------

    def _held(self, shop_id: str, carrier: str, order_id: str) -> Waybill | None:
        return next(
            (
                w
                for w in self.waybills.values()
                if (w.shop_id, w.carrier, w.order_id) == (shop_id, carrier, order_id)
                and w.status in (WaybillState.ALLOCATED, WaybillState.PRINTED, WaybillState.SHIPPED)
            ),
            None,
        )

    def _available(self, shop_id: str, carrier: str) -> list[Waybill]:
        return [
            w
            for w in self.waybills.values()
            if (w.shop_id, w.carrier) == (shop_id, carrier) and w.status is WaybillState.AVAILABLE
        ]

    def _allocate(self, shop_id: str, carrier: str, order_id: str) -> Allocation:
        held = self._held(shop_id, carrier, order_id)
        if held is not None:
            return self._allocation(held, created=False)
        available = self._available(shop_id, carrier)
        if not available:
            raise _refusal(
                409,
                ErrorCode.POOL_EXHAUSTED,
                f"no available {carrier} numbers for shop {shop_id}",
                carrier=carrier,
                shop_id=shop_id,
            )
        waybill = available[0]
        waybill.status, waybill.order_id = WaybillState.ALLOCATED, order_id
        return self._allocation(waybill, created=True)

    @staticmethod
    def _allocation(waybill: Waybill, *, created: bool) -> Allocation:
        assert waybill.order_id is not None
        return Allocation(
            carrier=CarrierCode(waybill.carrier),
            order_id=waybill.order_id,
            number=waybill.number,
            expires_at=waybill.expires_at,
            created=created,
        )

    def _own(self, shop_id: str, number: str) -> Waybill:
        waybill = self.waybills.get((shop_id, number))
        if waybill is None:
            raise _refusal(404, ErrorCode.NOT_FOUND, f"waybill {number} not found")
        return waybill

    @staticmethod
    def _invalid(waybill: Waybill, wanted: str) -> ServiceError:
        return _refusal(
            409,
            ErrorCode.INVALID_TRANSITION,
            f"waybill {waybill.number} is {waybill.status.value}; cannot {wanted}",
            number=waybill.number,
            status=waybill.status.value,
        )

    @staticmethod
    def _check_order(waybill: Waybill, order_id: str | None) -> None:
        if order_id is not None and waybill.order_id != order_id:
            raise _refusal(
                409,
                ErrorCode.CONFLICT,
                f"waybill {waybill.number} does not belong to order {order_id}",
                number=waybill.number,
                order_id=order_id,
            )

    def _mark(self, shop_id: str, number: str, state: MarkState, order_id: str | None, reason: str | None) -> Waybill:
        waybill = self._own(shop_id, number)
        if waybill.status not in MARK_FROM[state]:
            raise self._invalid(waybill, f"mark it {state.value}")
        self._check_order(waybill, order_id)
        waybill.status = WaybillState(state.value)
        if reason is not None:
            waybill.reason = reason
        return waybill
