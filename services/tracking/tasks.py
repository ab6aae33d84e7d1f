"""Tracking's arq worker: ``arq services.tracking.tasks.WorkerSettings``."""

from __future__ import annotations

from runtime.worker import build_worker_settings
from services.tracking.models import Outbox
from services.tracking.settings import get_settings

WorkerSettings = build_worker_settings("tracking", get_settings, Outbox, functions=[])
