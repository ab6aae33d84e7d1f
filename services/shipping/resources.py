"""What shipping's processes share (its API and its worker build the same object)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends

from runtime import egress
from runtime.apis.allocation import AllocationApi, HttpAllocationApi
from runtime.apis.tracking import HttpTrackingApi, TrackingApi
from runtime.app import resources_dependency
from runtime.resources import Resources
from services.shipping.channels.base import ChannelName
from services.shipping.channels.pinduoduo.channel import PinduoduoChannel
from services.shipping.channels.pinduoduo.client import PinduoduoClient
from services.shipping.channels.registry import Channels
from services.shipping.channels.taobao.channel import TaobaoChannel
from services.shipping.channels.taobao.client import MarketplaceClient
from services.shipping.http import sharded_client
from services.shipping.settings import ShippingSettings


@dataclass(kw_only=True)
class ShippingResources(Resources):
    settings: ShippingSettings
    allocation: AllocationApi
    tracking: TrackingApi
    channels: Channels
    # Shops' webhook URLs go through runtime.egress's client only: no proxy, no redirects, no pooled
    # connections (see runtime.egress.make_client).
    egress: httpx.AsyncClient
    # The sharded pools under the marketplace and service clients (services.shipping.http), closed here.
    pools: tuple[httpx.AsyncClient, ...]

    async def aclose(self) -> None:
        await self.egress.aclose()
        for http in self.pools:
            await http.aclose()
        await super().aclose()


async def open_resources(core: Resources) -> ShippingResources:
    s = core.settings
    assert isinstance(s, ShippingSettings)
    # Each over its own sharded pools: a batch runs batch_concurrency calls at once to each.
    market_http = sharded_client(s.batch_concurrency * 2, s.marketplace_timeout_s)
    service_http = sharded_client(s.batch_concurrency * 2, s.service_timeout_s)
    return ShippingResources.extend(
        core,
        allocation=HttpAllocationApi(
            core.internal_client("allocation", s.allocation_url, s.service_timeout_s, http=service_http)
        ),
        tracking=HttpTrackingApi(
            core.internal_client("tracking", s.tracking_url, s.service_timeout_s, http=service_http)
        ),
        channels=open_channels(s, market_http),
        egress=egress.make_client(timeout=s.webhook_timeout_s),
        pools=(market_http, service_http),
    )


def open_channels(s: ShippingSettings, http: httpx.AsyncClient) -> Channels:
    taobao = MarketplaceClient(
        http,
        s.marketplace_url,
        s.marketplace_app_key,
        s.marketplace_app_secret.get_secret_value(),
        s.marketplace_sign_method,
        s.marketplace_timeout_s,
    )
    pinduoduo = PinduoduoClient(
        http,
        s.pinduoduo_url,
        s.pinduoduo_client_id,
        s.pinduoduo_client_secret.get_secret_value(),
        s.marketplace_timeout_s,
    )
    secret = s.marketplace_app_secret.get_secret_value()
    return Channels(
        {
            ChannelName.TAOBAO: TaobaoChannel(taobao, s.marketplace_app_key, secret, s.message_window_s),
            ChannelName.PINDUODUO: PinduoduoChannel(pinduoduo, s.pinduoduo_message_window_s),
        }
    )


ShippingResourcesDep = Annotated[ShippingResources, Depends(resources_dependency(ShippingResources))]
