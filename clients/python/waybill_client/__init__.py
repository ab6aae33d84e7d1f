"""A typed client of the waybill API (allocation, shipping, tracking), sync and async.

``WaybillClient("wbk_...", base_url="https://waybill.example.com")``: see README.md.
"""

from waybill_client import models
from waybill_client._endpoints import PageLike
from waybill_client._spec import Service
from waybill_client._transport import Retries
from waybill_client._version import __version__
from waybill_client.client import AsyncWaybillClient, WaybillClient
from waybill_client.errors import (
    AuthError,
    Conflict,
    NetworkError,
    NotFound,
    RateLimited,
    ServerError,
    ValidationError,
    WaybillError,
)

__all__ = [
    "AsyncWaybillClient",
    "AuthError",
    "Conflict",
    "NetworkError",
    "NotFound",
    "PageLike",
    "RateLimited",
    "Retries",
    "ServerError",
    "Service",
    "ValidationError",
    "WaybillClient",
    "WaybillError",
    "__version__",
    "models",
]
