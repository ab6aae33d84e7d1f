"""Allocation's HTTP routes, one module per domain: thin, they parse, authorise, call one service function
and shape the answer. ``ROUTERS`` is the order the app mounts them in (and the OpenAPI document lists them)."""

from __future__ import annotations

from services.allocation.router import (
    allocations,
    balance,
    carriers,
    internal,
    pools,
    purchases,
    reports,
    shops,
    waybills,
)

ROUTERS = [
    allocations.router,
    waybills.router,
    purchases.router,
    pools.router,
    balance.router,
    reports.router,
    carriers.router,
    shops.router,
    internal.router,
]
