"""The webhook's verify-and-store, on raw asyncpg: one statement, one round trip, for many pushes at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg

from services.tracking.domain.states import PushOutcome

# Verify and store in one statement: a row is written only when MD5(param + salt) of a subscription with
# the push's number equals the sign (compared uppercase: the provider sends uppercase hex), and only once per
# parcel and body (a repeat of a push already kept is skipped by ON CONFLICT, and still acknowledged). Every
# push gets a row back: accepted, and whether its number is followed at all (for the metrics and the log
# only; the provider gets the same answer either way), so a refusal costs no second query.
STORE_PUSHES = """
WITH p AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS p(number, param, sign, ord)
), ok AS (
    SELECT p.ord, s.id AS sid, p.param FROM p
    CROSS JOIN LATERAL (
        SELECT s.id FROM tracking.subscriptions s
        WHERE s.number = p.number AND upper(md5(p.param || s.salt)) = p.sign
        LIMIT 1
    ) s
), stored AS (
    INSERT INTO tracking.raw_pushes (subscription_id, source, param, body_hash)
    SELECT sid, 'push', param, md5(param)::uuid FROM ok ORDER BY ord
    ON CONFLICT (subscription_id, body_hash) DO NOTHING
)
SELECT p.ord, ok.sid IS NOT NULL AS accepted,
       ok.sid IS NOT NULL OR EXISTS (SELECT 1 FROM tracking.subscriptions k WHERE k.number = p.number) AS known
FROM p LEFT JOIN ok ON ok.ord = p.ord
"""


@dataclass(frozen=True)
class _Waiting:
    number: str
    param: str
    sign: str
    answer: asyncio.Future[PushOutcome]


class WebhookStatements:
    """Verify-and-store for the webhook. Pushes that arrive while earlier ones are being written are written
    together, in one statement and one commit (at most ``inflight`` statements at a time): the
    acknowledgement rate is then not bounded by one WAL flush per push. Each caller still gets its answer
    only after the commit that stored its push."""

    def __init__(self, pool: asyncpg.Pool, max_batch: int = 256, inflight: int = 4) -> None:
        self.pool = pool
        self._max_batch = max_batch
        self._max_inflight = inflight
        self._inflight = 0
        self._waiting: list[_Waiting] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def store(self, number: str, param: str, sign: str) -> PushOutcome:
        future: asyncio.Future[PushOutcome] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(number, param, sign.strip().upper(), future))
        if self._inflight < self._max_inflight:
            self._inflight += 1
            task = asyncio.create_task(self._run())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                try:
                    rows = await self.pool.fetch(
                        STORE_PUSHES, [w.number for w in batch], [w.param for w in batch], [w.sign for w in batch]
                    )
                except Exception as exc:
                    for w in batch:
                        if not w.answer.done():
                            w.answer.set_exception(exc)
                    continue
                outcomes = {int(r["ord"]): _outcome(r["accepted"], r["known"]) for r in rows}
                for i, w in enumerate(batch, start=1):
                    if not w.answer.done():
                        w.answer.set_result(outcomes.get(i, PushOutcome.UNKNOWN_NUMBER))
        finally:
            self._inflight -= 1


def _outcome(accepted: bool, known: bool) -> PushOutcome:
    if accepted:
        return PushOutcome.STORED
    return PushOutcome.BAD_SIGNATURE if known else PushOutcome.UNKNOWN_NUMBER
