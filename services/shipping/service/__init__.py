"""Shipping's logic, one module per domain. Services flush; the boundary (the request, or a job's
``Resources.transaction()``) commits."""
