"""Tracking's logic, one module per domain. Functions take the unit of work and ``now`` (the service clock);
they flush, never commit."""
