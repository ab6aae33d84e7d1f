"""Shops' webhook endpoints and the deliveries of events to them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from runtime.app import UowDep
from runtime.auth import ShopIdDep
from runtime.openapi import error_doc, responses
from runtime.pagination import PageRequest, page_params
from services.shipping.resources import ShippingResourcesDep
from services.shipping.schemas.webhooks import (
    MAX_WEBHOOK_ENDPOINTS,
    MAX_WEBHOOK_EVENT_TYPES,
    WebhookDeliveryOut,
    WebhookEndpointIn,
    WebhookEndpointOut,
)
from services.shipping.service import webhook_deliveries, webhooks
from shared.pages import Page

router = APIRouter(prefix="/v1", tags=["webhooks"])


@router.post(
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
async def create_webhook_endpoint(
    body: WebhookEndpointIn, shop_id: ShopIdDep, uow: UowDep, res: ShippingResourcesDep
) -> WebhookEndpointOut:
    return await webhooks.add_endpoint(uow, shop_id, body, res.settings)


@router.get(
    "/webhook-endpoints",
    summary="The shop's webhook endpoints",
    description="Every endpoint with the event types it receives; the signing secret is never shown again.",
)
async def list_webhook_endpoints(shop_id: ShopIdDep, uow: UowDep) -> Page[WebhookEndpointOut]:
    return Page.whole(await webhooks.endpoints(uow, shop_id))


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop sending events to an endpoint",
    description=(
        "Marks the endpoint inactive: nothing more is sent to it, including deliveries already queued (kept as "
        "`failed`, `refused: endpoint disabled`), and its deliveries cannot be resent (409). Another shop's: 404."
    ),
    responses=responses(404),
)
async def disable_webhook_endpoint(endpoint_id: str, shop_id: ShopIdDep, uow: UowDep) -> None:
    await webhooks.disable_endpoint(uow, shop_id, endpoint_id)


@router.get(
    "/webhook-deliveries",
    summary="Event deliveries (e.g. ?status=failed)",
    description=(
        "Newest first, with the event body, the last HTTP status and a short reason of ours in `last_error` "
        "(`HTTP 500`, `HTTP 302 (redirects are not followed)`, `timeout`, `connection failed`, "
        "`refused: resolves to a private address`...); what the endpoint answered is never stored."
    ),
)
async def list_webhook_deliveries(
    shop_id: ShopIdDep,
    uow: UowDep,
    page: Annotated[PageRequest, Depends(page_params(100, 1000))],
    status_: Annotated[str | None, Query(alias="status")] = None,
) -> Page[WebhookDeliveryOut]:
    return await webhook_deliveries.deliveries(uow, shop_id, status_, page)


@router.post(
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
async def resend_webhook_delivery(delivery_id: uuid.UUID, shop_id: ShopIdDep, uow: UowDep) -> WebhookDeliveryOut:
    return await webhook_deliveries.resend(uow, shop_id, delivery_id)
