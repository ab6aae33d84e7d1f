"""Prometheus metrics: request latency per route here; domain metrics live with each service."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

REQUEST_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route template",
    ["service", "method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
REQUESTS_REJECTED = Counter("http_requests_rejected_total", "Requests refused before routing", ["service", "reason"])
# Set by each worker's outbox sweeper (every 30 s): a job's row lives from the commit that wanted it until the
# job has run, so the oldest row's age is how long the longest-waiting acknowledged work has waited.
OUTBOX_ROWS = Gauge("waybill_outbox_rows", "Jobs committed and not yet done", ["service"])
OUTBOX_OLDEST = Gauge("waybill_outbox_oldest_seconds", "Age of the oldest job not yet done (0: none)", ["service"])

router = APIRouter(tags=["operations"])


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
