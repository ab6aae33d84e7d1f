"""The marketplace pushes order messages here (signed, form-encoded)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from runtime.app import UowDep
from runtime.openapi import responses
from services.shipping.resources import ShippingResourcesDep
from services.shipping.service import marketplace_messages

router = APIRouter(prefix="/webhooks", tags=["marketplace"])


@router.post(
    "/marketplace",
    summary="Order messages pushed by the marketplace",
    description=(
        "Form-encoded TOP message (`id, topic, content, pub_time, user_id, user_nick, app_key, timestamp, "
        "sign_method, sign`). The signature is verified first (401 `bad_signature`, nothing stored). A message id "
        "seen before answers 200 without doing anything again. Paid orders are fetched in full "
        "(`taobao.trade.fullinfo.get`) and stored before the 2xx; when the marketplace cannot be reached the "
        "answer is 503 and the marketplace delivers the message again. A message is a hint, never the truth: "
        "closes and address changes are acted on only after the trade is read back and bears them out (closed: "
        "`TRADE_CLOSED` or `TRADE_CLOSED_BY_TAOBAO`; an address that differs from ours); otherwise nothing "
        "changes (`close_not_confirmed`, `address_unchanged`, `trade_not_found`) and the message is logged. "
        "Confirmed, they update or cancel an unshipped order, and are refused (recorded on the order as a flag) "
        "once it has shipped."
    ),
    responses={
        **responses(400, 401, 503),
        200: {
            "description": (
                "Stored or deliberately ignored (the marketplace must not deliver it again). `status` says what "
                "happened: order_created, duplicate, order_exists, address_updated, address_unchanged, cancelled, "
                "close_not_confirmed, refused_shipped, ignored, unknown_seller, trade_not_found, ..."
            ),
            "content": {"application/json": {"example": {"status": "order_created", "message_id": "7501238462001"}}},
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["id", "topic", "content", "user_nick", "sign"],
                        "properties": {
                            name: {"type": "string"}
                            for name in (
                                "id",
                                "topic",
                                "content",
                                "pub_time",
                                "user_id",
                                "user_nick",
                                "app_key",
                                "timestamp",
                                "sign_method",
                                "sign",
                            )
                        },
                    },
                    "example": {
                        "id": "7501238462001",
                        "topic": "taobao_trade_TradeBuyerPay",
                        "content": '{"tid": 3001234567890123456, "seller_nick": "杭州小铺"}',
                        "pub_time": "2026-11-28 09:12:30",
                        "user_id": "2201234567",
                        "user_nick": "杭州小铺",
                        "app_key": "12345678",
                        "timestamp": "2026-11-28 09:12:31",
                        "sign_method": "md5",
                        "sign": "9C1F4E2B7A3D5F6E8B0C2D4A6F8E1B3C",
                    },
                }
            },
        }
    },
)
async def receive_marketplace_message(request: Request, uow: UowDep, res: ShippingResourcesDep) -> dict[str, str]:
    form = await request.form()
    fields = {k: str(v) for k, v in form.items()}
    return await marketplace_messages.receive_message(uow, res.settings, res.marketplace, fields)
