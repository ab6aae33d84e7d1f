"""Shipping's HTTP routes, one module per domain: thin, they parse, call one service function and shape
the answer."""

from __future__ import annotations

from services.shipping.router import (
    auto_ship,
    batches,
    internal,
    marketplace,
    order_alerts,
    orders,
    shipments,
    shop_settings,
    stores,
    webhooks,
)

# Matched in this order (and documented in it).
ROUTERS = [
    marketplace.router,
    orders.router,
    order_alerts.router,
    shipments.router,
    batches.router,
    auto_ship.router,
    shop_settings.router,
    stores.router,
    webhooks.router,
    internal.router,
]
