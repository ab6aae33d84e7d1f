"""Shipping's Prometheus metrics.

The API process serves them on its /metrics. Most of them move in the worker (confirmations, batches), a
separate process: it serves its own registry on ``SHIPPING_WORKER_METRICS_PORT`` (one scrape target per
worker, as a Kubernetes pod would be), so no multiprocess directory has to be shared between processes.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from services.shipping.channels.base import Refusal

SHIPMENTS = Counter(
    "waybill_shipments_total",
    "Shipments by carrier and outcome: created, confirmed (on the marketplace), failed, cancelled",
    ["carrier", "outcome"],
)
CONFIRMATIONS = Counter(
    "waybill_marketplace_confirmations_total",
    "Answers to shipment confirmations by channel (taobao, pinduoduo; own: told to the shop) and outcome: "
    "success, retry (busy, network), quarantine (number refused as used or invalid), expired (number expired), "
    "failed (any other refusal)",
    ["channel", "outcome"],
)
CONFIRMATION_SECONDS = Histogram(
    "waybill_marketplace_confirmation_seconds",
    "Duration of one confirmation call to a channel (taobao.logistics.offline.send, pdd.logistics.online.send)",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BATCH_ORDERS = Counter(
    "waybill_batch_orders_total",
    "Orders of shipment batches processed, by result: shipped, failed, skipped",
    ["result"],
)
BATCH_CHUNK_SECONDS = Histogram(
    "waybill_batch_chunk_seconds",
    "Time to process one chunk of a shipment batch (claim, numbers, confirmations)",
    buckets=(0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300),
)
LABELS = Counter(
    "waybill_label_renders_total",
    "Labels rendered: single (one file) or batch (a label of a batch's or a multi-parcel shipment's file), by "
    "format (pdf, zpl)",
    ["kind", "format"],
)

_OUTCOMES = {
    Refusal.NUMBER_REJECTED: "quarantine",
    Refusal.NUMBER_EXPIRED: "expired",
    Refusal.RETRY: "retry",
}


def confirmation_outcome(refusal: Refusal) -> str:
    """The metric label of a refusal ("already shipped" is counted once the order shows whose number it carries)."""
    return _OUTCOMES.get(refusal, "failed")
