"""Prints what one service's API process exposes on /metrics, as JSON: the exposition text, and the
label names each series is declared with (a labelled metric nobody has touched yet shows no sample,
so its labels are read from the registry). Run in a fresh process per service:
``python tests/deploy/metrics_dump.py allocation``."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys

import httpx
from prometheus_client import REGISTRY


async def scrape(service: str) -> str:
    app = importlib.import_module(f"services.{service}.main").app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        await client.get("/healthz")  # one request, so the latency histogram has a sample
        response = await client.get("/metrics")
        response.raise_for_status()
        return response.text


def main(service: str) -> None:
    text = asyncio.run(scrape(service))
    labels: dict[str, list[str]] = {}
    for collector, names in REGISTRY._collector_to_names.items():
        declared = list(getattr(collector, "_labelnames", ()))
        for name in names:
            labels[name] = [*declared, "le"] if name.endswith("_bucket") else declared
    print(json.dumps({"text": text, "labels": labels}))


if __name__ == "__main__":
    main(sys.argv[1])
