"""Allocation HTTP routes: thin, they parse, authorise and call the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from runtime.app import RuntimeDep, UowDep
from runtime.auth import (
    AdminDep,
    CachedResolver,
    InternalDep,
    InternalShopIdDep,
    PrincipalDep,
    ShopIdDep,
    require_shop,
)
from runtime.errors import NotFound
from runtime.openapi import responses
from services.allocation import service
from services.allocation.repository import DbKeyResolver
from services.allocation.schemas import (
    BalanceOut,
    CarrierOut,
    CarrierUpdate,
    ExtendOut,
    ExtendRequest,
    IntrospectRequest,
    IntrospectResponse,
    KeyCreate,
    KeyCreated,
    PackageCreate,
    PackageOut,
    PoolOut,
    PoolUpdate,
    PurchaseCreate,
    PurchaseOut,
    RefundOut,
    ShopCreate,
    ShopCreated,
    ShopOut,
    StockEventOut,
    TopupRequest,
)
from shared.allocation import (
    AllocateRequest,
    Allocation,
    BatchAllocateRequest,
    BatchAllocation,
    BatchMarkRequest,
    BatchMarkResult,
    ManualWaybillRequest,
    MarkRequest,
    ReleaseRequest,
    ReleaseResult,
    WaybillInfo,
)
from shared.carriers import CarrierCode

shops = APIRouter(prefix="/v1/shops", tags=["shops"])
balance = APIRouter(prefix="/v1/balance", tags=["balance"])
carriers = APIRouter(prefix="/v1/carriers", tags=["carriers"])
purchases = APIRouter(prefix="/v1/purchases", tags=["purchases"])
allocations = APIRouter(prefix="/v1/allocations", tags=["allocations"])
waybills = APIRouter(prefix="/v1/waybills", tags=["waybills"])
pools = APIRouter(prefix="/v1/pools", tags=["pools"])
internal = APIRouter(prefix="/internal/v1", tags=["internal"])

ROUTERS = [allocations, waybills, purchases, pools, balance, carriers, shops, internal]


IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=128,
        description="Unique per purchase attempt; repeat it to retry safely.",
    ),
]

# --- shops ------------------------------------------------------------------------------------


@shops.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a shop",
    description="Admin only. Returns the shop and its first API key, which is shown only this once.",
    responses=responses(403),
)
async def create_shop(body: ShopCreate, uow: UowDep, _: AdminDep) -> ShopCreated:
    return await service.create_shop(uow, body.name)


@shops.get(
    "",
    summary="List shops",
    description=(
        "Admin only: every shop, in id order, a page at a time. Pass the last id of a page as `after` for the next one."
    ),
    responses=responses(403, 422),
)
async def list_shops(
    uow: UowDep,
    _: AdminDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
    after: Annotated[str | None, Query(max_length=64, description="Last shop id of the previous page.")] = None,
) -> list[ShopOut]:
    return await service.list_shops(uow, limit, after)


@shops.get(
    "/{shop_id}",
    summary="Read a shop",
    description="A shop key reads only its own shop (another shop's id answers 404); the admin key reads any.",
    responses=responses(404),
)
async def read_shop(shop_id: str, uow: UowDep, principal: PrincipalDep) -> ShopOut:
    if principal.kind == "shop" and principal.shop_id != shop_id:
        raise NotFound(f"shop {shop_id} not found")
    return await service.get_shop(uow, shop_id)


@shops.post(
    "/{shop_id}/keys",
    status_code=status.HTTP_201_CREATED,
    summary="Issue another API key for a shop",
    description=(
        "Admin only. A shop may hold several keys (one per warehouse or integration); the new key is returned "
        "only this once, in `api_key`. Revoke one with `DELETE /v1/shops/{shop_id}/keys/{key_id}`."
    ),
    responses=responses(403, 404),
)
async def add_key(shop_id: str, body: KeyCreate, uow: UowDep, _: AdminDep) -> KeyCreated:
    return await service.add_key(uow, shop_id, body.label)


@shops.delete(
    "/{shop_id}/keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key",
    description="The key stops working at once on this service and within 30 seconds on the others (they cache keys).",
    responses=responses(403, 404),
)
async def revoke_key(shop_id: str, key_id: str, uow: UowDep, request: Request, _: AdminDep) -> None:
    await service.revoke_key(uow, shop_id, key_id)
    resolver = request.app.state.auth.resolver
    if isinstance(resolver, CachedResolver):
        resolver.forget(key_id)


@shops.post(
    "/{shop_id}/topups",
    status_code=status.HTTP_201_CREATED,
    summary="Top up a shop's balance",
    description="Admin only. Credits the balance and writes a ledger entry in the same transaction.",
    responses=responses(403, 404),
)
async def topup(shop_id: str, body: TopupRequest, uow: UowDep, _: AdminDep) -> BalanceOut:
    return await service.topup(uow, shop_id, body.amount_cents, body.reference)


@balance.get(
    "",
    summary="The shop's balance and ledger",
    description="Balance in integer cents with the most recent ledger entries; `ledger_total_cents` always equals it.",
)
async def read_balance(
    shop_id: ShopIdDep, uow: UowDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> BalanceOut:
    return await service.balance(uow, shop_id, limit)


# --- catalogue --------------------------------------------------------------------------------


@carriers.get(
    "",
    summary="Carrier catalogue",
    description="Every carrier with its number rule, coverage, transit days and packages on sale.",
)
async def list_carriers(uow: UowDep, _: PrincipalDep) -> list[CarrierOut]:
    return await service.list_carriers(uow)


@carriers.get(
    "/{code}",
    summary="One carrier",
    description="The carrier's number rule, coverage, transit days and the packages on sale. Unknown code: 422.",
    responses=responses(404),
)
async def read_carrier(code: CarrierCode, uow: UowDep, _: PrincipalDep) -> CarrierOut:
    return await service.get_carrier(uow, code)


@carriers.patch(
    "/{code}",
    summary="Edit a carrier (operators)",
    description=(
        "Admin only. Only the fields sent change; a `number_rule` whose pattern does not compile answers 422. "
        "The new rule applies to numbers validated from now on."
    ),
    responses=responses(403, 404),
)
async def update_carrier(code: CarrierCode, body: CarrierUpdate, uow: UowDep, _: AdminDep) -> CarrierOut:
    return await service.update_carrier(uow, code, body)


@carriers.post(
    "/{code}/packages",
    status_code=status.HTTP_201_CREATED,
    summary="Put a package on sale (operators)",
    description=(
        "Admin only. Price in integer cents, validity in days from delivery; "
        "a package id already in the catalogue answers 409 `conflict`."
    ),
    responses=responses(403, 404, 409),
)
async def add_package(code: CarrierCode, body: PackageCreate, uow: UowDep, _: AdminDep) -> PackageOut:
    return await service.add_package(uow, code, body)


# --- purchases --------------------------------------------------------------------------------


@purchases.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Buy a package of waybill numbers",
    description=(
        "Debits the balance at once and asks the courier for the numbers in the background; the purchase is "
        "`pending` until they arrive, then `completed`, or `failed` (and refunded) if the courier never issues "
        "them. Requires an `Idempotency-Key`: repeating it with the same body returns the same purchase (200), "
        "with a different body answers 409 `idempotency_conflict`."
    ),
    responses=responses(402, 404, 409),
)
async def create_purchase(
    body: PurchaseCreate, key: IdempotencyKey, shop_id: ShopIdDep, uow: UowDep, response: Response
) -> PurchaseOut:
    purchase, created = await service.create_purchase(uow, shop_id, body, key)
    if not created:
        response.status_code = status.HTTP_200_OK
    return purchase


@purchases.get(
    "",
    summary="Recent purchases",
    description="The shop's purchases, newest first, with their status and the numbers received so far.",
)
async def list_purchases(
    shop_id: ShopIdDep, uow: UowDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[PurchaseOut]:
    return await service.list_purchases(uow, shop_id, limit)


@purchases.get(
    "/{purchase_id}",
    summary="One purchase",
    description="Poll this after buying: `pending` until the courier delivers the numbers. Another shop's: 404.",
    responses=responses(404),
)
async def read_purchase(purchase_id: str, shop_id: ShopIdDep, uow: UowDep) -> PurchaseOut:
    return await service.get_purchase(uow, shop_id, purchase_id)


@purchases.post(
    "/{purchase_id}/resync",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Reconcile a purchase with the courier",
    description="Queues a check of what the courier recorded for this purchase and stores numbers that did not arrive.",
    responses=responses(404, 409),
)
async def resync_purchase(purchase_id: str, shop_id: ShopIdDep, uow: UowDep) -> PurchaseOut:
    return await service.request_resync(uow, shop_id, purchase_id)


@purchases.post(
    "/{purchase_id}/refund",
    summary="Refund unused numbers",
    description=(
        "Voids the purchase's available, unexpired numbers and credits their share of the price. "
        "Repeating it refunds nothing more."
    ),
    responses=responses(404, 409),
)
async def refund_purchase(purchase_id: str, shop_id: ShopIdDep, uow: UowDep) -> RefundOut:
    return await service.refund_purchase(uow, shop_id, purchase_id)


@purchases.post(
    "/{purchase_id}/extend",
    summary="Extend validity for a fee",
    description=(
        "Pushes back the expiry of the purchase's usable numbers; "
        "the fee is the package's per-30-days fee, pro rata, rounded up."
    ),
    responses=responses(402, 404, 409),
)
async def extend_purchase(purchase_id: str, body: ExtendRequest, shop_id: ShopIdDep, uow: UowDep) -> ExtendOut:
    return await service.extend_purchase(uow, shop_id, purchase_id, body.days)


# --- allocation -------------------------------------------------------------------------------


@allocations.post(
    "",
    summary="Allocate one number to an order",
    description=(
        "Returns the soonest-expiring available number of the carrier and gives it to the order. Idempotent: "
        "the same (shop, carrier, order) always gets the same number, even when asked concurrently. No stock: "
        "409 `pool_exhausted`."
    ),
    responses=responses(409),
)
async def allocate(body: AllocateRequest, request: Request) -> Allocation:
    # The hot path. Authorisation is awaited here rather than declared as a dependency, and the
    # statements are read off the app state: FastAPI's dependency solving was about a fifth of
    # this endpoint's CPU. The OpenAPI security requirement is declared app-wide.
    shop_id = await require_shop(request)
    return await service.allocate(request.app.state.runtime.extras["statements"], shop_id, body.carrier, body.order_id)


@allocations.post(
    "/batch",
    summary="Allocate numbers to up to 1,000 orders",
    description=(
        "All or nothing: "
        "every order gets a number (existing ones are returned as they are), or none does (409 `pool_exhausted`)."
    ),
    responses=responses(409),
)
async def allocate_batch(body: BatchAllocateRequest, request: Request) -> BatchAllocation:
    shop_id = await require_shop(request)  # as in allocate(): no dependency to solve
    return await service.allocate_batch(
        request.app.state.runtime.extras["statements"], shop_id, body.carrier, body.order_ids
    )


# --- waybills ---------------------------------------------------------------------------------


@waybills.post(
    "/manual",
    status_code=status.HTTP_201_CREATED,
    summary="Register a number the seller typed",
    description=(
        "Validated against the carrier's rule (422 `invalid_waybil"
        "l`) and every number already known (409 `waybill_in_use`)."
    ),
    responses=responses(404, 409),
)
async def register_manual(body: ManualWaybillRequest, shop_id: ShopIdDep, uow: UowDep) -> Allocation:
    return await service.register_manual(uow, shop_id, body)


@waybills.get(
    "/{number}",
    summary="One number's state",
    description="Status, order, expiry and origin (courier purchase or manual) of one of the shop's numbers.",
    responses=responses(404),
)
async def read_waybill(number: str, shop_id: ShopIdDep, uow: UowDep) -> WaybillInfo:
    return await service.get_waybill(uow, shop_id, number)


@waybills.post(
    "/{number}/release",
    summary="Release a number",
    description=(
        "Allocated and not printed: back to the pool. Printed: voided, never reused. Shipped: 409 `invalid_transition`."
    ),
    responses=responses(404, 409),
)
async def release(number: str, shop_id: ShopIdDep, uow: UowDep, body: ReleaseRequest | None = None) -> ReleaseResult:
    return await service.release(uow, shop_id, number, body.order_id if body else None)


@waybills.post(
    "/batch-mark",
    summary="Record many numbers' progress at once (services)",
    description=(
        "Up to 1,000 numbers moved to one state (printed, shipped, quarantined, expired) in one transaction. "
        "Each number answers as `POST /v1/waybills/{number}/mark` would: its new status, or the error code "
        "(`not_found`, `invalid_transition`, `conflict`) for that number alone; the others are marked all the "
        "same. Repeating the call is harmless."
    ),
    responses=responses(403),
)
async def batch_mark(body: BatchMarkRequest, shop_id: InternalShopIdDep, uow: UowDep) -> BatchMarkResult:
    return await service.mark_many(uow, shop_id, body)


@waybills.post(
    "/{number}/mark",
    summary="Record a number's progress (services)",
    description=(
        "printed, shipped, quarantined (the marketplace refused it as used or invalid) or expired. "
        "Repeating a mark is harmless."
    ),
    responses=responses(403, 404, 409),
)
async def mark(number: str, body: MarkRequest, shop_id: InternalShopIdDep, uow: UowDep) -> WaybillInfo:
    return await service.mark(uow, shop_id, number, body)


# --- pools ------------------------------------------------------------------------------------


@pools.get(
    "", summary="Stock per carrier", description="Counts by state, numbers expiring soon and the low-stock threshold."
)
async def list_pools(
    shop_id: ShopIdDep, uow: UowDep, expiring_within_days: Annotated[int, Query(ge=1, le=365)] = 7
) -> list[PoolOut]:
    return await service.pools(uow, shop_id, expiring_within_days)


@pools.get(
    "/events",
    summary="Low-stock and replenishment events",
    description=(
        "Newest first: `low_stock` when available stock falls below the threshold, `replenished` and "
        "`replenish_failed` for the automatic purchase that follows."
    ),
)
async def list_stock_events(
    shop_id: ShopIdDep, uow: UowDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[StockEventOut]:
    return await service.stock_events(uow, shop_id, limit)


@pools.put(
    "/{carrier}",
    summary="Set a pool's low-stock threshold and auto-replenish package",
    description=(
        "Below the threshold a `low_stock` event is recorded and, when `auto_replenish_package` is set, that "
        "package is bought. A package not on sale for the carrier: 404."
    ),
    responses=responses(404),
)
async def update_pool(carrier: CarrierCode, body: PoolUpdate, shop_id: ShopIdDep, uow: UowDep) -> PoolOut:
    return await service.update_pool(uow, shop_id, carrier, body)


# --- internal ---------------------------------------------------------------------------------


@internal.post(
    "/keys/introspect",
    summary="Resolve a shop API key (services only)",
    description="Other services send the key id and the SHA-256 of its secret; never the key itself.",
    responses=responses(403, 404),
)
async def introspect(body: IntrospectRequest, rt: RuntimeDep, _: InternalDep) -> IntrospectResponse:
    resolver: DbKeyResolver = rt.extras["db_resolver"]
    shop_id = await resolver.resolve(body.key_id, body.secret_hash)
    if shop_id is None:
        raise NotFound("unknown or revoked key")
    return IntrospectResponse(shop_id=shop_id)
