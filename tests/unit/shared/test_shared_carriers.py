import pytest

from shared.carriers import (
    CARRIERS,
    CarrierCode,
    UnknownCarrierError,
    from_kdniao,
    from_kuaidi100,
    from_marketplace,
    to_kdniao,
    to_kuaidi100,
    to_marketplace,
)

# The namespace table as specified, kept separately from shared.carriers so a typo there is caught here.
SPEC = {
    CarrierCode.YTO: ("圆通速递", "YTO", "yuantong"),
    CarrierCode.ZTO: ("中通快递", "ZTO", "zhongtong"),
    CarrierCode.STO: ("申通快递", "STO", "shentong"),
    CarrierCode.YUNDA: ("韵达快递", "YD", "yunda"),
    CarrierCode.SF: ("顺丰速运", "SF", "shunfeng"),
    CarrierCode.EMS: ("EMS", "EMS", "ems"),
    CarrierCode.EYB: ("EMS经济快递", "EMS", "ems"),
    CarrierCode.POSTB: ("邮政快递包裹", "YZPY", "youzhengguonei"),
    CarrierCode.HTKY: ("百世快递", "HTKY", "huitongkuaidi"),
    CarrierCode.JD: ("京东物流", "JD", "jd"),
    CarrierCode.UC: ("优速快递", "UC", "youshuwuliu"),
    CarrierCode.TTKDEX: ("天天快递", "HHTT", "tiantian"),
    CarrierCode.ZJS: ("宅急送", "ZJS", "zhaijisong"),
    CarrierCode.DBKD: ("德邦快递", "DBL", "debangkuaidi"),
    CarrierCode.JT: ("极兔速递", "JTSD", "jtexpress"),
}


def test_table_covers_every_carrier_once() -> None:
    assert set(CARRIERS) == set(CarrierCode) == set(SPEC)
    for code, row in CARRIERS.items():
        assert row.code is code
        assert row.name_en


@pytest.mark.parametrize("carrier", list(CarrierCode))
def test_table_matches_spec(carrier: CarrierCode) -> None:
    name_zh, kdniao, kuaidi100 = SPEC[carrier]
    row = CARRIERS[carrier]
    assert (row.name_zh, row.kdniao, row.kuaidi100) == (name_zh, kdniao, kuaidi100)
    assert row.marketplace == carrier.value


@pytest.mark.parametrize("carrier", list(CarrierCode))
def test_marketplace_round_trip(carrier: CarrierCode) -> None:
    assert from_marketplace(to_marketplace(carrier)) is carrier


@pytest.mark.parametrize("carrier", list(CarrierCode))
def test_kdniao_and_kuaidi100_round_trip(carrier: CarrierCode) -> None:
    # EYB shares EMS's codes in both aggregators, so it comes back as EMS; every other carrier round-trips.
    expected = CarrierCode.EMS if carrier is CarrierCode.EYB else carrier
    assert from_kdniao(to_kdniao(carrier)) is expected
    assert from_kuaidi100(to_kuaidi100(carrier)) is expected


def test_only_ems_and_eyb_share_external_codes() -> None:
    for attr in ("marketplace", "kdniao", "kuaidi100"):
        by_code: dict[str, set[CarrierCode]] = {}
        for row in CARRIERS.values():
            by_code.setdefault(getattr(row, attr), set()).add(row.code)
        shared = [codes for codes in by_code.values() if len(codes) > 1]
        assert shared == ([] if attr == "marketplace" else [{CarrierCode.EMS, CarrierCode.EYB}])


def test_lookups_forgive_case_and_whitespace() -> None:
    assert from_marketplace(" yunda ") is CarrierCode.YUNDA
    assert from_kdniao("yd") is CarrierCode.YUNDA
    assert from_kuaidi100(" JTExpress") is CarrierCode.JT


@pytest.mark.parametrize(
    ("lookup", "namespace"),
    [(from_marketplace, "marketplace"), (from_kdniao, "kdniao"), (from_kuaidi100, "kuaidi100")],
)
def test_unknown_codes_raise(lookup: object, namespace: str) -> None:
    assert callable(lookup)
    with pytest.raises(UnknownCarrierError, match=namespace) as info:
        lookup("NOPE")
    assert isinstance(info.value, ValueError)
    assert info.value.code == "NOPE"
    assert info.value.namespace == namespace


def test_our_codes_are_not_kdniao_codes() -> None:
    # "YUNDA" is ours and the marketplace's, but Kdniao calls it "YD": mixing namespaces must fail loudly.
    with pytest.raises(UnknownCarrierError):
        from_kdniao("YUNDA")
