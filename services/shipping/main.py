"""The shipping service's ASGI app: ``uvicorn services.shipping.main:app``."""

from __future__ import annotations

from fastapi import FastAPI

from runtime.app import create_service_app
from runtime.auth import CachedResolver, HttpKeyResolver, ShopKeyResolver
from services.shipping.models import Outbox
from services.shipping.resources import ShippingResources, open_resources
from services.shipping.router import ROUTERS, marketplace_fastpath
from services.shipping.settings import ShippingSettings, get_settings

SERVICE = "shipping"


def _resolver(res: ShippingResources) -> ShopKeyResolver:
    return CachedResolver.from_settings(HttpKeyResolver(res.allocation), res.settings)


def create_app(settings: ShippingSettings | None = None) -> FastAPI:
    app = create_service_app(
        service=SERVICE,
        settings=settings or get_settings(),
        outbox=Outbox,
        routers=ROUTERS,
        resolver=_resolver,
        resources=open_resources,
        title="Waybill shipping",
        description=(
            "Orders from every channel (Taobao and Pinduoduo stores, and the shop's own systems), courier choice, "
            "labels, shipment confirmation on the channel each order came from."
        ),
        openapi_tags=[
            {"name": "orders", "description": "Orders, courier choice, shipping one order."},
            {"name": "order-alerts", "description": "Ship-by deadlines (发货超时), invalid addresses: for the seller."},
            {"name": "shipments", "description": "Shipments and their labels."},
            {"name": "batches", "description": "Shipping thousands of orders at once."},
            {"name": "auto-ship", "description": "Rules under which paid orders ship by themselves (自动发货规则)."},
            {"name": "settings", "description": "Sender, courier preferences, time zone (and the Taobao binding)."},
            {"name": "stores", "description": "The shop's marketplace stores: Taobao and Pinduoduo sellers, bound."},
            {"name": "webhooks", "description": "Events sent to shop systems."},
            {"name": "marketplace", "description": "Order messages the channels push to us."},
            {"name": "internal", "description": "Endpoints other services call with the internal key."},
            {"name": "operations", "description": "Health and metrics."},
        ],
    )
    marketplace_fastpath.install(app.router.routes)  # the message webhooks, ahead of their documented routes
    return app


app = create_app()
