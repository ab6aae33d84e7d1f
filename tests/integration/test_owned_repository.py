"""runtime.repository.OwnedRepository filters by shop in SQL: another shop's row reads exactly as an unknown
one, in the single, list and count forms, and a locked read takes the row lock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import MetaData, String, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from runtime.db import make_engine, make_sessionmaker
from runtime.repository import OwnedRepository
from tests.support import Env

SCHEMA = "owned_repository_test"


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA)


class Parcel(Base):
    __tablename__ = "parcels"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    shop_id: Mapped[str] = mapped_column(String, index=True)
    state: Mapped[str] = mapped_column(String)


class ParcelRepository(OwnedRepository[Parcel]):
    model = Parcel


@pytest.fixture
async def session(env: Env) -> AsyncIterator[AsyncSession]:
    engine = make_engine(env.database_url, pool_size=2)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        await conn.run_sync(Base.metadata.create_all)
    async with make_sessionmaker(engine)() as s:
        yield s
        await s.rollback()
    async with engine.begin() as conn:  # the services' migration checks see only their own schemas
        await conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    await engine.dispose()


async def test_a_shops_rows_and_no_other_shops(session: AsyncSession) -> None:
    mine, theirs = f"s-{uuid.uuid4().hex[:8]}", f"s-{uuid.uuid4().hex[:8]}"
    ids = [uuid.uuid4().hex for _ in range(3)]
    session.add_all(
        [
            Parcel(id=ids[0], shop_id=mine, state="open"),
            Parcel(id=ids[1], shop_id=mine, state="closed"),
            Parcel(id=ids[2], shop_id=theirs, state="open"),
        ]
    )
    await session.flush()
    repo = ParcelRepository(session)

    found = await repo.get_owned(mine, ids[0])
    assert found is not None
    assert found.id == ids[0]
    assert await repo.get_owned(mine, ids[2]) is None  # theirs reads as absent
    assert await repo.get_owned(mine, "no-such-id") is None
    assert (await repo.get_owned(mine, ids[1], for_update=True)) is not None

    listed = await repo.list_owned(mine, order_by=[Parcel.state])
    assert [p.id for p in listed] == [ids[1], ids[0]]
    assert [p.id for p in await repo.list_owned(mine, Parcel.state == "open")] == [ids[0]]
    assert len(await repo.list_owned(mine, limit=1)) == 1
    assert await repo.count_owned(mine) == 2
    assert await repo.count_owned(mine, Parcel.state == "open") == 1
    assert await repo.count_owned(theirs) == 1
