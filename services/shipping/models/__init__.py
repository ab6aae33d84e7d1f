"""Shipping's tables, all in the ``shipping`` schema, one module per domain; every name is importable from here
(importing the package registers every table on ``Base.metadata``, which the migrations compare against)."""

from __future__ import annotations

from services.shipping.models.base import (
    LIVE_SHIPMENT,
    LIVE_SHIPMENT_STATES,
    MAX_LEAD_MINUTES,
    OPEN_ITEM_STATES,
    SCHEMA,
    UNCONFIRMED_SHIPMENT_STATES,
    UNSHIPPED_ORDER,
    AlertKind,
    AlertState,
    Base,
    ChunkStatus,
    ConfirmMode,
    DeliveryStatus,
    ItemStatus,
    LabelSize,
    OrderHold,
    Outbox,
    ParcelStatus,
    ShipmentStatus,
    one_of,
)
from services.shipping.models.batches import AutoShipRule, AutoShipRun, BatchChunk, BatchItem, ShipmentBatch
from services.shipping.models.orders import MarketplaceMessage, Order, OrderAlert, OrderEvent, TrackingUpdateRecord
from services.shipping.models.shipments import Parcel, Shipment, ShipmentLine
from services.shipping.models.shops import ShopSettings, Store
from services.shipping.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "LIVE_SHIPMENT",
    "LIVE_SHIPMENT_STATES",
    "MAX_LEAD_MINUTES",
    "OPEN_ITEM_STATES",
    "SCHEMA",
    "UNCONFIRMED_SHIPMENT_STATES",
    "UNSHIPPED_ORDER",
    "AlertKind",
    "AlertState",
    "AutoShipRule",
    "AutoShipRun",
    "Base",
    "BatchChunk",
    "BatchItem",
    "ChunkStatus",
    "ConfirmMode",
    "DeliveryStatus",
    "ItemStatus",
    "LabelSize",
    "MarketplaceMessage",
    "Order",
    "OrderAlert",
    "OrderEvent",
    "OrderHold",
    "Outbox",
    "Parcel",
    "ParcelStatus",
    "Shipment",
    "ShipmentBatch",
    "ShipmentLine",
    "ShipmentStatus",
    "ShopSettings",
    "Store",
    "TrackingUpdateRecord",
    "WebhookDelivery",
    "WebhookEndpoint",
    "one_of",
]
