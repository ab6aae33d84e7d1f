"""A restarted sandbox does not hand out the mall ids of its last run: shipping may still hold them bound to
an earlier shop (a second `make demo` on one database was refused with 409)."""

from __future__ import annotations

import httpx

from services.sandbox.numbers import NumberRegistry
from services.sandbox.pinduoduo.store import Pinduoduo
from services.sandbox.settings import SandboxSettings


def test_two_runs_with_the_same_seed_create_different_mall_ids() -> None:
    runs = [Pinduoduo(SandboxSettings(), NumberRegistry(), httpx.AsyncClient) for _ in range(2)]
    first, second = (run.create_mall("演示拼多多").mall_id for run in runs)
    assert first != second
