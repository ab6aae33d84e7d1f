"""waybill_redis_up is per component, not per account: two RedisHealth of one component in a process (a worker
and a short-lived one beside it, as the tests' burst workers are) share the gauge, so a success seen by either
must set it back to 1, not only the account that saw the outage begin."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError

from runtime.redis_health import REDIS_UP, RedisHealth


def _up(component: str) -> float:
    return float(REDIS_UP.labels(component)._value.get())


def test_a_success_on_any_account_of_a_component_shows_redis_up() -> None:
    long_lived = RedisHealth("test-gauge")
    short_lived = RedisHealth("test-gauge")
    long_lived.ok()

    short_lived.failed(RedisConnectionError("reset"))  # the outage begins on the other account
    assert _up("test-gauge") == 0

    long_lived.ok()  # this account never saw the outage: no recovery to log, but Redis answers again
    assert _up("test-gauge") == 1
    assert not long_lived.down
    assert short_lived.down
