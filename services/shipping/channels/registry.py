"""The channels shipping's processes talk to, by name. The shop's own channel has no marketplace: its
orders are confirmed by telling the shop's systems (the ``shipment.confirmed`` webhook), nothing else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.shipping.channels.base import Channel, ChannelName


class UnknownChannel(LookupError):
    pass


@dataclass(frozen=True)
class Channels:
    by_name: Mapping[ChannelName, Channel]

    def marketplace(self, name: str) -> Channel:
        """The marketplace an order of channel ``name`` is confirmed on (never the own channel)."""
        try:
            return self.by_name[ChannelName(name)]
        except (ValueError, KeyError):
            raise UnknownChannel(name) from None

    @staticmethod
    def is_own(name: str) -> bool:
        return name == ChannelName.OWN
