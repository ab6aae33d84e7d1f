"""Shipment batches, their chunks (what a worker claims at a time) and their items (one per order)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, text, update

from runtime.pagination import Keyset, PageRequest, Slice
from runtime.repository import OwnedRepository, read_page
from services.shipping.models import (
    LIVE_SHIPMENT_STATES,
    BatchChunk,
    BatchItem,
    ChunkStatus,
    ItemStatus,
    Order,
    Parcel,
    ParcelStatus,
    Shipment,
    ShipmentBatch,
)

ITEM_ROWS_PER_INSERT = 2000


class LabelRow(NamedTuple):
    """A batch item with a label: its place in the batch, its shipment, its order and the shipment's first
    parcel (whose number is the shipment's, with the courier's sort code)."""

    seq: int
    shipment: Shipment
    order: Order
    parcel: Parcel | None


class ChunkClaim(NamedTuple):
    """A worker's hold on a chunk. ``token`` is the chunk's claim count when it was taken: a holder whose lease
    lapsed and was taken over renews and finishes nothing any more (the new holder's token is higher)."""

    batch_id: str
    chunk_no: int
    token: int


def _held(claim: ChunkClaim) -> tuple[ColumnElement[bool], ...]:
    return (
        BatchChunk.batch_id == claim.batch_id,
        BatchChunk.chunk_no == claim.chunk_no,
        BatchChunk.status == ChunkStatus.CLAIMED,
        BatchChunk.claims == claim.token,
    )


class BatchRepository(OwnedRepository[ShipmentBatch]):
    model = ShipmentBatch

    async def get(self, batch_id: str) -> ShipmentBatch | None:
        """A batch by id whoever's it is: for the workers, which hold only its id."""
        return await self.session.get(ShipmentBatch, batch_id)

    async def insert_items(self, rows: list[dict[str, Any]]) -> None:
        for i in range(0, len(rows), ITEM_ROWS_PER_INSERT):
            await self.session.execute(insert(BatchItem), rows[i : i + ITEM_ROWS_PER_INSERT])

    async def insert_chunks(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(BatchChunk), rows)

    async def claim_chunk(self, batch_id: str, lease_s: float) -> ChunkClaim | None:
        """A chunk nobody holds: pending, or claimed by a worker that stopped renewing its lease."""
        picked = (
            select(BatchChunk.batch_id, BatchChunk.chunk_no)
            .where(
                BatchChunk.batch_id == batch_id,
                or_(
                    BatchChunk.status == ChunkStatus.PENDING,
                    and_(BatchChunk.status == ChunkStatus.CLAIMED, BatchChunk.lease_until < func.now()),
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
            .values(
                status=ChunkStatus.CLAIMED,
                lease_until=func.now() + timedelta(seconds=lease_s),
                claims=BatchChunk.claims + 1,
            )
            .returning(BatchChunk.chunk_no, BatchChunk.claims)
        )
        found = (await self.session.execute(stmt)).one_or_none()
        return ChunkClaim(batch_id, int(found.chunk_no), int(found.claims)) if found is not None else None

    async def renew(self, claim: ChunkClaim, lease_s: float) -> bool:
        """Extend the lease while its holder works; False when it is no longer this claim's (it lapsed and
        another worker took the chunk over, or the chunk is done)."""
        renewed = await self.session.scalar(
            update(BatchChunk)
            .where(*_held(claim))
            .values(lease_until=func.now() + timedelta(seconds=lease_s))
            .returning(BatchChunk.chunk_no)
        )
        return renewed is not None

    async def finish_chunk(self, claim: ChunkClaim) -> bool:
        """The chunk done, by the claim that did it (False: another worker holds it now, and finishes it)."""
        done = await self.session.scalar(
            update(BatchChunk)
            .where(*_held(claim))
            .values(status=ChunkStatus.DONE, lease_until=None)
            .returning(BatchChunk.chunk_no)
        )
        return done is not None

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

    async def set_item_rows(self, batch_id: str, rows: Sequence[dict[str, Any]]) -> None:
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

    async def finish_items_for_shipments(
        self, shipment_ids: Sequence[str], status: ItemStatus, message: str | None
    ) -> None:
        if not shipment_ids:
            return
        batch_ids = await self.session.scalars(
            update(BatchItem)
            .where(BatchItem.shipment_id.in_(shipment_ids), BatchItem.status == ItemStatus.SHIPPING)
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
        return {status: int(count) for status, count in rows}

    async def recent(self, shop_id: str, page: PageRequest) -> Slice[ShipmentBatch]:
        return await self.page_owned(shop_id, keyset=Keyset([ShipmentBatch.created_at, ShipmentBatch.id]), page=page)

    async def counts_many(self, batch_ids: list[str]) -> dict[str, dict[str, int]]:
        """``counts`` of many batches in one statement."""
        if not batch_ids:
            return {}
        rows = await self.session.execute(
            select(BatchItem.batch_id, BatchItem.status, func.count())
            .where(BatchItem.batch_id.in_(batch_ids))
            .group_by(BatchItem.batch_id, BatchItem.status)
        )
        out: dict[str, dict[str, int]] = {}
        for batch_id, status, count in rows:
            out.setdefault(batch_id, {})[status] = int(count)
        return out

    async def item_page(self, batch_id: str, status: str | None, page: PageRequest) -> Slice[BatchItem]:
        stmt = select(BatchItem).where(BatchItem.batch_id == batch_id)
        if status:
            stmt = stmt.where(BatchItem.status == status)
        return await read_page(self.session, stmt, Keyset([BatchItem.seq], descending=False), page)

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

    async def open_batches(self) -> dict[str, int]:
        """Batches with work nobody is doing, each with how many such chunks: a lapsed claim, or pending chunks
        and no live claim. (A batch whose runners are busy is left alone: more runners would only fight over
        the same two cores.)"""
        rows = await self.session.execute(
            text(
                "SELECT c.batch_id, count(*) AS n FROM shipping.batch_chunks c "
                "WHERE (c.status = 'claimed' AND c.lease_until < now()) "
                "OR (c.status = 'pending' AND NOT EXISTS (SELECT 1 FROM shipping.batch_chunks d "
                "WHERE d.batch_id = c.batch_id AND d.status = 'claimed' AND d.lease_until >= now())) "
                "GROUP BY c.batch_id"
            )
        )
        return {batch_id: int(n) for batch_id, n in rows}

    async def count_print(self, batch_id: str) -> None:
        await self.session.execute(
            update(ShipmentBatch)
            .where(ShipmentBatch.id == batch_id)
            .values(label_prints=ShipmentBatch.label_prints + 1)
        )

    async def label_prints_locked(self, batch_id: str) -> int:
        """How often the batch's PDF was fetched, read under a share lock (see shipment_outcomes.label_printed)."""
        stmt = select(ShipmentBatch.label_prints).where(ShipmentBatch.id == batch_id).with_for_update(read=True)
        return int(await self.session.scalar(stmt) or 0)

    async def label_rows(self, batch_id: str, after_seq: int, limit: int) -> list[LabelRow]:
        rows = await self.session.execute(
            select(BatchItem.seq, Shipment, Order, Parcel)
            .join(Shipment, Shipment.id == BatchItem.shipment_id)
            .join(Order, Order.id == Shipment.order_id)
            .outerjoin(
                Parcel,
                (Parcel.shipment_id == Shipment.id) & (Parcel.seq == 1) & (Parcel.status == ParcelStatus.LIVE),
            )
            .where(
                BatchItem.batch_id == batch_id,
                BatchItem.seq > after_seq,
                Shipment.status.in_(LIVE_SHIPMENT_STATES),
            )
            .order_by(BatchItem.seq)
            .limit(limit)
        )
        return [LabelRow(seq, shipment, order, parcel) for seq, shipment, order, parcel in rows]
