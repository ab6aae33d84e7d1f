"""Labels as a shop sets them: the size for each carrier (or one print's own), privacy labels on by default and off
by the shop's choice, the courier's sort code printed when the parcel has one, on one shipment and in a batch; as
PDF or ZPL, by the file's name or by Accept (406 for anything else)."""

from __future__ import annotations

import io
from typing import Any

import pypdf
import pytest

from services.shipping.models import LabelSize
from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop
from tests.integration.shipping.test_shipping_channels import RECEIVER
from tests.integration.shipping.test_shipping_parcels import sf_numbers
from tests.label_support import barcodes, page_texts, render
from tests.support import Env
from tests.zpl_support import render as zpl_render


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(10), "SF": sf_numbers(5)})


async def _settings(world: World, shop: BoundShop, **body: Any) -> dict[str, Any]:
    resp = await world.shipping.put("/v1/settings", json=body, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def _shipped(world: World, shop: BoundShop, external_id: str, carrier: str = "ZTO") -> dict[str, Any]:
    body = {"external_id": external_id, "receiver": RECEIVER, "weight_g": 800}
    order = await world.shipping.post("/v1/orders", json=body, headers=shop.headers)
    assert order.status_code == 201, order.text
    resp = await world.shipping.post(
        f"/v1/orders/{order.json()['id']}/ship", json={"carrier": carrier}, headers=shop.headers
    )
    assert resp.status_code == 202, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def _label(world: World, shop: BoundShop, path: str, **params: Any) -> bytes:
    resp = await world.shipping.get(path, params=params or None, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/pdf"
    return resp.content


def _size_mm(pdf: bytes, page: int = 0) -> tuple[int, int]:
    box = pypdf.PdfReader(io.BytesIO(pdf)).pages[page].mediabox
    return round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)


async def _set_routing(shipment_id: str, sort_code: str | None, package_center: str | None) -> None:
    """What the courier's e-waybill answer stores on the parcel (another part of shipping writes it; null until
    the courier answered)."""
    from sqlalchemy import text

    from runtime.db import make_engine
    from services.shipping.settings import get_settings

    engine = make_engine(get_settings().database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE shipping.parcels SET sort_code = :s, package_center = :p WHERE shipment_id = :id"),
                {"s": sort_code, "p": package_center, "id": shipment_id},
            )
    finally:
        await engine.dispose()


async def test_the_label_settings_round_trip_and_refuse_what_is_not_a_size_or_a_carrier(
    world: World, shop: BoundShop
) -> None:
    found = (await world.shipping.get("/v1/settings", headers=shop.headers)).json()
    assert (found["label_size"], found["label_sizes"], found["privacy_labels"]) == ("100x150", {}, True)
    saved = await _settings(
        world, shop, label_size="100x180", label_sizes={"SF": "76x130", "YTO": "100x150"}, privacy_labels=False
    )
    assert (saved["label_size"], saved["label_sizes"], saved["privacy_labels"]) == (
        "100x180",
        {"SF": "76x130", "YTO": "100x150"},
        False,
    )
    # other fields leave them as they are; a map given replaces the map
    await _settings(world, shop, sender_name="杭州小铺二店")
    again = (await world.shipping.get("/v1/settings", headers=shop.headers)).json()
    assert (again["label_size"], again["label_sizes"], again["privacy_labels"]) == (
        "100x180",
        {"SF": "76x130", "YTO": "100x150"},
        False,
    )
    assert (await _settings(world, shop, label_sizes={"SF": "100x150"}))["label_sizes"] == {"SF": "100x150"}
    for bad in ({"label_size": "100x200"}, {"label_sizes": {"NOPE": "100x150"}}, {"label_sizes": {"SF": "4x6"}}):
        resp = await world.shipping.put("/v1/settings", json=bad, headers=shop.headers)
        assert resp.status_code == 422, bad
        assert resp.json()["error"]["code"] == "validation_error"
    assert (await world.shipping.get("/v1/settings", headers=shop.headers)).json()["label_size"] == "100x180"


async def test_each_carrier_prints_at_its_size_and_a_print_may_ask_for_another(world: World, shop: BoundShop) -> None:
    zto = await _shipped(world, shop, "erp-size-zto")
    sf = await _shipped(world, shop, "erp-size-sf", carrier="SF")
    assert _size_mm(await _label(world, shop, f"/v1/shipments/{zto['id']}/label.pdf")) == (100, 150)  # the default
    await _settings(world, shop, label_size="100x180", label_sizes={"SF": "76x130"})
    two_part = await _label(world, shop, f"/v1/shipments/{zto['id']}/label.pdf")
    assert _size_mm(two_part) == (100, 180)
    assert barcodes(render(two_part)) == [zto["number"]] * 2  # the courier's stub repeats it
    compact = await _label(world, shop, f"/v1/shipments/{sf['id']}/label.pdf")
    assert _size_mm(compact) == (76, 130)
    assert barcodes(render(compact)) == [sf["number"]]
    # one print's own size, on every label route
    assert _size_mm(await _label(world, shop, f"/v1/shipments/{sf['id']}/label.pdf", size="100x150")) == (100, 150)
    parcel = await _label(world, shop, f"/v1/shipments/{zto['id']}/parcels/1/label.pdf", size="76x130")
    assert _size_mm(parcel) == (76, 130)
    for path in (f"/v1/shipments/{zto['id']}/label.pdf", f"/v1/shipments/{zto['id']}/parcels/1/label.pdf"):
        resp = await world.shipping.get(path, params={"size": "100x200"}, headers=shop.headers)
        assert resp.status_code == 422
        assert resp.json()["error"]["code"] == "validation_error"
    # every print counted as before: the two sized ones as well
    shipment = (await world.shipping.get(f"/v1/shipments/{zto['id']}", headers=shop.headers)).json()
    assert shipment["label_prints"] == 3


async def test_privacy_labels_mask_the_receiver_unless_the_shop_turns_them_off(world: World, shop: BoundShop) -> None:
    shipment = await _shipped(world, shop, "erp-privacy")
    [masked] = page_texts(await _label(world, shop, f"/v1/shipments/{shipment['id']}/label.pdf"))
    assert "收件人: 张* 138****8000" in masked
    assert "张三" not in masked
    assert "13800138000" not in masked
    assert "浙江省 杭州市 文一西路 969 号" in masked  # the address stays whole
    assert "0571-88886666" in masked  # the sender is the shop's own
    await _settings(world, shop, privacy_labels=False)
    [full] = page_texts(await _label(world, shop, f"/v1/shipments/{shipment['id']}/label.pdf"))
    assert "收件人: 张三 13800138000" in full


async def test_the_sort_code_is_printed_when_the_courier_gave_one(world: World, shop: BoundShop) -> None:
    shipment = await _shipped(world, shop, "erp-sort-code")
    await _set_routing(shipment["id"], None, None)  # the courier has not answered (yet)
    unknown = await _label(world, shop, f"/v1/shipments/{shipment['id']}/label.pdf")
    [before] = page_texts(unknown)
    assert "集包地" not in before
    assert before.splitlines()[1] == shipment["number"]  # its row left blank: the barcode's number comes next
    await _set_routing(shipment["id"], "380D-56-04", "杭州转运中心")
    pdf = await _label(world, shop, f"/v1/shipments/{shipment['id']}/label.pdf")
    [after] = page_texts(pdf)
    assert "380D-56-04" in after
    assert "集包地: 杭州转运中心" in after
    # under the carrier line, above the barcode
    assert after.index("中通快递") < after.index("380D-56-04") < after.index(shipment["number"])


async def test_a_batchs_labels_carry_sizes_privacy_and_sort_codes(world: World, shop: BoundShop) -> None:
    trades = [world.market.new_trade(shop.nick) for _ in range(3)]
    for t in trades:
        resp = await world.shipping.post("/webhooks/marketplace", data=world.market.message(t))
        assert resp.status_code == 200, resp.text
    orders = (await world.shipping.get("/v1/orders", params={"limit": 100}, headers=shop.headers)).json()["data"]
    by_tid = {o["external_id"]: o["id"] for o in orders}
    resp = await world.shipping.post(
        "/v1/shipment-batches",
        json={"order_ids": [by_tid[t.tid] for t in trades], "carrier": "ZTO"},
        headers=shop.headers,
    )
    assert resp.status_code == 202, resp.text
    batch = resp.json()
    await world.run_jobs()
    view = (await world.shipping.get(f"/v1/shipment-batches/{batch['id']}", headers=shop.headers)).json()
    first = view["items"][0]
    await _set_routing(first["shipment_id"], "721-A010-J9", "金华包")
    await _settings(world, shop, label_sizes={"ZTO": "100x180"})
    pdf = await _label(world, shop, f"/v1/shipment-batches/{batch['id']}/labels.pdf")
    texts = page_texts(pdf)
    assert len(texts) == 3
    assert [_size_mm(pdf, i) for i in range(3)] == [(100, 180)] * 3
    assert "721-A010-J9" in texts[0]
    assert "集包地: 金华包" in texts[0]
    assert "721-A010-J9" not in texts[1]
    assert all("收件人: 张* " in t and "张三" not in t for t in texts)  # the fake marketplace's receiver, masked
    assert barcodes(render(pdf, 2)) == [view["items"][2]["number"]] * 2
    sized = await _label(world, shop, f"/v1/shipment-batches/{batch['id']}/labels.pdf", size="76x130")
    assert [_size_mm(sized, i) for i in range(3)] == [(76, 130)] * 3


async def test_a_label_comes_as_pdf_or_zpl_as_asked(world: World, shop: BoundShop) -> None:
    shipment = await _shipped(world, shop, "erp-formats")
    base = f"/v1/shipments/{shipment['id']}"
    zpl_file = await world.shipping.get(f"{base}/label.zpl", headers=shop.headers)
    assert zpl_file.status_code == 200, zpl_file.text
    assert zpl_file.headers["content-type"] == "application/zpl"
    assert zpl_file.headers["content-disposition"] == f'inline; filename="{shipment["number"]}.zpl"'
    [printed] = zpl_render(zpl_file.content, LabelSize.S100X150, 203)
    assert barcodes(printed) == [shipment["number"]]
    small = await world.shipping.get(f"{base}/label.zpl", params={"size": "76x130", "dpi": 300}, headers=shop.headers)
    [printed] = zpl_render(small.content, LabelSize.S76X130, 300)
    assert barcodes(printed) == [shipment["number"]]
    # one URL, the format Accept asks for
    as_zpl = await world.shipping.get(f"{base}/label", headers={**shop.headers, "Accept": "application/zpl"})
    assert (as_zpl.status_code, as_zpl.headers["content-type"]) == (200, "application/zpl")
    assert as_zpl.headers["vary"] == "Accept"
    assert as_zpl.content.startswith((b"~DG", b"^XA"))
    for accept in ("application/pdf", "*/*", "application/*", "application/zpl;q=0.5, application/pdf"):
        as_pdf = await world.shipping.get(f"{base}/label", headers={**shop.headers, "Accept": accept})
        assert (as_pdf.status_code, as_pdf.headers["content-type"]) == (200, "application/pdf"), accept
        assert as_pdf.content.startswith(b"%PDF-")
    printed_so_far = (await world.shipping.get(base, headers=shop.headers)).json()["label_prints"]
    for accept in ("text/html", "application/json", "application/pdf;q=0, application/zpl;q=0"):
        refused = await world.shipping.get(f"{base}/label", headers={**shop.headers, "Accept": accept})
        assert refused.status_code == 406, accept
        assert refused.json()["error"]["code"] == "not_acceptable"
        assert refused.json()["error"]["details"]["available"] == ["application/pdf", "application/zpl"]
    bad_dpi = await world.shipping.get(f"{base}/label.zpl", params={"dpi": 600}, headers=shop.headers)
    assert bad_dpi.status_code == 422
    # every print counted, whatever its format; a refused one not at all
    after = (await world.shipping.get(base, headers=shop.headers)).json()["label_prints"]
    assert (printed_so_far, after) == (7, 7)
    # a parcel's, on its own
    parcel = await world.shipping.get(f"{base}/parcels/1/label.zpl", headers=shop.headers)
    assert barcodes(zpl_render(parcel.content, LabelSize.S100X150, 203)[0]) == [shipment["number"]]
    negotiated = await world.shipping.get(
        f"{base}/parcels/1/label", headers={**shop.headers, "Accept": "application/zpl"}
    )
    assert negotiated.headers["content-type"] == "application/zpl"
    assert (await world.shipping.get(f"{base}/parcels/1/label", headers=shop.headers)).content.startswith(b"%PDF-")
    refused = await world.shipping.get(f"{base}/parcels/1/label", headers={**shop.headers, "Accept": "image/png"})
    assert refused.status_code == 406


async def test_a_batchs_labels_as_one_zpl_job(world: World, shop: BoundShop) -> None:
    trades = [world.market.new_trade(shop.nick) for _ in range(3)]
    for t in trades:
        await world.shipping.post("/webhooks/marketplace", data=world.market.message(t))
    orders = (await world.shipping.get("/v1/orders", params={"limit": 100}, headers=shop.headers)).json()["data"]
    by_tid = {o["external_id"]: o["id"] for o in orders}
    resp = await world.shipping.post(
        "/v1/shipment-batches",
        json={"order_ids": [by_tid[t.tid] for t in trades], "carrier": "ZTO"},
        headers=shop.headers,
    )
    batch = resp.json()
    await world.run_jobs()
    numbers = [
        i["number"]
        for i in (await world.shipping.get(f"/v1/shipment-batches/{batch['id']}", headers=shop.headers)).json()["items"]
    ]
    await _settings(world, shop, label_sizes={"ZTO": "100x180"})  # the batch's carrier's size: the job's
    job = await world.shipping.get(f"/v1/shipment-batches/{batch['id']}/labels.zpl", headers=shop.headers)
    assert (job.status_code, job.headers["content-type"]) == (200, "application/zpl")
    assert job.headers["content-disposition"] == f'inline; filename="{batch["id"]}.zpl"'
    printed = zpl_render(job.content, LabelSize.S100X180, 203)
    assert [barcodes(p) for p in printed] == [[n, n] for n in numbers]  # each with its stub's barcode
    asked = await world.shipping.get(
        f"/v1/shipment-batches/{batch['id']}/labels",
        params={"size": "76x130"},
        headers={**shop.headers, "Accept": "application/zpl"},
    )
    assert asked.headers["vary"] == "Accept"
    assert [barcodes(p) for p in zpl_render(asked.content, LabelSize.S76X130, 203)] == [[n] for n in numbers]
    pdf = await world.shipping.get(f"/v1/shipment-batches/{batch['id']}/labels", headers=shop.headers)
    assert pdf.headers["content-type"] == "application/pdf"
    refused = await world.shipping.get(
        f"/v1/shipment-batches/{batch['id']}/labels", headers={**shop.headers, "Accept": "text/csv"}
    )
    assert refused.status_code == 406
    view = (await world.shipping.get(f"/v1/shipment-batches/{batch['id']}", headers=shop.headers)).json()
    assert view["label_prints"] == 3  # the refused one not counted
