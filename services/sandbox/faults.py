"""Faults on demand: errors, latency, push mishaps and a courier outage, all off by default.

Every random decision comes from one seeded ``random.Random`` so a test that turns a fault on sees the same
sequence of outcomes each run.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Annotated, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Keys of the per-endpoint maps. A method or message type key wins over its group key.
MARKETPLACE_ENDPOINTS = (
    "taobao.trade.fullinfo.get",
    "taobao.trades.sold.increment.get",
    "taobao.logistics.offline.send",
    "taobao.logistics.companies.get",
    "taobao.user.seller.get",
    "alibaba.ascp.logistics.offline.send",
    "taobao.logistics.consign.resend",
    "alibaba.ascp.logistics.consign.resend",
)
COURIER_ENDPOINTS = (
    "TMS_WAYBILL_GET",
    "TMS_WAYBILL_SUBSCRIPTION_QUERY",
    "TMS_WAYBILL_DISCARD",
    "TMS_WAYBILL_QUERY_BY_OBJECT",
    "TMS_WAYBILL_UPDATE",
    "TMS_WAYBILL_ROUTE",
)
TRACKING_ENDPOINTS = ("kuaidi100.poll", "kuaidi100.query")
GROUPS = {
    "marketplace": MARKETPLACE_ENDPOINTS,
    "courier": COURIER_ENDPOINTS,
    "kuaidi100": TRACKING_ENDPOINTS,
}
ENDPOINT_KEYS = frozenset({*GROUPS, *MARKETPLACE_ENDPOINTS, *COURIER_ENDPOINTS, *TRACKING_ENDPOINTS})

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
T = TypeVar("T")


def endpoint_or_group(name: str, group: str) -> str:
    """The fault key of a call: its endpoint when ``name`` is one of ``group``'s, else the group itself."""
    return name if name in GROUPS[group] else group


def group_of(endpoint: str) -> str:
    for group, members in GROUPS.items():
        if endpoint in members:
            return group
    raise KeyError(endpoint)


class FaultConfig(BaseModel):
    """What goes wrong, and how often. Rates are probabilities per call (or per push)."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(0, description="Seed of the random generator behind every fault decision.")
    error_rate: dict[str, Rate] = Field(
        default_factory=dict,
        description=(
            "Transient-error probability per endpoint. Keys: a group (marketplace, courier, kuaidi100) or one "
            "endpoint (a marketplace method such as taobao.logistics.offline.send, a courier msg_type such as "
            "TMS_WAYBILL_GET, kuaidi100.poll or kuaidi100.query); the endpoint key wins over its group."
        ),
    )
    latency_ms: dict[str, Annotated[int, Field(ge=0, le=120_000)]] = Field(
        default_factory=dict, description="Added latency per endpoint, in milliseconds (same keys as error_rate)."
    )
    marketplace_rate_limit_rate: Rate = Field(
        0.0, description="Probability that a marketplace call answers code 7 (App Call Limited)."
    )
    tracking_refuse_rate: Rate = Field(
        0.0, description="Probability that a tracking subscription answers 701 (carrier refused)."
    )
    push_duplicate_rate: Rate = Field(0.0, description="Probability that a tracking push is sent twice.")
    push_out_of_order_rate: Rate = Field(
        0.0, description="Probability that an older tracking snapshot is sent right after a newer one."
    )
    push_drop_rate: Rate = Field(
        0.0, description="Probability that a tracking push is silently not sent (only polling can learn it)."
    )
    push_bad_sign_rate: Rate = Field(0.0, description="Probability that a tracking push carries a wrong sign.")
    message_duplicate_rate: Rate = Field(
        0.0, description="Probability that a delivered marketplace message is delivered a second time."
    )

    @model_validator(mode="after")
    def _known_endpoints(self) -> Self:
        unknown = (set(self.error_rate) | set(self.latency_ms)) - ENDPOINT_KEYS
        if unknown:
            raise ValueError(f"unknown endpoint keys {sorted(unknown)}; known: {sorted(ENDPOINT_KEYS)}")
        return self


class FaultInjector:
    """Decides, per call, whether a fault happens; holds the courier outage."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self._courier_down_until = 0.0  # time.monotonic() deadline

    def configure(self, config: FaultConfig) -> None:
        reseed = config.seed != self.config.seed
        self.config = config
        if reseed:
            self.rng = random.Random(config.seed)

    def chance(self, rate: float) -> bool:
        # A rate of 0 never consumes a random number, so "off" is exactly off and cannot shift other faults.
        if rate <= 0.0:
            return False
        return self.rng.random() < rate

    def _lookup(self, table: dict[str, T], endpoint: str, default: T) -> T:
        if endpoint in table:
            return table[endpoint]
        if endpoint in GROUPS:
            return default
        return table.get(group_of(endpoint), default)

    def error(self, endpoint: str) -> bool:
        return self.chance(self._lookup(self.config.error_rate, endpoint, 0.0))

    async def delay(self, endpoint: str) -> None:
        ms = self._lookup(self.config.latency_ms, endpoint, 0)
        if ms > 0:
            await asyncio.sleep(ms / 1000)

    def courier_down_for(self, seconds: float) -> None:
        self._courier_down_until = time.monotonic() + max(0.0, seconds)

    def courier_down_remaining(self) -> float:
        return max(0.0, self._courier_down_until - time.monotonic())
