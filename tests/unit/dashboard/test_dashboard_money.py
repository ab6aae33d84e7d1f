"""资金与到期 and the purchases page's money: the ledger with each entry's why, the expiry settings and events, a
refund of a count, the shop's own price of a package; operators set and revoke a shop's negotiated prices.
In both languages; every form with this session's CSRF token."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.unit.dashboard.conftest import Services
from tests.unit.dashboard.dashboard_app import csrf_of
from tests.unit.dashboard.dashboard_fakes import ALLOC, SHOP, carrier, error, list_page, purchase

BASE = f"/shops/{SHOP}"
FORMS = [
    (f"{BASE}/money/expiry", {"on_expiry": "extend"}),
    (f"{BASE}/money/prices", {"package_id": "ZTO-1000", "price_yuan": "240"}),
    (f"{BASE}/money/prices/12/revoke", {}),
]
EXPIRY = {"expiring_notice_days": 7, "on_expiry": "extend", "auto_extend_days": 30, "action_lead_hours": 24}


def _entry(i: int, kind: str, amount: int, note: str) -> dict[str, Any]:
    return {
        "id": i,
        "amount_cents": amount,
        "balance_after_cents": 123456,
        "kind": kind,
        "reference": "p-1",
        "note": note,
        "reason": "",
        "created_at": "2026-11-28T04:00:00+00:00",
    }


def _event(i: int, kind: str) -> dict[str, Any]:
    return {
        "id": i,
        "carrier": "ZTO",
        "kind": kind,
        "available": 412,
        "threshold": 100,
        "purchase_id": "p-1",
        "number": None,
        "order_id": None,
        "expires_at": "2027-02-26T01:30:00+00:00",
        "numbers": 312,
        "details": {},
        "created_at": "2027-02-19T01:30:00+00:00",
    }


def _price(**changes: Any) -> dict[str, Any]:
    return {
        "id": 12,
        "shop_id": SHOP,
        "package_id": "ZTO-1000",
        "carrier": "ZTO",
        "price_cents": 24000,
        "catalogue_price_cents": 30000,
        "valid_from": "2026-11-28T04:00:00+00:00",
        "valid_to": None,
        "note": "2027 合同",
        "created_at": "2026-11-28T04:00:00+00:00",
        "revoked_at": None,
        "in_force": True,
        **changes,
    }


@pytest.fixture
def money(services: Services) -> Services:
    ledger = [
        _entry(2, "auto_extension", -1000, "automatic extension before expiry (on_expiry extend): +30 days"),
        _entry(1, "purchase", -24000, "bought package ZTO-1000: 1000 numbers at the shop's negotiated price #12"),
    ]
    services.get(f"{ALLOC}/v1/balance").respond(
        json={"shop_id": SHOP, "balance_cents": 123456, "ledger_total_cents": 123456, "ledger": ledger}
    )
    services.get(f"{ALLOC}/v1/expiry-settings").respond(json=EXPIRY)
    services.get(f"{ALLOC}/v1/pools/events").respond(
        json=list_page([_event(9, "auto_extended"), _event(8, "low_stock"), _event(7, "expiring")])
    )
    services.get(f"{ALLOC}/v1/shops/{SHOP}/prices").respond(
        json=list_page([_price(), _price(id=11, revoked_at="2026-11-28T05:00:00+00:00", in_force=False)])
    )
    return services


async def test_the_money_page_shows_each_entry_with_why_and_the_expiry(
    shop: httpx.AsyncClient, money: Services
) -> None:
    page = await shop.get(f"{BASE}/money")
    assert page.status_code == 200, page.text[:500]
    assert "到期前自动延期费用" in page.text
    assert "at the shop&#39;s negotiated price #12" in page.text
    assert "¥1,234.56" in page.text
    assert 'value="extend" checked' in page.text
    assert "已自动延期" in page.text
    assert "单号即将过期" in page.text
    assert 'data-kind="low_stock"' not in page.text  # the feed's other kinds are not expiry events
    # A shop sees no negotiated prices' section, nor asks for them (an admin call).
    assert 'data-testid="prices"' not in page.text
    assert not [c for c in money.calls("GET") if c.url.path.endswith("/prices")]
    english = await shop.get(f"{BASE}/money", params={"lang": "en"})
    assert "automatic extension before expiry" in english.text
    assert "numbers about to expire" in english.text
    assert "extend them (for the package&#39;s fee)" in english.text


async def test_save_the_expiry_settings(shop: httpx.AsyncClient, money: Services) -> None:
    put = money.put(f"{ALLOC}/v1/expiry-settings").respond(json=EXPIRY)
    csrf = csrf_of(await shop.get(f"{BASE}/money"))
    saved = await shop.post(
        f"{BASE}/money/expiry",
        data={"csrf_token": csrf, "expiring_notice_days": "3", "on_expiry": "refund", "auto_extend_days": ""},
    )
    assert saved.headers["location"] == f"{BASE}/money?notice=expiry_saved#expiry"
    assert json.loads(put.calls[0].request.content) == {"expiring_notice_days": 3, "on_expiry": "refund"}
    for bad in ({"on_expiry": "burn"}, {"expiring_notice_days": "91"}, {"auto_extend_days": "many"}):
        refused = await shop.post(f"{BASE}/money/expiry", data={"csrf_token": csrf, **bad})
        assert "error=validation_error" in refused.headers["location"], bad
    assert put.call_count == 1


async def test_an_operator_sets_and_revokes_a_shops_negotiated_price(
    operator: httpx.AsyncClient, money: Services
) -> None:
    added = money.post(f"{ALLOC}/v1/shops/{SHOP}/prices").respond(201, json=_price())
    revoked = money.delete(f"{ALLOC}/v1/shops/{SHOP}/prices/12").respond(
        json=_price(revoked_at="2026-11-29T00:00:00+00:00")
    )
    page = await operator.get(f"{BASE}/money")
    assert 'data-testid="prices"' in page.text
    assert "¥240.00" in page.text
    assert "生效中" in page.text
    assert "已撤销" in page.text
    assert page.text.count('data-testid="revoke-price"') == 1  # the revoked one offers none
    csrf = csrf_of(page)
    set_ = await operator.post(
        f"{BASE}/money/prices",
        data={
            "csrf_token": csrf,
            "package_id": "ZTO-1000",
            "price_yuan": "2,400.5",
            "valid_from": "2027-01-01T00:00",
            "valid_to": "",
            "note": " H1 ",
        },
    )
    assert set_.headers["location"] == f"{BASE}/money?notice=price_added#prices"
    sent = json.loads(added.calls[0].request.content)
    assert sent == {
        "package_id": "ZTO-1000",
        "price_cents": 240050,
        "valid_from": "2027-01-01T00:00:00+08:00",  # typed in the shop's zone
        "note": "H1",
    }
    assert added.calls[0].request.headers["x-shop-id"] == SHOP
    gone = await operator.post(f"{BASE}/money/prices/12/revoke", data={"csrf_token": csrf})
    assert gone.headers["location"] == f"{BASE}/money?notice=price_revoked#prices"
    assert revoked.called
    for bad in ({"price_yuan": "lots"}, {"price_yuan": "1.001"}, {"price_yuan": "5", "valid_from": "soon"}):
        refused = await operator.post(
            f"{BASE}/money/prices", data={"csrf_token": csrf, "package_id": "ZTO-1000", **bad}
        )
        assert "error=validation_error" in refused.headers["location"], bad
    assert added.call_count == 1


async def test_an_overlapping_price_is_said_in_chinese(operator: httpx.AsyncClient, money: Services) -> None:
    money.post(f"{ALLOC}/v1/shops/{SHOP}/prices").mock(return_value=error(409, "price_overlap", "revoke 11 first"))
    csrf = csrf_of(await operator.get(f"{BASE}/money"))
    refused = await operator.post(
        f"{BASE}/money/prices",
        data={"csrf_token": csrf, "package_id": "ZTO-1000", "price_yuan": "240"},
        follow_redirects=True,
    )
    assert "该店铺此套餐在这段时间已有协议价" in refused.text
    assert 'data-testid="error-code">price_overlap<' in refused.text


async def test_the_purchases_page_shows_the_shops_price_and_refunds_a_count(
    shop: httpx.AsyncClient, services: Services
) -> None:
    zto = carrier("ZTO", "中通快递", ["ZTO-1000"])
    zto["packages"][0]["shop_price"] = {"price_cents": 24000, "price_source": "negotiated", "price_id": 12}
    services.get(f"{ALLOC}/v1/carriers").respond(json=list_page([zto]))
    services.get(f"{ALLOC}/v1/purchases").respond(json=list_page([{**purchase("p-1"), "price_source": "negotiated"}]))
    refund = services.post(f"{ALLOC}/v1/purchases/p-1/refund").respond(
        json={"purchase_id": "p-1", "refunded_quantity": 3, "refunded_cents": 90, "balance_cents": 10}
    )
    page = await shop.get(f"{BASE}/purchases")
    assert "协议价 ¥240.00（目录价 ¥300.00）" in page.text
    assert 'data-testid="negotiated"' in page.text
    assert 'data-testid="refund-count"' in page.text
    csrf = csrf_of(page)
    key = "f" * 36 + "-1"
    partial = await shop.post(
        f"{BASE}/purchases/p-1/refund", data={"csrf_token": csrf, "count": "3", "idempotency_key": key}
    )
    assert partial.headers["location"] == f"{BASE}/purchases?notice=refunded_count"
    assert json.loads(refund.calls[0].request.content) == {"count": 3}
    assert refund.calls[0].request.headers["idempotency-key"] == key
    for bad in ("0", "three"):
        refused = await shop.post(f"{BASE}/purchases/p-1/refund", data={"csrf_token": csrf, "count": bad})
        assert "error=validation_error" in refused.headers["location"], bad
    assert refund.call_count == 1


@pytest.mark.parametrize(("path", "fields"), FORMS, ids=[p.removeprefix(BASE) for p, _ in FORMS])
async def test_a_money_form_without_this_sessions_csrf_token_is_refused_before_any_call(
    operator: httpx.AsyncClient, money: Services, path: str, fields: dict[str, object]
) -> None:
    for wrong in ("", "another-sessions-token"):
        resp = await operator.post(path, data={**fields, "csrf_token": wrong})
        assert resp.status_code == 403
    assert [c for c in money.router.calls if c.request.method in ("POST", "PUT", "DELETE")] == []


def test_every_ledger_kind_expiry_event_and_on_expiry_reads_in_both_languages() -> None:
    import re

    from services.allocation.kinds import EXPIRY_EVENTS, LedgerKind, OnExpiry
    from services.dashboard import catalogue, catalogue_money

    han = re.compile(r"[\u4e00-\u9fff]")
    for table, values in (
        (catalogue_money.LEDGER_KINDS, {k.value for k in LedgerKind}),
        (catalogue_money.EXPIRY_EVENTS, {k.value for k in EXPIRY_EVENTS}),
        (catalogue_money.ON_EXPIRY, {k.value for k in OnExpiry}),
        (catalogue_money.PRICE_SOURCES, {"negotiated", "catalogue"}),
    ):
        assert set(table) == values
        for text in table.values():
            assert han.search(text["zh"])
            assert not han.search(text["en"])
    assert catalogue_money.ledger_text("a_later_kind", "zh") == "a_later_kind"
    for notice in catalogue_money.NOTICES:
        assert catalogue.notice_text(notice, "zh") == catalogue_money.NOTICES[notice]["zh"]
