"""Every query tracking runs, one module per table (or hot path). The webhook's hot statement runs on raw
asyncpg (one round trip per push); the rest goes through the unit of work's session."""
