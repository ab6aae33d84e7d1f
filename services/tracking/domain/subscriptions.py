"""The rules of following a parcel: which request may have an existing subscription, and where the
provider's answer to a subscribe leaves it."""

from __future__ import annotations

from typing import Protocol

from services.tracking.domain.states import ProviderState
from services.tracking.kuaidi100.protocol import SubscribeOutcome


class Holder(Protocol):
    """Whose shipment a (carrier, number) is followed for (a subscription row)."""

    @property
    def shop_id(self) -> str: ...

    @property
    def order_id(self) -> str: ...


def conflict_reason(existing: Holder | None, shop_id: str, order_id: str, label: str) -> str | None:
    """Why a request for ``label`` (carrier and number) cannot have the existing subscription; None when it
    is the same shipment's. A conflict rule, not an ownership read: a (carrier, number) is followed once,
    for one order of one shop, and another order asking for it is refused, whichever shop asks."""
    if existing is None:  # deleted between the two statements; cannot happen today
        return "subscription vanished; retry"
    if existing.shop_id != shop_id or existing.order_id != order_id:
        return f"{label} is already tracked for another order"
    return None


def state_after_answer(outcome: SubscribeOutcome, final: bool) -> ProviderState:
    """A pending subscription's state after the provider's answer (``final``: no try is left after this one):
    subscribed; refused when our data is wrong, or the carrier still refuses at the last try; failed when the
    last try failed otherwise; else still pending, to be tried again."""
    if outcome == SubscribeOutcome.SUBSCRIBED:
        return ProviderState.SUBSCRIBED
    if outcome == SubscribeOutcome.REJECTED or (final and outcome == SubscribeOutcome.REFUSED):
        return ProviderState.REFUSED
    if final:
        return ProviderState.FAILED
    return ProviderState.PENDING


def worth_retrying(state: ProviderState, outcome: SubscribeOutcome) -> bool:
    """Another try of the subscribe job: still pending after a temporary answer (701, 500, network)."""
    return state == ProviderState.PENDING and outcome in (SubscribeOutcome.RETRY, SubscribeOutcome.REFUSED)
