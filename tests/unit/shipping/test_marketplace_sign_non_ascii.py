"""A forged sign with non-ASCII characters is refused, not a 500 (found by schemathesis)."""

from __future__ import annotations

from services.shipping.channels.taobao.protocol import verify_sign


def test_a_non_ascii_sign_is_refused() -> None:
    form = {"id": "1", "topic": "taobao_trade_TradeBuyerPay", "sign_method": "md5", "sign": "签名ï"}
    assert verify_sign(form, "secret") is False
