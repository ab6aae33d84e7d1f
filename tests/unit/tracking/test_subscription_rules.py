"""The subscription rules: who may have an existing subscription, and the provider state after an answer."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from services.tracking.domain.states import ProviderState
from services.tracking.domain.subscriptions import conflict_reason, state_after_answer, worth_retrying
from services.tracking.kuaidi100.protocol import SubscribeOutcome


@dataclass(frozen=True)
class _Row:
    shop_id: str
    order_id: str


def test_the_same_shipment_may_have_its_subscription() -> None:
    assert conflict_reason(_Row("shop-a", "o-1"), "shop-a", "o-1", "ZTO 78") is None


@pytest.mark.parametrize(("shop_id", "order_id"), [("shop-b", "o-1"), ("shop-a", "o-2"), ("shop-b", "o-2")])
def test_another_order_or_shop_conflicts(shop_id: str, order_id: str) -> None:
    assert conflict_reason(_Row("shop-a", "o-1"), shop_id, order_id, "ZTO 78") == (
        "ZTO 78 is already tracked for another order"
    )


def test_a_vanished_subscription_asks_for_a_retry() -> None:
    assert conflict_reason(None, "shop-a", "o-1", "ZTO 78") == "subscription vanished; retry"


ANSWERS = [
    (SubscribeOutcome.SUBSCRIBED, False, ProviderState.SUBSCRIBED),
    (SubscribeOutcome.SUBSCRIBED, True, ProviderState.SUBSCRIBED),
    (SubscribeOutcome.REJECTED, False, ProviderState.REFUSED),
    (SubscribeOutcome.REFUSED, False, ProviderState.PENDING),
    (SubscribeOutcome.REFUSED, True, ProviderState.REFUSED),
    (SubscribeOutcome.RETRY, False, ProviderState.PENDING),
    (SubscribeOutcome.RETRY, True, ProviderState.FAILED),
]


@pytest.mark.parametrize(("outcome", "final", "state"), ANSWERS)
def test_the_state_after_the_providers_answer(outcome: SubscribeOutcome, final: bool, state: ProviderState) -> None:
    assert state_after_answer(outcome, final) is state


def test_only_a_pending_subscription_after_a_temporary_answer_is_tried_again() -> None:
    assert worth_retrying(ProviderState.PENDING, SubscribeOutcome.RETRY)
    assert worth_retrying(ProviderState.PENDING, SubscribeOutcome.REFUSED)
    assert not worth_retrying(ProviderState.PENDING, SubscribeOutcome.SUBSCRIBED)
    assert not worth_retrying(ProviderState.FAILED, SubscribeOutcome.RETRY)
