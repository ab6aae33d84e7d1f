from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from pydantic import ValidationError

from shared.events import Event, new_event


def test_new_event_stamps_id_and_utc_time() -> None:
    before = datetime.now(UTC)
    event = new_event("waybill.allocated", "s-1", {"carrier": "ZTO", "number": "123456789012"})
    assert before <= event.occurred_at <= datetime.now(UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert event.type == "waybill.allocated"
    assert event.shop_id == "s-1"
    assert event.data == {"carrier": "ZTO", "number": "123456789012"}
    assert new_event("x", "s-1", {}).id != new_event("x", "s-1", {}).id


def test_json_round_trip() -> None:
    event = new_event("shipment.created", "s-2", {"n": 1})
    dumped = event.model_dump(mode="json")
    assert set(dumped) == {"id", "type", "occurred_at", "shop_id", "data"}
    assert Event.model_validate_json(event.model_dump_json()) == event


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        Event(id=uuid4(), type="x", occurred_at=datetime(2025, 1, 1), shop_id="s-1", data={})


def test_empty_type_and_shop_are_refused() -> None:
    with pytest.raises(ValidationError):
        new_event("", "s-1", {})
    with pytest.raises(ValidationError):
        new_event("x", "", {})
