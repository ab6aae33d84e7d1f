"""Every allocation query lives here, one module per domain: ORM/Core on the session for ordinary paths, raw
asyncpg statements for the allocation hot path (``statements``: one round trip, no ORM)."""
