"""The `waybill` commands, one module per part of the API; ``cli.main`` puts them together."""
