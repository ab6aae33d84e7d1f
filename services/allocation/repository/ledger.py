"""Balances and the ledger: a balance changes only here, and only together with a ledger row."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, insert, select, update

from runtime.repository import OwnedRepository
from services.allocation.models import LedgerEntry, LedgerKind, Shop


class LedgerRepository(OwnedRepository[LedgerEntry]):
    model = LedgerEntry

    async def apply(
        self, shop_id: str, amount_cents: int, kind: LedgerKind, reference: str | None, note: str
    ) -> int | None:
        """Add ``amount_cents`` (negative to debit) unless the balance would go negative. ``note`` says why, in
        words, with the particulars (never empty: the database refuses a row without it).

        The conditional UPDATE takes the shop row's lock, so racing debits are serialised and each
        sees the balance the previous one left. Returns the new balance, or None if refused.
        """
        new_balance = (
            await self.session.execute(
                update(Shop)
                .where(Shop.id == shop_id, Shop.balance_cents + amount_cents >= 0)
                .values(balance_cents=Shop.balance_cents + amount_cents)
                .returning(Shop.balance_cents)
            )
        ).scalar_one_or_none()
        if new_balance is None:
            return None
        await self.session.execute(
            insert(LedgerEntry).values(
                shop_id=shop_id,
                amount_cents=amount_cents,
                balance_after_cents=new_balance,
                kind=kind,
                reference=reference,
                note=note,
            )
        )
        return int(new_balance)

    async def balance(self, shop_id: str) -> int | None:
        value = await self.session.scalar(select(Shop.balance_cents).where(Shop.id == shop_id))
        return None if value is None else int(value)

    async def total(self, shop_id: str) -> int:
        value = await self.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(LedgerEntry.shop_id == shop_id)
        )
        return int(value or 0)

    async def recent(self, shop_id: str, limit: int) -> Sequence[LedgerEntry]:
        return await self.list_owned(shop_id, order_by=[LedgerEntry.id.desc()], limit=limit)
