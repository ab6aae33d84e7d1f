"""Carriers as the outside world knows them, their number formats, and every number the couriers issued.

Each carrier draws numbers from its own sequence, started at a random base so a restarted sandbox does not
hand out the numbers of the previous run again, and a global registry refuses any string issued before.
Prefixes are chosen so that no two carriers' numbers can be the same string.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def s10_check(serial: str) -> int:
    r = sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True)) % 11
    return 5 if r == 0 else 0 if r == 1 else 11 - r


def gs1_check(data: str) -> int:
    # Weight 3 on the rightmost data digit, alternating leftwards.
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(data)))
    return (10 - total % 10) % 10


def _digits(prefix: str, width: int) -> Callable[[int], str]:
    return lambda n: f"{prefix}{n:0{width}d}"


def _s10(first: str, seconds: str) -> Callable[[int], str]:
    # The sequence walks through 10^8 serials per second letter, each number with its check digit.
    def make(n: int) -> str:
        letter, serial = divmod(n, 10**8)
        digits = f"{serial:08d}"
        return f"{first}{seconds[letter]}{digits}{s10_check(digits)}CN"

    return make


def _sscc(company_prefix: str) -> Callable[[int], str]:
    # Extension digit 0, a GS1 China company prefix (690-699), a serial, then the mod-10 check digit.
    width = 17 - 1 - len(company_prefix)

    def make(n: int) -> str:
        data = f"0{company_prefix}{n:0{width}d}"
        return f"{data}{gs1_check(data)}"

    return make


@dataclass(frozen=True)
class Carrier:
    id: int
    code: str
    name: str
    kuaidi100: str
    reg_mail_no: str
    make: Callable[[int], str]
    capacity: int  # how many sequence values ``make`` accepts

    def matches(self, number: str) -> bool:
        return re.fullmatch(self.reg_mail_no, number, re.ASCII) is not None


_POST = r"^([A-Z]{2}[0-9]{9}[A-Z]{2}|[0-9]{13})$"
_JD = r"^(JD[XK][0-9]{12}|JDV[A-Z][0-9]{11})$"
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in (
        Carrier(101, "YTO", "圆通速递", "yuantong", r"^YT[0-9]{13}$", _digits("YT", 13), 10**13),
        Carrier(500, "ZTO", "中通快递", "zhongtong", r"^([0-9]{12}|[0-9]{14})$", _digits("7", 11), 10**11),
        Carrier(100, "STO", "申通快递", "shentong", r"^[0-9]{12,15}$", _digits("77", 11), 10**11),
        Carrier(102, "YUNDA", "韵达快递", "yunda", r"^([0-9]{13}|[0-9]{15})$", _digits("43", 11), 10**11),
        Carrier(505, "SF", "顺丰速运", "shunfeng", r"^(SF[0-9]{13}|[0-9]{12})$", _digits("SF", 13), 10**13),
        Carrier(2, "EMS", "EMS", "ems", _POST, _s10("E", "ABCDEFGHIJKLM"), 13 * 10**8),
        Carrier(504, "EYB", "EMS经济快递", "ems", _POST, _s10("E", "NOPQRSTUVWXYZ"), 13 * 10**8),
        Carrier(2_000, "POSTB", "邮政快递包裹", "youzhengguonei", _POST, _s10("C", _ALPHABET), 26 * 10**8),
        Carrier(502, "HTKY", "百世快递", "huitongkuaidi", r"^[0-9]{12,15}$", _digits("55", 12), 10**12),
        Carrier(5_000_000_000_013, "JD", "京东物流", "jd", _JD, _digits("JDX", 12), 10**12),
        Carrier(1_207, "UC", "优速快递", "youshuwuliu", r"^[0-9]{12,13}$", _digits("58", 11), 10**11),
        Carrier(1_204, "TTKDEX", "天天快递", "tiantian", r"^[0-9]{12}$", _digits("66", 10), 10**10),
        Carrier(103, "ZJS", "宅急送", "zhaijisong", r"^[A-Z0-9]{10,14}$", _digits("ZJS", 10), 10**10),
        Carrier(5_000_000_110_730, "DBKD", "德邦快递", "debangkuaidi", r"^([0-9]{18}|DPK[0-9]{12})$", _sscc("6901234"),
                10**9),
        Carrier(21_000_038_002, "JT", "极兔速递", "jtexpress", r"^JT[0-9]{13}$", _digits("JT", 13), 10**13),
    )
}  # fmt: skip

# Kuaidi100 says "ems" for both EMS and EYB; the first row wins, which is EMS.
BY_KUAIDI100: dict[str, Carrier] = {}
for _carrier in CARRIERS.values():
    BY_KUAIDI100.setdefault(_carrier.kuaidi100, _carrier)


class NumberState(IntEnum):
    ISSUED = 0
    DISCARDED = 1
    # Picked up by the courier: only the tracking simulation's 揽收 does it. A marketplace being told the
    # parcel shipped does not: that is the seller's word, not the courier's hands.
    COLLECTED = 2


@dataclass(slots=True)
class IssuedNumber:
    number: str
    cp_code: str
    seller_id: str
    object_id: str
    expire_at: float  # real epoch seconds
    state: NumberState = NumberState.ISSUED
    # The receiver the waybill was last updated to (TMS_WAYBILL_UPDATE), while not collected.
    recipient: dict[str, Any] | None = None
    # Where it goes ({province, city, district, detail}): bound by TMS_WAYBILL_ROUTE or an update's receiver.
    destination: dict[str, str] | None = None


@dataclass(slots=True)
class Issue:
    """What one object_id was given: echoed again, unchanged, whenever it is asked for again."""

    object_id: str
    codes: list[str]
    expire_at: float


@dataclass
class Branch:
    """A seller's account at one carrier's branch, with the counters the real service reports."""

    cp_code: str
    seller_id: str
    branch_code: str
    segment_code: str
    allocated: int = 0
    cancelled: int = 0
    printed: int = 0

    @property
    def remaining(self) -> int:
        return self.allocated - self.cancelled - self.printed


@dataclass
class NumberRegistry:
    """Every number ever issued (shared by the couriers, the marketplace and the tracking simulation)."""

    rng: random.Random = field(default_factory=random.SystemRandom)
    numbers: dict[str, IssuedNumber] = field(default_factory=dict)
    issues: dict[tuple[str, str, str], Issue] = field(default_factory=dict)
    branches: dict[tuple[str, str], Branch] = field(default_factory=dict)
    _next: dict[str, int] = field(default_factory=dict)

    def branch(self, cp_code: str, seller_id: str) -> Branch:
        key = (cp_code, seller_id)
        found = self.branches.get(key)
        if found is None:
            n = len(self.branches)
            found = Branch(
                cp_code, seller_id, branch_code=f"{330100 + n % 900:06d}", segment_code=f"{cp_code}-SEG-{n:04d}"
            )
            self.branches[key] = found
        return found

    def _draw(self, carrier: Carrier) -> str:
        n = self._next.get(carrier.code)
        if n is None:
            # A random base in the lower half leaves the upper half for this run's numbers.
            n = self.rng.randrange(carrier.capacity // 10, carrier.capacity // 2)
        while True:
            number = carrier.make(n)
            n += 1
            if number not in self.numbers:
                self._next[carrier.code] = n
                return number

    def issue(self, cp_code: str, seller_id: str, object_id: str, quantity: int, expire_at: float) -> Issue:
        """The numbers for ``object_id``; the original issue, unchanged, if it was asked for before."""
        key = (cp_code, seller_id, object_id)
        existing = self.issues.get(key)
        if existing is not None:
            return existing
        carrier = CARRIERS[cp_code]
        codes = []
        for _ in range(quantity):
            number = self._draw(carrier)
            self.numbers[number] = IssuedNumber(number, cp_code, seller_id, object_id, expire_at)
            codes.append(number)
        issue = Issue(object_id, codes, expire_at)
        self.issues[key] = issue
        self.branch(cp_code, seller_id).allocated += quantity
        return issue

    def collect(self, number: str) -> None:
        """The courier has the parcel: the number can no longer be discarded and counts as printed."""
        record = self.numbers.get(number)
        if record is None or record.state is not NumberState.ISSUED:
            return
        record.state = NumberState.COLLECTED
        self.branch(record.cp_code, record.seller_id).printed += 1

    def discard(self, number: str) -> None:
        record = self.numbers[number]
        if record.state is NumberState.ISSUED:
            record.state = NumberState.DISCARDED
            self.branch(record.cp_code, record.seller_id).cancelled += 1
