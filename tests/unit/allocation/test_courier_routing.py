"""Courier routing wire format: the TMS_WAYBILL_ROUTE body, and its answer read into label text that holds
nothing a printer could take for a command."""

from __future__ import annotations

import json

import pytest

from services.allocation.courier import protocol, routing
from services.allocation.courier.protocol import CourierError
from services.allocation.courier.routing import Destination, RouteRefusal, Routing

RECORDED_ROUTE = (
    '{"success":true,"waybill_route_cols":[{"waybill_code":"78345678901234","success":true,"routingInfo":'
    '{"routeCode":"571-B80 21","sortation":{"name":"杭州余杭"},"consolidation":{"name":"杭州包","code":"571893"}}},'
    '{"waybill_code":"78345678901235","success":false,"errorCode":"waybill.already-collected","errorMsg":"x"}]}'
).encode()


def test_the_body_names_each_waybill_and_its_place_only() -> None:
    body = routing.route_body("ZTO", "s-1", [Destination("78345678901234", "浙江省", "杭州市", "余杭区", "文一西路")])
    assert body == {
        "cp_code": "ZTO",
        "seller_id": "s-1",
        "waybills": [
            {
                "waybill_code": "78345678901234",
                "address": {"province": "浙江省", "city": "杭州市", "district": "余杭区", "detail": "文一西路"},
            }
        ],
    }
    with pytest.raises(ValueError, match=r"1\.\.100"):
        routing.route_body("ZTO", "s-1", [Destination(str(i), "p", "c") for i in range(101)])
    json.dumps(body, ensure_ascii=False)


def test_parses_a_recorded_answer() -> None:
    asked = ["78345678901234", "78345678901235", "78345678901236"]
    found = routing.parse_routes(protocol.parse_envelope(200, RECORDED_ROUTE), asked)
    assert found == {
        "78345678901234": Routing("571-B80 21", "杭州包"),
        "78345678901235": RouteRefusal("waybill.already-collected", "x"),
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("571-A12 03", "571-A12 03"),
        ("721-A010-J9 47", "721-A010-J9 47"),
        ("金华362", "金华362"),
        ("杭州(萧山)", "杭州(萧山)"),
        ("  ５７１－Ａ１２　０３ ", "571-A12 03"),  # full-width, as NFKC reads it
        ("571\n\tA12", "571 A12"),
        ("^XA571", None),
        ("~JA", None),
        ("571\x00", None),
        ("571\u200b", None),  # zero-width space
        ("<b>571</b>", None),
        ("571;DROP", None),
        ("", None),
        ("   ", None),
        ("5" * 32, "5" * 32),
        ("5" * 33, None),
        (571, None),
        (None, None),
    ],
)
def test_label_text_is_kept_only_when_plainly_printable(value: object, expected: str | None) -> None:
    assert routing.clean(value, routing.SORT_CODE_MAX) == expected


def test_a_refusals_words_keep_what_is_printable() -> None:
    assert routing.clean("no ^XA such\x00 waybill", 200, strict=False) == "no XA such waybill"


def test_the_sortation_name_stands_in_for_a_missing_route_code() -> None:
    assert routing.parse_routing({"sortation": {"name": "北京顺义"}}) == Routing("北京顺义", None)
    assert routing.parse_routing({"routeCode": "^FS", "sortation": "北京顺义"}) == Routing("北京顺义", None)
    assert routing.parse_routing(None) == Routing(None, None)


def test_an_answer_without_its_list_is_a_broken_courier_worth_asking_again() -> None:
    with pytest.raises(CourierError) as caught:
        routing.parse_routes({"success": True, "waybill_route_cols": {"a": 1}}, ["1"])
    assert (caught.value.code, caught.value.retryable) == ("bad_response", True)
