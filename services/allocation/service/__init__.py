"""Allocation business logic, one module per domain. Services flush; the request or job boundary commits."""
