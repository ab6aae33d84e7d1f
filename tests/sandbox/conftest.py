"""Sandbox tests run the sandbox in-process; they need no database and no Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.sandbox.support import Harness, running


@pytest.fixture
async def sandbox() -> AsyncIterator[Harness]:
    async with running() as harness:
        yield harness
