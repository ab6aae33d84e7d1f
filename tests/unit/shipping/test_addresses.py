"""The intake checks of a receiver, with no database: province, city and district against the national
administrative divisions (short forms, municipalities, renamed counties, towns of cities with no county level)
and phones (mobiles, landlines with area code, virtual numbers with an extension, garbage)."""

from __future__ import annotations

import pytest

from services.shipping.addresses import Field, check_phone, check_receiver, check_region


@pytest.mark.parametrize(
    ("state", "city", "district"),
    [
        ("广东省", "广州市", "天河区"),
        ("广东", "广州", "天河区"),  # short forms of province and city
        ("广东省", "深圳市", ""),  # the district is optional
        ("北京", "北京市", "朝阳区"),  # a municipality: its city is itself ...
        ("北京市", "市辖区", "海淀区"),  # ... or 市辖区, as the national tables write it
        ("北京市", "北京", "朝阳区"),
        ("上海", "上海市", "浦东新区"),
        ("天津市", "天津市", "滨海新区"),
        ("重庆市", "县", "城口县"),
        ("重庆", "重庆市", "两江新区"),  # 2026: 江北区 and 渝北区 became 两江新区
        ("山西省", "晋中市", "太谷县"),  # 太谷县 became 太谷区 (2019): the same name, another suffix
        ("湖北省", "宜昌市", "长阳县"),  # 长阳土家族自治县 by its place name
        ("吉林省", "延边", "延吉市"),  # 延边朝鲜族自治州
        ("内蒙古", "锡林郭勒盟", "锡林浩特市"),
        ("新疆", "和田地区", "和安县"),  # set up in 2024
        ("广东省", "东莞市", "长安镇"),  # no county level: marketplaces put the town there
        ("湖北省", "仙桃市", "郑场镇"),  # a county-level city straight under the province
        ("湖北省", "省直辖县级行政区划", "仙桃市"),  # ... as the national tables write it
        ("江苏省", "苏州市", "苏州工业园区"),  # an economic zone marketplaces list as a district
        ("香港特别行政区", "九龙", "油尖旺区"),  # no divisions below the region in the data
        (" 浙江省 ", "杭州市", "西湖区 "),  # surrounding spaces
    ],
)
def test_good_regions_pass(state: str, city: str, district: str) -> None:
    assert check_region(state, city, district) == []


@pytest.mark.parametrize(
    ("state", "city", "district", "field", "message"),
    [
        ("广东省", "广州市", "XX区", Field.DISTRICT, "区县「XX区」不属于「广州市」"),
        ("广东省", "广州市", "南山区", Field.DISTRICT, "区县「南山区」不属于「广州市」（它在「深圳市」）"),
        ("北京", "北京", "浦东新区", Field.DISTRICT, "区县「浦东新区」不属于「北京市」"),
        ("广东省", "杭州市", "", Field.CITY, "城市「杭州市」不属于「广东省」"),
        ("广东省", "", "", Field.CITY, "缺少「广东省」下的城市"),
        ("火星", "奥林帕斯市", "", Field.STATE, "省份「火星」不是中国的省级行政区"),
        ("", "", "", Field.STATE, "缺少省份"),
        ("广", "广州市", "", Field.STATE, "省份「广」不是中国的省级行政区"),  # one character names nothing
    ],
)
def test_bad_regions_say_exactly_what_is_wrong(
    state: str, city: str, district: str, field: Field, message: str
) -> None:
    (problem,) = check_region(state, city, district)
    assert (problem.field, problem.message) == (field, message)


def test_every_sandbox_receiver_passes() -> None:
    """The sandbox marketplaces' receivers are realistic: none of them is held."""
    import random

    from services.sandbox.addresses import CITIES, mobile

    bad = [(c.province, c.name, d) for c in CITIES for d in c.districts if check_region(c.province, c.name, d)]
    assert bad == []
    rng = random.Random(7)
    assert [m for m in (mobile(rng) for _ in range(2000)) if check_phone(m)] == []


@pytest.mark.parametrize(
    "phone",
    [
        "13800138000",
        "19912345678",
        "+86 138 0013 8000",
        "86-13800138000",
        "13800138000-1234",  # a virtual number with its extension (the buyer hid their number)
        "13800138000转1234",
        "13800138000#1234",
        "13800138000,1234",
        "０５７１－８８８８６６６６",  # full-width
        "0571-88886666",
        "057188886666",
        "(0755)88886666",
        "010-12345678",
        "0571-88886666-801",  # a landline with its extension
    ],
)
def test_good_phones_pass(phone: str) -> None:
    assert check_phone(phone) is None


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("", "缺少收件人电话"),
        ("abc", "电话「abc」不是电话号码"),
        ("12345678901", "手机号「12345678901」无效（应为 1 开头的 11 位号码，第二位 3-9）"),
        ("1380013800", "电话「1380013800」不是有效的手机号或带区号的固定电话"),  # 10 digits
        ("88886666", "固定电话「88886666」缺少区号"),
        ("138****8000", "电话「138****8000」被遮蔽（含 *），快递员无法联系收件人"),
        ("4008001234", "电话「4008001234」不是有效的手机号或带区号的固定电话"),  # a service line, no receiver
        ("+1 415 555 0100", "电话「+1 415 555 0100」不是中国大陆的号码"),
        ("13800138000-abc", "电话「13800138000-abc」不是有效的手机号或带区号的固定电话"),
    ],
)
def test_bad_phones_say_what_is_wrong(phone: str, message: str) -> None:
    problem = check_phone(phone)
    assert problem is not None
    assert (problem.field, problem.message) == (Field.PHONE, message)


def test_a_receiver_gets_every_problem_in_one_message() -> None:
    found = check_receiver("广东省", "广州市", "南山区", "12")
    assert not found.ok
    assert [p.field for p in found.problems] == [Field.DISTRICT, Field.PHONE]
    assert found.message.startswith("区县「南山区」不属于「广州市」")
    assert "；" in found.message
    assert check_receiver("浙江", "杭州", "余杭区", "13800138000转1234").ok
