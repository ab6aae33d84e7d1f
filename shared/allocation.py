"""Wire contracts of the allocation service that other services (and shop systems) use."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shared.carriers import CarrierCode
from shared.waybill import WaybillNumberStr

OrderId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$"),
]
MAX_BATCH_ALLOCATION = 1000


class WaybillState(StrEnum):
    AVAILABLE = "available"
    ALLOCATED = "allocated"
    PRINTED = "printed"
    SHIPPED = "shipped"
    VOIDED = "voided"
    EXPIRED = "expired"
    QUARANTINED = "quarantined"
    # Lost the number to another entry: a typed number a purchase received before it was printed, or a
    # purchase's number a typed entry had already printed (the purchase was credited). Final.
    SUPERSEDED = "superseded"


class VoidCourierOutcome(StrEnum):
    """What the courier said to a voided number (回收单号), and so whether it was credited."""

    PENDING = "pending"  # not answered yet: the allocation worker tells the courier, retrying until it answers
    DISCARDED = "discarded"  # cancelled at the courier before collection: credited per the package's policy
    COLLECTED = "collected"  # refused, the courier had already collected the parcel: not credited
    REFUSED = "refused"  # refused for another reason (courier_code says which): not credited
    NOT_SENT = "not_sent"  # a typed number: not the courier's to cancel for this shop, nothing to credit


_VOID_EXAMPLE: dict[str, Any] = {
    "courier": "discarded",
    "courier_code": None,
    "credit_policy": "full",
    "credited_cents": 300,
    "voided_at": "2026-11-28T10:02:11Z",
    "settled_at": "2026-11-28T10:02:12Z",
}


class VoidInfo(BaseModel):
    """A printed number voided before collection: the courier's answer and the credit it earned."""

    model_config = ConfigDict(json_schema_extra={"examples": [_VOID_EXAMPLE]})

    courier: VoidCourierOutcome = Field(
        description=(
            "`pending` until the courier answers (the worker retries); `discarded`: cancelled, credited per the "
            "policy; `collected`: the courier had already collected the parcel, not credited; `refused`: another "
            "refusal (`courier_code`), not credited; `not_sent`: a typed number, nothing to cancel or credit."
        )
    )
    courier_code: str | None = Field(None, description="The courier's error code when it refused.")
    credit_policy: str | None = Field(
        None,
        description=(
            "The purchase's void-credit policy (`full`, `none`, `50%`, `full less 50 cents`); null when the "
            "number came from no purchase (typed, or seeded)."
        ),
    )
    credited_cents: int = Field(
        0, description="Credited to the balance for this void: 0 until the courier has cancelled the number."
    )
    voided_at: datetime
    settled_at: datetime | None = Field(None, description="When the courier's answer was recorded.")


class AllocateRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"carrier": "ZTO", "order_id": "3927481123456789"}]})

    carrier: CarrierCode
    order_id: OrderId = Field(description="The marketplace order id (tid) or the shop's own order reference.")


class Allocation(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "carrier": "ZTO",
                    "order_id": "3927481123456789",
                    "number": "783456789012",
                    "expires_at": "2027-02-26T00:00:00Z",
                    "created": True,
                }
            ]
        }
    )

    carrier: CarrierCode
    order_id: str
    number: str
    expires_at: datetime
    created: bool = Field(description="False when the order already had this number (an idempotent repeat).")


class BatchAllocateRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"carrier": "ZTO", "order_ids": ["3927481123456789", "3927481123456790"]}]}
    )

    carrier: CarrierCode
    order_ids: list[OrderId] = Field(min_length=1, max_length=MAX_BATCH_ALLOCATION)

    @field_validator("order_ids")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("order_ids must not repeat")
        return value


class BatchAllocation(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "carrier": "ZTO",
                    "allocations": [
                        {
                            "carrier": "ZTO",
                            "order_id": "3927481123456789",
                            "number": "783456789012",
                            "expires_at": "2027-02-26T00:00:00Z",
                            "created": True,
                        },
                        {
                            "carrier": "ZTO",
                            "order_id": "3927481123456790",
                            "number": "783456789013",
                            "expires_at": "2027-02-26T00:00:00Z",
                            "created": False,
                        },
                    ],
                }
            ]
        }
    )

    carrier: CarrierCode
    allocations: list[Allocation]


class WaybillInfo(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "number": "783456789012",
                    "carrier": "ZTO",
                    "status": "allocated",
                    "order_id": "3927481123456789",
                    "expires_at": "2027-02-26T00:00:00Z",
                    "purchase_id": "p-3f9c2a1b7d4e6f80",
                    "source": "courier",
                    "verified": True,
                    "allocated_at": "2026-11-28T09:41:07Z",
                },
                {
                    "number": "EA123456785CN",
                    "carrier": "EMS",
                    "status": "superseded",
                    "order_id": "39274811",
                    "expires_at": "2027-11-28T09:41:07Z",
                    "purchase_id": None,
                    "source": "manual",
                    "verified": False,
                    "allocated_at": "2026-11-28T09:41:07Z",
                },
            ]
        }
    )

    number: str
    carrier: CarrierCode
    status: WaybillState
    order_id: str | None
    expires_at: datetime
    purchase_id: str | None
    source: str = Field(description="`courier` (bought from the courier) or `manual` (typed by the shop).")
    verified: bool = Field(
        True,
        description=(
            "False for a typed number: nobody vouches that the courier issued it to this shop, and a purchase "
            "that receives it from the courier before it is printed takes it over (status `superseded`)."
        ),
    )
    allocated_at: datetime | None
    void: VoidInfo | None = Field(
        None, description="A number voided before collection: what the courier said and what it credited."
    )


class MarkState(StrEnum):
    PRINTED = "printed"
    SHIPPED = "shipped"
    QUARANTINED = "quarantined"
    EXPIRED = "expired"


# Where a shipped number was used, as shipping says in its marks (allocation knows no stores): spend reports
# by store and channel. Optional, so older senders (and jobs they queued) still mark.
StoreRef = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$"),
]
ChannelRef = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
]
_STORE_DOC = "A shipped mark: the store the number shipped for (null: the shop's own orders, or not said)."
_CHANNEL_DOC = "A shipped mark: the sales channel it shipped for (`taobao`, `pinduoduo`, `own`)."


class MarkRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "printed", "order_id": "3927481123456789"},
                {"status": "shipped", "order_id": "3927481123456789", "store_id": "sto-8f2a1c", "channel": "taobao"},
            ]
        }
    )

    status: MarkState
    order_id: OrderId | None = Field(None, description="When given, the number must belong to this order.")
    reason: str | None = Field(None, max_length=500, description="Why (kept for quarantine and expiry).")
    store_id: StoreRef | None = Field(None, description=_STORE_DOC)
    channel: ChannelRef | None = Field(None, description=_CHANNEL_DOC)


MAX_BATCH_MARK = 1000


class MarkItem(BaseModel):
    number: str = Field(min_length=1, max_length=40, description="The waybill number (case and spaces ignored).")
    order_id: OrderId | None = Field(None, description="When given, the number must belong to this order.")
    store_id: StoreRef | None = Field(None, description=_STORE_DOC)
    channel: ChannelRef | None = Field(None, description=_CHANNEL_DOC)

    @field_validator("number")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return value.strip().upper()


class BatchMarkRequest(BaseModel):
    """Many numbers moved to one state in one call: what a batch does for its chunk instead of a call per number."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "shipped",
                    "items": [
                        {
                            "number": "783456789012",
                            "order_id": "3927481123456789",
                            "store_id": "sto-8f2a1c",
                            "channel": "taobao",
                        }
                    ],
                }
            ]
        }
    )

    status: MarkState
    items: list[MarkItem] = Field(min_length=1, max_length=MAX_BATCH_MARK)
    reason: str | None = Field(None, max_length=500, description="Why (kept for quarantine and expiry).")

    @field_validator("items")
    @classmethod
    def _unique(cls, value: list[MarkItem]) -> list[MarkItem]:
        if len({i.number for i in value}) != len(value):
            raise ValueError("numbers must not repeat")
        return value


class MarkOutcome(BaseModel):
    """One number's answer: ``status`` when marked (or already there), else the code and message the single
    mark endpoint would have answered (not_found, invalid_transition, conflict)."""

    number: str
    status: WaybillState | None = None
    error_code: str | None = None
    error: str | None = None


class BatchMarkResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "shipped",
                    "marked": 1,
                    "refused": 1,
                    "results": [
                        {"number": "783456789012", "status": "shipped", "error_code": None, "error": None},
                        {
                            "number": "783456789099",
                            "status": None,
                            "error_code": "not_found",
                            "error": "waybill 783456789099 not found",
                        },
                    ],
                }
            ]
        }
    )

    status: MarkState
    marked: int = Field(description="Numbers now in the asked state (those already there included).")
    refused: int
    results: list[MarkOutcome] = Field(description="One per asked number, in the order asked.")


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"order_id": "3927481123456789"}]})

    order_id: OrderId | None = Field(None, description="When given, the number must belong to this order.")


class ReleaseResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"number": "783456789012", "status": "available", "void": None},
                {
                    "number": "783456789013",
                    "status": "voided",
                    "void": {**_VOID_EXAMPLE, "courier": "pending", "credited_cents": 0, "settled_at": None},
                },
            ]
        }
    )

    number: str
    status: WaybillState = Field(description="available (back in the pool) or voided (it had been printed).")
    void: VoidInfo | None = Field(
        None,
        description=(
            "A voided number's courier outcome and credit (null when it went back to the pool, or was voided "
            "by a refund). `courier` is `pending` on the first answer: `GET /v1/waybills/{number}` (or the same "
            "release again) shows the outcome once the courier has answered."
        ),
    )


class Recipient(BaseModel):
    """Who a parcel goes to, as the courier's waybill records it (an address change before collection: 改址)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "张三",
                    "phone": "13800138000",
                    "province": "浙江省",
                    "city": "杭州市",
                    "district": "余杭区",
                    "address": "文一西路 969 号",
                    "order_id": "3927481123456789",
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=1, max_length=40)
    province: str = Field(min_length=1, max_length=50)
    city: str = Field(min_length=1, max_length=50)
    district: str = Field("", max_length=50)
    address: str = Field(min_length=1, max_length=300)
    order_id: OrderId | None = Field(None, description="When given, the number must belong to this order.")


class RecipientUpdated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"number": "783456789012", "carrier": "ZTO", "sort_code": "571-H27 40", "package_center": "杭州包"}
            ]
        }
    )

    number: str
    carrier: str
    # The courier's routing for the new destination, when its answer carried a usable one.
    sort_code: str | None = Field(None, description="三段码 / 大头笔 for the new destination (null: none given).")
    package_center: str | None = Field(None, description="集包地 for the new destination (null: none given).")


class ManualWaybillRequest(BaseModel):
    """A number the seller typed in: validated and registered so that it can never be used twice."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"carrier": "EMS", "number": "EA123456785CN", "order_id": "39274811"}]}
    )

    carrier: CarrierCode
    number: WaybillNumberStr
    order_id: OrderId
