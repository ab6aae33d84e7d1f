"""Refunds asked with an Idempotency-Key (``purchase_refunds``): the answer given, found again by its key."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert

from runtime.repository import OwnedRepository
from services.allocation.models import PurchaseRefund


class PurchaseRefundRepository(OwnedRepository[PurchaseRefund]):
    model = PurchaseRefund

    async def by_key(self, shop_id: str, key: str) -> PurchaseRefund | None:
        found = await self.list_owned(shop_id, PurchaseRefund.idempotency_key == key)
        return found[0] if found else None

    async def add(self, refund: PurchaseRefund) -> bool:
        """False when the key is taken: a concurrent request with it committed first (the unique constraint
        waited for it), and this one's refund must not stand."""
        values = {
            "shop_id": refund.shop_id,
            "purchase_id": refund.purchase_id,
            "idempotency_key": refund.idempotency_key,
            "request_hash": refund.request_hash,
            "count": refund.count,
            "refunded_quantity": refund.refunded_quantity,
            "refunded_cents": refund.refunded_cents,
            "balance_cents": refund.balance_cents,
        }
        result = await self.session.execute(
            pg_insert(PurchaseRefund).values(**values).on_conflict_do_nothing().returning(PurchaseRefund.id)
        )
        return result.first() is not None
