"""The marketplace (Taobao Open Platform style): pure wire format in ``protocol``, the httpx transport in
``client``."""
