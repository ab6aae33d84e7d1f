"""Typed clients of our own services, one per service called: requests and answers are ``shared/`` models.

Each is a Protocol (what the caller needs) and its HTTP implementation over ``runtime.service_client``;
the unit tests use in-memory fakes of the same Protocols (``tests/fakes``).
"""
