"""The labels' settings on the settings page: the size, each carrier's own (or the shop's), privacy labels (on
unless turned off), in Chinese by default and in English; saving sends the whole map and refuses a size that
is none before any call."""

from __future__ import annotations

import json
import re

import httpx

from tests.unit.dashboard.conftest import Services
from tests.unit.dashboard.dashboard_app import csrf_of
from tests.unit.dashboard.dashboard_fakes import SHIP, SHOP, shop_settings

BASE = f"/shops/{SHOP}"


async def test_the_page_shows_the_label_settings(shop: httpx.AsyncClient, services: Services) -> None:
    saved = {**shop_settings(), "label_size": "100x180", "label_sizes": {"YTO": "76x130"}, "privacy_labels": True}
    services.get(f"{SHIP}/v1/settings").respond(json=saved)
    text = (await shop.get(f"{BASE}/settings")).text
    assert "面单设置" in text
    assert re.search(r'<option value="100x180" selected>100×180 二联单（含快递员存根）</option>', text)
    yto = text[text.index('data-testid="label-size-YTO"') :]
    assert re.match(r'[^<]*<option value="">同店铺设置</option>', yto.split(">", 1)[1])
    assert '<option value="76x130" selected>76×130 一联单（小尺寸）</option>' in yto.split("</select>")[0]
    zto = text[text.index('data-testid="label-size-ZTO"') :].split("</select>")[0]
    assert "selected" not in zto  # the shop's size
    assert re.search(r'name="privacy_labels" value="on" checked data-testid="privacy-labels"> 隐私面单', text)


async def test_privacy_off_shows_unticked_and_the_page_reads_in_english(
    shop: httpx.AsyncClient, services: Services
) -> None:
    saved = {**shop_settings(), "label_size": "76x130", "label_sizes": {}, "privacy_labels": False}
    services.get(f"{SHIP}/v1/settings").respond(json=saved)
    text = (await shop.get(f"{BASE}/settings", params={"lang": "en"})).text
    assert 'value="on"  data-testid="privacy-labels"> Privacy labels' in text
    assert '<option value="76x130" selected>76×130 one part (compact)</option>' in text
    assert "Label size" in text
    assert "面单设置" not in text


async def test_saving_sends_the_size_the_carriers_own_and_privacy(shop: httpx.AsyncClient, services: Services) -> None:
    put = services.put(f"{SHIP}/v1/settings").respond(json=shop_settings())
    token = csrf_of(await shop.get(BASE))
    form = {
        "csrf_token": token,
        "label_size": "100x180",
        "size_ZTO": "",  # the shop's size: left out of the map
        "size_YTO": "76x130",
        "privacy_labels": "on",
    }
    resp = await shop.post(f"{BASE}/settings/labels", data=form)
    assert resp.status_code == 303
    assert resp.headers["location"] == f"{BASE}/settings?notice=labels_saved#labels"
    assert json.loads(put.calls.last.request.content) == {
        "label_size": "100x180",
        "label_sizes": {"YTO": "76x130"},
        "privacy_labels": True,
    }
    # an unticked box is not sent at all: privacy labels off
    await shop.post(f"{BASE}/settings/labels", data={"csrf_token": token, "label_size": "100x150"})
    assert json.loads(put.calls.last.request.content) == {
        "label_size": "100x150",
        "label_sizes": {},
        "privacy_labels": False,
    }
    for bad in ({"label_size": "4x6"}, {"label_size": "100x150", "size_ZTO": "100x200"}, {}):
        refused = await shop.post(f"{BASE}/settings/labels", data={"csrf_token": token, **bad})
        assert refused.headers["location"] == f"{BASE}/settings?error=validation_error#labels", bad
    assert put.call_count == 2
    shown = (await shop.get(f"{BASE}/settings", params={"notice": "labels_saved"})).text
    assert "面单设置已保存" in shown
