"""The jobs the allocation worker runs. Their names are the wire contract between the API, which enqueues
them, and the worker (``services.allocation.tasks`` has a function of each name)."""

from __future__ import annotations

from enum import StrEnum


class Job(StrEnum):
    FETCH_NUMBERS = "fetch_purchase_numbers"
    RESYNC = "resync_purchase"
    DISCARD = "discard_numbers"
    DISCARD_VOIDED = "discard_voided_number"
    LOW_STOCK = "handle_low_stock"
    RELAY_EVENT = "relay_stock_event"
