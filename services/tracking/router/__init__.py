"""Tracking's HTTP routes, one module per audience: thin, they parse, authorise, call one service function
and shape the answer. ``ROUTERS`` is the order the app mounts them in (and the OpenAPI document lists them)."""

from __future__ import annotations

from services.tracking.router import alerts, operators, subscriptions, trackings, webhook

ROUTERS = [webhook.router, trackings.router, alerts.router, subscriptions.router, operators.router]
