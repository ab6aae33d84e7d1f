"""What goes wrong on the Pinduoduo side, on demand: gateway errors and latency, rate limits, message mishaps.

Its own configuration (``SANDBOX_PINDUODUO_FAULTS__...``, ``PUT /control/pinduoduo/faults``), so the Taobao
fault keys stay as they are. Every random decision comes from one seeded generator; a rate of 0 draws nothing.
"""

from __future__ import annotations

import random
import time
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

METHODS = (
    "pdd.mall.info.get",
    "pdd.order.information.get",
    "pdd.logistics.companies.get",
    "pdd.logistics.online.send",
    "pdd.order.upload.extra.logistics",
    "pdd.order.number.list.increment.get",
)
GROUP = "pinduoduo"
KEYS = frozenset({GROUP, *METHODS})

Rate = Annotated[float, Field(ge=0.0, le=1.0)]


class PddFaultConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = Field(0, description="Seed of the generator behind every Pinduoduo fault decision.")
    error_rate: dict[str, Rate] = Field(
        default_factory=dict,
        description="Probability of 52103 (service unavailable) per call; keys: pinduoduo or a method name.",
    )
    latency_ms: dict[str, Annotated[int, Field(ge=0, le=120_000)]] = Field(
        default_factory=dict, description="Added latency per call, in milliseconds (same keys as error_rate)."
    )
    rate_limit_rate: Rate = Field(0.0, description="Probability that a call answers 52101 (interface limited).")
    message_duplicate_rate: Rate = Field(0.0, description="Probability that a delivered message comes again.")
    message_delay_rate: Rate = Field(0.0, description="Probability that a message's first delivery is delayed.")
    message_delay_s: float = Field(1.0, ge=0, le=3600, description="How long a delayed message waits, seconds.")
    message_reorder_rate: Rate = Field(
        0.0, description="Probability that a message is held back until the mall's next message has been sent."
    )
    message_drop_rate: Rate = Field(
        0.0, description="Probability that a delivery attempt is lost (never sent); it is redelivered later."
    )
    message_bad_sign_rate: Rate = Field(0.0, description="Probability that a delivery attempt carries a wrong sign.")

    @model_validator(mode="after")
    def _known_keys(self) -> Self:
        unknown = (set(self.error_rate) | set(self.latency_ms)) - KEYS
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}; known: {sorted(KEYS)}")
        return self


class PddFaults:
    def __init__(self, config: PddFaultConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)

    def configure(self, config: PddFaultConfig) -> None:
        if config.seed != self.config.seed:
            self.rng = random.Random(config.seed)
        self.config = config

    def chance(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        return self.rng.random() < rate

    def error(self, method: str) -> bool:
        table = self.config.error_rate
        return self.chance(table.get(method, table.get(GROUP, 0.0)))

    def latency_s(self, method: str) -> float:
        table = self.config.latency_ms
        return table.get(method, table.get(GROUP, 0)) / 1000


class TokenBucket:
    """Calls allowed per second per client_id, a burst of the same size: the platform's app call limit."""

    def __init__(self, rate_per_s: float) -> None:
        self.rate = rate_per_s
        self._tokens: dict[str, float] = {}
        self._stamp: dict[str, float] = {}

    def take(self, key: str) -> bool:
        now = time.monotonic()
        tokens = min(self.rate, self._tokens.get(key, self.rate) + (now - self._stamp.get(key, now)) * self.rate)
        self._stamp[key] = now
        if tokens < 1.0:
            self._tokens[key] = tokens
            return False
        self._tokens[key] = tokens - 1.0
        return True
