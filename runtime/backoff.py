"""Jittered exponential backoff: how long to wait before try ``attempt`` (1-based) of something that failed.

Equal jitter: half of the capped exponential delay is fixed and half is random, so many processes that
failed together (every worker when Redis restarts) do not come back in step, while none retries sooner
than half the nominal delay.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_s: float
    cap_s: float

    def nominal(self, attempt: int) -> float:
        """The delay before jitter: base, doubling per attempt, at most cap."""
        # The exponent is bounded: a loop that has failed a thousand times (Redis down for an hour) must
        # not overflow a float; 2**62 is past any cap.
        return float(min(self.cap_s, self.base_s * 2 ** min(62, max(0, attempt - 1))))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        nominal = self.nominal(attempt)
        return nominal / 2 + (rng or random).uniform(0, nominal / 2)
