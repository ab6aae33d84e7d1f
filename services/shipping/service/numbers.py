"""Keeping allocation's record of our numbers in step (the release, mark and bulk-mark jobs). A refusal is
logged and answered (retrying cannot change it); allocation unreachable raises the transient ServiceError
for the job to try again (every call here is idempotent)."""

from __future__ import annotations

from collections.abc import Sequence

from runtime.apis.allocation import AllocationApi
from runtime.logging import get_logger
from runtime.service_client import ServiceError
from shared.allocation import MAX_BATCH_MARK, MarkItem, MarkState

log = get_logger(__name__)


def _refused(exc: ServiceError) -> str:
    return f"refused: {exc.code}"


async def release(allocation: AllocationApi, shop_id: str, number: str, order_ref: str, *, void: bool) -> str:
    """Give a number back. ``void``: its label may exist (batch labels are never marked printed one by one),
    so it is marked printed first and the release voids it instead of returning it to the pool."""
    try:
        if void:
            await _printed(allocation, shop_id, number, order_ref)
        return (await allocation.release(shop_id, number, order_ref)).status.value
    except ServiceError as exc:
        if exc.transient:
            raise
        log.warning("release_refused", number=number, code=exc.code, error=exc.message)
        return _refused(exc)


async def _printed(allocation: AllocationApi, shop_id: str, number: str, order_ref: str) -> None:
    try:
        await allocation.mark(shop_id, number, MarkState.PRINTED, order_ref)
    except ServiceError as exc:
        if exc.transient:
            raise
        # Already past printed (or never ours): the release says what it is.


async def mark(
    allocation: AllocationApi,
    shop_id: str,
    number: str,
    state: MarkState,
    order_ref: str,
    *,
    store_id: str | None = None,
    channel: str | None = None,
) -> str:
    """``store_id``, ``channel``: where a shipped number was used (allocation's spend reports)."""
    try:
        await allocation.mark(shop_id, number, state, order_ref, store_id=store_id, channel=channel)
    except ServiceError as exc:
        if exc.transient:
            raise
        log.warning("mark_refused", number=number, code=exc.code, error=exc.message)
        return _refused(exc)
    return state.value


async def mark_many(allocation: AllocationApi, shop_id: str, state: MarkState, items: Sequence[MarkItem]) -> int:
    """Record many numbers' progress, one call per MAX_BATCH_MARK of them; answers how many are in ``state``.
    Each number answers on its own: a refused one is logged, the others are marked."""
    marked = 0
    for start in range(0, len(items), MAX_BATCH_MARK):
        part = items[start : start + MAX_BATCH_MARK]
        try:
            result = await allocation.mark_many(shop_id, state, part)
        except ServiceError as exc:
            if exc.transient:
                raise
            log.error("mark_many_refused", count=len(part), code=exc.code, error=exc.message)
            continue
        marked += result.marked
        for outcome in result.results:
            if outcome.error_code:
                log.warning("mark_refused", number=outcome.number, code=outcome.error_code, error=outcome.error)
    return marked
