"""Shipping HTTP routes: thin, they parse, authorise and call the service."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from runtime.app import UowDep
from runtime.auth import InternalShopIdDep, ShopIdDep
from runtime.db import transaction
from runtime.errors import NotFound
from runtime.openapi import error_doc, responses
from runtime.params import Offset
from services.shipping import batches, labels, service, webhooks
from services.shipping.metrics import LABELS
from services.shipping.models import Order, Shipment, ShopSettings
from services.shipping.repository import (
    BatchRepository,
    OrderRepository,
    SettingsRepository,
    ShipmentRepository,
    WebhookRepository,
)
from services.shipping.schemas import (
    MAX_WEBHOOK_ENDPOINTS,
    MAX_WEBHOOK_EVENT_TYPES,
    BatchCreate,
    BatchOut,
    CarrierOptionOut,
    OrderCreate,
    OrderEventOut,
    OrderOut,
    SettingsIn,
    SettingsOut,
    ShipmentOut,
    ShipRequest,
    TrackingUpdateResult,
    WebhookDeliveryOut,
    WebhookEndpointIn,
    WebhookEndpointOut,
)
from services.shipping.service import Clients, carrier_name
from shared.tracking import (
    MAX_BATCH_TRACKING_UPDATES,
    TrackingUpdate,
    TrackingUpdateBatch,
    TrackingUpdateBatchResult,
)

webhooks_in = APIRouter(prefix="/webhooks", tags=["marketplace"])
settings_router = APIRouter(prefix="/v1/settings", tags=["settings"])
orders = APIRouter(prefix="/v1/orders", tags=["orders"])
shipments = APIRouter(prefix="/v1/shipments", tags=["shipments"])
batches_router = APIRouter(prefix="/v1/shipment-batches", tags=["batches"])
hooks = APIRouter(prefix="/v1", tags=["webhooks"])
internal = APIRouter(prefix="/internal/v1", tags=["internal"])

ROUTERS = [webhooks_in, orders, shipments, batches_router, settings_router, hooks, internal]


def clients_of(request: Request) -> Clients:
    found: Clients = request.app.state.runtime.extras["clients"]
    return found


# --- marketplace webhook ----------------------------------------------------------------------


@webhooks_in.post(
    "/marketplace",
    summary="Order messages pushed by the marketplace",
    description=(
        "Form-encoded TOP message (`id, topic, content, pub_time, user_id, user_nick, app_key, timestamp, "
        "sign_method, sign`). The signature is verified first (401 `bad_signature`, nothing stored). A message id "
        "seen before answers 200 without doing anything again. Paid orders are fetched in full "
        "(`taobao.trade.fullinfo.get`) and stored before the 2xx; when the marketplace cannot be reached the "
        "answer is 503 and the marketplace delivers the message again. A message is a hint, never the truth: "
        "closes and address changes are acted on only after the trade is read back and bears them out (closed: "
        "`TRADE_CLOSED` or `TRADE_CLOSED_BY_TAOBAO`; an address that differs from ours); otherwise nothing "
        "changes (`close_not_confirmed`, `address_unchanged`, `trade_not_found`) and the message is logged. "
        "Confirmed, they update or cancel an unshipped order, and are refused (recorded on the order as a flag) "
        "once it has shipped."
    ),
    responses={
        **responses(400, 401, 503),
        200: {
            "description": (
                "Stored or deliberately ignored (the marketplace must not deliver it again). `status` says what "
                "happened: order_created, duplicate, order_exists, address_updated, address_unchanged, cancelled, "
                "close_not_confirmed, refused_shipped, ignored, unknown_seller, trade_not_found, ..."
            ),
            "content": {"application/json": {"example": {"status": "order_created", "message_id": "7501238462001"}}},
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["id", "topic", "content", "user_nick", "sign"],
                        "properties": {
                            name: {"type": "string"}
                            for name in (
                                "id",
                                "topic",
                                "content",
                                "pub_time",
                                "user_id",
                                "user_nick",
                                "app_key",
                                "timestamp",
                                "sign_method",
                                "sign",
                            )
                        },
                    },
                    "example": {
                        "id": "7501238462001",
                        "topic": "taobao_trade_TradeBuyerPay",
                        "content": '{"tid": 3001234567890123456, "seller_nick": "杭州小铺"}',
                        "pub_time": "2026-11-28 09:12:30",
                        "user_id": "2201234567",
                        "user_nick": "杭州小铺",
                        "app_key": "12345678",
                        "timestamp": "2026-11-28 09:12:31",
                        "sign_method": "md5",
                        "sign": "9C1F4E2B7A3D5F6E8B0C2D4A6F8E1B3C",
                    },
                }
            },
        }
    },
)
async def marketplace_message(request: Request, uow: UowDep) -> dict[str, str]:
    form = await request.form()
    fields = {k: str(v) for k, v in form.items()}
    return await service.receive_message(uow, clients_of(request), fields)


# --- settings ---------------------------------------------------------------------------------


@settings_router.put(
    "",
    summary="Set the shop's marketplace binding, sender and courier preferences",
    description=(
        "Fields not given keep their value. `seller_nick` maps incoming marketplace messages to this shop; "
        "`session` is the marketplace token used to fetch trades and confirm shipments. A binding needs proof: "
        "whenever `seller_nick` or `session` is given, the session is checked with the marketplace "
        "(`taobao.user.seller.get`) and must belong to the nick (422 `seller_not_verified` otherwise, also for "
        "a session the marketplace does not know); a session given alone (a renewed token) must belong to the "
        "bound seller, or binds its own seller when none is bound. A nick bound to "
        "another shop: 409 `conflict` (of two shops racing for one nick, one gets 200, the other 409). "
        "Sender fields appear on labels; `weights` and `default_carrier` tune the recommendation."
    ),
    responses={
        **responses(409, 503),
        422: error_doc(
            "The session does not prove the seller nick, or the body is invalid",
            {
                "seller_not_verified": "the session does not belong to seller 杭州小铺",
                "validation_error": "invalid request: weights",
            },
        ),
    },
)
async def put_settings(body: SettingsIn, shop_id: ShopIdDep, uow: UowDep, request: Request) -> SettingsOut:
    return await service.put_settings(uow, clients_of(request), shop_id, body)


@settings_router.get("", summary="The shop's shipping settings", description="The session itself is never shown.")
async def get_settings(shop_id: ShopIdDep, uow: UowDep) -> SettingsOut:
    return await service.get_settings(uow, shop_id)


# --- orders -----------------------------------------------------------------------------------


@orders.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an order (shop systems)",
    description="Idempotent on (shop, external_id): the same external id again answers 200 with the existing order.",
    responses={200: {"model": OrderOut, "description": "An order with this external id exists: it is returned"}},
)
async def create_order(body: OrderCreate, shop_id: ShopIdDep, uow: UowDep, response: Response) -> OrderOut:
    order, created = await service.create_order(uow, shop_id, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return order


@orders.get("", summary="List orders", description="Oldest first; filter by status or external id.")
async def list_orders(
    shop_id: ShopIdDep,
    uow: UowDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
    external_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Offset = 0,
) -> list[OrderOut]:
    return await service.list_orders(uow, shop_id, status_, external_id, limit, offset)


@orders.get(
    "/{order_id}",
    summary="One order",
    description="Receiver, items, status, and once assigned the carrier, number and shipment. Another shop's: 404.",
    responses=responses(404),
)
async def read_order(order_id: str, shop_id: ShopIdDep, uow: UowDep) -> OrderOut:
    return await service.get_order(uow, shop_id, order_id)


@orders.get(
    "/{order_id}/events",
    summary="An order's state changes",
    description="Every transition of the order's state machine (event, from, to, note, time), oldest first.",
    responses=responses(404),
)
async def read_order_events(order_id: str, shop_id: ShopIdDep, uow: UowDep) -> list[OrderEventOut]:
    return [OrderEventOut.model_validate(e) for e in await service.order_events(uow, shop_id, order_id)]


@orders.get(
    "/{order_id}/carrier-options",
    summary="Carriers ranked for this order, with reasons",
    description=(
        "Every active carrier scored from price per number, coverage of the destination province, typical "
        "transit days and the shop's stock (weights from the shop settings). Carriers without stock or coverage "
        "are listed last, unusable. `recommended` marks the one shipping would pick (the shop default when usable)."
    ),
    responses=responses(404, 503),
)
async def carrier_options(order_id: str, shop_id: ShopIdDep, uow: UowDep, request: Request) -> list[CarrierOptionOut]:
    return await service.carrier_options(uow, clients_of(request), shop_id, order_id)


@orders.post(
    "/{order_id}/ship",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ship one order",
    description=(
        "Carrier optional (recommended when absent); number optional (from the shop's pool when absent; a typed "
        "number is checked against the carrier's rule, 422 `invalid_waybill`, and every number already used, "
        "409 `waybill_in_use`). The label is ready at once and the number marked printed; the marketplace "
        "confirmation runs in the background (the shipment becomes `confirmed` or `failed`). An order that is "
        "not paid (already shipping, shipped, cancelled) answers 409 `invalid_transition`."
    ),
    responses=responses(404, 409, 422, 503),
)
async def ship(
    order_id: str, shop_id: ShopIdDep, uow: UowDep, request: Request, body: ShipRequest | None = None
) -> ShipmentOut:
    body = body or ShipRequest()
    shipment = await service.ship_order(
        uow, clients_of(request), shop_id, order_id, body.carrier.value if body.carrier else None, body.number
    )
    return ShipmentOut.model_validate(shipment)


@orders.post(
    "/{order_id}/cancel",
    summary="Cancel an order that has not shipped",
    description="Its number goes back to the pool (voided if a label was printed). Shipped: 409 `invalid_transition`.",
    responses=responses(404, 409),
)
async def cancel(order_id: str, shop_id: ShopIdDep, uow: UowDep) -> OrderOut:
    return await service.cancel_order(uow, shop_id, order_id, "cancelled by the shop")


# --- shipments and labels ---------------------------------------------------------------------


@shipments.get(
    "",
    summary="Recent shipments",
    description="Newest first, optionally for one order (`order_id`): carrier, number, status and attempts.",
)
async def list_shipments(
    shop_id: ShopIdDep, uow: UowDep, order_id: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[ShipmentOut]:
    rows = await ShipmentRepository(uow.session).recent(shop_id, order_id, limit)
    return [ShipmentOut.model_validate(s) for s in rows]


@shipments.get(
    "/{shipment_id}",
    summary="One shipment",
    description=(
        "Status (pending, confirming, confirmed, failed, cancelled), the numbers tried in `history`, "
        "the marketplace's last error and how many labels were printed. Another shop's: 404."
    ),
    responses=responses(404),
)
async def read_shipment(shipment_id: str, shop_id: ShopIdDep, uow: UowDep) -> ShipmentOut:
    return ShipmentOut.model_validate(await service.own_shipment(uow, shop_id, shipment_id))


@shipments.post(
    "/{shipment_id}/cancel",
    summary="Cancel a shipment before it is confirmed",
    description="The order goes back to paid and the number is released (voided, since its label was printed).",
    responses=responses(404, 409),
)
async def cancel_shipment(shipment_id: str, shop_id: ShopIdDep, uow: UowDep) -> ShipmentOut:
    return ShipmentOut.model_validate(await service.cancel_shipment(uow, shop_id, shipment_id))


def label_data(shipment: Shipment, order: Order, shop: ShopSettings | None, reprint: int) -> labels.LabelData:
    return labels.LabelData(
        shipment_id=shipment.id,
        order_ref=order.external_id,
        carrier=shipment.carrier,
        carrier_name=carrier_name(shipment.carrier),
        number=shipment.number,
        sender_name=shop.sender_name if shop else "",
        sender_phone=shop.sender_phone if shop else "",
        sender_address=shop.sender_address if shop else "",
        receiver_name=order.receiver_name,
        receiver_phone=order.receiver_phone,
        receiver_address=" ".join(
            p for p in (order.receiver_state, order.receiver_city, order.receiver_district, order.receiver_address) if p
        ),
        weight_g=order.weight_g,
        reprint=reprint,
    )


@shipments.get(
    "/{shipment_id}/label.pdf",
    summary="The shipment's label (PDF, 100 x 150 mm)",
    description="Code 128 barcode of the number, carrier, sender, receiver, order id, weight. Every print is counted.",
    responses={**responses(404), 200: {"content": {"application/pdf": {}}}},
    response_class=Response,
)
async def label(shipment_id: str, shop_id: ShopIdDep, uow: UowDep) -> Response:
    shipment = await service.own_shipment(uow, shop_id, shipment_id)
    if shipment.status in ("failed", "cancelled"):
        raise NotFound(f"shipment {shipment_id} is {shipment.status}: it has no label")
    order = await OrderRepository(uow.session).get(shipment.order_id)
    assert order is not None
    prints = await ShipmentRepository(uow.session).count_prints(shipment_id)
    shop = await SettingsRepository(uow.session).get(shop_id)
    pdf = labels.render_one(label_data(shipment, order, shop, prints - 1))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{shipment.number}.pdf"', "X-Label-Prints": str(prints)},
    )


# --- batches ----------------------------------------------------------------------------------


@batches_router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ship up to 10,000 orders",
    description=(
        "Answers at once with the batch; workers ship it in chunks (batch allocation, labels, confirmations). "
        "Orders that are not paid any more (shipped or being shipped by another request or batch, cancelled) "
        "are skipped, so resubmitting a batch or overlapping batches never ship an order twice."
    ),
    responses=responses(422),
)
async def create_batch(body: BatchCreate, shop_id: ShopIdDep, uow: UowDep, request: Request) -> BatchOut:
    return await batches.create_batch(uow, clients_of(request), shop_id, body)


@batches_router.get(
    "/{batch_id}",
    summary="A batch's progress and per-order results",
    description="total, done (confirmed), failed, skipped, pending; `items` page through the per-order results.",
    responses=responses(404),
)
async def read_batch(
    batch_id: str,
    shop_id: ShopIdDep,
    uow: UowDep,
    item_status: Annotated[str | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=0, le=10_000)] = 1000,
    offset: Offset = 0,
) -> BatchOut:
    return await batches.batch_view(uow, shop_id, batch_id, item_status, limit, offset)


@batches_router.get(
    "/{batch_id}/labels.pdf",
    summary="Every label of a batch in one PDF (streamed)",
    description="Pages are produced as they are sent, a few hundred at a time, so any batch size fits in memory.",
    responses={**responses(404), 200: {"content": {"application/pdf": {}}}},
    response_class=StreamingResponse,
)
async def batch_labels(batch_id: str, shop_id: ShopIdDep, uow: UowDep, request: Request) -> StreamingResponse:
    repo = BatchRepository(uow.session)
    batch = await repo.get(batch_id)
    if batch is None or batch.shop_id != shop_id:
        raise NotFound(f"batch {batch_id} not found")
    await repo.count_print(batch_id)
    shop = await SettingsRepository(uow.session).get(shop_id)
    rt = request.app.state.runtime

    async def pages() -> AsyncIterator[bytes]:
        pdf = labels.PdfStream()
        yield pdf.start()
        after = -1
        while True:
            # Each page of rows in its own short transaction: no connection held across slow clients.
            async with transaction(rt.sessionmaker, None) as tx:
                rows = await BatchRepository(tx.session).label_rows(batch_id, after, 500)
            if not rows:
                break
            yield b"".join(pdf.page(label_data(s, o, shop, batch.label_prints)) for _, s, o in rows)
            LABELS.labels("batch").inc(len(rows))
            after = rows[-1][0]
        yield pdf.finish()

    return StreamingResponse(
        pages(),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{batch_id}.pdf"'},
    )


# --- outgoing webhooks ------------------------------------------------------------------------


@hooks.post(
    "/webhook-endpoints",
    status_code=status.HTTP_201_CREATED,
    summary="Register a URL for shipment and tracking events",
    description=(
        "Events are POSTed as JSON with headers `X-Waybill-Event-Id` (unique; deduplicate on it), "
        "`X-Waybill-Event-Type`, `X-Waybill-Timestamp` (unix seconds) and `X-Waybill-Signature: v1=<hex>` = "
        "HMAC-SHA256(secret, timestamp + '.' + raw body). Non-2xx answers are retried with exponential backoff; "
        "after the last try the delivery is kept as `failed` and can be resent. The secret is shown only here.\n\n"
        "**The URL** must be `https` (plain `http` only where the operator allows it: development, the sandbox), "
        "without user info, on a port browsers allow (not 25, 22...), to a host named in letters or written as a "
        "standard address, every address of which is public: loopback, private (10/8, 172.16/12, 192.168/16, "
        "fc00::/7), link-local (169.254/16, fe80::/10), carrier-grade NAT (100.64/10), multicast, reserved and "
        "the IPv6 forms of those (`::ffff:127.0.0.1`, NAT64, 6to4) are refused, and so are `2130706433`, "
        "`0x7f000001`, `127.1`, `0177.0.0.1`: 422 `webhook_url_refused` with the reason in `details.reason`. A "
        "host that does not resolve is refused too. Before every delivery the name is resolved again and the "
        "event goes to the address checked (TLS verified for the name); redirects are not followed. "
        f"A shop has at most {MAX_WEBHOOK_ENDPOINTS} active endpoints (409 `webhook_limit_reached`; disable one "
        f"first) of at most {MAX_WEBHOOK_EVENT_TYPES} event types each (422 `validation_error`)."
    ),
    responses={
        409: error_doc(
            "The shop holds the most active endpoints it may",
            {
                "webhook_limit_reached": (
                    f"a shop has at most {MAX_WEBHOOK_ENDPOINTS} active webhook endpoints; disable one first"
                )
            },
        ),
        422: error_doc(
            "A URL the platform does not call, or an invalid body",
            {
                "webhook_url_refused": "webhook URL refused: resolves to a private address",
                "validation_error": "invalid request: events",
            },
        ),
    },
)
async def add_endpoint(
    body: WebhookEndpointIn, shop_id: ShopIdDep, uow: UowDep, request: Request
) -> WebhookEndpointOut:
    return await webhooks.add_endpoint(uow, shop_id, body, clients_of(request).settings)


@hooks.get(
    "/webhook-endpoints",
    summary="The shop's webhook endpoints",
    description="Every endpoint with the event types it receives; the signing secret is never shown again.",
)
async def list_endpoints(shop_id: ShopIdDep, uow: UowDep) -> list[WebhookEndpointOut]:
    return [
        WebhookEndpointOut(id=e.id, url=e.url, events=e.events, active=e.active, created_at=e.created_at)
        for e in await WebhookRepository(uow.session).endpoints(shop_id)
    ]


@hooks.delete(
    "/webhook-endpoints/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop sending events to an endpoint",
    description=(
        "Marks the endpoint inactive: nothing more is sent to it, including deliveries already queued (kept as "
        "`failed`, `refused: endpoint disabled`), and its deliveries cannot be resent (409). Another shop's: 404."
    ),
    responses=responses(404),
)
async def disable_endpoint(endpoint_id: str, shop_id: ShopIdDep, uow: UowDep) -> None:
    await webhooks.disable_endpoint(uow, shop_id, endpoint_id)


@hooks.get(
    "/webhook-deliveries",
    summary="Event deliveries (e.g. ?status=failed)",
    description=(
        "Newest first, with the event body, the last HTTP status and a short reason of ours in `last_error` "
        "(`HTTP 500`, `HTTP 302 (redirects are not followed)`, `timeout`, `connection failed`, "
        "`refused: resolves to a private address`...); what the endpoint answered is never stored."
    ),
)
async def list_deliveries(
    shop_id: ShopIdDep,
    uow: UowDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[WebhookDeliveryOut]:
    rows = await WebhookRepository(uow.session).deliveries(shop_id, status_, limit)
    return [WebhookDeliveryOut.model_validate(d) for d in rows]


@hooks.post(
    "/webhook-deliveries/{delivery_id}/resend",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a delivery again",
    description=(
        "For an operator or the shop after fixing its endpoint: the same event (same id) is sent again, its URL "
        "checked again. A disabled endpoint's delivery: 409 `webhook_endpoint_disabled`."
    ),
    responses={
        **responses(404),
        409: error_doc(
            "The delivery's endpoint is disabled",
            {"webhook_endpoint_disabled": "the endpoint of delivery 2b8e4f6a-... is disabled: nothing is sent to it"},
        ),
    },
)
async def resend(delivery_id: uuid.UUID, shop_id: ShopIdDep, uow: UowDep) -> WebhookDeliveryOut:
    return await webhooks.resend(uow, shop_id, delivery_id)


# --- internal ---------------------------------------------------------------------------------


@internal.post(
    "/tracking-updates",
    summary="Tracking tells shipping what happened to a parcel",
    description=(
        "Idempotent on `event_id`. Moves the order forward (in_transit, delivered, exception, returned) when the "
        "state machine allows it; a late or repeated status that would move it backwards is recorded and ignored "
        "(`applied: false`). The shop's webhook endpoints get the event."
    ),
    responses=responses(403, 404),
)
async def tracking_update(body: TrackingUpdate, shop_id: InternalShopIdDep, uow: UowDep) -> TrackingUpdateResult:
    return await service.apply_tracking_update(uow, shop_id, body)


@internal.post(
    "/tracking-updates/batch",
    summary="Tracking tells shipping about many parcels of one shop at once",
    description=(
        f"Up to {MAX_BATCH_TRACKING_UPDATES} updates, applied in one transaction, each as "
        "`POST /internal/v1/tracking-updates` would apply it (idempotent on `event_id`, never backwards, the "
        "shop's webhook endpoints get the events). One result per update, in the order given; an update whose "
        "order this shop does not have gets `error: not_found` instead of failing the batch. The tracking "
        "worker sends its due notifications this way, one call per shop and round."
    ),
    responses=responses(403, 422),
)
async def tracking_updates(
    body: TrackingUpdateBatch, shop_id: InternalShopIdDep, uow: UowDep
) -> TrackingUpdateBatchResult:
    return TrackingUpdateBatchResult(results=await service.apply_tracking_updates(uow, shop_id, body.updates))
