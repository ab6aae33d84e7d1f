"""A shop's marketplace stores: binding one (proved with a call to its channel), listing, renewing, unbinding."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.shipping.models import ConfirmMode

StoreChannel = Literal["taobao", "pinduoduo"]


class StoreIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"channel": "taobao", "token": "6100e2b...", "seller_id": "杭州小铺", "name": "杭州小铺 天猫店"},
                {"channel": "pinduoduo", "token": "c5a8d1...", "name": "拼多多旗舰店"},
            ]
        },
    )

    channel: StoreChannel = Field(description="The marketplace the store sells on.")
    token: str = Field(
        min_length=1,
        max_length=400,
        description="The seller's authorisation on that marketplace (Taobao's session, Pinduoduo's access_token).",
    )
    seller_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description=(
            "Who the seller is on the marketplace (Taobao's seller nick, Pinduoduo's mall id). Optional: the "
            "marketplace says whose the token is; when given, it must be that seller."
        ),
    )
    name: str | None = Field(None, min_length=1, max_length=100, description="A name the shop knows the store by.")


class StoreUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"token": "6100f9a..."}, {"name": "杭州小铺 淘宝店"}, {"confirm_mode": "at_collection"}]
        },
    )

    token: str | None = Field(
        None, min_length=1, max_length=400, description="A renewed authorisation; it must belong to the same seller."
    )
    name: str | None = Field(None, min_length=1, max_length=100)
    confirm_mode: ConfirmMode | None = Field(
        None,
        description=(
            "This store's confirmation mode (`at_print`, `at_collection`: see PUT /v1/settings); null: the shop's."
        ),
    )


class StoreOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "sto_3f9a1c2b7e4d5a6b8c0d",
                    "channel": "taobao",
                    "seller_id": "杭州小铺",
                    "name": "杭州小铺 天猫店",
                    "token_set": True,
                    "active": True,
                    "confirm_mode": None,
                    "created_at": "2026-12-07T09:30:00Z",
                    "updated_at": "2026-12-07T09:30:00Z",
                }
            ]
        },
    )

    id: str
    channel: str
    seller_id: str
    name: str
    token_set: bool = Field(description="Whether an authorisation is held (the token itself is never shown).")
    active: bool = Field(description="False once unbound: its seller's messages no longer reach the shop.")
    confirm_mode: str | None = Field(None, description="at_print or at_collection; null: the shop's setting.")
    created_at: datetime
    updated_at: datetime
