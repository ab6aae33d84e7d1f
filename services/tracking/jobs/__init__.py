"""Tracking's worker jobs and loops, one module per kind of work (assembled in services.tracking.tasks)."""
