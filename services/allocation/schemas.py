"""Allocation API request and response models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ShopCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "杭州小铺"}]})

    name: str = Field(min_length=1, max_length=200, description="Display name of the shop.")


class ShopOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    created_at: datetime


class ShopCreated(ShopOut):
    api_key: str = Field(description="The shop's API key. Shown once: store it now.")
    key_id: str


class KeyCreate(BaseModel):
    label: str = Field("default", min_length=1, max_length=100)


class KeyCreated(BaseModel):
    key_id: str
    api_key: str = Field(description="Shown once.")


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


class IntrospectRequest(BaseModel):
    key_id: str = Field(min_length=1, max_length=64)
    secret_hash: str = Field(min_length=64, max_length=64)


class IntrospectResponse(BaseModel):
    shop_id: str
