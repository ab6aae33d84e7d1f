"""How each courier routes a waybill to its destination (分拣), as its e-waybill service answers in the print
data's ``routingInfo`` (Cainiao's field names): ``routeCode``, the sort code printed largest on the label
(三段码); ``sortation.name``, the destination's short name (大头笔); ``consolidation.name/code``, the centre the
parcel is bagged for (集包地).

Everything is derived from the destination alone (province, city, district), so one destination always routes
the same at one carrier, and carriers write their codes each in its own way. The first segment is the city's
long-distance dialling code (杭州 0571 as 571, 北京 010), as many carriers' hub codes are; the others stand in for
the courier's own branch and delivery-route tables: a hash of carrier and destination.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.sandbox.addresses import CITIES, City

# Dialling codes by administrative city code (长沙 and 株洲 share 0731, 海南 is all 0898, 贵州 all 0851).
AREA_CODES: dict[str, str] = {
    "110100": "010", "120100": "022", "130100": "0311", "130200": "0315", "130600": "0312", "140100": "0351",
    "140200": "0352", "150100": "0471", "150200": "0472", "210100": "024", "210200": "0411", "220100": "0431",
    "220200": "0432", "230100": "0451", "230200": "0452", "310100": "021", "320100": "025", "320200": "0510",
    "320500": "0512", "330100": "0571", "330200": "0574", "330300": "0577", "330700": "0579", "340100": "0551",
    "340200": "0553", "350100": "0591", "350200": "0592", "350500": "0595", "360100": "0791", "360700": "0797",
    "370100": "0531", "370200": "0532", "371300": "0539", "410100": "0371", "410300": "0379", "420100": "027",
    "420500": "0717", "430100": "0731", "430200": "0731", "440100": "020", "440300": "0755", "440600": "0757",
    "441900": "0769", "450100": "0771", "450300": "0773", "460100": "0898", "460200": "0898", "500100": "023",
    "510100": "028", "510700": "0816", "520100": "0851", "520300": "0851", "530100": "0871", "532900": "0872",
    "540100": "0891", "610100": "029", "610300": "0917", "620100": "0931", "620500": "0938", "630100": "0971",
    "640100": "0951", "650100": "0991", "653100": "0998",
}  # fmt: skip

_BY_NAME: dict[tuple[str, str], City] = {(c.province, c.name): c for c in CITIES}
# Provinces are written "浙江省" or "浙江" depending on who writes them: a city name alone finds it when unique.
_BY_CITY: dict[str, City] = {c.name: c for c in CITIES if sum(1 for o in CITIES if o.name == c.name) == 1}
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: read as 1 and 0 on a smudged label
_CITY_SUFFIXES = ("白族自治州", "自治州", "地区", "市", "盟")
_DISTRICT_SUFFIXES = ("新区", "街道", "区", "县", "市", "镇")


@dataclass(frozen=True)
class Destination:
    province: str
    city: str
    district: str = ""


class _Draw:
    """Deterministic letters and digits for one carrier and destination."""

    def __init__(self, cp_code: str, where: Destination) -> None:
        key = f"{cp_code}|{where.province}|{where.city}|{where.district}"
        self._bytes = hashlib.sha256(key.encode("utf-8")).digest()

    def letter(self, at: int) -> str:
        return _LETTERS[self._bytes[at] % len(_LETTERS)]

    def digits(self, at: int, width: int) -> str:
        return f"{int.from_bytes(self._bytes[at : at + 4], 'big') % 10**width:0{width}d}"


# Each carrier's sort code: (hub, draw) -> code. Shapes after real labels: ZTO "571-A12 03", Yunda "380D-56-04",
# SF's destination route label "771AG", the post's four segments.
_FORMATS: dict[str, Callable[[str, _Draw], str]] = {
    "ZTO": lambda hub, d: f"{hub}-{d.letter(0)}{d.digits(1, 2)} {d.digits(5, 2)}",
    "YTO": lambda hub, d: f"{hub} {d.digits(1, 3)}-{d.digits(5, 2)}",
    "STO": lambda hub, d: f"{hub}-{d.digits(1, 2)}-{d.digits(5, 3)}",
    "YUNDA": lambda hub, d: f"{hub}{d.letter(0)}-{d.digits(1, 2)}-{d.digits(5, 2)}",
    "SF": lambda hub, d: f"{hub}{d.letter(0)}{d.letter(1)}",
    "JD": lambda hub, d: f"{d.letter(0)}{hub}-{d.digits(1, 3)}",
    "JT": lambda hub, d: f"{d.letter(0)}{d.digits(1, 2)}-{hub} {d.digits(5, 3)}",
    "EMS": lambda hub, d: f"{hub}-{d.digits(1, 4)}-{d.digits(5, 2)}",
    "EYB": lambda hub, d: f"{hub}-{d.digits(1, 4)}-{d.digits(5, 2)}",
    "POSTB": lambda hub, d: f"{hub}-{d.digits(1, 4)}-{d.digits(5, 2)}",
}
_DEFAULT_FORMAT: Callable[[str, _Draw], str] = lambda hub, d: f"{hub}-{d.digits(1, 3)} {d.digits(5, 2)}"  # noqa: E731

# What each carrier calls the centre a parcel is bagged for, after the city's short name.
_CENTRES: dict[str, str] = {
    "ZTO": "{}包",
    "YTO": "{}转运中心",
    "STO": "{}中转部",
    "YUNDA": "{}分拨中心",
    "SF": "{}集散中心",
    "JD": "{}分拣中心",
    "JT": "{}转运中心",
    "HTKY": "{}分拨中心",
    "EMS": "{}邮件处理中心",
    "EYB": "{}邮件处理中心",
    "POSTB": "{}邮件处理中心",
}


def _city(where: Destination) -> City | None:
    return _BY_NAME.get((where.province, where.city)) or _BY_CITY.get(where.city)


def _short(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name.removesuffix(suffix)
    return name


def hub_code(where: Destination) -> str:
    """The destination city's dialling code, without the 0 of a four-digit one; a city the sandbox does not know
    gets a stable 9xx."""
    city = _city(where)
    if city is not None and city.code in AREA_CODES:
        code = AREA_CODES[city.code]
        return code[1:] if len(code) == 4 else code  # 0571 -> 571; 010 stays 010
    return f"9{_Draw('', Destination(where.province, where.city)).digits(0, 2)}"


def routing_info(cp_code: str, where: Destination) -> dict[str, Any]:
    """``routingInfo`` for a waybill of ``cp_code`` to ``where``."""
    hub = hub_code(where)
    draw = _Draw(cp_code, where)
    city = _short(where.city, _CITY_SUFFIXES)
    district = _short(where.district, _DISTRICT_SUFFIXES) if where.district else hub
    centre = _CENTRES.get(cp_code, "{}转运中心").format(city)
    return {
        "routeCode": _FORMATS.get(cp_code, _DEFAULT_FORMAT)(hub, draw),
        "sortation": {"name": f"{city}{district}"},
        "consolidation": {"name": centre, "code": f"{hub}{draw.digits(9, 3)}"},
    }
