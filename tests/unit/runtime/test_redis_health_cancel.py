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
