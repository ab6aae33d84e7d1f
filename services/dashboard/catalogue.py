"""What sellers read about the services' answers, in Chinese and English, keyed by the API's own stable
values: alert kinds (shared.tracking.AlertKind), error codes (shared.errors.ErrorCode) and statuses (orders' own
words, order alerts, flags, parcels, auto-ship reasons, confirmation modes: catalogue_orders.py). The
API's ``message`` stays English for developers; the seller reads the entry here, with the code beside it."""

from __future__ import annotations

from services.dashboard import catalogue_money, catalogue_orders
from services.dashboard.catalogue_base import LANGS, Entry, Lang, entry
from services.dashboard.catalogue_orders import CONFIRM_MODES, ORDER_ALERT_KINDS, ORDER_FLAGS, SKIP_REASONS

__all__ = ["LANGS", "ORDER_ALERT_KINDS", "ORDER_FLAGS", "SKIP_REASONS", "Entry", "Lang", "entry"]


# 物流预警: what happened, and what the seller can do about it.
ALERT_KINDS: dict[str, Entry] = {
    "not_collected": entry(
        "揽收超时：发货后超过时限仍未被快递揽收，请联系网点上门揽件。",
        "Not collected: the courier has not picked the parcel up in time; ask the depot to collect it.",
    ),
    "no_update": entry(
        "物流停滞：运输途中长时间没有新的物流记录，请向快递核实包裹位置。",
        "No update: no new tracking event for too long in transit; ask the courier where the parcel is.",
    ),
    "problem": entry(
        "问题件：快递报告包裹异常（破损、地址不详等），请尽快联系快递处理。",
        "Problem parcel: the courier reports a problem (damage, unclear address...); contact the courier.",
    ),
    "refused": entry(
        "买家拒收：包裹被拒收，请联系买家并安排退回或重新派送。",
        "Refused: the buyer refused the parcel; contact the buyer and arrange a return or a new delivery.",
    ),
    "returning": entry(
        "退回中：包裹正在退回寄件人，请留意签收退件。",
        "Returning: the parcel is on its way back to the sender.",
    ),
    "late": entry(
        "超时未送达：已超过承诺的运输时效仍未签收，请关注并安抚买家。",
        "Late: the promised transit time has passed without delivery; keep the buyer informed.",
    ),
    "aborted": entry(
        "停止跟踪：物流服务商已停止跟踪此运单，请人工核实物流状态。",
        "Tracking stopped: the tracking provider gave up on this number; check its status by hand.",
    ),
}

ERROR_CODES: dict[str, Entry] = {
    "validation_error": entry("填写的内容不符合要求，请检查后重试。", "The form's values were refused; check them."),
    "unauthorized": entry("登录已失效或密钥无效，请重新登录。", "Not signed in, or the key is not valid."),
    "forbidden": entry("没有执行此操作的权限。", "This key may not do that."),
    "not_found": entry("找不到该记录（可能已删除或不属于本店铺）。", "Not found (or not this shop's)."),
    "conflict": entry("当前状态不允许此操作，请刷新后重试。", "The current state does not allow it; reload."),
    "idempotency_conflict": entry("该请求已用不同内容提交过。", "This request was already sent with another body."),
    "insufficient_balance": entry("账户余额不足，请先充值。", "The balance is too low; top up first."),
    "pool_exhausted": entry("该快递的电子面单号已用完，请先购买单号。", "No numbers left for this carrier; buy some."),
    "invalid_transition": entry("订单或运单当前的状态不允许此操作。", "The order or shipment cannot do that now."),
    "invalid_waybill": entry("运单号格式不正确。", "The waybill number is not valid for the carrier."),
    "waybill_in_use": entry("该运单号已被其他订单使用。", "That number is in use by another order."),
    "rate_limited": entry("操作太频繁，请稍后再试。", "Too many requests; try again in a moment."),
    "payload_too_large": entry("提交的内容太多，请分批操作。", "Too much at once; split it up."),
    "unavailable": entry("服务暂时不可用，请稍后再试。", "The service is unavailable; try again shortly."),
    "internal_error": entry("服务出错了，请稍后再试或联系客服。", "The service failed; try again or contact us."),
    "bad_signature": entry("签名校验失败。", "The signature was refused."),
    "upstream_error": entry("快递或平台接口出错，请稍后再试。", "The courier or marketplace failed; retry later."),
    "manual_limit_reached": entry("手工录入的运单号已达上限。", "The limit of typed numbers is reached."),
    "no_usable_numbers": entry("没有可用的运单号。", "No usable numbers."),
    "invalid_number_pattern": entry("运单号规则无效。", "The number rule is not valid."),
    "webhook_url_refused": entry("该回调地址不被允许。", "That webhook URL is refused."),
    "webhook_limit_reached": entry("回调地址数量已达上限。", "The webhook endpoint limit is reached."),
    "webhook_endpoint_disabled": entry("该回调地址已停用。", "That webhook endpoint is disabled."),
    "seller_not_verified": entry(
        "平台店铺授权未通过校验：授权已失效，或不属于所填的卖家。",
        "The marketplace did not confirm the authorisation (expired, or not that seller's).",
    ),
    # A shipment's own failure (its error_code): its store was unbound before the marketplace confirmed it.
    "store_unbound": entry(
        "店铺已解绑，无法在平台确认发货。", "The store was unbound: the marketplace cannot confirm it."
    ),
    "invalid_cursor": entry("分页已失效，请回到第一页。", "That page link expired; start from page one."),
    "address_invalid": entry(
        "收件地址未通过校验，订单已暂停发货：请先修改收件人信息。",
        "The receiver's address failed the checks: the order is held until the receiver is fixed.",
    ),
    "already_collected": entry(
        "快递员已揽收，面单不能再作废、换号或改址。",
        "The courier has collected it: it can no longer be voided or changed.",
    ),
    "cannot_withdraw": entry(
        "平台不能撤回已确认的发货：请改用换单号。",
        "The marketplace cannot take a confirmation back: change the numbers.",
    ),
    "price_overlap": entry(
        "该店铺此套餐在这段时间已有协议价：请先撤销那条，或换一个时间段。",
        "The shop already has a price for that package in that period: revoke it first, or pick other dates.",
    ),
    "not_enough_unused": entry(
        "未使用的单号不足所填数量，请减少退款数量。", "Fewer numbers are unused than asked; refund fewer."
    ),
    # The client's own codes: no answer at all, or an answer without the error shape.
    "network_error": entry("服务没有响应，请稍后再试。", "The service did not answer; try again shortly."),
    # The dashboard's own refusals.
    "method_not_allowed": entry("不支持这种访问方式。", "That page does not take this method."),
    "no_key": entry("请粘贴店铺 API 密钥（wbk_...）或管理密钥。", "Paste a shop API key (wbk_...) or the admin key."),
    "sessions_down": entry("登录服务暂时不可用，请稍后再试。", "Sign-in is unavailable right now; try again shortly."),
    "csrf_failed": entry("表单已过期，请刷新页面后重试。", "The form expired; reload the page and retry."),
}
UNKNOWN_ERROR = entry("操作未成功。", "That did not work.")

# Where an order comes from (shipping's ChannelName): the shop's own system, or a marketplace store.
CHANNELS: dict[str, Entry] = {
    "own": entry("自有渠道", "own"),
    "taobao": entry("淘宝", "Taobao"),
    "pinduoduo": entry("拼多多", "Pinduoduo"),
}

# Statuses by what they are the status of.
STATUSES: dict[str, dict[str, Entry]] = {
    "order": {
        "paid": entry("待发货", "to ship"),
        "waybill_assigned": entry("已取号", "number assigned"),
        "label_printed": entry("已打单", "label printed"),
        "partly_shipped": entry("部分发货", "partly shipped"),
        "shipped": entry("已发货", "shipped"),
        "in_transit": entry("运输中", "in transit"),
        "delivered": entry("已签收", "delivered"),
        "exception": entry("异常", "exception"),
        "returned": entry("已退回", "returned"),
        "cancelled": entry("已取消", "cancelled"),
    },
    "shipment": {
        "pending": entry("待确认", "pending"),
        "confirming": entry("确认中", "confirming"),
        "held": entry("待揽收确认", "held until collection"),
        "confirmed": entry("已确认发货", "confirmed"),
        "failed": entry("发货失败", "failed"),
        "cancelled": entry("已取消", "cancelled"),
        "voided": entry("已回收单号", "voided"),
    },
    "parcel": catalogue_orders.PARCEL_STATUSES,
    "batch": {
        "processing": entry("处理中", "processing"),
        "completed": entry("已完成", "completed"),
    },
    "batch_item": {
        "pending": entry("排队中", "queued"),
        "shipping": entry("发货中", "shipping"),
        "shipped": entry("已发货", "shipped"),
        "failed": entry("失败", "failed"),
        "skipped": entry("已跳过", "skipped"),
    },
    "purchase": {
        "pending": entry("处理中", "pending"),
        "completed": entry("已完成", "completed"),
        "failed": entry("失败", "failed"),
    },
    "alert": {
        "open": entry("待处理", "open"),
        "acknowledged": entry("已确认", "acknowledged"),
        "resolved": entry("已解决", "resolved"),
    },
    "tracking": {
        "pending": entry("待揽收", "pending"),
        "info_received": entry("已下单", "info received"),
        "collected": entry("已揽收", "collected"),
        "in_transit": entry("运输中", "in transit"),
        "arrived_at_city": entry("到达城市", "arrived at city"),
        "out_for_delivery": entry("派送中", "out for delivery"),
        "available_for_pickup": entry("待取件", "available for pickup"),
        "delivered": entry("已签收", "delivered"),
        "delivery_failed": entry("派送失败", "delivery failed"),
        "problem": entry("问题件", "problem"),
        "refused": entry("拒收", "refused"),
        "returning": entry("退回中", "returning"),
        "returned": entry("已退回", "returned"),
        "expired": entry("已过期", "expired"),
    },
}

# What a redirect after a form says happened (``?notice=<key>``): only these keys are ever shown.
NOTICES: dict[str, Entry] = {
    "shipped": entry("已发货，可以打印面单了。", "Shipped: the label is ready to print."),
    "cancelled": entry("订单已取消。", "Order cancelled."),
    "batch_created": entry("批量发货已开始，进度会自动刷新。", "The batch has started; its progress refreshes."),
    "purchased": entry("已下单购买，单号到账后库存会更新。", "Bought; the stock updates when the numbers arrive."),
    "refunded": entry("未使用的单号已退款。", "The unused numbers are refunded."),
    "extended": entry("有效期已延长。", "The validity is extended."),
    "acknowledged": entry("预警已确认。", "Alert acknowledged."),
    "settings_saved": entry("设置已保存。", "Settings saved."),
    "pool_saved": entry("库存预警阈值已保存。", "Stock threshold saved."),
    "alerting_saved": entry("物流预警阈值已保存。", "Alert thresholds saved."),
    "nothing_selected": entry("请先勾选要发货的订单。", "Select the orders to ship first."),
    "store_bound": entry(
        "店铺已绑定（已绑定过的卖家则更新了授权）。", "Store bound (a seller bound already has its token renewed)."
    ),
    "store_renamed": entry("店铺名称已保存。", "Store renamed."),
    "store_renewed": entry("店铺授权已更新。", "The store's authorisation is renewed."),
    "store_unbound": entry("店铺已解绑，其订单不再进入。", "Store unbound: its orders no longer arrive."),
    **catalogue_orders.NOTICES,
    **catalogue_money.NOTICES,
}


def pick(item: Entry, lang: Lang) -> str:
    return item[lang]


def alert_text(kind: str, lang: Lang) -> str:
    """A kind this version does not know (the API may add one) still reads as an alert, with its code."""
    found = ALERT_KINDS.get(kind)
    return found[lang] if found else ("物流异常" if lang == "zh" else "Logistics alert")


def alert_title(kind: str, lang: Lang) -> str:
    """The kind's short name: its text up to the colon."""
    return _title(alert_text(kind, lang))


def _title(text: str) -> str:
    for colon in ("：", ":"):
        if colon in text:
            return text.split(colon, 1)[0]
    return text


def error_text(code: str, lang: Lang) -> str:
    found = ERROR_CODES.get(code)
    if found is None and code.startswith("http_"):
        found = ERROR_CODES["unavailable"]
    return (found or UNKNOWN_ERROR)[lang]


def channel_text(channel: str, lang: Lang) -> str:
    """A channel this version does not know is shown as the API spells it."""
    found = CHANNELS.get(channel)
    return found[lang] if found else channel


def status_text(of: str, value: str, lang: Lang) -> str:
    """A status this version does not know is shown as the API spells it."""
    found = STATUSES.get(of, {}).get(value)
    return found[lang] if found else value


def notice_text(key: str, lang: Lang) -> str | None:
    found = NOTICES.get(key)
    return found[lang] if found else None


def order_alert_text(kind: str, lang: Lang) -> str:
    """An order alert kind this version does not know still reads as one."""
    found = ORDER_ALERT_KINDS.get(kind)
    return found[lang] if found else ("订单异常" if lang == "zh" else "Order alert")


def order_alert_title(kind: str, lang: Lang) -> str:
    """The kind's short name: its text up to the colon."""
    return _title(order_alert_text(kind, lang))


def flag_text(kind: str, lang: Lang) -> str:
    """A flag this version does not know is shown as the API spells it."""
    found = ORDER_FLAGS.get(kind)
    return found[lang] if found else kind


def skip_text(reason: str, lang: Lang) -> str:
    found = SKIP_REASONS.get(reason)
    return found[lang] if found else reason


def confirm_mode_text(mode: str, lang: Lang) -> str:
    found = CONFIRM_MODES.get(mode)
    return found[lang] if found else mode


def confirm_mode_title(mode: str, lang: Lang) -> str:
    """The mode's short name: its text up to the colon."""
    return _title(confirm_mode_text(mode, lang))
