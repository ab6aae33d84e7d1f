"""Every provider's status codes mapped to our one status set, and the rules for moving between statuses.

All mapping tables live here (and nowhere else), each row covered by tests/unit/tracking/test_normalise.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from shared.tracking import TrackingStatus

# Kuaidi100 basic ``state`` codes (also used as per-event ``statusCode`` for the coarse steps).
KUAIDI100_STATE: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "0": TrackingStatus.IN_TRANSIT,  # 在途
        "1": TrackingStatus.COLLECTED,  # 揽收
        "2": TrackingStatus.PROBLEM,  # 疑难
        "3": TrackingStatus.DELIVERED,  # 签收
        "4": TrackingStatus.RETURNED,  # 退签: returned and signed for by the sender
        "5": TrackingStatus.OUT_FOR_DELIVERY,  # 派件
        "6": TrackingStatus.RETURNING,  # 退回
        "7": TrackingStatus.IN_TRANSIT,  # 转投: handed to another carrier, still moving
        "8": TrackingStatus.IN_TRANSIT,  # 清关: customs
        "14": TrackingStatus.REFUSED,  # 拒签
    }
)

# Kuaidi100 fine codes (``resultv2``); codes not listed fall back to KUAIDI100_STATE.
KUAIDI100_RESULTV2: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "101": TrackingStatus.INFO_RECEIVED,  # 已下单
        "102": TrackingStatus.INFO_RECEIVED,  # 待揽收
        "103": TrackingStatus.COLLECTED,  # 已揽收
        "1001": TrackingStatus.ARRIVED_AT_CITY,  # 到达派件城市
        "1002": TrackingStatus.IN_TRANSIT,  # 干线
        "1003": TrackingStatus.IN_TRANSIT,  # 转递
        "201": TrackingStatus.PROBLEM,  # 超时未签收
        "202": TrackingStatus.PROBLEM,  # 超时未更新
        "203": TrackingStatus.REFUSED,  # 拒收
        "204": TrackingStatus.DELIVERY_FAILED,  # 派件异常
        "205": TrackingStatus.PROBLEM,  # 柜或驿站超时未取
        "206": TrackingStatus.DELIVERY_FAILED,  # 无法联系
        "207": TrackingStatus.PROBLEM,  # 超区
        "208": TrackingStatus.PROBLEM,  # 滞留
        "209": TrackingStatus.PROBLEM,  # 破损
        "501": TrackingStatus.AVAILABLE_FOR_PICKUP,  # 投柜或驿站
        "301": TrackingStatus.DELIVERED,  # 本人签收
        "302": TrackingStatus.DELIVERED,  # 派件异常后签收
        "303": TrackingStatus.DELIVERED,  # 代签
        "304": TrackingStatus.DELIVERED,  # 投柜或站签收
        # 已销单: the waybill was cancelled; tracking ends without delivery.
        "401": TrackingStatus.EXPIRED,
    }
)

# The Chinese state names Kuaidi100 puts on each event (``status``), for events without a code.
KUAIDI100_STATE_NAME: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "在途": TrackingStatus.IN_TRANSIT,
        "揽收": TrackingStatus.COLLECTED,
        "疑难": TrackingStatus.PROBLEM,
        "签收": TrackingStatus.DELIVERED,
        "退签": TrackingStatus.RETURNED,
        "派件": TrackingStatus.OUT_FOR_DELIVERY,
        "退回": TrackingStatus.RETURNING,
        "转投": TrackingStatus.IN_TRANSIT,
        "清关": TrackingStatus.IN_TRANSIT,
        "拒签": TrackingStatus.REFUSED,
    }
)

# Kdniao ``State``.
KDNIAO_STATE: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "0": TrackingStatus.PENDING,  # no trace yet
        "1": TrackingStatus.COLLECTED,
        "2": TrackingStatus.IN_TRANSIT,
        "3": TrackingStatus.DELIVERED,
        "4": TrackingStatus.PROBLEM,
        "5": TrackingStatus.IN_TRANSIT,  # forwarded to another carrier
        "6": TrackingStatus.IN_TRANSIT,  # customs
    }
)

# AfterShip ``tag``.
AFTERSHIP_TAG: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "Pending": TrackingStatus.PENDING,
        "InfoReceived": TrackingStatus.INFO_RECEIVED,
        "InTransit": TrackingStatus.IN_TRANSIT,
        "OutForDelivery": TrackingStatus.OUT_FOR_DELIVERY,
        "AttemptFail": TrackingStatus.DELIVERY_FAILED,
        "Delivered": TrackingStatus.DELIVERED,
        "AvailableForPickup": TrackingStatus.AVAILABLE_FOR_PICKUP,
        "Exception": TrackingStatus.PROBLEM,
        "Expired": TrackingStatus.EXPIRED,
    }
)

# EasyPost tracker ``status``.
EASYPOST_STATUS: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "unknown": TrackingStatus.PENDING,
        "pre_transit": TrackingStatus.INFO_RECEIVED,
        "in_transit": TrackingStatus.IN_TRANSIT,
        "out_for_delivery": TrackingStatus.OUT_FOR_DELIVERY,
        "available_for_pickup": TrackingStatus.AVAILABLE_FOR_PICKUP,
        "delivered": TrackingStatus.DELIVERED,
        "return_to_sender": TrackingStatus.RETURNING,
        "failure": TrackingStatus.DELIVERY_FAILED,
        "cancelled": TrackingStatus.EXPIRED,  # the label was cancelled: tracking ends without delivery
        "error": TrackingStatus.PROBLEM,
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
        TrackingStatus.PENDING: 0,
        TrackingStatus.INFO_RECEIVED: 10,
        TrackingStatus.COLLECTED: 20,
        TrackingStatus.IN_TRANSIT: 30,
        TrackingStatus.ARRIVED_AT_CITY: 40,
        TrackingStatus.OUT_FOR_DELIVERY: 50,
        TrackingStatus.AVAILABLE_FOR_PICKUP: 60,
        TrackingStatus.REFUSED: 70,
        TrackingStatus.RETURNING: 80,
        TrackingStatus.DELIVERED: 100,
        TrackingStatus.RETURNED: 110,
        TrackingStatus.EXPIRED: 120,
    }
)
EXCEPTIONS = frozenset({TrackingStatus.PROBLEM, TrackingStatus.DELIVERY_FAILED})
TERMINAL = frozenset({TrackingStatus.DELIVERED, TrackingStatus.RETURNED, TrackingStatus.EXPIRED})
RETURN_CHAIN = frozenset({TrackingStatus.REFUSED, TrackingStatus.RETURNING, TrackingStatus.RETURNED})
# The one way out of a terminal status: a delivered parcel that comes back.
AFTER_DELIVERED = frozenset({TrackingStatus.RETURNING, TrackingStatus.RETURNED})


def advance(current: TrackingStatus, progress: int, candidate: TrackingStatus) -> tuple[TrackingStatus, int]:
    """The status after an event saying ``candidate``, given the ``current`` one and the highest rank
    reached so far (``progress``). Forward only: a late or repeated event never moves a parcel back."""
    if candidate == current:
        return current, progress
    if current in (TrackingStatus.RETURNED, TrackingStatus.EXPIRED):
        return current, progress
    if current == TrackingStatus.DELIVERED:
        if candidate in AFTER_DELIVERED:
            return candidate, RANK[candidate]
        return current, progress
    if candidate in EXCEPTIONS:
        # A problem reported while the parcel is already on its way back changes nothing.
        if current in RETURN_CHAIN:
            return current, progress
        return candidate, progress
    if candidate == TrackingStatus.EXPIRED:
        return candidate, RANK[candidate]
    rank = RANK[candidate]
    if rank >= progress:
        return candidate, rank
    return current, progress
