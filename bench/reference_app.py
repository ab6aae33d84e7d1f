"""The reference: a bare FastAPI endpoint running the same allocation statement on raw asyncpg.

``uvicorn bench.reference_app:app`` with BENCH_DSN and BENCH_POOL_ID set. No auth, no middleware,
no logging: what the endpoint would cost with nothing but the statement.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI
from pydantic import BaseModel

from services.allocation.repository.statements import ALLOCATE_ONE, AllocationStatements, skip_reset


class Req(BaseModel):
    order_id: str


class BatchReq(BaseModel):
    order_ids: list[str]


state: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    # Same pool settings as the service (no per-release reset round trip), so the comparison is fair.
    state["pool"] = await asyncpg.create_pool(os.environ["BENCH_DSN"], min_size=2, max_size=16, reset=skip_reset)
    state["pool_id"] = int(os.environ["BENCH_POOL_ID"])
    state["batch_pool_id"] = int(os.environ["BENCH_BATCH_POOL_ID"])
    yield
    await state["pool"].close()


app = FastAPI(lifespan=lifespan)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/alloc")
async def alloc(req: Req) -> dict[str, Any]:
    row = await state["pool"].fetchrow(ALLOCATE_ONE, state["pool_id"], req.order_id)
    return {"number": row["number"], "expires_at": row["expires_at"]}


@app.post("/alloc/batch")
async def alloc_batch(req: BatchReq) -> dict[str, Any]:
    rows = await AllocationStatements(state["pool"]).allocate_batch(state["batch_pool_id"], req.order_ids)
    return {"allocations": [{"order_id": r.order_ref, "number": r.number} for r in rows]}
