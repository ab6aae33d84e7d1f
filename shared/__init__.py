"""Wire contracts shared by every service: carrier codes, waybill number rules, money, error bodies, events.

Only pydantic and the standard library belong here (no SQLAlchemy, FastAPI or settings), so that any
service, worker or CLI can import it without dragging in another service's runtime.
"""
