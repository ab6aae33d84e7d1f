"""Telling shipping what happened to its parcels, through ``ShippingApi``.

Each round leases the due updates and sends them in one batch call per shop, in the order they were
recorded, so each parcel's arrive in order. What is tried again is ``ServiceError.transient`` (no answer,
a 5xx, 401/403/408/425/429), and an answer that does not match the batch; anything else shipping refuses is
refused for good. A batch refused whole is sent again one update at a time, so that only the update shipping
cannot take is refused. A stored update that does not read as a TrackingUpdate is refused for good, logged.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from runtime.apis.shipping import ShippingApi
from runtime.backoff import Backoff
from runtime.logging import get_logger
from runtime.service_client import ServiceError
from services.tracking.domain.updates import Deferred, DueNotification, Refused, RoundOutcome
from services.tracking.resources import TrackingResources
from services.tracking.service import updates
from shared.tracking import MAX_BATCH_TRACKING_UPDATES, TrackingUpdate, TrackingUpdateOutcome

log = get_logger(__name__)

NOTIFY_CONCURRENCY = 16


async def send_notifications(res: TrackingResources) -> int:
    """One round: lease due updates, send them, record the outcome. The number of updates leased."""
    async with res.transaction() as uow:
        due = await updates.claim_due(uow, res.settings.notify_batch_size)
    if not due:
        return 0
    outcome = await NotifyRound(res.shipping, res.settings.notify_backoff()).send(due)
    async with res.transaction() as uow:
        await updates.record_round(uow, outcome)
    if outcome.later:
        log.warning("notifications_deferred", count=len(outcome.later))
    return len(due)


@dataclass(frozen=True)
class _Outgoing:
    due: DueNotification
    update: TrackingUpdate


def _describe(exc: ServiceError) -> str:
    """The error as recorded on the update (``HTTP <status> ...`` when shipping answered)."""
    return exc.message if exc.status == 0 else f"HTTP {exc.status} {exc.code}: {exc.message}"[:300]


class NotifyRound:
    """One round's calls and what became of each update."""

    def __init__(self, shipping: ShippingApi, backoff: Backoff, concurrency: int = NOTIFY_CONCURRENCY) -> None:
        self.shipping = shipping
        self.backoff = backoff
        self.gate = asyncio.Semaphore(concurrency)
        self.outcome = RoundOutcome()

    async def send(self, due: Sequence[DueNotification]) -> RoundOutcome:
        by_shop: dict[str, list[DueNotification]] = defaultdict(list)
        for n in due:
            by_shop[n.shop_id].append(n)
        await asyncio.gather(*(self._send_shop(items) for items in by_shop.values()))
        return self.outcome

    async def _send_shop(self, items: list[DueNotification]) -> None:
        outgoing = self._readable(items)
        for start in range(0, len(outgoing), MAX_BATCH_TRACKING_UPDATES):
            chunk = outgoing[start : start + MAX_BATCH_TRACKING_UPDATES]
            try:
                async with self.gate:
                    results = await self._post_batch(chunk)
            except ServiceError as exc:
                if exc.transient:
                    self._defer(outgoing[start:], exc)
                    return
                if len(chunk) == 1:
                    self._refuse(chunk[0].due, _describe(exc))
                # Shipping refused the batch as a whole (one update it cannot read spoils the body): one by
                # one, so that only that update is refused.
                elif not await self._one_by_one(outgoing[start:], len(chunk)):
                    return
                continue
            for o, result in zip(chunk, results, strict=True):
                if result.error is None:
                    self.outcome.sent.append(o.due.id)
                else:
                    self._refuse(o.due, result.error)

    def _readable(self, items: list[DueNotification]) -> list[_Outgoing]:
        readable: list[_Outgoing] = []
        for n in items:
            try:
                readable.append(_Outgoing(n, TrackingUpdate.model_validate(n.payload)))
            except ValidationError as exc:
                self._refuse(n, f"unreadable update: {exc}"[:300])
        return readable

    async def _post_batch(self, chunk: list[_Outgoing]) -> list[TrackingUpdateOutcome]:
        """One result per update, or ServiceError (an answer that does not match the batch is one, transient:
        nothing is taken as sent)."""
        answer = await self.shipping.tracking_updates(chunk[0].due.shop_id, [o.update for o in chunk])
        if len(answer.results) != len(chunk):
            raise ServiceError("shipping", 502, "bad_answer", f"{len(answer.results)} results for {len(chunk)} updates")
        return answer.results

    async def _one_by_one(self, rest: list[_Outgoing], count: int) -> bool:
        """The first ``count`` of ``rest`` sent singly; False when a failure deferred the rest."""
        for i, o in enumerate(rest[:count]):
            try:
                async with self.gate:
                    await self.shipping.tracking_update(o.due.shop_id, o.update)
            except ServiceError as exc:
                if exc.transient:
                    self._defer(rest[i:], exc)
                    return False
                self._refuse(o.due, _describe(exc))
                continue
            self.outcome.sent.append(o.due.id)
        return True

    def _refuse(self, n: DueNotification, error: str) -> None:
        log.error("notification_refused", notification_id=n.id, error=error)
        self.outcome.refused.append(Refused(n.id, error))

    def _defer(self, rest: list[_Outgoing], exc: ServiceError) -> None:
        # The rest of this shop's updates wait too, so shipping hears each parcel's in order.
        delay = self.backoff.nominal(rest[0].due.attempts)
        error = _describe(exc)
        self.outcome.later.extend(Deferred(o.due.id, delay, error) for o in rest)
