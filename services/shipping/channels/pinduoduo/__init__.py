"""Pinduoduo (拼多多开放平台): pure wire format in ``protocol`` (with ``errors``, ``carriers``, ``messages``),
the httpx transport in ``client``, the ``base.Channel`` seam in ``channel``."""
