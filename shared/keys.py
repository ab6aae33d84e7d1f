"""Shop API keys as other services check them (the SHA-256 of the secret, never the key itself)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class IntrospectRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key_id": "5c1e9a7b3d2f4e60",
                    "secret_hash": "3b1f4c9e0a7d2b6f8e1c5a9d3f7b2e6a0c4d8f1b5e9a3c7d2f6b0e4a8c1d5f9e",
                }
            ]
        }
    )

    key_id: str = Field(min_length=1, max_length=64)
    secret_hash: str = Field(min_length=64, max_length=64)


class IntrospectResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"shop_id": "s-9a3f1c2b7e4d"}]})

    shop_id: str
