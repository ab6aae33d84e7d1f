"""Every provider's status codes mapped to our one status set, and the rules for moving between statuses.

All mapping tables live here (and nowhere else), each row covered by tests/unit/tracking/test_normalise.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from shared.tracking import TrackingStatus

S = TrackingStatus

# Kuaidi100 basic ``state`` codes (also used as per-event ``statusCode`` for the coarse steps).
KUAIDI100_STATE: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "0": S.IN_TRANSIT,  # 在途
        "1": S.COLLECTED,  # 揽收
        "2": S.PROBLEM,  # 疑难
        "3": S.DELIVERED,  # 签收
        "4": S.RETURNED,  # 退签: returned and signed for by the sender
        "5": S.OUT_FOR_DELIVERY,  # 派件
        "6": S.RETURNING,  # 退回
        "7": S.IN_TRANSIT,  # 转投: handed to another carrier, still moving
        "8": S.IN_TRANSIT,  # 清关: customs
        "14": S.REFUSED,  # 拒签
    }
)

# Kuaidi100 fine codes (``resultv2``); codes not listed fall back to KUAIDI100_STATE.
KUAIDI100_RESULTV2: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "101": S.INFO_RECEIVED,  # 已下单
        "102": S.INFO_RECEIVED,  # 待揽收
        "103": S.COLLECTED,  # 已揽收
        "1001": S.ARRIVED_AT_CITY,  # 到达派件城市
        "1002": S.IN_TRANSIT,  # 干线
        "1003": S.IN_TRANSIT,  # 转递
        "201": S.PROBLEM,  # 超时未签收
        "202": S.PROBLEM,  # 超时未更新
        "203": S.REFUSED,  # 拒收
        "204": S.DELIVERY_FAILED,  # 派件异常
        "205": S.PROBLEM,  # 柜或驿站超时未取
        "206": S.DELIVERY_FAILED,  # 无法联系
        "207": S.PROBLEM,  # 超区
        "208": S.PROBLEM,  # 滞留
        "209": S.PROBLEM,  # 破损
        "501": S.AVAILABLE_FOR_PICKUP,  # 投柜或驿站
        "301": S.DELIVERED,  # 本人签收
        "302": S.DELIVERED,  # 派件异常后签收
        "303": S.DELIVERED,  # 代签
        "304": S.DELIVERED,  # 投柜或站签收
        # 已销单: the waybill was cancelled; tracking ends without delivery.
        "401": S.EXPIRED,
    }
)

# The Chinese state names Kuaidi100 puts on each event (``status``), for events without a code.
KUAIDI100_STATE_NAME: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "在途": S.IN_TRANSIT,
        "揽收": S.COLLECTED,
        "疑难": S.PROBLEM,
        "签收": S.DELIVERED,
        "退签": S.RETURNED,
        "派件": S.OUT_FOR_DELIVERY,
        "退回": S.RETURNING,
        "转投": S.IN_TRANSIT,
        "清关": S.IN_TRANSIT,
        "拒签": S.REFUSED,
    }
)

# Kdniao ``State``.
KDNIAO_STATE: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "0": S.PENDING,  # no trace yet
        "1": S.COLLECTED,
        "2": S.IN_TRANSIT,
        "3": S.DELIVERED,
        "4": S.PROBLEM,
        "5": S.IN_TRANSIT,  # forwarded to another carrier
        "6": S.IN_TRANSIT,  # customs
    }
)

# AfterShip ``tag``.
AFTERSHIP_TAG: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "Pending": S.PENDING,
        "InfoReceived": S.INFO_RECEIVED,
        "InTransit": S.IN_TRANSIT,
        "OutForDelivery": S.OUT_FOR_DELIVERY,
        "AttemptFail": S.DELIVERY_FAILED,
        "Delivered": S.DELIVERED,
        "AvailableForPickup": S.AVAILABLE_FOR_PICKUP,
        "Exception": S.PROBLEM,
        "Expired": S.EXPIRED,
    }
)

# EasyPost tracker ``status``.
EASYPOST_STATUS: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "unknown": S.PENDING,
        "pre_transit": S.INFO_RECEIVED,
        "in_transit": S.IN_TRANSIT,
        "out_for_delivery": S.OUT_FOR_DELIVERY,
        "available_for_pickup": S.AVAILABLE_FOR_PICKUP,
        "delivered": S.DELIVERED,
        "return_to_sender": S.RETURNING,
        "failure": S.DELIVERY_FAILED,
        "cancelled": S.EXPIRED,  # the label was cancelled: tracking ends without delivery
        "error": S.PROBLEM,
    }
)


class UnknownStatusCode(ValueError):
    def __init__(self, provider: str, code: str) -> None:
        super().__init__(f"unknown {provider} status code {code!r}")
        self.provider = provider
        self.code = code


def _lookup(table: Mapping[str, TrackingStatus], provider: str, code: object) -> TrackingStatus:
    key = str(code).strip()
    try:
        return table[key]
    except KeyError:
        raise UnknownStatusCode(provider, key) from None


def from_kuaidi100_state(code: object) -> TrackingStatus:
    return _lookup(KUAIDI100_STATE, "kuaidi100", code)


def from_kuaidi100_code(code: object) -> TrackingStatus:
    """A fine (resultv2) code, or a basic state code where the push carries the coarse one."""
    key = str(code).strip()
    found = KUAIDI100_RESULTV2.get(key) or KUAIDI100_STATE.get(key)
    if found is None:
        raise UnknownStatusCode("kuaidi100", key)
    return found


def kuaidi100_event_status(status_code: object, status_name: object) -> TrackingStatus | None:
    """One event of a push: its code when known, else its Chinese state name, else None."""
    if status_code not in (None, ""):
        try:
            return from_kuaidi100_code(status_code)
        except UnknownStatusCode:
            pass
    if isinstance(status_name, str):
        return KUAIDI100_STATE_NAME.get(status_name.strip())
    return None


def from_kdniao(code: object) -> TrackingStatus:
    return _lookup(KDNIAO_STATE, "kdniao", code)


def from_aftership(tag: object) -> TrackingStatus:
    return _lookup(AFTERSHIP_TAG, "aftership", tag)


def from_easypost(status: object) -> TrackingStatus:
    return _lookup(EASYPOST_STATUS, "easypost", status)


# -- moving between statuses ----------------------------------------------------------------------------

# Progress along the journey. Exceptions (problem, delivery failed) have no rank: they can happen at
# any stage and the parcel may carry on from where it was.
RANK: Mapping[TrackingStatus, int] = MappingProxyType(
    {
        S.PENDING: 0,
        S.INFO_RECEIVED: 10,
        S.COLLECTED: 20,
        S.IN_TRANSIT: 30,
        S.ARRIVED_AT_CITY: 40,
        S.OUT_FOR_DELIVERY: 50,
        S.AVAILABLE_FOR_PICKUP: 60,
        S.REFUSED: 70,
        S.RETURNING: 80,
        S.DELIVERED: 100,
        S.RETURNED: 110,
        S.EXPIRED: 120,
    }
)
EXCEPTIONS = frozenset({S.PROBLEM, S.DELIVERY_FAILED})
TERMINAL = frozenset({S.DELIVERED, S.RETURNED, S.EXPIRED})
RETURN_CHAIN = frozenset({S.REFUSED, S.RETURNING, S.RETURNED})
# The one way out of a terminal status: a delivered parcel that comes back.
AFTER_DELIVERED = frozenset({S.RETURNING, S.RETURNED})


def advance(current: TrackingStatus, progress: int, candidate: TrackingStatus) -> tuple[TrackingStatus, int]:
    """The status after an event saying ``candidate``, given the ``current`` one and the highest rank
    reached so far (``progress``). Forward only: a late or repeated event never moves a parcel back."""
    if candidate == current:
        return current, progress
    if current in (S.RETURNED, S.EXPIRED):
        return current, progress
    if current == S.DELIVERED:
        if candidate in AFTER_DELIVERED:
            return candidate, RANK[candidate]
        return current, progress
    if candidate in EXCEPTIONS:
        # A problem reported while the parcel is already on its way back changes nothing.
        if current in RETURN_CHAIN:
            return current, progress
        return candidate, progress
    if candidate == S.EXPIRED:
        return candidate, RANK[candidate]
    rank = RANK[candidate]
    if rank >= progress:
        return candidate, rank
    return current, progress
