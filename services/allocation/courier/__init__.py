"""Client for the couriers' electronic waybill service (Cainiao style): pure request builders and
response parsers in ``protocol``, the thin httpx transport in ``client``."""
