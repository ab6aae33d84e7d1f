"""Shipments: the claim a worker holds while it confirms one, and the reads around them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Update, and_, func, insert, or_, select, text, update

from runtime.pagination import Keyset, PageRequest, Slice
from runtime.repository import OwnedRepository
from services.shipping.models import (
    LIVE_SHIPMENT_STATES,
    Order,
    Parcel,
    ParcelStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)


class ShipmentWithOrder(NamedTuple):
    shipment: Shipment
    order: Order


class FollowedParcel(NamedTuple):
    parcel: Parcel
    shipment: Shipment
    order: Order


def _lapsed_claim() -> ColumnElement[bool]:
    return and_(Shipment.status == ShipmentStatus.CONFIRMING, Shipment.lease_until < func.now())


def _claim(which: ColumnElement[bool], lease_s: float) -> Update:
    """Take pending confirmations (or ones whose worker's lease lapsed) among ``which``."""
    return (
        update(Shipment)
        .where(which, or_(Shipment.status == ShipmentStatus.PENDING, _lapsed_claim()))
        .values(
            status=ShipmentStatus.CONFIRMING,
            lease_until=func.now() + timedelta(seconds=lease_s),
            attempts=Shipment.attempts + 1,
            updated_at=func.now(),
        )
        .returning(Shipment)
        .execution_options(populate_existing=True)
    )


class ShipmentRepository(OwnedRepository[Shipment]):
    model = Shipment

    async def get(self, shipment_id: str, *, for_update: bool = False) -> Shipment | None:
        """A shipment by id whoever's it is: for the workers, which hold only its id."""
        stmt = select(Shipment).where(Shipment.id == shipment_id).execution_options(populate_existing=True)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def recent(self, shop_id: str, order_id: str | None, page: PageRequest) -> Slice[Shipment]:
        where = [Shipment.order_id == order_id] if order_id else []
        return await self.page_owned(shop_id, *where, keyset=Keyset([Shipment.created_at, Shipment.id]), page=page)

    async def claim(self, shipment_id: str, lease_s: float) -> Shipment | None:
        """Take a pending confirmation (or one whose worker's lease lapsed); None when someone else has it."""
        return (await self.session.execute(_claim(Shipment.id == shipment_id, lease_s))).scalar_one_or_none()

    async def claim_many(self, shipment_ids: Sequence[str], lease_s: float) -> list[Shipment]:
        """``claim`` for many shipments in one statement; those someone else holds are left out."""
        if not shipment_ids:
            return []
        return list((await self.session.execute(_claim(Shipment.id.in_(shipment_ids), lease_s))).scalars())

    async def renew_claims(self, claims: Mapping[str, int], lease_s: float) -> int:
        """Extend the leases of confirmations still held by these claims (shipment id: its ``attempts`` when
        claimed, which a later claim raises), as a batch's heartbeat does every second; answers how many. The
        claims go as two arrays, not a bind parameter per shipment: one small statement however many."""
        if not claims:
            return 0
        renewed = await self.session.execute(
            text(
                "UPDATE shipping.shipments s SET lease_until = now() + make_interval(secs => :lease_s) "
                "FROM unnest(CAST(:ids AS text[]), CAST(:attempts AS int[])) AS c(id, attempts) "
                "WHERE s.id = c.id AND s.attempts = c.attempts AND s.status = 'confirming'"
            ),
            {"lease_s": lease_s, "ids": list(claims), "attempts": list(claims.values())},
        )
        return int(getattr(renewed, "rowcount", 0) or 0)

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(Shipment), rows)

    async def set_fields(self, shipment_id: str, **values: Any) -> None:
        await self.session.execute(
            update(Shipment).where(Shipment.id == shipment_id).values(updated_at=func.now(), **values)
        )

    async def confirm_many(self, ids: Sequence[str]) -> list[str]:
        rows = await self.session.scalars(
            update(Shipment)
            .where(Shipment.id.in_(ids), Shipment.status == ShipmentStatus.CONFIRMING)
            .values(status=ShipmentStatus.CONFIRMED, confirmed_at=func.now(), lease_until=None, updated_at=func.now())
            .returning(Shipment.id)
        )
        return list(rows)

    async def count_prints(self, shipment_id: str) -> int | None:
        """One more print of a live shipment's label; None when it is not live (failed or cancelled meanwhile:
        the row lock orders this against the failure, so a failed shipment's label is never printed)."""
        found = await self.session.scalar(
            update(Shipment)
            .where(Shipment.id == shipment_id, Shipment.status.in_(LIVE_SHIPMENT_STATES))
            .values(label_prints=Shipment.label_prints + 1)
            .returning(Shipment.label_prints)
        )
        return None if found is None else int(found)

    async def stuck(self, idle_s: float, limit: int) -> list[str]:
        """Unconfirmed shipments nobody has touched for a while: their confirmation job was lost."""
        idle = and_(
            Shipment.status == ShipmentStatus.PENDING, Shipment.updated_at < func.now() - timedelta(seconds=idle_s)
        )
        rows = await self.session.scalars(
            select(Shipment.id).where(or_(idle, _lapsed_claim())).order_by(Shipment.updated_at).limit(limit)
        )
        return list(rows)

    async def claim_lines(self, rows: list[dict[str, Any]]) -> None:
        """Record which lines each shipment carries (``shipment_id``, ``order_id``, ``line``): the unique index
        refuses a line already on a live shipment."""
        if rows:
            await self.session.execute(insert(ShipmentLine), rows)

    async def free_lines(self, shipment_ids: Sequence[str]) -> None:
        """Shipments that will not ship give their lines up for the next one."""
        if shipment_ids:
            await self.session.execute(
                update(ShipmentLine)
                .where(ShipmentLine.shipment_id.in_(list(shipment_ids)), ShipmentLine.live)
                .values(live=False)
            )

    async def lines_of(self, shipment_id: str) -> list[int]:
        rows = await self.session.scalars(
            select(ShipmentLine.line).where(ShipmentLine.shipment_id == shipment_id).order_by(ShipmentLine.line)
        )
        return list(rows)

    async def live_lines(self, order_id: str) -> set[int]:
        """The order's lines on a live shipment (pending, held, being confirmed or confirmed)."""
        rows = await self.session.scalars(
            select(ShipmentLine.line).where(ShipmentLine.order_id == order_id, ShipmentLine.live)
        )
        return set(rows)

    async def confirmed_lines(self, order_ids: Sequence[str]) -> dict[str, set[int]]:
        """Each order's lines on a confirmed shipment."""
        found: dict[str, set[int]] = {o: set() for o in order_ids}
        if not order_ids:
            return found
        rows = await self.session.execute(
            select(ShipmentLine.order_id, ShipmentLine.line)
            .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
            .where(
                ShipmentLine.order_id.in_(list(order_ids)),
                ShipmentLine.live,
                Shipment.status == ShipmentStatus.CONFIRMED,
            )
        )
        for order_id, line in rows:
            found[order_id].add(line)
        return found

    async def first_confirmed(self, order_id: str) -> str | None:
        """The order's earliest confirmed shipment (a split order's first part)."""
        found: str | None = await self.session.scalar(
            select(Shipment.id)
            .where(Shipment.order_id == order_id, Shipment.status == ShipmentStatus.CONFIRMED)
            .order_by(Shipment.confirmed_at, Shipment.id)
            .limit(1)
        )
        return found

    async def others_confirmed(self, order_id: str, shipment_id: str) -> bool:
        """Whether another shipment of the order is confirmed (this one is a later part of a split order)."""
        found = await self.session.scalar(
            select(Shipment.id)
            .where(
                Shipment.order_id == order_id,
                Shipment.id != shipment_id,
                Shipment.status == ShipmentStatus.CONFIRMED,
            )
            .limit(1)
        )
        return found is not None

    async def held_past_ship_by(self, limit: int) -> list[ShipmentWithOrder]:
        """Held shipments whose order's ship-by time has passed (none of their parcels collected: a collection
        releases them)."""
        rows = await self.session.execute(
            select(Shipment, Order)
            .join(Order, Order.id == Shipment.order_id)
            .where(Shipment.status == ShipmentStatus.HELD, Order.ship_by <= func.now())
            .order_by(Order.ship_by)
            .limit(limit)
        )
        return [ShipmentWithOrder(s, o) for s, o in rows]

    async def held_of_shop(self, shop_id: str) -> list[Shipment]:
        """The shop's held shipments, locked: their confirmation time is moved under the same locks a release
        takes (held shipments are the few printed and not yet collected, so all of them at once)."""
        return list(
            await self.session.scalars(
                select(Shipment)
                .where(Shipment.shop_id == shop_id, Shipment.status == ShipmentStatus.HELD)
                .order_by(Shipment.id)
                .with_for_update()
            )
        )

    async def held_due(self, limit: int) -> list[str]:
        """Held shipments whose confirmation time has come, oldest due first."""
        rows = await self.session.scalars(
            select(Shipment.id)
            .where(Shipment.status == ShipmentStatus.HELD, Shipment.confirm_due_at <= func.now())
            .order_by(Shipment.confirm_due_at)
            .limit(limit)
        )
        return list(rows)

    async def by_ids(self, ids: Sequence[str]) -> list[Shipment]:
        return list(
            await self.session.scalars(
                select(Shipment).where(Shipment.id.in_(ids)).execution_options(populate_existing=True)
            )
        )

    async def followed_parcels(self, ids: Sequence[str]) -> list[FollowedParcel]:
        """The live parcels of the shipments among ``ids`` that tracking follows (confirmed, or held until their
        collection) with their shipments and orders, in one query (the tracking handoff)."""
        rows = await self.session.execute(
            select(Parcel, Shipment, Order)
            .join(Shipment, Shipment.id == Parcel.shipment_id)
            .join(Order, Order.id == Shipment.order_id)
            .where(
                Shipment.id.in_(list(ids)),
                Shipment.status.in_((ShipmentStatus.CONFIRMED, ShipmentStatus.HELD)),
                Parcel.status == ParcelStatus.LIVE,
            )
            .order_by(Shipment.id, Parcel.seq)
        )
        return [FollowedParcel(p, s, o) for p, s, o in rows]
