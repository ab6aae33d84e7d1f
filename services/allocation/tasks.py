"""Allocation's arq worker: ``arq services.allocation.tasks.WorkerSettings``."""

from __future__ import annotations

from runtime.worker import build_worker_settings
from services.allocation.models import Outbox
from services.allocation.settings import get_settings

WorkerSettings = build_worker_settings("allocation", get_settings, Outbox, functions=[])
