"""The shop's marketplace binding, sender and courier preferences."""

from __future__ import annotations

from fastapi import APIRouter

from runtime.app import UowDep
from runtime.auth import ShopIdDep
from runtime.openapi import error_doc, responses
from services.shipping.resources import ShippingResourcesDep
from services.shipping.schemas.settings import SettingsIn, SettingsOut
from services.shipping.service import shop_settings

router = APIRouter(prefix="/v1/settings", tags=["settings"])


@router.put(
    "",
    summary="Set the shop's marketplace binding, sender and courier preferences",
    description=(
        "Fields not given keep their value. `seller_nick` maps incoming marketplace messages to this shop; "
        "`session` is the marketplace token used to fetch trades and confirm shipments. A binding needs proof: "
        "whenever `seller_nick` or `session` is given, the session is checked with the marketplace "
        "(`taobao.user.seller.get`) and must belong to the nick (422 `seller_not_verified` otherwise, also for "
        "a session the marketplace does not know); a session given alone (a renewed token) must belong to the "
        "bound seller, or binds its own seller when none is bound. A nick bound to "
        "another shop: 409 `conflict` (of two shops racing for one nick, one gets 200, the other 409). "
        "Sender fields appear on labels; `weights` and `default_carrier` tune the recommendation."
    ),
    responses={
        **responses(409, 503),
        422: error_doc(
            "The session does not prove the seller nick, or the body is invalid",
            {
                "seller_not_verified": "the session does not belong to seller 杭州小铺",
                "validation_error": "invalid request: weights",
            },
        ),
    },
)
async def put_shop_settings(
    body: SettingsIn, shop_id: ShopIdDep, uow: UowDep, res: ShippingResourcesDep
) -> SettingsOut:
    return await shop_settings.put_settings(uow, res.channels, shop_id, body)


@router.get("", summary="The shop's shipping settings", description="The session itself is never shown.")
async def get_shop_settings(shop_id: ShopIdDep, uow: UowDep) -> SettingsOut:
    return await shop_settings.get_settings(uow, shop_id)
