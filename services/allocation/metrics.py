"""Allocation's Prometheus metrics.

The API process serves them on its /metrics. Purchases also move in the worker (completed when the courier
has issued the numbers, created by auto-replenish): it serves its own registry on
``ALLOCATION_WORKER_METRICS_PORT`` (runtime.worker).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ALLOCATIONS = Counter(
    "waybill_allocations_total",
    "Numbers handed to orders: allocated (new), repeated (the order already had it), exhausted (no stock)",
    ["carrier", "outcome"],
)
PURCHASES = Counter(
    "waybill_purchases_total", "Purchases by outcome (created, completed, failed)", ["carrier", "outcome"]
)
POOL_AVAILABLE = Gauge("waybill_pool_available", "Available, unexpired numbers across shops, by carrier", ["carrier"])
POOL_EXPIRING = Gauge(
    "waybill_pool_expiring_soon", "Available numbers expiring within the expiring-soon window, by carrier", ["carrier"]
)
VOIDS = Counter(
    "waybill_voids_total",
    "Printed numbers voided before collection, by the courier's answer (discarded: credited; collected, refused: "
    "not credited). Counted by the worker, which settles them",
    ["carrier", "outcome"],
)
ALLOCATION_FLUSH_SIZE = Histogram(
    "waybill_allocation_flush_size",
    "Orders per allocation statement of the coalescer (1: a request alone on its pool went straight out)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
