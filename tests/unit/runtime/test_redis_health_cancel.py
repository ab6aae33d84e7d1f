"""RedisHealth.failed in a task being cancelled raises the cancellation (redis-py can hand a cancel back as
its own error; a loop that retries Redis trouble must still stop)."""

from __future__ import annotations

import asyncio

from redis.exceptions import ConnectionError as RedisConnectionError

from runtime.redis_health import RedisHealth


async def test_a_failure_seen_while_cancelling_is_the_cancellation() -> None:
    health = RedisHealth("test-cancel")

    async def loop_that_retries_redis_trouble() -> int:
        tries = 0
        while True:
            tries += 1
            try:
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    raise RedisConnectionError("connect failed") from None  # the cancel consumed
            except RedisConnectionError as exc:
                health.failed(exc)
            if tries > 3:
                return tries

    task = asyncio.create_task(loop_that_retries_redis_trouble())
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.wait({task}, timeout=5)  # not wait_for: it would cancel again and hide the bug
    try:
        assert task.done(), "the loop retried on after its cancel"
        assert task.cancelled()
    finally:
        for _ in range(5):  # without the fix each cancel is one more retry; the loop ends after a few
            if task.done():
                break
            task.cancel()
            await asyncio.wait({task}, timeout=1)


def test_outside_a_task_a_failure_is_only_counted() -> None:
    health = RedisHealth("test-cancel-sync")
    health.failed(RedisConnectionError("down"))
    assert health.consecutive_failures == 1


class _SwallowingRedis:
    """A client whose subscription read returns nothing for a cancel (redis-py's timed read can)."""

    def __init__(self) -> None:
        self.reads = 0

    def pubsub(self) -> _SwallowingRedis:
        return self

    async def subscribe(self, channel: str) -> None:
        return None

    async def get_message(self, timeout: float) -> None:  # noqa: ASYNC109 - redis-py's signature
        self.reads += 1
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            return  # the cancel swallowed

    async def aclose(self) -> None:
        return None


async def test_a_subscription_loop_stops_on_a_cancel_the_read_swallowed() -> None:
    from runtime.pubsub import listen

    redis = _SwallowingRedis()
    task = asyncio.create_task(listen(redis, "test", lambda _: None, RedisHealth("test-pubsub")))
    while redis.reads == 0:  # noqa: ASYNC110 - a counter of the fake, no event to wait on
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.wait({task}, timeout=5)
    try:
        assert task.cancelled(), "the listener read on after its cancel"
        assert redis.reads == 1
    finally:
        for _ in range(5):
            if task.done():
                break
            task.cancel()
            await asyncio.wait({task}, timeout=1)
