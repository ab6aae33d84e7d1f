"""Client for the tracking provider (Kuaidi100 style): pure request builders and parsers in ``protocol``,
the thin httpx transport in ``client``."""
