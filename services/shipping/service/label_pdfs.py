"""Label files, PDF or ZPL: one shipment's (every print counted), or a whole batch's, streamed page by page
(``label_formats`` writes them), each at its shop's size for its carrier unless the request names one, with the
receiver masked on privacy labels (the shop's setting, on by default)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from runtime.db import UnitOfWork
from runtime.errors import NotFound
from services.shipping import label_formats, labels, parcels
from services.shipping.label_formats import DEFAULT_DPI, MEDIA_TYPES, LabelFormat
from services.shipping.label_privacy import mask_name, mask_phone
from services.shipping.metrics import LABELS
from services.shipping.models import (
    LabelSize,
    Order,
    Parcel,
    ParcelStatus,
    Shipment,
    ShipmentStatus,
    ShopSettings,
    Store,
)
from services.shipping.repository.batches import BatchRepository
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.parcels import ParcelRepository
from services.shipping.repository.settings import SettingsRepository
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.repository.stores import StoreRepository
from services.shipping.resources import ShippingResources
from services.shipping.service.batches import own_batch
from services.shipping.service.shipments import own_shipment
from shared.carriers import CARRIERS, CarrierCode

NO_LABEL = (ShipmentStatus.FAILED, ShipmentStatus.CANCELLED, ShipmentStatus.VOIDED)

# Rows read per short transaction while a batch's PDF streams.
BATCH_PAGE_ROWS = 500


@dataclass(frozen=True)
class LabelAsk:
    """What a request asks of its labels: the format, a size of its own (else the shop's), ZPL's dot density."""

    fmt: LabelFormat = LabelFormat.PDF
    size: LabelSize | None = None
    dpi: int = DEFAULT_DPI

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.fmt]


PDF = LabelAsk()


@dataclass(frozen=True)
class LabelFile:
    content: bytes
    media_type: str
    filename: str
    prints: int


@dataclass(frozen=True)
class BatchLabels:
    pages: AsyncIterator[bytes]
    media_type: str
    filename: str


def carrier_name(code: str) -> str:
    try:
        return CARRIERS[CarrierCode(code)].name_zh
    except ValueError:
        return code


CHANNEL_NAMES = {"own": "自有店铺", "taobao": "淘宝", "pinduoduo": "拼多多"}


def store_line(order: Order, store: Store | None) -> str:
    """The order's channel and store as the label names them."""
    name = CHANNEL_NAMES.get(order.channel, order.channel)
    return f"{name} {store.name}".strip() if store is not None else name


def label_size(shop: ShopSettings | None, carrier: str) -> LabelSize:
    """The shop's size for this carrier's labels: the carrier's own, else the shop's, else 100x150."""
    if shop is None:
        return labels.DEFAULT_SIZE
    chosen = (shop.label_sizes or {}).get(carrier) or shop.label_size
    return LabelSize(chosen) if chosen else labels.DEFAULT_SIZE


def label_data(
    shipment: Shipment,
    order: Order,
    shop: ShopSettings | None,
    reprint: int,
    store: Store | None = None,
    parcel: Parcel | None = None,
) -> labels.LabelData:
    weight = parcel.weight_g if parcel is not None and parcel.weight_g is not None else order.weight_g
    name, phone = order.receiver_name, order.receiver_phone
    if shop is None or shop.privacy_labels is not False:  # 隐私面单 unless the shop turned it off
        name, phone = mask_name(name), mask_phone(phone)
    return labels.LabelData(
        shipment_id=shipment.id,
        order_ref=order.external_id,
        carrier=shipment.carrier,
        carrier_name=carrier_name(shipment.carrier),
        number=parcel.number if parcel is not None else shipment.number,
        piece=parcel.seq if parcel is not None else 1,
        pieces=shipment.parcel_count,
        parent_number=parcel.parent_number if parcel is not None else None,
        parent_child=parcels.parent_child(shipment.carrier, shipment.parcel_count),
        sender_name=shop.sender_name if shop else "",
        sender_phone=shop.sender_phone if shop else "",
        sender_address=shop.sender_address if shop else "",
        receiver_name=name,
        receiver_phone=phone,
        receiver_address=" ".join(
            p for p in (order.receiver_state, order.receiver_city, order.receiver_district, order.receiver_address) if p
        ),
        weight_g=weight,
        reprint=reprint,
        store=store_line(order, store),
        sort_code=(parcel.sort_code or "") if parcel is not None else "",
        package_center=(parcel.package_center or "") if parcel is not None else "",
    )


async def shipment_label(uow: UnitOfWork, shop_id: str, shipment_id: str, ask: LabelAsk = PDF) -> LabelFile:
    """Every live parcel's label, one page each (a one-parcel shipment: one page)."""
    shipment = await own_shipment(uow, shop_id, shipment_id)
    boxes = [p for p in await ParcelRepository(uow.session).of_shipment(shipment.id) if p.status == ParcelStatus.LIVE]
    return await _render(uow, shop_id, shipment, boxes, shipment.number, ask)


async def parcel_label(uow: UnitOfWork, shop_id: str, shipment_id: str, seq: int, ask: LabelAsk = PDF) -> LabelFile:
    """One parcel's label (a box reprinted on its own)."""
    shipment = await own_shipment(uow, shop_id, shipment_id)
    parcel = next((p for p in await ParcelRepository(uow.session).of_shipment(shipment.id) if p.seq == seq), None)
    if parcel is None:
        raise NotFound(f"shipment {shipment_id} has no parcel {seq}")
    if parcel.status != ParcelStatus.LIVE:
        raise NotFound(f"parcel {seq} of shipment {shipment_id} is {parcel.status}: it has no label")
    return await _render(uow, shop_id, shipment, [parcel], parcel.number, ask)


async def _render(
    uow: UnitOfWork, shop_id: str, shipment: Shipment, boxes: Sequence[Parcel | None], name: str, ask: LabelAsk
) -> LabelFile:
    if shipment.status in NO_LABEL:
        raise NotFound(f"shipment {shipment.id} is {shipment.status}: it has no label")
    order = await OrderRepository(uow.session).get(shipment.order_id)
    assert order is not None
    prints = await ShipmentRepository(uow.session).count_prints(shipment.id)
    if prints is None:
        raise NotFound(f"shipment {shipment.id} failed or was cancelled: it has no label")
    await ParcelRepository(uow.session).count_prints([p.id for p in boxes if p is not None])
    shop = await SettingsRepository(uow.session).get(shop_id)
    store = await StoreRepository(uow.session).get(order.store_id) if order.store_id else None
    # A shipment written without parcel rows (none is, since parcels exist) prints as its one number.
    pages = [label_data(shipment, order, shop, prints - 1, store, p) for p in boxes or [None]]
    size = ask.size or label_size(shop, shipment.carrier)
    content = label_formats.render(pages, size, ask.fmt, ask.dpi)
    return LabelFile(content, ask.media_type, f"{name}.{ask.fmt}", prints)


async def batch_labels(
    uow: UnitOfWork, res: ShippingResources, shop_id: str, batch_id: str, ask: LabelAsk = PDF
) -> BatchLabels:
    """Every live label of the batch, produced as it is sent (the print is counted in ``uow``): each at the
    size asked, or at its shop's size for its carrier. A ZPL job has one size, the roll in the printer: the
    one asked, or the shop's for the batch's carrier."""
    batch = await own_batch(uow, shop_id, batch_id)
    await BatchRepository(uow.session).count_print(batch_id)
    shop = await SettingsRepository(uow.session).get(shop_id)
    job = label_formats.writer(ask.fmt, ask.size or label_size(shop, batch.carrier or ""), ask.dpi)
    pages = _pages(res, batch_id, shop, batch.label_prints, ask.size, job, str(ask.fmt))
    return BatchLabels(pages, ask.media_type, f"{batch_id}.{ask.fmt}")


async def _pages(
    res: ShippingResources,
    batch_id: str,
    shop: ShopSettings | None,
    reprint: int,
    size: LabelSize | None,
    out: label_formats.LabelWriter,
    fmt: str,
) -> AsyncIterator[bytes]:
    yield out.start()
    after = -1
    while True:
        # Each page of rows in its own short transaction: no connection held across slow clients.
        async with res.transaction() as tx:
            rows = await BatchRepository(tx.session).label_rows(batch_id, after, BATCH_PAGE_ROWS)
            stores = await StoreRepository(tx.session).by_ids(
                sorted({r.order.store_id for r in rows if r.order.store_id})
            )
        if not rows:
            break
        yield b"".join(
            out.page(
                label_data(r.shipment, r.order, shop, reprint, stores.get(r.order.store_id or ""), r.parcel),
                size or label_size(shop, r.shipment.carrier),
            )
            for r in rows
        )
        LABELS.labels("batch", fmt).inc(len(rows))
        after = rows[-1].seq
    yield out.finish()
