"""Channels push order messages here: Taobao (TOP-signed form, ``/webhooks/marketplace`` as before) and
Pinduoduo (its message service's frame as JSON, signed in headers)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from runtime.app import UowDep
from runtime.openapi import responses
from services.shipping.channels.base import ChannelName, MessageKind
from services.shipping.resources import ShippingResourcesDep
from services.shipping.service import channel_messages, intake_batch

router = APIRouter(prefix="/webhooks", tags=["marketplace"])


@router.post(
    "/marketplace",
    summary="Order messages pushed by the marketplace",
    description=(
        "Form-encoded TOP message (`id, topic, content, pub_time, user_id, user_nick, app_key, timestamp, "
        "sign_method, sign`). The signature is verified first (401 `bad_signature`, nothing stored). A message id "
        "seen before answers 200 without doing anything again. Paid orders are read back and stored before the "
        "2xx: paid messages arriving together as one group, their trades listed in one "
        "`taobao.trades.sold.increment.get` call (a trade it leaves out read with `taobao.trade.fullinfo.get`); "
        "when the marketplace cannot be reached the answer is 503 and the marketplace delivers the message again. "
        "A message is a hint, never the truth: "
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
    return await _receive(ChannelName.TAOBAO, request, uow, res)


async def _receive(channel: ChannelName, request: Request, uow: UowDep, res: ShippingResourcesDep) -> dict[str, str]:
    message = channel_messages.read(res.channels.marketplace(channel), request.headers, await request.body())
    if message.kind is MessageKind.PAID:
        # Paid messages arriving together are stored as one group (one list call, one INSERT each).
        return await intake_batch.for_app(request.app.state, res, res.channels).submit(message)
    return await channel_messages.receive(uow, res.channels, message)


_PDD_FRAME = {
    "id": 7391002830014,
    "commandType": "Common",
    "time": 1765100000123,
    "sendTime": 1765100000456,
    "message": {
        "type": "pdd_trade_TradeConfirmed",
        "mallID": 100200300,
        "content": '{"mall_id": 100200300, "tid": "261207-012345678901234"}',
    },
}


@router.post(
    "/pinduoduo",
    summary="Order messages of Pinduoduo",
    description=(
        "The frame of Pinduoduo's message service (`{id, commandType: Common, time, sendTime, message: {type, "
        "mallID, content}}`, `content` a JSON string with `mall_id` and `tid`, the order_sn) as a JSON body, "
        "signed in headers: `X-Pdd-Client-Id` (our client id), `X-Pdd-Timestamp` (unix seconds, within 300 s) and "
        "`X-Pdd-Sign` = uppercase hex MD5(client_secret + timestamp + body + client_secret). A bad signature: 401 "
        "`bad_signature`, nothing stored. Types acted on: `pdd_trade_TradeConfirmed` (paid: the order is read "
        "with `pdd.order.information.get` and stored before the 2xx), `pdd_trade_TradeLogisticsAddressChanged`, "
        "`pdd_refund_RefundCreated` and `pdd_refund_RefundAgreeAgreement` (acted on only when the order read back "
        "bears them out); others are acknowledged and ignored. A message id seen before answers 200 without doing "
        "anything again; 503 when Pinduoduo cannot be reached (the message comes again)."
    ),
    responses={
        **responses(400, 401, 503),
        200: {"content": {"application/json": {"example": {"status": "order_created", "message_id": "7391002830014"}}}},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}, "example": _PDD_FRAME}},
        }
    },
)
async def receive_pinduoduo_message(request: Request, uow: UowDep, res: ShippingResourcesDep) -> dict[str, str]:
    return await _receive(ChannelName.PINDUODUO, request, uow, res)
