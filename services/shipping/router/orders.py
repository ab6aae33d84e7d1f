"""Orders: created by shop systems, read, ranked carriers, shipped one by one, cancelled."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from runtime.app import UowDep
from runtime.auth import ShopIdDep
from runtime.openapi import responses
from runtime.pagination import PageRequest, page_params
from runtime.params import Offset
from services.shipping import parcels
from services.shipping.parcels import ParcelSpec
from services.shipping.resources import ShippingResourcesDep
from services.shipping.schemas.orders import (
    CarrierOptionOut,
    OrderChannel,
    OrderCreate,
    OrderEventOut,
    OrderFilter,
    OrderOut,
    OrderSort,
    Receiver,
)
from services.shipping.schemas.shipments import ShipmentOut, ShipRequest
from services.shipping.service import (
    address_changes,
    cancellation,
    courier_choice,
    order_intake,
    orders,
    shipments,
)
from shared.pages import Page

router = APIRouter(prefix="/v1/orders", tags=["orders"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an order (shop systems)",
    description=(
        "An order of the shop's own channel (its web store, mini-program or ERP: `channel` `own`, the only one "
        "created over REST; marketplace orders arrive from their stores' messages). Shipping it needs no "
        "marketplace: confirmation is the `shipment.confirmed` webhook. Idempotent on (shop, external_id): the "
        "same external id again answers 200 with the existing order; an external id of one of the shop's "
        "marketplace orders: 409. `ship_by` (with its time zone) is when it must ship by; absent, 48 hours from "
        "now. The receiver is checked: a province, city or district that does not belong together (against "
        "China's administrative divisions; short forms such as 广东 or 北京 are fine), or a phone that is no "
        "mobile number, landline with area code or virtual number with extension (13800138000-1234, "
        "13800138000转1234), creates the order held (`held: address_invalid`, a flag saying what is wrong, an "
        "`address_invalid` order alert): it ships once PUT /v1/orders/{id}/receiver fixes the address."
    ),
    responses={
        **responses(409),
        200: {"model": OrderOut, "description": "An order with this external id exists: it is returned"},
    },
)
async def create_order(body: OrderCreate, shop_id: ShopIdDep, uow: UowDep, response: Response) -> OrderOut:
    order, created = await order_intake.create_order(uow, shop_id, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return order


@router.get(
    "",
    summary="List orders",
    description=(
        "Oldest first, or with `sort=ship_by` the most urgent first; filter by status, external id, channel "
        "(`own`, `taobao`, `pinduoduo`), store, ship-by time (`ship_by_before`, `ship_by_after`: timestamps with "
        "their time zone) or hold (`held=true`: the orders that may not ship until fixed)."
    ),
)
async def list_orders(
    shop_id: ShopIdDep,
    uow: UowDep,
    page: Annotated[PageRequest, Depends(page_params(100, 10_000))],
    status_: Annotated[str | None, Query(alias="status", max_length=32)] = None,
    external_id: Annotated[str | None, Query(max_length=64)] = None,
    channel: Annotated[OrderChannel | None, Query(description="Only this channel's orders.")] = None,
    store_id: Annotated[str | None, Query(max_length=64, description="Only this store's orders.")] = None,
    ship_by_before: Annotated[
        datetime | None, Query(description="Only orders due before this time, e.g. 2026-11-29T18:00:00+08:00.")
    ] = None,
    ship_by_after: Annotated[datetime | None, Query(description="Only orders due at or after this time.")] = None,
    held: Annotated[bool | None, Query(description="true: only held orders; false: only those not held.")] = None,
    sort: Annotated[OrderSort, Query(description="`created_at` (oldest first) or `ship_by` (most urgent first).")] = (
        "created_at"
    ),
    offset: Offset = 0,
) -> Page[OrderOut]:
    filters = OrderFilter(
        status=status_,
        external_id=external_id,
        channel=channel,
        store_id=store_id,
        ship_by_before=ship_by_before,
        ship_by_after=ship_by_after,
        held=held,
        sort=sort,
    )
    return await orders.list_orders(uow, shop_id, filters, page, offset)


@router.get(
    "/{order_id}",
    summary="One order",
    description="Receiver, items, status, and once assigned the carrier, number and shipment. Another shop's: 404.",
    responses=responses(404),
)
async def get_order(order_id: str, shop_id: ShopIdDep, uow: UowDep) -> OrderOut:
    return await orders.get_order(uow, shop_id, order_id)


@router.get(
    "/{order_id}/events",
    summary="An order's state changes",
    description="Every transition of the order's state machine (event, from, to, note, time), oldest first.",
    responses=responses(404),
)
async def list_order_events(order_id: str, shop_id: ShopIdDep, uow: UowDep) -> Page[OrderEventOut]:
    return Page.whole([OrderEventOut.model_validate(e) for e in await orders.order_events(uow, shop_id, order_id)])


@router.get(
    "/{order_id}/carrier-options",
    summary="Carriers ranked for this order, with reasons",
    description=(
        "Every active carrier scored from price per number, coverage of the destination province, typical "
        "transit days and the shop's stock (weights from the shop settings). The price is what this shop pays "
        "per number: what it paid for the numbers in its pool (`price_source: stock`; its purchases' prices, "
        "negotiated or not, averaged over the numbers available; reason `¥2.56 per number paid for this shop's "
        "stock`), else the catalogue's cheapest package (`catalogue`). Carriers without stock or coverage "
        "are listed last, unusable. `recommended` marks the one shipping would pick (the shop default when usable)."
    ),
    responses=responses(404, 503),
)
async def list_carrier_options(
    order_id: str, shop_id: ShopIdDep, uow: UowDep, res: ShippingResourcesDep
) -> Page[CarrierOptionOut]:
    return Page.whole(await courier_choice.carrier_options(uow, res.allocation, shop_id, order_id))


@router.post(
    "/{order_id}/ship",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ship one order",
    description=(
        "Carrier optional (recommended when absent). One parcel by default; `parcel_count` or `parcels` (weight "
        "and lines of each box) ship the order in several (一单多包): every parcel's number comes from the pool in "
        "one allocation call (all or none: 409 `pool_exhausted`), with its own label and tracking, and the answer "
        "lists them; SF, JD and DBKD multi-piece freight is one parent (母单) with child pieces (子单). `lines` "
        "ships only some of the order's lines (拆单): the order is `partly_shipped` once a part is confirmed and "
        "`shipped` when its last line is; each marketplace is told per its rules (Taobao's split consign with "
        "`sub_tid`; Pinduoduo's first part ships the order and later parts are uploaded as extra packages). Number "
        "optional (from the shop's pool when absent; a typed "
        "number is checked against the carrier's rule, 422 `invalid_waybill`, and every number already used, "
        "409 `waybill_in_use`). The label is ready at once and the number marked printed; the marketplace "
        "confirmation runs in the background (the shipment becomes `confirmed` or `failed`). An order that is "
        "not paid (already shipping, shipped, cancelled) answers 409 `invalid_transition`; an order held for its "
        "address (`held: address_invalid`) answers 409 `address_invalid` with what is wrong in `details.reason`."
    ),
    responses=responses(404, 409, 422, 503),
)
async def ship_order(
    order_id: str, shop_id: ShopIdDep, uow: UowDep, res: ShippingResourcesDep, body: ShipRequest | None = None
) -> ShipmentOut:
    body = body or ShipRequest()
    carrier = body.carrier.value if body.carrier else None
    wanted = parcels.specs(body.parcel_count, [ParcelSpec(p.weight_g, tuple(p.lines)) for p in body.parcels or []])
    shipment = await shipments.ship_order(
        uow, res.allocation, shop_id, order_id, carrier, body.number, wanted, body.lines
    )
    return await shipments.shipment_view(uow, shipment)


@router.put(
    "/{order_id}/receiver",
    summary="Change the receiver of an order before the courier collects it (改址)",
    description=(
        "The receiver as a whole, checked as at creation: an order held for its address (`address_invalid`) is "
        "released when the new one passes (its alert resolves), and held when it fails. Printed but not yet "
        "collected (before or after the marketplace confirmation): the numbers stay, each parcel's courier "
        "waybill is told the new receiver, and the order is flagged `label_outdated` (print the labels again: "
        "they carry the new address). Collected by the courier (or on its way): 409 `already_collected` and an "
        "`address_change_after_collection` order alert. Cancelled: 409 `invalid_transition`."
    ),
    responses=responses(404, 409),
)
async def update_receiver(
    order_id: str, body: Receiver, shop_id: ShopIdDep, uow: UowDep, res: ShippingResourcesDep
) -> OrderOut:
    try:
        return await order_intake.update_receiver(uow, shop_id, order_id, body)
    except address_changes.AlreadyCollected:
        # The refusal rolls this request's transaction back (releasing its lock on the order first): the alert
        # is written in a transaction of its own.
        await uow.rollback()
        async with res.transaction() as tx:
            await order_intake.refuse_collected(tx, shop_id, order_id)
        raise


@router.post(
    "/{order_id}/cancel",
    summary="Cancel an order that has not shipped",
    description="Its number goes back to the pool (voided if a label was printed). Shipped: 409 `invalid_transition`.",
    responses=responses(404, 409),
)
async def cancel_order(order_id: str, shop_id: ShopIdDep, uow: UowDep) -> OrderOut:
    return await cancellation.cancel_order(uow, shop_id, order_id, "cancelled by the shop")
