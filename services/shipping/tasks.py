"""Shipping's arq worker: ``arq services.shipping.tasks.WorkerSettings``."""

from __future__ import annotations

from runtime.worker import build_worker_settings
from services.shipping.models import Outbox
from services.shipping.settings import get_settings

WorkerSettings = build_worker_settings("shipping", get_settings, Outbox, functions=[])
