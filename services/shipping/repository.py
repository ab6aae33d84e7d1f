"""Every query of the shipping service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.shipping.models import (
    BatchChunk,
    BatchItem,
    MarketplaceMessage,
    Order,
    OrderEvent,
    Shipment,
    ShipmentBatch,
    ShopSettings,
    TrackingUpdateRecord,
    WebhookDelivery,
    WebhookEndpoint,
)

LIVE = ("pending", "confirming", "confirmed")


class SettingsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, shop_id: str) -> ShopSettings | None:
        return await self.session.get(ShopSettings, shop_id)

    async def by_nick(self, nick: str) -> ShopSettings | None:
        return await self.session.scalar(select(ShopSettings).where(ShopSettings.seller_nick == nick))

    async def lock_nick(self, nick: str) -> None:
        """Serialise bindings of one seller nick (transaction-scoped advisory lock): of two shops racing for it,
        the second sees the first's binding once it has committed, instead of failing on the unique index."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('shipping.seller_nick'), hashtext(:nick))"), {"nick": nick}
        )

    async def upsert(self, shop_id: str, values: dict[str, Any]) -> ShopSettings:
        stmt = pg_insert(ShopSettings).values(shop_id=shop_id, **values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[ShopSettings.shop_id], set_={**values, "updated_at": func.now()}
        )
        await self.session.execute(stmt)
        found = await self.session.get(ShopSettings, shop_id, populate_existing=True)
        assert found is not None
        return found


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_if_absent(self, values: dict[str, Any]) -> bool:
        stmt = (
            pg_insert(Order)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Order.shop_id, Order.external_id])
            .returning(Order.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        stmt = select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def by_external(self, shop_id: str, external_id: str, *, for_update: bool = False) -> Order | None:
        stmt = (
            select(Order)
            .where(Order.shop_id == shop_id, Order.external_id == external_id)
            .execution_options(populate_existing=True)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def lock_many(self, order_ids: Sequence[str]) -> dict[str, Order]:
        rows = await self.session.scalars(
            select(Order)
            .where(Order.id.in_(order_ids))
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return {o.id: o for o in rows}

    async def search(
        self, shop_id: str, status: str | None, external_id: str | None, limit: int, offset: int
    ) -> list[Order]:
        stmt = select(Order).where(Order.shop_id == shop_id)
        if status:
            stmt = stmt.where(Order.status == status)
        if external_id:
            stmt = stmt.where(Order.external_id == external_id)
        stmt = stmt.order_by(Order.created_at, Order.id).limit(limit).offset(offset)
        return list(await self.session.scalars(stmt))

    async def external_ids(self, order_ids: Sequence[str]) -> dict[str, str]:
        rows = await self.session.execute(select(Order.id, Order.external_id).where(Order.id.in_(order_ids)))
        return {r[0]: r[1] for r in rows}

    async def existing_ids(self, shop_id: str, order_ids: Sequence[str]) -> set[str]:
        rows = await self.session.scalars(select(Order.id).where(Order.shop_id == shop_id, Order.id.in_(order_ids)))
        return set(rows)

    def add_event(self, order_id: str, event: str, from_status: str, to_status: str, note: str | None = None) -> None:
        self.session.add(
            OrderEvent(order_id=order_id, event=event, from_status=from_status, to_status=to_status, note=note)
        )

    async def add_events(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(OrderEvent), rows)

    async def events(self, order_id: str) -> list[OrderEvent]:
        return list(
            await self.session.scalars(
                select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
            )
        )


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, message_id: str, topic: str, user_nick: str, content: dict[str, Any]) -> bool:
        """True for the first delivery of this message id (a concurrent repeat waits for it, then sees it)."""
        stmt = (
            pg_insert(MarketplaceMessage)
            .values(id=message_id, topic=topic, user_nick=user_nick, content=content, outcome="received")
            .on_conflict_do_nothing(index_elements=[MarketplaceMessage.id])
            .returning(MarketplaceMessage.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def finish(self, message_id: str, shop_id: str | None, tid: str | None, outcome: str) -> None:
        await self.session.execute(
            update(MarketplaceMessage)
            .where(MarketplaceMessage.id == message_id)
            .values(shop_id=shop_id, tid=tid, outcome=outcome)
        )

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(MarketplaceMessage)) or 0)


class ShipmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, shipment_id: str, *, for_update: bool = False) -> Shipment | None:
        stmt = select(Shipment).where(Shipment.id == shipment_id).execution_options(populate_existing=True)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def recent(self, shop_id: str, order_id: str | None, limit: int) -> list[Shipment]:
        stmt = select(Shipment).where(Shipment.shop_id == shop_id)
        if order_id:
            stmt = stmt.where(Shipment.order_id == order_id)
        return list(await self.session.scalars(stmt.order_by(Shipment.created_at.desc()).limit(limit)))

    async def claim(self, shipment_id: str, lease_s: float) -> Shipment | None:
        """Take a pending confirmation (or one whose worker's lease lapsed); None when someone else has it."""
        stmt = (
            update(Shipment)
            .where(
                Shipment.id == shipment_id,
                or_(
                    Shipment.status == "pending",
                    and_(Shipment.status == "confirming", Shipment.lease_until < func.now()),
                ),
            )
            .values(
                status="confirming",
                lease_until=func.now() + timedelta(seconds=lease_s),
                attempts=Shipment.attempts + 1,
                updated_at=func.now(),
            )
            .returning(Shipment)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def claim_many(self, shipment_ids: Sequence[str], lease_s: float) -> list[Shipment]:
        """``claim`` for many shipments in one statement; those someone else holds are left out."""
        if not shipment_ids:
            return []
        stmt = (
            update(Shipment)
            .where(
                Shipment.id.in_(shipment_ids),
                or_(
                    Shipment.status == "pending",
                    and_(Shipment.status == "confirming", Shipment.lease_until < func.now()),
                ),
            )
            .values(
                status="confirming",
                lease_until=func.now() + timedelta(seconds=lease_s),
                attempts=Shipment.attempts + 1,
                updated_at=func.now(),
            )
            .returning(Shipment)
            .execution_options(populate_existing=True)
        )
        return list((await self.session.execute(stmt)).scalars())

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
            .where(Shipment.id.in_(ids), Shipment.status == "confirming")
            .values(status="confirmed", confirmed_at=func.now(), lease_until=None, updated_at=func.now())
            .returning(Shipment.id)
        )
        return list(rows)

    async def count_prints(self, shipment_id: str) -> int:
        return int(
            await self.session.scalar(
                update(Shipment)
                .where(Shipment.id == shipment_id)
                .values(label_prints=Shipment.label_prints + 1)
                .returning(Shipment.label_prints)
            )
            or 0
        )

    async def stuck(self, idle_s: float, limit: int) -> list[str]:
        """Unconfirmed shipments nobody has touched for a while: their confirmation job was lost."""
        rows = await self.session.scalars(
            select(Shipment.id)
            .where(
                or_(
                    and_(Shipment.status == "pending", Shipment.updated_at < func.now() - timedelta(seconds=idle_s)),
                    and_(Shipment.status == "confirming", Shipment.lease_until < func.now()),
                )
            )
            .order_by(Shipment.updated_at)
            .limit(limit)
        )
        return list(rows)

    async def by_ids(self, ids: Sequence[str]) -> list[Shipment]:
        return list(
            await self.session.scalars(
                select(Shipment).where(Shipment.id.in_(ids)).execution_options(populate_existing=True)
            )
        )

    async def confirmed_with_orders(self, ids: Sequence[str]) -> list[tuple[Shipment, Order]]:
        """Confirmed shipments among ``ids`` with their orders, in one query (the tracking handoff)."""
        rows = await self.session.execute(
            select(Shipment, Order)
            .join(Order, Order.id == Shipment.order_id)
            .where(Shipment.id.in_(list(ids)), Shipment.status == "confirmed")
            .order_by(Shipment.id)
        )
        return [(s, o) for s, o in rows.all()]

    async def by_numbers(self, numbers: Sequence[str]) -> list[Shipment]:
        return list(await self.session.scalars(select(Shipment).where(Shipment.number.in_(numbers))))


class BatchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, batch_id: str) -> ShipmentBatch | None:
        return await self.session.get(ShipmentBatch, batch_id)

    async def insert_items(self, rows: list[dict[str, Any]]) -> None:
        for i in range(0, len(rows), 2000):
            await self.session.execute(insert(BatchItem), rows[i : i + 2000])

    async def insert_chunks(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(BatchChunk), rows)

    async def claim_chunk(self, batch_id: str, lease_s: float) -> int | None:
        """A chunk nobody holds: pending, or claimed by a worker that stopped renewing its lease."""
        picked = (
            select(BatchChunk.batch_id, BatchChunk.chunk_no)
            .where(
                BatchChunk.batch_id == batch_id,
                or_(
                    BatchChunk.status == "pending",
                    and_(BatchChunk.status == "claimed", BatchChunk.lease_until < func.now()),
                ),
            )
            .order_by(BatchChunk.chunk_no)
            .limit(1)
            .with_for_update(skip_locked=True)
            .cte("picked")
        )
        stmt = (
            update(BatchChunk)
            .where(BatchChunk.batch_id == picked.c.batch_id, BatchChunk.chunk_no == picked.c.chunk_no)
            .values(status="claimed", lease_until=func.now() + timedelta(seconds=lease_s), claims=BatchChunk.claims + 1)
            .returning(BatchChunk.chunk_no)
        )
        found = (await self.session.execute(stmt)).scalar_one_or_none()
        return int(found) if found is not None else None

    async def renew(self, batch_id: str, chunk_no: int, lease_s: float) -> None:
        await self.session.execute(
            update(BatchChunk)
            .where(BatchChunk.batch_id == batch_id, BatchChunk.chunk_no == chunk_no, BatchChunk.status == "claimed")
            .values(lease_until=func.now() + timedelta(seconds=lease_s))
        )

    async def finish_chunk(self, batch_id: str, chunk_no: int) -> None:
        await self.session.execute(
            update(BatchChunk)
            .where(BatchChunk.batch_id == batch_id, BatchChunk.chunk_no == chunk_no)
            .values(status="done", lease_until=None)
        )

    async def chunk_items(self, batch_id: str, chunk_no: int) -> list[BatchItem]:
        return list(
            await self.session.scalars(
                select(BatchItem)
                .where(BatchItem.batch_id == batch_id, BatchItem.chunk_no == chunk_no)
                .order_by(BatchItem.seq)
                .execution_options(populate_existing=True)
            )
        )

    async def set_items(self, batch_id: str, seqs: Sequence[int], **values: Any) -> None:
        if seqs:
            await self.session.execute(
                update(BatchItem)
                .where(BatchItem.batch_id == batch_id, BatchItem.seq.in_(seqs))
                .values(updated_at=func.now(), **values)
            )

    async def set_item_rows(self, batch_id: str, rows: list[dict[str, Any]]) -> None:
        """Per-item values (seq plus the columns to set), in one statement."""
        if not rows:
            return
        cols = [k for k in rows[0] if k != "seq"]
        # Every column set this way is text; the seq is an int.
        values_sql = ", ".join(
            "(" + ", ".join([f"CAST(:seq_{i} AS int)"] + [f"CAST(:{c}_{i} AS text)" for c in cols]) + ")"
            for i in range(len(rows))
        )
        params: dict[str, Any] = {"batch_id": batch_id}
        for i, r in enumerate(rows):
            params[f"seq_{i}"] = r["seq"]
            for c in cols:
                params[f"{c}_{i}"] = r[c]
        sets = ", ".join(f"{c} = v.{c}" for c in cols)
        names = ", ".join(["seq", *cols])
        await self.session.execute(
            text(
                f"UPDATE shipping.batch_items b SET {sets}, updated_at = now() "
                f"FROM (VALUES {values_sql}) AS v({names}) "
                f"WHERE b.batch_id = :batch_id AND b.seq = v.seq"
            ),
            params,
        )

    async def finish_items_for_shipments(self, shipment_ids: Sequence[str], status: str, message: str | None) -> None:
        if not shipment_ids:
            return
        batch_ids = await self.session.scalars(
            update(BatchItem)
            .where(BatchItem.shipment_id.in_(shipment_ids), BatchItem.status == "shipping")
            .values(status=status, message=message, updated_at=func.now())
            .returning(BatchItem.batch_id)
        )
        for batch_id in set(batch_ids):
            await self.complete_if_done(batch_id)

    async def set_number_for_shipment(self, shipment_id: str, number: str) -> None:
        await self.session.execute(
            update(BatchItem).where(BatchItem.shipment_id == shipment_id).values(number=number, updated_at=func.now())
        )

    async def counts(self, batch_id: str) -> dict[str, int]:
        rows = await self.session.execute(
            select(BatchItem.status, func.count()).where(BatchItem.batch_id == batch_id).group_by(BatchItem.status)
        )
        return {r[0]: int(r[1]) for r in rows}

    async def items(self, batch_id: str, status: str | None, limit: int, offset: int) -> list[BatchItem]:
        stmt = select(BatchItem).where(BatchItem.batch_id == batch_id)
        if status:
            stmt = stmt.where(BatchItem.status == status)
        return list(await self.session.scalars(stmt.order_by(BatchItem.seq).limit(limit).offset(offset)))

    async def complete_if_done(self, batch_id: str) -> None:
        # Lock the batch first: two transactions finishing its last items would each still see the
        # other's item open in their snapshot; in turn, the second one's next statement sees the first's.
        await self.session.execute(select(ShipmentBatch.id).where(ShipmentBatch.id == batch_id).with_for_update())
        await self.session.execute(
            text(
                "UPDATE shipping.shipment_batches SET completed_at = now() WHERE id = :id AND completed_at IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM shipping.batch_items WHERE batch_id = :id "
                "AND status IN ('pending', 'shipping'))"
            ),
            {"id": batch_id},
        )

    async def open_batches(self) -> list[str]:
        """Batches with work nobody is doing: a lapsed claim, or pending chunks and no live claim. (A batch
        whose runners are busy is left alone: more runners would only fight over the same two cores.)"""
        rows = await self.session.scalars(
            text(
                "SELECT DISTINCT c.batch_id FROM shipping.batch_chunks c "
                "WHERE (c.status = 'claimed' AND c.lease_until < now()) "
                "OR (c.status = 'pending' AND NOT EXISTS (SELECT 1 FROM shipping.batch_chunks d "
                "WHERE d.batch_id = c.batch_id AND d.status = 'claimed' AND d.lease_until >= now()))"
            )
        )
        return list(rows)

    async def count_print(self, batch_id: str) -> None:
        await self.session.execute(
            update(ShipmentBatch)
            .where(ShipmentBatch.id == batch_id)
            .values(label_prints=ShipmentBatch.label_prints + 1)
        )

    async def label_rows(self, batch_id: str, after_seq: int, limit: int) -> list[Any]:
        rows = await self.session.execute(
            select(BatchItem.seq, Shipment, Order)
            .join(Shipment, Shipment.id == BatchItem.shipment_id)
            .join(Order, Order.id == Shipment.order_id)
            .where(BatchItem.batch_id == batch_id, BatchItem.seq > after_seq, Shipment.status.in_(LIVE))
            .order_by(BatchItem.seq)
            .limit(limit)
        )
        return list(rows.all())


class TrackingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, event_id: uuid.UUID, order_id: str, status: str) -> bool:
        stmt = (
            pg_insert(TrackingUpdateRecord)
            .values(event_id=event_id, order_id=order_id, status=status, applied=False)
            .on_conflict_do_nothing(index_elements=[TrackingUpdateRecord.event_id])
            .returning(TrackingUpdateRecord.event_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def set_applied(self, event_id: uuid.UUID, applied: bool) -> None:
        await self.session.execute(
            update(TrackingUpdateRecord).where(TrackingUpdateRecord.event_id == event_id).values(applied=applied)
        )


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def endpoints(self, shop_id: str, *, active_only: bool = False) -> list[WebhookEndpoint]:
        stmt = select(WebhookEndpoint).where(WebhookEndpoint.shop_id == shop_id)
        if active_only:
            stmt = stmt.where(WebhookEndpoint.active.is_(True))
        return list(await self.session.scalars(stmt.order_by(WebhookEndpoint.created_at)))

    async def endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        return await self.session.get(WebhookEndpoint, endpoint_id)

    async def lock_shop_endpoints(self, shop_id: str) -> None:
        """Serialise one shop's endpoint registrations (transaction-scoped advisory lock), so concurrent ones
        cannot pass the per-shop limit together."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('shipping.webhook_endpoints'), hashtext(:shop_id))"),
            {"shop_id": shop_id},
        )

    async def count_active(self, shop_id: str) -> int:
        stmt = select(func.count()).where(WebhookEndpoint.shop_id == shop_id, WebhookEndpoint.active.is_(True))
        return int(await self.session.scalar(stmt) or 0)

    async def add_deliveries(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(WebhookDelivery), rows)

    async def delivery(self, delivery_id: uuid.UUID, *, for_update: bool = False) -> WebhookDelivery | None:
        stmt = (
            select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).execution_options(populate_existing=True)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def deliveries(self, shop_id: str, status: str | None, limit: int) -> list[WebhookDelivery]:
        stmt = select(WebhookDelivery).where(WebhookDelivery.shop_id == shop_id)
        if status:
            stmt = stmt.where(WebhookDelivery.status == status)
        return list(await self.session.scalars(stmt.order_by(WebhookDelivery.created_at.desc()).limit(limit)))


def now_plus(seconds: float) -> Any:
    return func.now() + timedelta(seconds=seconds)


__all__ = ["datetime"]
