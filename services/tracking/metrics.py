"""Tracking's Prometheus metrics.

Counters move where the thing happens: the webhook's in the API process, the processor's and polling's in
the workers (served on ``TRACKING_WORKER_METRICS_PORT``). The gauges that need a query (queue depth, the
oldest waiting push, alerts open) are refreshed by the API process every ``TRACKING_GAUGE_REFRESH_S``.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram

from shared.tracking import AlertKind

PUSHES_INGESTED = Counter(
    "waybill_tracking_pushes_ingested_total",
    "Pushes received by the webhook, by outcome: stored (acknowledged), bad_signature, unknown_number, unreadable",
    ["outcome"],
)
PUSHES_PROCESSED = Counter(
    "waybill_tracking_pushes_processed_total",
    "Stored pushes processed by the workers, by outcome: applied (brought new events), duplicate (nothing new), "
    "error (unreadable)",
    ["outcome"],
)
EVENTS_STORED = Counter("waybill_tracking_events_stored_total", "Tracking events stored (each event once)")
PROCESSING_LAG = Histogram(
    "waybill_tracking_processing_lag_seconds",
    "From a push being stored to its batch being processed",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
QUEUE_DEPTH = Gauge("waybill_tracking_queue_depth", "Stored pushes not processed yet")
OLDEST_WAITING = Gauge(
    "waybill_tracking_oldest_waiting_seconds", "Age of the oldest stored push not processed yet (0 when none waits)"
)
ALERTS_OPEN = Gauge("waybill_tracking_alerts_open", "Alerts open (not acknowledged, not resolved), by kind", ["kind"])
POLLS = Counter(
    "waybill_tracking_polls_total",
    "Queries to the provider for quiet parcels, by outcome (found, no_result, rate_limited, rejected, retry, ...)",
    ["outcome"],
)

# Bound children: .labels() costs a lock and a tuple per call, and the webhook calls these per push.
INGEST_STORED = PUSHES_INGESTED.labels("stored")
INGEST_BAD_SIGNATURE = PUSHES_INGESTED.labels("bad_signature")
INGEST_UNKNOWN_NUMBER = PUSHES_INGESTED.labels("unknown_number")
INGEST_UNREADABLE = PUSHES_INGESTED.labels("unreadable")
PROCESSED_APPLIED = PUSHES_PROCESSED.labels("applied")
PROCESSED_DUPLICATE = PUSHES_PROCESSED.labels("duplicate")
PROCESSED_ERROR = PUSHES_PROCESSED.labels("error")


def record_batch(
    pushes: int, duplicates: int, errors: int, events: int, received: list[datetime], now: datetime
) -> None:
    PROCESSED_APPLIED.inc(pushes - duplicates - errors)
    PROCESSED_DUPLICATE.inc(duplicates)
    PROCESSED_ERROR.inc(errors)
    EVENTS_STORED.inc(events)
    for at in received:
        PROCESSING_LAG.observe(max(0.0, (now - at).total_seconds()))


def set_gauges(queue_depth: int, oldest_waiting: datetime | None, alerts_open: dict[str, int], now: datetime) -> None:
    QUEUE_DEPTH.set(queue_depth)
    OLDEST_WAITING.set(0.0 if oldest_waiting is None else max(0.0, (now - oldest_waiting).total_seconds()))
    for kind in {*(k.value for k in AlertKind), *alerts_open}:
        ALERTS_OPEN.labels(kind).set(alerts_open.get(kind, 0))
