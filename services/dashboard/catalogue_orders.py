"""The seller's words about orders and their shipping, in Chinese and English, keyed by shipping's stable values:
order alert kinds (its AlertKind), the flags it puts on an order, parcel statuses, why an auto-ship rule left
an order (its SkipReason) and the confirmation modes. catalogue.py holds the rest and looks these up."""

from __future__ import annotations

from services.dashboard.catalogue_base import Entry, entry

# 订单预警: what needs the seller on an order, and what to do about it.
ORDER_ALERT_KINDS: dict[str, Entry] = {
    "late_to_ship": entry(
        "即将超时：订单快到最晚发货时间仍未发货，请尽快发货。",
        "Late to ship: the order is near its ship-by time and not shipped yet; ship it soon.",
    ),
    "ship_by_passed": entry(
        "已超时未发货：订单已过最晚发货时间，请立即发货并留意平台处罚。",
        "Ship-by passed: the order is past its ship-by time; ship it now and watch for marketplace penalties.",
    ),
    "not_collected_by_ship_by": entry(
        "到时未揽收：面单已打印，但到最晚发货时间快递仍未揽收，请联系网点上门揽件。",
        "Not collected by ship-by: the label is printed but the courier has not collected it; call the depot.",
    ),
    "address_change_after_collection": entry(
        "揽收后改址：包裹已被揽收，地址不能再改，请联系快递员或买家处理。",
        "Address change after collection: the parcel is collected, its address can no longer change.",
    ),
    "address_invalid": entry(
        "地址有误：收件地址未通过校验，订单已暂停发货，请修改收件人信息。",
        "Invalid address: the receiver's address failed the checks; the order is held until it is fixed.",
    ),
}

# What shipping flags an order with (``flags[].kind``); each flag's own message is the API's.
ORDER_FLAGS: dict[str, Entry] = {
    "address_invalid": entry("收件地址有误，已暂停发货", "invalid address: held"),
    "label_outdated": entry("面单信息已过期，请重新打印面单", "the labels are outdated: print them again"),
    "address_change_refused": entry("揽收后改址未成功", "address change after collection refused"),
    "courier_update_refused": entry("快递未接受新的收件地址", "the courier refused the new address"),
    "close_refused": entry("发货后平台关闭了交易", "the trade was closed after shipping"),
    "closed_during_confirmation": entry("确认发货时平台关闭了交易", "the trade closed during confirmation"),
    "shipment_failed": entry("上一次发货失败", "the last shipment failed"),
}

# A parcel (one box with its own number) of a shipment.
PARCEL_STATUSES: dict[str, Entry] = {
    "live": entry("使用中", "live"),
    "released": entry("已退回库存", "released"),
    "voided": entry("已回收单号", "voided"),
}

# Why an auto-ship rule left an order (a dry run's and a run's skipped orders).
SKIP_REASONS: dict[str, Entry] = {
    "held": entry("订单暂停发货（地址有误）", "the order is held (invalid address)"),
    "recently_failed": entry("最近发货失败，30 分钟后再试", "a batch failed it recently: tried again in 30 minutes"),
    "taken_by_rule": entry("已归优先级更高的规则", "an earlier rule takes it"),
    "outside_window": entry("不在规则的运行时段内", "outside the rule's time windows"),
    "store_not_in_list": entry("店铺不在规则范围内", "its store is not the rule's"),
    "province_not_in_list": entry("收件省份不在规则范围内", "its province is not the rule's"),
    "weight_out_of_range": entry("重量不在规则范围内", "its weight is out of the rule's range"),
    "too_young": entry("付款时间太短，稍后再发", "paid too recently: it waits"),
    "over_max_batch": entry("超出单批上限，下次再发", "beyond the batch's limit: next time"),
}

# When the marketplace is told an order shipped (shipping's ConfirmMode).
CONFIRM_MODES: dict[str, Entry] = {
    "at_print": entry("打单即发货：打印面单后立即在平台确认发货", "at print: confirmed as soon as the label is made"),
    "at_collection": entry(
        "揽收后发货：快递揽收后（或到每日确认时间）才在平台确认发货",
        "at collection: confirmed once the courier collects a parcel (or at the confirmation time)",
    ),
}

NOTICES: dict[str, Entry] = {
    "voided": entry("单号已回收作废，订单回到待发货。", "Labels voided; the order is back to ship."),
    "numbers_changed": entry("单号已更换，请打印新的面单。", "The numbers are changed; print the new labels."),
    "receiver_saved": entry("收件人已更新。", "Receiver saved."),
    "order_alert_acknowledged": entry("订单预警已确认。", "Order alert acknowledged."),
    "confirmation_saved": entry("发货确认方式已保存。", "Confirmation settings saved."),
    "labels_saved": entry("面单设置已保存，之后打印的面单按新设置。", "Label settings saved for the labels to come."),
    "store_confirm_saved": entry("店铺的发货确认方式已保存。", "The store's confirmation mode is saved."),
    "rule_created": entry("自动发货规则已创建。", "Auto-ship rule created."),
    "rule_paused": entry("规则已暂停。", "Rule paused."),
    "rule_resumed": entry("规则已启用。", "Rule resumed."),
    "rule_deleted": entry("规则已删除，它创建的批次照常发货。", "Rule deleted; the batches it made go on shipping."),
}
