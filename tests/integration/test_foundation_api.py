"""The runtime plumbing seen through a real service: auth, error shape, health, request ids."""

from __future__ import annotations

import httpx

from tests.integration.conftest import ShopCreds
from tests.support import INTERNAL_KEY, bearer


async def test_shop_key_cannot_read_another_shop(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, other_shop: ShopCreds
) -> None:
    own = await allocation_client.get(f"/v1/shops/{shop.id}", headers=shop.headers)
    assert own.status_code == 200
    assert own.json()["id"] == shop.id

    theirs = await allocation_client.get(f"/v1/shops/{other_shop.id}", headers=shop.headers)
    assert theirs.status_code == 404
    body = theirs.json()
    assert body["error"]["code"] == "not_found"
    assert other_shop.id not in theirs.text.replace(f"shop {other_shop.id} not found", "")


async def test_missing_and_wrong_keys_are_401_in_the_error_shape(
    allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    missing = await allocation_client.get(f"/v1/shops/{shop.id}")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized"

    tampered = shop.key[:-4] + "0000"
    wrong = await allocation_client.get(f"/v1/shops/{shop.id}", headers=bearer(tampered))
    assert wrong.status_code == 401
    assert set(wrong.json()["error"]) == {"code", "message", "details", "request_id"}
    for resp in (missing, wrong):
        # The scheme that would succeed (RFC 9110), and the request id to quote.
        assert resp.headers["www-authenticate"] == 'Bearer realm="waybill"'
        assert resp.json()["error"]["request_id"] == resp.headers["x-request-id"]


async def test_shop_key_cannot_use_admin_endpoints(allocation_client: httpx.AsyncClient, shop: ShopCreds) -> None:
    resp = await allocation_client.post("/v1/shops", json={"name": "x"}, headers=shop.headers)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"


async def test_invalid_body_is_422_naming_the_field(
    allocation_client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    resp = await allocation_client.post("/v1/shops", json={"name": ""}, headers=admin)
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["code"] == "validation_error"
    assert "name" in error["message"]
    assert error["details"]["fields"][0]["field"] == "name"

    malformed = await allocation_client.post(
        "/v1/shops", content=b"{not json", headers={**admin, "content-type": "application/json"}
    )
    assert malformed.status_code == 422
    assert malformed.json()["error"]["code"] == "validation_error"


async def test_revoked_key_stops_working(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    created = await allocation_client.post(f"/v1/shops/{shop.id}/keys", json={"label": "ci"}, headers=admin)
    assert created.status_code == 201
    key = created.json()
    assert (await allocation_client.get(f"/v1/shops/{shop.id}", headers=bearer(key["api_key"]))).status_code == 200
    revoked = await allocation_client.delete(f"/v1/shops/{shop.id}/keys/{key['key_id']}", headers=admin)
    assert revoked.status_code == 204
    after = await allocation_client.get(f"/v1/shops/{shop.id}", headers=bearer(key["api_key"]))
    assert after.status_code == 401


async def test_internal_key_introspects_shop_keys(allocation_client: httpx.AsyncClient, shop: ShopCreds) -> None:
    from runtime.auth import hash_secret, parse_key

    parsed = parse_key(shop.key)
    assert parsed is not None
    body = {"key_id": parsed[0], "secret_hash": hash_secret(parsed[1])}
    ok = await allocation_client.post("/internal/v1/keys/introspect", json=body, headers=bearer(INTERNAL_KEY))
    assert ok.status_code == 200
    assert ok.json() == {"shop_id": shop.id}
    # A shop may not use the services' endpoint, even for its own key.
    denied = await allocation_client.post("/internal/v1/keys/introspect", json=body, headers=shop.headers)
    assert denied.status_code == 403


async def test_health_ready_and_request_id(allocation_client: httpx.AsyncClient) -> None:
    assert (await allocation_client.get("/healthz")).json() == {"status": "ok"}
    ready = await allocation_client.get("/readyz", headers={"X-Request-ID": "req-abc"})
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}
    assert ready.headers["x-request-id"] == "req-abc"
    fresh = await allocation_client.get("/healthz")
    assert len(fresh.headers["x-request-id"]) == 32


async def test_unknown_route_and_body_limit_use_the_error_shape(
    allocation_client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    missing = await allocation_client.get("/v1/nowhere")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    huge = await allocation_client.post("/v1/shops", content=b"x" * 3_000_000, headers=admin)
    assert huge.status_code == 413
    assert huge.json()["error"]["code"] == "payload_too_large"


async def test_metrics_count_requests_by_route_template(allocation_client: httpx.AsyncClient) -> None:
    await allocation_client.get("/v1/shops/s-unknown")
    text = (await allocation_client.get("/metrics")).text
    assert 'route="/v1/shops/{shop_id}"' in text


async def test_admin_lists_shops_a_page_at_a_time_and_shops_may_not(
    allocation_client: httpx.AsyncClient, admin: dict[str, str], shop: ShopCreds, other_shop: ShopCreds
) -> None:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await allocation_client.get("/v1/shops", params=params, headers=admin)
        assert page.status_code == 200
        body = page.json()
        ids = [s["id"] for s in body["data"]]
        assert len(ids) <= 2
        seen += ids
        assert body["has_more"] is (body["next_cursor"] is not None)
        if not body["has_more"]:
            break
        cursor = body["next_cursor"]
    assert {shop.id, other_shop.id} <= set(seen)
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen))

    refused = await allocation_client.get("/v1/shops", headers=shop.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
