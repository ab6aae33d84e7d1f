"""Polling the provider for parcels that have gone quiet: which to ask about, and what its answer is worth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from runtime.db import UnitOfWork
from runtime.logging import get_logger
from services.tracking.domain.states import PushSource
from services.tracking.kuaidi100.protocol import QueryOutcome, QueryResult, query_as_param
from services.tracking.repository.pushes import PushRepository
from services.tracking.repository.subscriptions import SubscriptionRepository
from shared.carriers import CarrierCode

log = get_logger(__name__)


@dataclass(frozen=True)
class PollTarget:
    id: int
    carrier: CarrierCode
    number: str


async def claim_quiet(uow: UnitOfWork, now: datetime, quiet_hours: float, limit: int) -> list[PollTarget]:
    subs = await SubscriptionRepository(uow.session).claim_quiet(now - timedelta(hours=quiet_hours), now, limit)
    return [PollTarget(s.id, CarrierCode(s.carrier), s.number) for s in subs]


async def record_poll(uow: UnitOfWork, target: PollTarget, result: QueryResult) -> bool:
    """Whether the answer was stored to be processed: a found result is stored like a push (and processed by
    the same batch path); the rest is only noted."""
    if result.outcome == QueryOutcome.FOUND and result.body is not None:
        await PushRepository(uow.session).add(target.id, query_as_param(result.body), PushSource.POLL)
        return True
    if result.outcome == QueryOutcome.REJECTED:
        log.warning("poll_rejected", subscription_id=target.id, code=result.code, message=result.message)
    return False


async def release_poll(uow: UnitOfWork, subscription_ids: Sequence[int]) -> None:
    """Not polled after all (rate limited, provider busy): eligible again at once."""
    await SubscriptionRepository(uow.session).clear_polled(subscription_ids)
