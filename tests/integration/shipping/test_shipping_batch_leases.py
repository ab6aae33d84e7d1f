"""Batch leases: short, renewed by a heartbeat while their holder works. A holder that stops renewing (a
killed worker) loses its chunk within the lease and the chunk is redone with nothing done twice; a live
holder, however slow, keeps it; a holder whose lease was taken over renews and finishes nothing."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from services.shipping.repository.batches import BatchRepository, ChunkClaim
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.resources import ShippingResources
from services.shipping.service import batch_confirmations
from services.shipping.service.batch_runner import ChunkRunner
from services.shipping.service.batches import BatchRun
from services.shipping.settings import get_settings
from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop, worker_ctx
from tests.integration.shipping.test_shipping_batches import _batch, _orders, _view
from tests.support import Env

LEASE_S = 1.0


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(200)})


@pytest.fixture
def short_lease(monkeypatch: pytest.MonkeyPatch) -> float:
    """The worker's batch lease, short for these tests (production's is 10 s)."""
    monkeypatch.setattr(get_settings(), "batch_lease_s", LEASE_S)
    return LEASE_S


async def _claim(res: ShippingResources, batch_id: str, lease_s: float) -> ChunkClaim | None:
    async with res.transaction() as uow:
        return await BatchRepository(uow.session).claim_chunk(batch_id, lease_s)


async def _run_of(res: ShippingResources, batch_id: str) -> BatchRun:
    async with res.transaction() as uow:
        batch = await BatchRepository(uow.session).get(batch_id)
        assert batch is not None
        return BatchRun(res, batch_id, batch.shop_id, batch.carrier)


def _slow_sends(
    monkeypatch: pytest.MonkeyPatch, delay_s: float, *, quick: int = 0
) -> Callable[[BatchRun, Any], Awaitable[Any]]:
    """Each marketplace confirmation of a batch waits ``delay_s`` first, but the first ``quick`` ones."""
    real = batch_confirmations._send
    count = 0

    async def slow(run: BatchRun, s: Any) -> Any:
        nonlocal count
        count += 1
        if count > quick:
            await asyncio.sleep(delay_s)
        return await real(run, s)

    monkeypatch.setattr(batch_confirmations, "_send", slow)
    return real


async def _until(condition: Callable[[], bool], within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_lapsed_lease_is_taken_over_and_its_old_holder_is_fenced_off(
    world: World, shop: BoundShop, redis: Any
) -> None:
    order_ids = await _orders(world, shop, 10)
    batch = await _batch(world, shop, order_ids, carrier="ZTO")
    async with worker_ctx(redis) as ctx:
        res: ShippingResources = ctx["resources"]
        first = await _claim(res, batch["id"], 0.5)
        assert first is not None
        assert await _claim(res, batch["id"], 30) is None  # held: nobody else gets it
        await asyncio.sleep(0.7)  # the holder stopped renewing: its lease lapses
        second = await _claim(res, batch["id"], 30)
        assert second is not None
        assert (second.chunk_no, second.token) == (first.chunk_no, first.token + 1)
        async with res.transaction() as uow:
            repo = BatchRepository(uow.session)
            # The old holder, back from its pause, can neither renew nor finish what is now another's.
            assert not await repo.renew(first, 30)
            assert not await repo.finish_chunk(first)
            assert await repo.renew(second, 30)
        # The new holder works the chunk to its end.
        assert await ChunkRunner(res, batch["id"]).chunk(await _run_of(res, batch["id"]), second)
    await world.run_jobs()  # the batch's own queued jobs find nothing left to do
    view = await _view(world, shop, batch["id"])
    assert (view["done"], view["status"]) == (10, "completed")
    assert set(Counter(s["tid"] for s in world.market.sends()).values()) == {1}


async def test_a_live_slow_holder_keeps_its_chunk_and_its_confirmations(
    world: World, shop: BoundShop, redis: Any, monkeypatch: pytest.MonkeyPatch, short_lease: float
) -> None:
    """The sends take three leases; the heartbeat keeps the chunk and the confirmations it claimed."""
    order_ids = await _orders(world, shop, 10)
    batch = await _batch(world, shop, order_ids, carrier="ZTO")
    _slow_sends(monkeypatch, 3 * short_lease)
    async with worker_ctx(redis) as ctx:
        res: ShippingResources = ctx["resources"]
        claim = await _claim(res, batch["id"], short_lease)
        assert claim is not None
        holder = asyncio.create_task(ChunkRunner(res, batch["id"]).chunk(await _run_of(res, batch["id"]), claim))
        rival_chunks: list[ChunkClaim | None] = []
        rival_shipments: list[int] = []
        while not holder.done():
            await asyncio.sleep(0.2)
            rival_chunks.append(await _claim(res, batch["id"], 30))
            async with res.transaction() as uow:
                ids = [i.shipment_id for i in await BatchRepository(uow.session).chunk_items(batch["id"], 0)]
                stolen = await ShipmentRepository(uow.session).claim_many([i for i in ids if i], 30)
                rival_shipments.append(len(stolen))
                assert not stolen, "a confirmation in flight was taken from its live holder"
        assert await holder
    assert len(rival_chunks) >= 10
    assert set(rival_chunks) == {None}
    view = await _view(world, shop, batch["id"])
    assert (view["done"], view["failed"], view["status"]) == (10, 0, "completed")
    assert set(Counter(s["tid"] for s in world.market.sends()).values()) == {1}


async def test_a_holder_that_stops_is_replaced_within_the_lease_and_nothing_is_done_twice(
    world: World, shop: BoundShop, redis: Any, monkeypatch: pytest.MonkeyPatch, short_lease: float
) -> None:
    """A worker dies in the middle of its confirmations (four sent, six in flight): no heartbeat any more, so
    another worker takes the chunk over once the lease lapses and settles the four it meets as already
    shipped (B04 with our number) instead of sending them again."""
    order_ids = await _orders(world, shop, 10)
    batch = await _batch(world, shop, order_ids, carrier="ZTO")
    _slow_sends(monkeypatch, 30, quick=4)
    async with worker_ctx(redis) as ctx:
        res: ShippingResources = ctx["resources"]
        claim = await _claim(res, batch["id"], short_lease)
        assert claim is not None
        dying = asyncio.create_task(ChunkRunner(res, batch["id"]).chunk(await _run_of(res, batch["id"]), claim))
        await _until(lambda: len(world.market.sends()) >= 4)
        await asyncio.sleep(0.2)
        dying.cancel()  # as a SIGKILL would: no more beats, the leases (chunk and confirmations) left to lapse
        died = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await dying
        monkeypatch.undo()
        monkeypatch.setattr(get_settings(), "batch_lease_s", short_lease)
        taken: ChunkClaim | None = None
        while taken is None:
            assert time.monotonic() - died < short_lease + 2, "the lapsed chunk was not taken over"
            taken = await _claim(res, batch["id"], short_lease)
            await asyncio.sleep(0.05)
        assert taken.token == claim.token + 1
        assert time.monotonic() - died >= short_lease * 0.5  # not before the lease could have lapsed
        assert await ChunkRunner(res, batch["id"]).chunk(await _run_of(res, batch["id"]), taken)
    view = await _view(world, shop, batch["id"])
    assert (view["done"], view["failed"], view["status"]) == (10, 0, "completed")
    sends = Counter(s["tid"] for s in world.market.sends())
    # Four were sent by the first holder and met again as B04 by the second (settled inline); none a third time.
    assert sorted(Counter(sends.values()).items()) == [(1, 6), (2, 4)]
    confirmed = [t for t in world.market.trades.values() if t.out_sid]
    assert len({t.out_sid for t in confirmed}) == len(confirmed) == 10
    assert {i["number"] for i in view["items"]} == {t.out_sid for t in confirmed}


async def test_the_sweep_starts_a_runner_per_abandoned_chunk(
    world: World, shop: BoundShop, redis: Any, short_lease: float
) -> None:
    """A killed worker held three chunks: the sweep starts three runners once their leases lapse, not one."""
    from services.shipping.tasks import resume_batches

    order_ids = await _orders(world, shop, 150)  # three chunks of 50
    batch = await _batch(world, shop, order_ids, carrier="ZTO")
    await redis.delete("arq:shipping")  # the batch's own jobs died with their worker
    async with worker_ctx(redis) as ctx:
        res: ShippingResources = ctx["resources"]
        claims = [await _claim(res, batch["id"], 0.3) for _ in range(3)]
        assert all(claims)
        await asyncio.sleep(0.5)
        # The count includes any stuck shipment of other tests sharing the database; this batch's runners are
        # the queued jobs counted below.
        assert await resume_batches(ctx) >= 3
    queued = await redis.zrange("arq:shipping", 0, -1)
    assert len([j for j in queued if j.decode().startswith(f"resume-{batch['id']}-")]) == 3
    await world.run_jobs()
    view = await _view(world, shop, batch["id"])
    assert (view["done"], view["status"]) == (150, "completed")
    assert set(Counter(s["tid"] for s in world.market.sends()).values()) == {1}


async def test_a_runner_past_its_budget_hands_the_batch_to_a_new_job(world: World, shop: BoundShop, redis: Any) -> None:
    order_ids = await _orders(world, shop, 100)  # two chunks of 50
    batch = await _batch(world, shop, order_ids, carrier="ZTO")
    await redis.delete("arq:shipping")
    async with worker_ctx(redis) as ctx:
        res: ShippingResources = ctx["resources"]
        assert await ChunkRunner(res, batch["id"], budget_s=0).run() == 1  # one chunk, then its successor
    assert (await _view(world, shop, batch["id"]))["done"] == 50
    await world.run_jobs()  # the successor ships the other chunk
    view = await _view(world, shop, batch["id"])
    assert (view["done"], view["status"]) == (100, "completed")
