"""Carrier codes and the one table that translates them between namespaces.

Every external system names carriers differently (the marketplace, Kdniao, Kuaidi100). Translation goes
through ``CARRIERS`` only, so a new carrier or a corrected code is a one-line change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class CarrierCode(StrEnum):
    """Our own carrier codes; they are what services store and put on the wire."""

    YTO = "YTO"
    ZTO = "ZTO"
    STO = "STO"
    YUNDA = "YUNDA"
    SF = "SF"
    EMS = "EMS"
    EYB = "EYB"
    POSTB = "POSTB"
    HTKY = "HTKY"
    JD = "JD"
    UC = "UC"
    TTKDEX = "TTKDEX"
    ZJS = "ZJS"
    DBKD = "DBKD"
    JT = "JT"


class UnknownCarrierError(ValueError):
    """A code from some namespace that maps to none of our carriers."""

    def __init__(self, namespace: str, code: str) -> None:
        super().__init__(f"unknown {namespace} carrier code {code!r}")
        self.namespace = namespace
        self.code = code


@dataclass(frozen=True, slots=True)
class CarrierNames:
    """One carrier's name in each namespace we talk to."""

    code: CarrierCode
    name_zh: str
    name_en: str
    marketplace: str
    kdniao: str
    kuaidi100: str


def _row(code: CarrierCode, name_zh: str, name_en: str, kdniao: str, kuaidi100: str) -> CarrierNames:
    # The marketplace uses the same codes as we do; spelling it out per row would only invite typos.
    return CarrierNames(code, name_zh, name_en, code.value, kdniao, kuaidi100)


_C = CarrierCode

# Order matters for reverse lookups: where two carriers share an external code (EMS and EYB share
# Kdniao "EMS" and Kuaidi100 "ems"), the earlier row wins, so EMS must stay before EYB.
CARRIERS: Mapping[CarrierCode, CarrierNames] = MappingProxyType(
    {
        row.code: row
        for row in (
            _row(_C.YTO, "圆通速递", "YTO Express", "YTO", "yuantong"),
            _row(_C.ZTO, "中通快递", "ZTO Express", "ZTO", "zhongtong"),
            _row(_C.STO, "申通快递", "STO Express", "STO", "shentong"),
            _row(_C.YUNDA, "韵达快递", "Yunda Express", "YD", "yunda"),
            _row(_C.SF, "顺丰速运", "SF Express", "SF", "shunfeng"),
            _row(_C.EMS, "EMS", "EMS", "EMS", "ems"),
            _row(_C.EYB, "EMS经济快递", "EMS Economy", "EMS", "ems"),
            _row(_C.POSTB, "邮政快递包裹", "China Post Parcel", "YZPY", "youzhengguonei"),
            _row(_C.HTKY, "百世快递", "Best Express", "HTKY", "huitongkuaidi"),
            _row(_C.JD, "京东物流", "JD Logistics", "JD", "jd"),
            _row(_C.UC, "优速快递", "UC Express", "UC", "youshuwuliu"),
            _row(_C.TTKDEX, "天天快递", "TTK Express", "HHTT", "tiantian"),
            _row(_C.ZJS, "宅急送", "ZJS Express", "ZJS", "zhaijisong"),
            _row(_C.DBKD, "德邦快递", "Deppon Express", "DBL", "debangkuaidi"),
            # J&T's marketplace code is unconfirmed; "JT" is our guess until the marketplace says otherwise.
            _row(_C.JT, "极兔速递", "J&T Express", "JTSD", "jtexpress"),
        )
    }
)


def _reverse(attr: str) -> Mapping[str, CarrierCode]:
    table: dict[str, CarrierCode] = {}
    for row in CARRIERS.values():
        table.setdefault(getattr(row, attr), row.code)  # first row wins, see the note on CARRIERS
    return MappingProxyType(table)


_FROM_MARKETPLACE = _reverse("marketplace")
_FROM_KDNIAO = _reverse("kdniao")
_FROM_KUAIDI100 = _reverse("kuaidi100")


# Codes arrive from other systems' payloads and hand-typed config, so surrounding whitespace and case are
# forgiven; each namespace is normalised to the case it publishes its codes in.
def from_marketplace(code: str) -> CarrierCode:
    try:
        return _FROM_MARKETPLACE[code.strip().upper()]
    except KeyError:
        raise UnknownCarrierError("marketplace", code) from None


def from_kdniao(code: str) -> CarrierCode:
    """Kdniao "EMS" is shared by EMS and EYB and maps back to EMS."""
    try:
        return _FROM_KDNIAO[code.strip().upper()]
    except KeyError:
        raise UnknownCarrierError("kdniao", code) from None


def from_kuaidi100(code: str) -> CarrierCode:
    """Kuaidi100 "ems" is shared by EMS and EYB and maps back to EMS."""
    try:
        return _FROM_KUAIDI100[code.strip().lower()]
    except KeyError:
        raise UnknownCarrierError("kuaidi100", code) from None


def to_marketplace(carrier: CarrierCode) -> str:
    return CARRIERS[carrier].marketplace


def to_kdniao(carrier: CarrierCode) -> str:
    return CARRIERS[carrier].kdniao


def to_kuaidi100(carrier: CarrierCode) -> str:
    return CARRIERS[carrier].kuaidi100
