"""Privacy labels' masking: mobiles, landlines, virtual numbers with extensions, odd input, and names with one-
and two-character surnames; masking what is masked changes nothing, and no number shows more than it should."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.shipping.label_privacy import mask_name, mask_phone


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        # mobiles: the first three and the last four
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        (" 13812345678 ", "138****5678"),
        ("+86 138 1234 5678", "+86 138****5678"),
        ("+8613812345678", "+86 138****5678"),
        ("008613812345678", "0086 138****5678"),
        ("8613812345678", "86 138****5678"),
        # landlines: the area code and the last four
        ("0571-88886666", "0571-****6666"),
        ("(0571) 8888 6666", "0571-****6666"),
        ("（0571）88886666", "0571-****6666"),
        ("057188886666", "0571-****6666"),
        ("010-12345678", "010-****5678"),
        ("020 8888 6666", "020-****6666"),
        ("0755-1234567", "0755-***4567"),  # a seven-digit line
        ("+86 571 8888 6666", "+86 571-****6666"),
        ("+86 10 1234 5678", "+86 10-****5678"),
        # extensions: virtual numbers (虚拟号) and switchboards; the number masked, the extension kept
        ("13800138000-1234", "138****8000-1234"),
        ("13800138000转1234", "138****8000转1234"),
        ("13800138000 转 1234", "138****8000转1234"),
        ("13800138000#1234", "138****8000#1234"),
        ("13800138000,1234", "138****8000,1234"),
        ("0571-88886666-801", "0571-****6666-801"),
        ("0571-88886666转801", "0571-****6666转801"),
        ("0571-88886666 ext. 801", "0571-****6666ext.801"),
        # a dash inside the number is not an extension
        ("138-0013-8000", "138****8000"),
        ("0571-8888-6666", "0571-****6666"),
        # short or odd: the last digits, never more than half and never more than four
        ("95338", "***38"),
        ("110", "**0"),
        ("12", "*2"),
        ("7", "*"),
        ("1381234567", "******4567"),  # ten digits: no mobile
        ("138123456789", "********6789"),  # twelve
        ("+1 415 555 0100", "+1 *** *** 0100"),
        ("+44-20-7946-0958", "+44-**-****-0958"),
        # nothing to hide
        ("", ""),
        ("无", "无"),
        ("   ", ""),
        # already masked (the marketplace's own privacy numbers): unchanged
        ("138****5678", "138****5678"),
        ("0571-****6666", "0571-****6666"),
        ("*******5678", "*******5678"),
        ("138****8000-1234", "138****8000-1234"),
    ],
)
def test_a_phone_keeps_only_what_the_convention_shows(phone: str, shown: str) -> None:
    assert mask_phone(phone) == shown


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("张三", "张*"),
        ("王小明", "王**"),
        ("李", "*"),  # a one-character name shows nothing
        # compound surnames keep both characters (欧*** would show the surname 欧, which is not theirs)
        ("欧阳娜娜", "欧阳**"),
        ("欧阳娜", "欧阳*"),
        ("司马相如", "司马**"),
        ("诸葛亮", "诸葛*"),
        ("歐陽娜娜", "歐陽**"),
        ("欧阳", "欧*"),  # a bare compound surname: one character still masked
        # a two-character start that is no compound surname: the first one only
        ("欧文娜", "欧**"),
        ("钟离明", "钟**"),  # 钟 + 离明 far likelier than the rare 钟离
        # separators stay, every other character masked
        ("阿卜杜·热合曼", "阿**·***"),
        ("John Smith", "J*** *****"),
        ("  李   四 ", "李 *"),
        ("", ""),
        ("·", "·"),
        # already masked: unchanged
        ("张*", "张*"),
        ("欧阳**", "欧阳**"),
        ("*", "*"),
    ],
)
def test_a_name_keeps_its_surname(name: str, shown: str) -> None:
    assert mask_name(name) == shown


_PHONES = st.text(alphabet="0123456789 -+()#转*", max_size=24) | st.from_regex(r"1[3-9]\d{9}", fullmatch=True)


@given(_PHONES)
def test_masking_a_phone_twice_is_masking_it_once(phone: str) -> None:
    once = mask_phone(phone)
    assert mask_phone(once) == once


@given(_PHONES)
def test_a_masked_phone_never_shows_more_than_seven_digits_of_a_number_nor_half_of_a_short_one(phone: str) -> None:
    shown = mask_phone(phone)
    digits = len(re.findall(r"\d", re.sub(r"(-|转|#|,)\d{1,6}$", "", shown)))  # an extension aside
    total = len(re.findall(r"[\d*]", phone))
    assert digits <= 7
    if total >= 2:
        assert "*" in shown


@given(st.text(min_size=1, max_size=12))
def test_masking_a_name_twice_is_masking_it_once_and_something_is_always_hidden(name: str) -> None:
    once = mask_name(name)
    assert mask_name(once) == once
    if any(c.strip() and c not in "·•・." for c in name):  # a character, not only separators
        assert "*" in once
    assert len(once) <= len(" ".join(name.split()))
