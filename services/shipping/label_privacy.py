"""Privacy labels (隐私面单): the receiver's name and phone as a label shows them to everyone who handles the parcel.

The couriers' and marketplaces' convention: a mobile keeps its first three and last four digits (138****5678), a
landline its area code and last four (0571-****6666), a name its surname (张*, 王**). The address stays whole:
the courier needs it to deliver. Masking what is already masked changes nothing, since marketplaces often hand
over masked values themselves.
"""

from __future__ import annotations

import re

MASK = "*"

# Compound surnames (复姓) in use today. A name starting with one keeps both characters: 欧阳娜娜 -> 欧阳**, not
# 欧***, which would show another surname (欧 is one of its own) and hide nothing the convention means to hide.
# Left out: those whose first character is a common surname by itself and whose second is a common given-name
# character (梁丘, 钟离, 单于): 钟离明 is far likelier 钟 + 离明.
# fmt: off
COMPOUND_SURNAMES = frozenset({
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "司空", "令狐",
    "夏侯", "轩辕", "端木", "南宫", "西门", "独孤", "百里", "呼延", "澹台", "公冶", "太史", "申屠", "濮阳", "闻人",
    "赫连", "万俟", "拓跋", "完颜", "鲜于", "闾丘", "东郭",
    "歐陽", "司馬", "諸葛", "長孫", "軒轅", "聞人",
})
# fmt: on
# Kept as they are inside a name: spaces and the middle dots of transliterated names (阿卜杜·热合曼).
_NAME_SEPARATORS = frozenset(" ·•・.")

_D = r"[\d*]"  # a digit, or one already masked
# An extension after the number: 13800138000-1234 (a virtual number's, 虚拟号), 0571-88886666转801, #801, ,801.
_EXTENSION = re.compile(r"^(?P<number>.*?\d.*?)(?P<ext>\s*(?:-|转|#|,|，|ext\.?|x)\s*\d{1,6})$", re.I)
# Both on the number without its separators (``_compact``).
_MOBILE = re.compile(rf"^(?P<prefix>(?:\+|00)?86)?(?P<mobile>1{_D}{{10}})$")
# A mainland landline with its area code (010 and 02x have three digits, the rest four), then 7 or 8 digits.
# After +86 the area code's 0 may be left out.
_COUNTRY = re.compile(r"^\+\d{1,3}[\s-]+")
_AREA = r"(?:10|2\d|[3-9]\d\d)"
_LANDLINE = re.compile(rf"^(?:(?P<prefix>(?:\+|00)?86)(?P<intl>0?{_AREA})|(?P<area>0{_AREA}))(?P<line>{_D}{{7,8}})$")


def mask_phone(phone: str) -> str:
    """138****5678; 0571-****6666; a virtual number's extension kept (138****8000-1234, 138****8000转1234).

    The main number of an extension is masked like any other: nothing tells a virtual number from the receiver's
    own, and the extension alone names nobody. Anything else keeps its last digits, never more than half."""
    phone = phone.strip()
    if not any(c.isdigit() for c in phone):
        return phone  # no number in it ("无", or empty): nothing to hide
    ext = ""
    if found := _EXTENSION.match(phone):
        body = _compact(found["number"])
        if _MOBILE.match(body) or _LANDLINE.match(body):  # an extension only after a whole number
            phone, ext = found["number"], "".join(found["ext"].split())
    compact = _compact(phone)
    if m := _MOBILE.match(compact):
        mobile = m["mobile"]
        return f"{_prefix(m['prefix'])}{mobile[:3]}{MASK * 4}{mobile[7:]}{ext}"
    if m := _LANDLINE.match(compact):
        area, line = m["area"] or m["intl"], m["line"]
        return f"{_prefix(m['prefix'])}{area}-{MASK * (len(line) - 4)}{line[-4:]}{ext}"
    return _mask_tail(phone)


def mask_name(name: str) -> str:
    """The surname and a mask per other character: 张三 -> 张*, 王小明 -> 王**, 欧阳娜娜 -> 欧阳**. At least one
    character is always masked: a one-character name shows none (张 -> *), a bare compound surname one (欧阳 -> 欧*)."""
    name = " ".join(name.split())
    if not name:
        return name
    letters = [c for c in name if c not in _NAME_SEPARATORS]
    keep = 2 if name[:2] in COMPOUND_SURNAMES and len(letters) > 2 else 1
    keep = min(keep, len(letters) - 1)
    out, kept = [], 0
    for c in name:
        if c in _NAME_SEPARATORS:
            out.append(c)
        elif kept < keep:
            out.append(c)
            kept += 1
        else:
            out.append(MASK)
    return "".join(out)


def _compact(phone: str) -> str:
    """The number without the separators people write in it: spaces, dashes, brackets, dots."""
    return re.sub(r"[\s\-().]", "", phone.replace("（", "(").replace("）", ")"))


def _prefix(prefix: str | None) -> str:
    return f"{prefix} " if prefix else ""


def _mask_tail(phone: str) -> str:
    """An unrecognised number: every digit masked but the last ones, at most four and at most half of them. A
    leading country code (+1 415 ...) stays: it says where, not who."""
    if country := _COUNTRY.match(phone):
        return country[0] + _mask_tail(phone[country.end() :])
    digits = sum(c.isdigit() or c == MASK for c in phone)
    keep = min(4, digits // 2)
    out, seen = [], 0
    for c in phone:
        if c.isdigit() or c == MASK:
            seen += 1
            out.append(c if seen > digits - keep else MASK)
        else:
            out.append(c)
    return "".join(out)
