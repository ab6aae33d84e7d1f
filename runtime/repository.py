"""Reads of a shop's own rows, filtered by shop in the query itself.

A repository of rows that belong to a shop (orders, shipments, batches, purchases, webhook endpoints...)
subclasses ``OwnedRepository`` and names its model; ``get_owned(shop_id, id)`` then finds the row only
when it is that shop's, so another shop's id reads exactly like an unknown one (a 404 that says nothing)
and no caller can forget the comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from runtime.pagination import Keyset, PageRequest, Slice

M = TypeVar("M", bound=DeclarativeBase)


async def read_page(session: AsyncSession, stmt: Select[Any], keyset: Keyset, page: PageRequest) -> Slice[Any]:
    """One page of ``stmt``'s rows by ``keyset`` (the query's own filters stay)."""
    stmt = stmt.where(*keyset.after(page)).order_by(*keyset.order_by()).limit(page.limit + 1)
    return Slice.of(list((await session.execute(stmt)).scalars()), page, keyset)


class OwnedRepository(Generic[M]):
    model: ClassVar[type[Any]]
    # The column that names the owner; every owned table has one.
    owner_column: ClassVar[str] = "shop_id"

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _owner(self, shop_id: str) -> ColumnElement[bool]:
        column: ColumnElement[Any] = getattr(self.model, self.owner_column)
        return column == shop_id

    def _key(self, id_: Any) -> ColumnElement[bool]:
        (pk,) = self.model.__mapper__.primary_key
        return pk == id_  # type: ignore[no-any-return]

    async def get_owned(self, shop_id: str, id_: Any, *, for_update: bool = False) -> M | None:
        """The row with this primary key when it is this shop's, else None (another shop's reads as absent)."""
        # populate_existing: a row already in the session is refreshed from this read (a locked read must
        # see the row as the lock found it, not as an earlier read of the same session left it).
        stmt = select(self.model).where(self._key(id_), self._owner(shop_id)).execution_options(populate_existing=True)
        if for_update:
            stmt = stmt.with_for_update()
        found: M | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return found

    async def list_owned(
        self,
        shop_id: str,
        *where: ColumnElement[bool],
        order_by: Sequence[Any] = (),
        limit: int | None = None,
    ) -> list[M]:
        stmt = select(self.model).where(self._owner(shop_id), *where).order_by(*order_by)
        if limit is not None:
            stmt = stmt.limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def page_owned(
        self, shop_id: str, *where: ColumnElement[bool], keyset: Keyset, page: PageRequest
    ) -> Slice[M]:
        """One page of this shop's rows (see runtime.pagination)."""
        return await read_page(self.session, select(self.model).where(self._owner(shop_id), *where), keyset, page)

    async def count_owned(self, shop_id: str, *where: ColumnElement[bool]) -> int:
        stmt = select(func.count()).select_from(self.model).where(self._owner(shop_id), *where)
        return int((await self.session.execute(stmt)).scalar_one())
