"""Allocation HTTP routes: thin, they parse, authorise and call the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from runtime.app import RuntimeDep, UowDep
from runtime.auth import (
    AdminDep,
    AuthConfig,
    InternalDep,
    InternalShopIdDep,
    PrincipalDep,
    ShopIdDep,
    require_shop,
)
from runtime.db import transaction
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
from services.allocation.settings import AllocationSettings
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
from shared.errors import ErrorBody, ErrorCode

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
    description=(
        "The key stops working at once on this process and within about a second on every other process of "
        "every service (the revocation is broadcast over Redis). While Redis is down the others stop accepting "
        "it when their cache entry expires (`WAYBILL_KEY_CACHE_TTL_S`, 30 s)."
    ),
    responses=responses(403, 404),
)
async def revoke_key(shop_id: str, key_id: str, rt: RuntimeDep, request: Request, _: AdminDep) -> None:
    # Committed before the broadcast: a process that hears of it and asks about the key again must find it
    # revoked, not still valid (which it would then trust for the cache's whole TTL).
    async with transaction(rt.sessionmaker, rt.queue) as uow:
        await service.revoke_key(uow, shop_id, key_id)
    auth: AuthConfig = request.app.state.auth
    await auth.key_revoked(key_id)


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
    description=(
        "Balance in integer cents with the most recent ledger entries; `ledger_total_cents` always equals it. "
        "Entry kinds: `topup`, `purchase`, `purchase_refund` (the courier never issued), `refund` (numbers "
        "never handed out), `extension`, `number_taken_by_manual_entry` (a number a purchase paid for that a "
        "typed entry had already printed, credited at the price paid per number), `number_issued_twice` (a "
        "number the courier issued to two purchases: quarantined, and each purchase that can no longer use it "
        "credited at the price it paid)."
    ),
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
        "Admin only. Only the fields sent change. Patterns are RE2 syntax, matched in linear time: one RE2 "
        "refuses (bad syntax, look-arounds, back-references) answers 422 `invalid_number_pattern`, one over 200 "
        "characters 422 `validation_error`. "
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
        "Voids the purchase's unexpired numbers that were never handed out and credits their share of the "
        "price (ledger kind `refund`, note `N numbers never handed out`). A number that was allocated and then "
        "released is back in the pool but is not unused: it is not refunded and stays available to the shop. "
        "Refunds and credits share running totals (`refunded_quantity`, `refunded_cents`): each number is paid "
        "back at most once, at the price paid per number, rounded down. Repeating it refunds nothing more.\n\n"
        'Example: 1,000 numbers for 280000 cents, 250 allocated of which 50 released: `{"refunded_quantity": '
        '750, "refunded_cents": 210000}`; the 50 released numbers stay `available`.'
    ),
    responses=responses(404, 409),
)
async def refund_purchase(purchase_id: str, shop_id: ShopIdDep, uow: UowDep) -> RefundOut:
    return await service.refund_purchase(uow, shop_id, purchase_id)


@purchases.post(
    "/{purchase_id}/extend",
    summary="Extend validity for a fee",
    description=(
        "Pushes back the expiry of the purchase's usable numbers (available or allocated, not expired); "
        "the fee is the package's per-30-days fee, pro rata, rounded up (ledger kind `extension`, note "
        "`+N days for M usable numbers`). When no number can still be used (all printed, shipped, voided, "
        "refunded, expired or superseded) it answers 409 `no_usable_numbers` and charges nothing."
    ),
    responses={
        **responses(402, 404),
        409: {
            "model": ErrorBody,
            "description": "Not completed (`conflict`), or nothing left to extend (`no_usable_numbers`)",
            "content": {
                "application/json": {
                    "examples": {
                        "no_usable_numbers": {
                            "summary": "No number of the purchase can still be used",
                            "value": ErrorBody.of(
                                ErrorCode.NO_USABLE_NUMBERS,
                                "no number of purchase p-3f9c2a1b7d4e6f80 can still be used (printed, shipped, "
                                "voided, refunded, expired or superseded); there is nothing to extend",
                                {"purchase_id": "p-3f9c2a1b7d4e6f80"},
                            ).model_dump(mode="json"),
                        }
                    }
                }
            },
        },
    },
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


_IN_USE_EXAMPLE = ErrorBody.of(
    ErrorCode.WAYBILL_IN_USE, "waybill EA123456785CN is already in use", {"number": "EA123456785CN"}
).model_dump(mode="json")
_MANUAL_LIMIT_EXAMPLE = ErrorBody.of(
    ErrorCode.MANUAL_LIMIT_REACHED,
    "the shop already holds 1000 typed numbers not yet shipped, the most allowed; ship or release some before "
    "typing more",
    {"limit": 1000, "held": 1000},
).model_dump(mode="json")


@waybills.post(
    "/manual",
    status_code=status.HTTP_201_CREATED,
    summary="Register a number the seller typed",
    description=(
        "For a number from a paper waybill or another system. Validated against the carrier's rule (422 "
        "`invalid_waybil"
        "l`), then kept as `source: manual`, `verified: false`: nobody vouches that the courier issued it "
        "to this shop.\n\n"
        "**A paid purchase wins.** When the courier later issues the number to a purchase (this shop's or "
        "another's) and no label was printed with it yet (allocated only, or voided, expired or quarantined "
        "without ever being printed), the purchase gets it and this entry becomes `superseded`; the shop sees "
        "a `manual_superseded` event with the number and order in `GET /v1/pools/events`, and the order can "
        "be given another number. Once printed or shipped (or voided after printing) the entry keeps the "
        "number; the purchase does not get it and is credited the price it paid for it.\n\n"
        "**Limit.** A shop holds at most `ALLOCATION_MANUAL_UNVERIFIED_MAX` (default 1000) typed numbers not "
        "yet shipped (allocated or printed); beyond it 409 `manual_limit_reached`. Shipping or releasing "
        "one frees its place.\n\n"
        "**Taken numbers.** A number already held (by anyone, in any state) answers 409 `waybill_in_use` with "
        "exactly the same status, code, message and details whether this shop holds it (on another order, in "
        "its pool) or another shop does: the answer says the number is taken, never by whom. Typed numbers "
        "are refused rather than accepted as unverified beside another shop's, since an accepted entry can be "
        "printed: any shop could then put other shops' numbers on its parcels. The same number for the same "
        "order is an idempotent repeat (201, `created: false`)."
    ),
    responses={
        **responses(404, 422),
        409: {
            "model": ErrorBody,
            "description": "The number is taken, the order has another number, or the shop is at its limit",
            "content": {
                "application/json": {
                    "examples": {
                        "waybill_in_use": {"summary": "Taken (whoever holds it)", "value": _IN_USE_EXAMPLE},
                        "manual_limit_reached": {
                            "summary": "Too many typed numbers not yet shipped",
                            "value": _MANUAL_LIMIT_EXAMPLE,
                        },
                    }
                }
            },
        },
    },
)
async def register_manual(body: ManualWaybillRequest, shop_id: ShopIdDep, uow: UowDep, rt: RuntimeDep) -> Allocation:
    settings = rt.settings
    assert isinstance(settings, AllocationSettings)
    return await service.register_manual(uow, shop_id, body, settings.manual_unverified_max)


@waybills.get(
    "/{number}",
    summary="One number's state",
    description=(
        "Status, order, expiry and origin of one of the shop's numbers: `source` `courier` (bought, "
        "`verified: true`) or `manual` (typed, `verified: false`). `superseded`: the shop lost the number "
        "to another entry (a typed number a purchase received before it was printed, or a purchased number "
        "a typed entry had already printed, which was credited). Another shop's number: 404."
    ),
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
        "Newest first: `low_stock` when available stock falls below the threshold, `replenish_ordered` and "
        "`replenish_failed` for the automatic purchase that follows, `manual_superseded` when a purchase took "
        "over one of the shop's typed numbers (`number` and `order_id` say which)."
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
