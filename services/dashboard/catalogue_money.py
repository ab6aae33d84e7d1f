"""The seller's words about money, in Chinese and English, keyed by allocation's stable values: why the
balance changed (its ledger kinds), a purchase's expiry events, what happens to numbers about to expire (the
shop's on_expiry), and where a price came from. catalogue.py looks its notices up here too."""

from __future__ import annotations

from services.dashboard.catalogue_base import Entry, Lang, entry

# 余额变动: every ledger kind allocation writes (its LedgerKind); each row's own note is the API's.
LEDGER_KINDS: dict[str, Entry] = {
    "topup": entry("充值", "top-up"),
    "purchase": entry("购买单号", "numbers bought"),
    "purchase_refund": entry("购买失败退款（快递未出号）", "refund: the courier never issued the numbers"),
    "refund": entry("退款：未使用的单号", "refund of numbers never used"),
    "extension": entry("延长有效期费用", "validity extension fee"),
    "number_taken_by_manual_entry": entry(
        "补偿：单号已被手工录入的面单占用", "credit: numbers already printed from typed entries"
    ),
    "number_issued_twice": entry("补偿：快递重复出号（已隔离）", "credit: numbers the courier issued twice"),
    "void_credit": entry("回收单号返还", "credit: a voided label cancelled at the courier"),
    "auto_extension": entry("到期前自动延期费用", "automatic extension before expiry"),
    "auto_refund": entry("到期前自动退款", "automatic refund before expiry"),
}

# A purchase's expiry (allocation's stock events of these kinds, and the purchase.* webhooks).
EXPIRY_EVENTS: dict[str, Entry] = {
    "expiring": entry("单号即将过期", "numbers about to expire"),
    "auto_extended": entry("已自动延期", "extended automatically"),
    "auto_extend_failed": entry("自动延期失败：余额不足，请充值", "automatic extension failed: top up the balance"),
    "auto_refunded": entry("已自动退款", "refunded automatically"),
}

# The shop's on_expiry: what happens to a purchase's unused numbers shortly before they expire.
ON_EXPIRY: dict[str, Entry] = {
    "nothing": entry("不处理：到期作废", "nothing: they expire"),
    "extend": entry("自动延期（按套餐收取延期费）", "extend them (for the package's fee)"),
    "refund": entry("自动退款（未使用的单号）", "refund them (those never used)"),
}

PRICE_SOURCES: dict[str, Entry] = {
    "negotiated": entry("协议价", "negotiated price"),
    "catalogue": entry("目录价", "catalogue price"),
}

NOTICES: dict[str, Entry] = {
    "refunded_count": entry("已按数量退款。", "The numbers asked are refunded."),
    "expiry_saved": entry("到期设置已保存。", "Expiry settings saved."),
    "price_added": entry("协议价已设置。", "The negotiated price is set."),
    "price_revoked": entry("协议价已撤销。", "The negotiated price is revoked."),
}


def _pick(table: dict[str, Entry], value: str, lang: Lang) -> str:
    """A value this version does not know is shown as the API spells it."""
    found = table.get(value)
    return found[lang] if found else value


def ledger_text(kind: str, lang: Lang) -> str:
    return _pick(LEDGER_KINDS, kind, lang)


def expiry_event_text(kind: str, lang: Lang) -> str:
    return _pick(EXPIRY_EVENTS, kind, lang)


def on_expiry_text(value: str, lang: Lang) -> str:
    return _pick(ON_EXPIRY, value, lang)


def price_source_text(value: str, lang: Lang) -> str:
    return _pick(PRICE_SOURCES, value, lang)
