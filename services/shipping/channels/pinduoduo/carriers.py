"""Our carrier codes <-> Pinduoduo's numeric ``logistics_id`` (the id ``pdd.logistics.online.send`` takes).

Ids and Pinduoduo's own ``code`` per carrier are from a recorded ``pdd.logistics.companies.get`` answer in
public code (find_string '"logistics_company":"中通快递"'): STO 1 申通快递, SF 44 顺丰快递, YTO 85 圆通快递,
ZTO 115 中通快递, EMS 118 邮政EMS, JD 120 京东配送, YUNDA 121 韵达快递. J&T (极兔速递) is not in that
answer: its id 384 and code "JTSD" are unconfirmed. This table is the fallback; the live companies list,
when the platform answers it, wins (see ``client.PinduoduoClient.companies``).
"""

from __future__ import annotations

from shared.carriers import CarrierCode

LOGISTICS_IDS: dict[CarrierCode, int] = {
    CarrierCode.STO: 1,
    CarrierCode.SF: 44,
    CarrierCode.YTO: 85,
    CarrierCode.ZTO: 115,
    CarrierCode.EMS: 118,
    CarrierCode.JD: 120,
    CarrierCode.YUNDA: 121,
    CarrierCode.JT: 384,  # unconfirmed
}
# Pinduoduo's ``code`` of each company (the companies list's ``code`` field), to read the live list with.
PDD_CODES: dict[CarrierCode, str] = {
    CarrierCode.STO: "STO",
    CarrierCode.SF: "SF",
    CarrierCode.YTO: "YTO",
    CarrierCode.ZTO: "ZTO",
    CarrierCode.EMS: "EMS",
    CarrierCode.JD: "JD",
    CarrierCode.YUNDA: "YUNDA",
    CarrierCode.JT: "JTSD",  # unconfirmed
}
# Spellings of our codes that mean one of them: the brief names J&T "JTSD", our catalogue "JT".
ALIASES = {"JTSD": CarrierCode.JT}
CARRIER_OF_ID = {v: k for k, v in LOGISTICS_IDS.items()}
CARRIER_OF_PDD_CODE = {v: k for k, v in PDD_CODES.items()}


def ours(code: str) -> CarrierCode | None:
    """One of our carrier codes (or an alias of one), or None."""
    key = code.strip().upper()
    if key in ALIASES:
        return ALIASES[key]
    try:
        return CarrierCode(key)
    except ValueError:
        return None


def table_ids() -> dict[int, str]:
    """The fallback ``{logistics_id: Pinduoduo code}``, shaped like ``protocol.parse_companies``' answer."""
    return {LOGISTICS_IDS[c]: PDD_CODES[c] for c in LOGISTICS_IDS}
