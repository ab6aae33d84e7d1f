"""A label names the channel and store its order came from, so the packer sees which store's parcel it is."""

from __future__ import annotations

from services.shipping.models import Order, Store
from services.shipping.service.label_pdfs import store_line


def test_a_marketplace_orders_label_names_its_channel_and_store() -> None:
    store = Store(id="sto_1", shop_id="s", channel="pinduoduo", seller_id="100", name="拼多多旗舰店")
    assert store_line(Order(channel="pinduoduo", store_id="sto_1"), store) == "拼多多 拼多多旗舰店"
    tmall = Store(id="sto_2", shop_id="s", channel="taobao", seller_id="杭州小铺", name="杭州小铺")
    assert store_line(Order(channel="taobao", store_id="sto_2"), tmall) == "淘宝 杭州小铺"


def test_the_shops_own_order_says_so() -> None:
    assert store_line(Order(channel="own", store_id=None), None) == "自有店铺"
