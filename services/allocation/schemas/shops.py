"""Allocation API models: shops and their API keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ShopCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "杭州小铺"}]})

    name: str = Field(min_length=1, max_length=200, description="Display name of the shop.")


class ShopOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [{"id": "s-9a3f1c2b7e4d", "name": "杭州小铺", "created_at": "2026-11-28T09:30:00Z"}]
        },
    )

    id: str
    name: str
    created_at: datetime


class ShopCreated(ShopOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "s-9a3f1c2b7e4d",
                    "name": "杭州小铺",
                    "created_at": "2026-11-28T09:30:00Z",
                    "api_key": "wbk_5c1e9a7b3d2f4e60_8f2a4c6e1b3d5f7092a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2",
                    "key_id": "5c1e9a7b3d2f4e60",
                }
            ]
        }
    )

    api_key: str = Field(description="The shop's API key. Shown once: store it now.")
    key_id: str


class KeyCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"label": "仓库打单机"}]})

    label: str = Field("default", min_length=1, max_length=100)


class KeyCreated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key_id": "7d3b5f9a1c2e4068",
                    "api_key": "wbk_7d3b5f9a1c2e4068_1a3c5e7f9b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d",
                }
            ]
        }
    )

    key_id: str
    api_key: str = Field(description="Shown once.")
