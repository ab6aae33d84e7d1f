"""Shipping's Prometheus metrics.

The API process serves them on its /metrics. Most of them move in the worker (confirmations, batches), a
separate process: it serves its own registry on ``SHIPPING_WORKER_METRICS_PORT`` (one scrape target per
worker, as a Kubernetes pod would be), so no multiprocess directory has to be shared between processes.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from services.shipping.channels.taobao.protocol import Outcome

SHIPMENTS = Counter(
    "waybill_shipments_total",
    "Shipments by carrier and outcome: created, confirmed (on the marketplace), failed, cancelled",
    ["carrier", "outcome"],
)
CONFIRMATIONS = Counter(
    "waybill_marketplace_confirmations_total",
    "Answers to taobao.logistics.offline.send by outcome: success, retry (busy, network), quarantine "
    "(number refused as used or invalid), expired (number expired), failed (any other refusal)",
    ["outcome"],
)
CONFIRMATION_SECONDS = Histogram(
    "waybill_marketplace_confirmation_seconds",
    "Duration of one taobao.logistics.offline.send call",
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
    "waybill_label_renders_total", "Labels rendered: single (one PDF) or batch (a page of a batch PDF)", ["kind"]
)

_OUTCOMES = {
    Outcome.NUMBER_REJECTED: "quarantine",
    Outcome.NUMBER_EXPIRED: "expired",
    Outcome.TRANSIENT: "retry",
}


def confirmation_outcome(outcome: Outcome) -> str:
    """The metric label of a refusal (B04 is counted once the trade shows whose number it carries)."""
    return _OUTCOMES.get(outcome, "failed")
