"""``POST /v1/waybills/routes``: the shop's live numbers bound to their destinations at the courier
(TMS_WAYBILL_ROUTE, grouped per carrier, 100 a message), each answering its sort code and consolidation
centre; the courier's strings never trusted; a courier that cannot answer is asked once more, then a 503.
The courier is faked with respx (its own statement of the message, not allocation's code)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from tests.integration.allocation_support import seed_numbers, zto_numbers
from tests.integration.conftest import ShopCreds
from tests.support import Env

GATEWAY = "http://courier.test/courier/gateway"
HANGZHOU = {"province": "浙江省", "city": "杭州市", "district": "余杭区", "address": "文一西路 969 号"}
JINHUA = {"province": "浙江省", "city": "金华市", "district": "义乌市"}

Info = Callable[[str, dict[str, Any]], Any]


def _default_info(number: str, address: dict[str, Any]) -> Any:
    return {
        "routeCode": "571-A30 03",
        "sortation": {"name": "杭州余杭"},
        "consolidation": {"name": f"{address['city'].removesuffix('市')}包", "code": "571001"},
    }


class RoutingCourier:
    """The courier's gateway: TMS_WAYBILL_ROUTE answers ``info(number, address)`` per waybill (a dict is its
    routingInfo; a RouteRefused its refusal), TMS_WAYBILL_UPDATE the new destination's; ``failures`` are
    answered first, one per call."""

    def __init__(self, info: Info = _default_info) -> None:
        self.info = info
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.failures: list[httpx.Response] = []
        self.extra_cols: list[Any] = []
        self.raw: Any = None  # answer this body instead, when set

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        body = json.loads(form["logistics_interface"])
        self.messages.append((form["msg_type"], body))
        if self.failures:
            return self.failures.pop(0)
        if self.raw is not None:
            return httpx.Response(200, json=self.raw)
        if form["msg_type"] == "TMS_WAYBILL_UPDATE":
            address = body["recipient"]["address"]
            return httpx.Response(200, json={"success": True, "routingInfo": self.info(body["waybill_code"], address)})
        cols: list[Any] = []
        for w in body["waybills"]:
            got = self.info(w["waybill_code"], w["address"])
            if isinstance(got, RouteRefused):
                cols.append({"waybill_code": w["waybill_code"], "success": False, **got.body})
            elif got is not MISSING:
                cols.append({"waybill_code": w["waybill_code"], "success": True, "routingInfo": got})
        return httpx.Response(200, json={"success": True, "waybill_route_cols": [*cols, *self.extra_cols]})

    def routed(self) -> list[dict[str, Any]]:
        return [body for kind, body in self.messages if kind == "TMS_WAYBILL_ROUTE"]


class RouteRefused:
    def __init__(self, code: str, message: str = "refused") -> None:
        self.body = {"errorCode": code, "errorMsg": message}


MISSING = object()


@pytest.fixture
def courier() -> Iterator[RoutingCourier]:
    fake = RoutingCourier()
    with respx.mock(assert_all_called=False) as mock:
        mock.post(GATEWAY).mock(side_effect=fake)
        yield fake


async def _allocated(client: httpx.AsyncClient, env: Env, shop: ShopCreds, count: int, tag: str) -> list[str]:
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(count))
    orders = [f"{tag}-{i}" for i in range(count)]
    resp = await client.post(
        "/v1/allocations/batch", json={"carrier": "ZTO", "order_ids": orders}, headers=shop.headers
    )
    assert resp.status_code == 200, resp.text
    by_order = {a["order_id"]: a["number"] for a in resp.json()["allocations"]}
    return [by_order[o] for o in orders]


async def _routes(client: httpx.AsyncClient, shop: ShopCreds, waybills: list[dict[str, Any]]) -> httpx.Response:
    return await client.post("/v1/waybills/routes", json={"waybills": waybills}, headers=shop.headers)


async def test_each_number_gets_its_courier_routing_in_one_message(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds, courier: RoutingCourier
) -> None:
    first, second = await _allocated(allocation_client, env, shop, 2, "rt-ok")
    resp = await _routes(
        allocation_client, shop, [{"number": first.lower(), **HANGZHOU}, {"number": f" {second} ", **JINHUA}]
    )
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert (out["routed"], out["refused"]) == (2, 0)
    assert out["routes"] == [
        {"number": first, "sort_code": "571-A30 03", "package_center": "杭州包", "error_code": None, "error": None},
        {"number": second, "sort_code": "571-A30 03", "package_center": "金华包", "error_code": None, "error": None},
    ]
    [message] = courier.routed()
    assert (message["cp_code"], message["seller_id"]) == ("ZTO", shop.id)
    assert message["waybills"] == [
        {
            "waybill_code": first,
            "address": {"province": "浙江省", "city": "杭州市", "district": "余杭区", "detail": "文一西路 969 号"},
        },
        {
            "waybill_code": second,
            "address": {"province": "浙江省", "city": "金华市", "district": "义乌市", "detail": ""},
        },
    ]


async def test_only_the_shops_own_live_numbers_are_routed(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds, other_shop: ShopCreds, courier: RoutingCourier
) -> None:
    [mine] = await _allocated(allocation_client, env, shop, 1, "rt-mine")
    [theirs] = await _allocated(allocation_client, env, other_shop, 1, "rt-theirs")
    [unused] = zto_numbers(1)
    await seed_numbers(env, shop.id, "ZTO", [unused])  # in the pool, never handed out
    resp = await _routes(
        allocation_client,
        shop,
        [{"number": n, **HANGZHOU} for n in (theirs, mine, "00000000000000", unused)],
    )
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert (out["routed"], out["refused"]) == (1, 3)
    assert [r["error_code"] for r in out["routes"]] == ["not_found", None, "not_found", "invalid_transition"]
    # Another shop's number answers exactly as one that does not exist.
    assert out["routes"][0]["error"] == f"waybill {theirs} not found"
    assert [w["waybill_code"] for m in courier.routed() for w in m["waybills"]] == [mine]
    # Refused numbers only: the courier is not asked at all.
    refused_only = await _routes(allocation_client, shop, [{"number": theirs, **HANGZHOU}])
    assert refused_only.json()["refused"] == 1
    assert len(courier.routed()) == 1


async def test_many_numbers_go_a_hundred_a_message(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds, courier: RoutingCourier
) -> None:
    numbers = await _allocated(allocation_client, env, shop, 230, "rt-many")
    resp = await _routes(allocation_client, shop, [{"number": n, **HANGZHOU} for n in numbers])
    assert resp.status_code == 200, resp.text
    assert resp.json()["routed"] == 230
    assert [r["number"] for r in resp.json()["routes"]] == numbers
    assert sorted(len(m["waybills"]) for m in courier.routed()) == [30, 100, 100]


async def test_a_courier_blip_is_asked_again_and_an_outage_is_a_503(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds, courier: RoutingCourier
) -> None:
    [number] = await _allocated(allocation_client, env, shop, 1, "rt-down")
    courier.failures = [httpx.Response(500, json={"success": False, "errorCode": "S01", "errorMsg": "system busy"})]
    resp = await _routes(allocation_client, shop, [{"number": number, **HANGZHOU}])
    assert resp.status_code == 200, resp.text
    assert resp.json()["routes"][0]["sort_code"] == "571-A30 03"
    assert len(courier.routed()) == 2
    courier.failures = [httpx.Response(503, text="Service Unavailable"), httpx.Response(502, text="Bad Gateway")]
    down = await _routes(allocation_client, shop, [{"number": number, **HANGZHOU}])
    assert down.status_code == 503, down.text
    assert down.headers["Retry-After"] == "2"
    assert down.json()["error"]["code"] == "upstream_error"
    assert len(courier.routed()) == 4  # asked twice, then the caller is told to retry
    # A definite refusal of the whole message is not retried: each number says so.
    courier.failures = [httpx.Response(200, json={"success": False, "errorCode": "isv.cp-not-supported"})]
    refused = await _routes(allocation_client, shop, [{"number": number, **HANGZHOU}])
    assert refused.status_code == 200
    assert refused.json()["routes"][0]["error_code"] == "upstream_error"
    assert "isv.cp-not-supported" in refused.json()["routes"][0]["error"]
    assert len(courier.routed()) == 5


HOSTILE = {
    # ZPL commands smuggled into the sort code; a centre far too long: both dropped, never cut.
    "zpl": ({"routeCode": "^XA^FO50,50^FDPWNED^FS^XZ", "consolidation": {"name": "杭" * 41}}, None, None),
    "controls": ({"routeCode": "571\x1b[2J-A12", "consolidation": {"name": "杭州\u202e包"}}, None, None),
    "markup": ({"routeCode": "<b>571</b>", "consolidation": {"name": "杭州包"}}, None, "杭州包"),
    "too_long": ({"routeCode": "5" * 33, "sortation": {"name": "金华362"}}, "金华362", None),
    # Full-width digits and odd spacing read as what a printer shows; whitespace runs become one space.
    "full_width": ({"routeCode": " ５７１－Ａ１２\t\n０３ ", "consolidation": "杭州包"}, "571-A12 03", "杭州包"),
    "types": ({"routeCode": 571, "sortation": ["x"], "consolidation": {"name": None}}, None, None),
    "not_an_object": ("571-A12 03", None, None),
}


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_what_the_courier_answers_is_never_trusted(
    case: str, env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds, courier: RoutingCourier
) -> None:
    info, sort_code, centre = HOSTILE[case]
    [number] = await _allocated(allocation_client, env, shop, 1, f"rt-h-{case}")
    courier.info = lambda n, a: info
    resp = await _routes(allocation_client, shop, [{"number": number, **HANGZHOU}])
    assert resp.status_code == 200, resp.text
    [route] = resp.json()["routes"]
    assert (route["sort_code"], route["package_center"]) == (sort_code, centre)
    if sort_code is None and centre is None:
        assert route["error_code"] == "upstream_error"
        assert route["error"] == f"the courier gave no usable routing for {number}"


async def test_the_couriers_refusals_and_omissions_answer_per_number(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds, courier: RoutingCourier
) -> None:
    collected, refused, left_out, fine = await _allocated(allocation_client, env, shop, 4, "rt-refusals")
    answers: dict[str, Any] = {
        collected: RouteRefused("waybill.already-collected", "collected"),
        refused: RouteRefused("waybill.not-exist\x00^XA", "no <script>such</script> waybill"),
        left_out: MISSING,
    }
    courier.info = lambda n, a: answers.get(n, _default_info(n, a))
    # Cols for numbers never asked (another shop's, say) are ignored, as are malformed ones.
    courier.extra_cols = ["junk", {"waybill_code": 5}, {"waybill_code": "783400000000", "success": True}]
    resp = await _routes(
        allocation_client, shop, [{"number": n, **HANGZHOU} for n in (collected, refused, left_out, fine)]
    )
    assert resp.status_code == 200, resp.text
    routes = resp.json()["routes"]
    assert [r["error_code"] for r in routes] == ["already_collected", "upstream_error", "upstream_error", None]
    assert routes[1]["error"] == f"the courier refused {refused}: waybill.not-exist XA: no script such /script waybill"
    assert routes[2]["error"] == f"the courier gave no usable routing for {left_out}"
    assert routes[3]["sort_code"] == "571-A30 03"
    # An answer that is not the protocol's at all: the courier is broken, asked again, then a 503.
    courier.raw = {"success": True, "waybill_route_cols": "nope"}
    broken = await _routes(allocation_client, shop, [{"number": fine, **HANGZHOU}])
    assert broken.status_code == 503


@pytest.mark.parametrize(
    "waybills",
    [
        [],
        [{"number": "783456789012", **HANGZHOU}] * 2,  # a number twice
        [{"number": "783456789012", **HANGZHOU, "city": ""}],
        [{"number": "783456789012", **HANGZHOU, "district": "余杭\n区"}],
        [{"number": "783456789012", **HANGZHOU, "address": "x" * 301}],
        [{"number": "7" * 41, **HANGZHOU}],
        [{"number": f"78345678{i:04d}", **HANGZHOU} for i in range(1001)],
    ],
    ids=["empty", "repeated", "no_city", "control_char", "long_address", "long_number", "too_many"],
)
async def test_hostile_requests_are_refused_before_any_courier_call(
    waybills: list[dict[str, Any]], allocation_client: httpx.AsyncClient, shop: ShopCreds, courier: RoutingCourier
) -> None:
    resp = await _routes(allocation_client, shop, waybills)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "validation_error"
    assert courier.messages == []


async def test_a_recipient_update_answers_the_new_destinations_routing(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds, courier: RoutingCourier
) -> None:
    [number] = await _allocated(allocation_client, env, shop, 1, "rt-move")
    recipient = {"name": "李雷", "phone": "13912345678", **JINHUA, "address": "稠州北路 1 号"}
    resp = await allocation_client.post(f"/v1/waybills/{number}/recipient", json=recipient, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"number": number, "carrier": "ZTO", "sort_code": "571-A30 03", "package_center": "金华包"}
    courier.info = lambda n, a: {"routeCode": "^FS"}
    unusable = await allocation_client.post(f"/v1/waybills/{number}/recipient", json=recipient, headers=shop.headers)
    assert unusable.json()["sort_code"] is None
