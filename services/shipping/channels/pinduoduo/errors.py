"""Pinduoduo's error envelope classified: every error code we know to one ``base.Refusal``.

Sources (see ``protocol``'s docstring for the full list): 10019 and 52101/52102/52103/70031 and the
retryable ranges from lywzx/pdd-node-sdk packages/core/src/exceptions/pdd-response.exception.ts; 20004
from the answer quoted in justmd5/pinduoduo-sdk issue #19. Every other code here is unconfirmed (no public
source gives it): chosen for the sandbox and us to agree on.
"""

from __future__ import annotations

from services.shipping.channels.base import Refusal

NETWORK = "network"  # our own code: no answer, a 5xx or an answer we cannot read

ACCESS_TOKEN_EXPIRED = 10019  # access_token已过期 (lywzx/pdd-node-sdk)
ACCESS_TOKEN_INVALID = 10035  # unconfirmed: access_token missing, unknown or revoked
PARAMETER_INVALID = 10000  # unconfirmed: 参数错误, a parameter missing or malformed
SIGN_INVALID = 20004  # 签名验证失败 (justmd5/pinduoduo-sdk#19)
RATE_LIMITED_API = 52101  # 当前接口被限流，请稍后重试 (lywzx/pdd-node-sdk)
API_UNAVAILABLE = 52102  # 当前接口暂时不可用，请稍后重试 (lywzx/pdd-node-sdk)
SERVICE_UNAVAILABLE = 52103  # 服务暂时不可用，请稍后重试 (lywzx/pdd-node-sdk)
RATE_LIMITED = 70031  # 调用过于频繁，请调整调用频率 (lywzx/pdd-node-sdk)
# Business refusals of pdd.order.information.get / pdd.logistics.online.send: all unconfirmed.
ORDER_NOT_FOUND = 50001
ORDER_ALREADY_SHIPPED = 50002
ORDER_CANNOT_SHIP = 50003  # refunded, cancelled or in after-sales
TRACKING_NUMBER_INVALID = 50004  # does not match the carrier's number rules
TRACKING_NUMBER_USED = 50005  # already used for another order
LOGISTICS_COMPANY_UNKNOWN = 50006
# A change of shipment (修改发货, redelivery_type 2) or an extra number on an order not shipped (or signed for).
SHIPMENT_UNCHANGEABLE = 50007

ERROR_REFUSALS: dict[int, Refusal] = {
    ACCESS_TOKEN_EXPIRED: Refusal.PERMANENT,
    ACCESS_TOKEN_INVALID: Refusal.PERMANENT,
    PARAMETER_INVALID: Refusal.PERMANENT,
    SIGN_INVALID: Refusal.PERMANENT,
    RATE_LIMITED_API: Refusal.RETRY,
    API_UNAVAILABLE: Refusal.RETRY,
    SERVICE_UNAVAILABLE: Refusal.RETRY,
    RATE_LIMITED: Refusal.RETRY,
    ORDER_NOT_FOUND: Refusal.ORDER_CLOSED,
    ORDER_ALREADY_SHIPPED: Refusal.ALREADY_SHIPPED,
    ORDER_CANNOT_SHIP: Refusal.ORDER_CLOSED,
    TRACKING_NUMBER_INVALID: Refusal.NUMBER_REJECTED,
    TRACKING_NUMBER_USED: Refusal.NUMBER_REJECTED,
    LOGISTICS_COMPANY_UNKNOWN: Refusal.PERMANENT,
    SHIPMENT_UNCHANGEABLE: Refusal.PERMANENT,
}
SESSION_ERROR_CODES = frozenset({ACCESS_TOKEN_EXPIRED, ACCESS_TOKEN_INVALID})

# The SDK's rule for codes it does not name: [10000, 40000) and [50000, 52004) are the caller's or the
# business's refusals (asking again gives the same answer); any other code is the platform's and may pass.
_CALLER_RANGES = (range(10000, 40000), range(50000, 52004))


def refusal_of(code: int | str) -> Refusal:
    if code == NETWORK:
        return Refusal.RETRY
    if not isinstance(code, int):
        return Refusal.PERMANENT
    known = ERROR_REFUSALS.get(code)
    if known is not None:
        return known
    if any(code in r for r in _CALLER_RANGES):
        return Refusal.PERMANENT
    return Refusal.RETRY


def _as_code(value: object) -> int | str:
    """An error code as the platform sent it: an int when it is one (also as digits), else its text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 12:
        return int(value)
    return str(value)[:64]


class PddError(Exception):
    """Pinduoduo's ``error_response`` (or no usable answer: code ``network``)."""

    def __init__(self, code: object, msg: str, sub_code: str | None = None, sub_msg: str | None = None) -> None:
        self.code: int | str = NETWORK if code == NETWORK else _as_code(code)
        self.msg = msg
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        detail = (f" {sub_code}" if sub_code else "") + (f": {sub_msg}" if sub_msg else "")
        super().__init__(f"{self.code} {msg}{detail}")

    @property
    def _classified_code(self) -> int | str:
        # The business detail may sit in sub_code (numeric, as text) beside a generic error_code: the more
        # specific one decides when we know it.
        sub = _as_code(self.sub_code) if self.sub_code is not None else None
        if isinstance(sub, int) and sub in ERROR_REFUSALS:
            return sub
        return self.code

    @property
    def refusal(self) -> Refusal:
        return refusal_of(self._classified_code)

    @property
    def session_invalid(self) -> bool:
        return self._classified_code in SESSION_ERROR_CODES

    @property
    def message(self) -> str:
        return self.sub_msg or self.msg

    @property
    def short_code(self) -> str:
        return str(self._classified_code)


def network_error(what: str) -> PddError:
    return PddError(NETWORK, what)
