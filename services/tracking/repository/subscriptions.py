"""Subscriptions: one row per followed parcel, its shop and order, its salt, where it stands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import any_, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from runtime.repository import OwnedRepository
from services.tracking.domain.parcel import ParcelState
from services.tracking.domain.states import ProviderState
from services.tracking.domain.updates import Parcel
from services.tracking.models import Subscription
from services.tracking.repository.arrays import id_array
from shared.tracking import TrackingStatus


@dataclass
class SubState:
    """A parcel as the batch paths read and write it: who it is, and its tracking state (plain values, not
    ORM objects: the batch path handles hundreds at a time)."""

    parcel: Parcel
    state: ParcelState

    @property
    def id(self) -> int:
        return self.parcel.subscription_id


_STATE_COLUMNS = (
    "id",
    "shop_id",
    "order_id",
    "carrier",
    "number",
    "status",
    "progress",
    "status_at",
    "last_event_at",
    "last_heard_at",
    "provider_state",
    "ended_at",
)


def _sub_state(row: Any) -> SubState:
    sid, shop_id, order_id, carrier, number, status, progress, status_at, last_event_at, heard, provider, ended = row
    return SubState(
        Parcel(shop_id, sid, order_id, carrier, number),
        ParcelState(TrackingStatus(status), progress, status_at, last_event_at, heard, ProviderState(provider), ended),
    )


SAVE_STATES = text(
    """
UPDATE tracking.subscriptions s
SET status = u.status, progress = u.progress, status_at = u.status_at, last_event_at = u.last_event_at,
    last_heard_at = u.last_heard_at, provider_state = u.provider_state, ended_at = u.ended_at, updated_at = now()
FROM unnest(CAST(:id AS bigint[]), CAST(:status AS text[]), CAST(:progress AS smallint[]),
            CAST(:status_at AS timestamptz[]), CAST(:last_event_at AS timestamptz[]),
            CAST(:last_heard_at AS timestamptz[]), CAST(:provider_state AS text[]), CAST(:ended_at AS timestamptz[]))
     AS u(id, status, progress, status_at, last_event_at, last_heard_at, provider_state, ended_at)
WHERE s.id = u.id
"""
)


class SubscriptionRepository(OwnedRepository[Subscription]):
    model = Subscription

    async def insert(self, values: dict[str, Any]) -> Subscription | None:
        """The new subscription, or None when (carrier, number) is already subscribed."""
        stmt = (
            insert(Subscription)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["carrier", "number"])
            .returning(Subscription)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> list[Subscription]:
        """The subscriptions that are new; rows whose (carrier, number) is already followed are left out."""
        stmt = (
            insert(Subscription)
            .values(list(rows))
            .on_conflict_do_nothing(index_elements=["carrier", "number"])
            .returning(Subscription)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    async def by_carrier_numbers(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Subscription]:
        if not keys:
            return {}
        stmt = select(Subscription).where(
            tuple_(Subscription.carrier, Subscription.number).in_([tuple(k) for k in keys])
        )
        return {(s.carrier, s.number): s for s in (await self.session.execute(stmt)).scalars().all()}

    async def get_many(self, ids: Sequence[int], *, lock: bool = False) -> list[Subscription]:
        """In id order (two transactions locking overlapping sets never deadlock)."""
        stmt = select(Subscription).where(Subscription.id == any_(id_array(ids))).order_by(Subscription.id)
        if lock:
            stmt = stmt.with_for_update(key_share=True)
        return list((await self.session.execute(stmt)).scalars().all())

    async def by_carrier_number(self, carrier: str, number: str) -> Subscription | None:
        stmt = select(Subscription).where(Subscription.carrier == carrier, Subscription.number == number)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get(self, subscription_id: int, *, lock: bool = False) -> Subscription | None:
        stmt = select(Subscription).where(Subscription.id == subscription_id)
        if lock:
            stmt = stmt.with_for_update(key_share=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def lock_states(self, ids: Sequence[int]) -> dict[int, SubState]:
        """The parcels' tracking state, locked for this transaction. In id order, so two workers locking
        overlapping sets never deadlock; NO KEY UPDATE, so the webhook's inserts of new pushes (a foreign-key
        share lock on the subscription) never wait for a batch."""
        t = Subscription.__table__
        stmt = (
            select(*(t.c[name] for name in _STATE_COLUMNS))
            .where(t.c.id == any_(id_array(ids)))
            .order_by(t.c.id)
            .with_for_update(key_share=True)
        )
        states = (_sub_state(row) for row in (await self.session.execute(stmt)).all())
        return {s.id: s for s in states}

    async def save_states(self, subs: Sequence[SubState]) -> None:
        """Write back the changed parcels in one statement."""
        if not subs:
            return
        states = [s.state for s in subs]
        await self.session.execute(
            SAVE_STATES,
            {
                "id": [s.id for s in subs],
                "status": [x.status.value for x in states],
                "progress": [x.progress for x in states],
                "status_at": [x.status_at for x in states],
                "last_event_at": [x.last_event_at for x in states],
                "last_heard_at": [x.last_heard_at for x in states],
                "provider_state": [x.provider_state.value for x in states],
                "ended_at": [x.ended_at for x in states],
            },
        )

    async def for_shop_number(self, shop_id: str, number: str, carrier: str | None) -> list[Subscription]:
        where = [Subscription.number == number]
        if carrier is not None:
            where.append(Subscription.carrier == carrier)
        return await self.list_owned(shop_id, *where, order_by=[Subscription.id])

    async def for_shop_order(self, shop_id: str, order_id: str) -> list[Subscription]:
        return await self.list_owned(shop_id, Subscription.order_id == order_id, order_by=[Subscription.id])

    async def claim_quiet(self, quiet_since: datetime, now: datetime, limit: int) -> list[Subscription]:
        """Active subscriptions heard of (and polled) longer ago than ``quiet_since``, longest quiet first;
        marked as polled now so another worker does not take them too."""
        heard = func.coalesce(Subscription.last_heard_at, Subscription.subscribed_at)
        stmt = (
            select(Subscription)
            .where(
                Subscription.provider_state == ProviderState.SUBSCRIBED.value,
                heard < quiet_since,
                or_(Subscription.last_polled_at.is_(None), Subscription.last_polled_at < quiet_since),
            )
            .order_by(func.greatest(heard, func.coalesce(Subscription.last_polled_at, heard)))
            .limit(limit)
            .with_for_update(skip_locked=True, key_share=True)
        )
        subs = list((await self.session.execute(stmt)).scalars())
        for sub in subs:
            sub.last_polled_at = now
        await self.session.flush()
        return subs

    async def clear_polled(self, ids: Sequence[int]) -> None:
        if ids:
            await self.session.execute(
                update(Subscription).where(Subscription.id.in_(ids)).values(last_polled_at=None),
                execution_options={"synchronize_session": False},
            )
