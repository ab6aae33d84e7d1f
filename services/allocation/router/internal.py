"""Allocation routes: endpoints other services call with the internal key."""

from __future__ import annotations

from fastapi import APIRouter

from runtime.auth import InternalDep
from runtime.openapi import responses
from services.allocation.resources import AllocationResourcesDep
from services.allocation.service import shops
from shared.keys import IntrospectRequest, IntrospectResponse

router = APIRouter(prefix="/internal/v1", tags=["internal"])


@router.post(
    "/keys/introspect",
    summary="Resolve a shop API key (services only)",
    description="Other services send the key id and the SHA-256 of its secret; never the key itself.",
    responses=responses(403, 404),
)
async def introspect_key(body: IntrospectRequest, res: AllocationResourcesDep, _: InternalDep) -> IntrospectResponse:
    return await shops.introspect_key(res.keys, body.key_id, body.secret_hash)
