"""The provider's two requests read and checked: a subscription (poll) and a query, or the refusal to answer.

Answers are HTTP 200 with ``{"result", "returnCode", "message"}``; a refusal carries its returnCode.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from services.sandbox.numbers import BY_KUAIDI100
from services.sandbox.signing import kuaidi100_query_sign

# Codes Kuaidi100 knows but this sandbox's couriers do not serve: the carrier refuses (701), not unknown (702).
UNSERVED = frozenset({"dhl", "fedex", "ups", "tnt"})


def result(code: str, message: str, ok: bool = False) -> dict[str, Any]:
    return {"result": ok, "returnCode": code, "message": message}


class Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return result(self.code, self.message)


def json_object(text: object) -> dict[str, Any] | None:
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class Subscription:
    company: str
    number: str
    callback: str
    salt: str
    resultv2: str


@dataclass(frozen=True)
class Query:
    com: str
    num: str


def read_subscription(schema: object, raw: object, key: str) -> Subscription:
    """A poll's ``param``, checked as the provider does before it looks at its own state."""
    param = json_object(raw)
    if schema != "json" or param is None:
        raise Refusal("700", "订阅参数错误：param 必须是 JSON (bad data)")
    if param.get("key") != key:
        raise Refusal("700", "授权 key 错误 (bad key)")
    subscription = _subscription_fields(param)
    _check_served(subscription.company, subscription.number)
    return subscription


def _subscription_fields(param: dict[str, Any]) -> Subscription:
    parameters = param.get("parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    company, number = param.get("company"), param.get("number")
    callback, salt = parameters.get("callbackurl"), parameters.get("salt", "")
    if not isinstance(number, str) or not number.strip() or not isinstance(company, str) or not company:
        raise Refusal("700", "订阅参数错误：缺少 company 或 number (bad data)")
    if not isinstance(callback, str) or not callback.startswith(("http://", "https://")):
        raise Refusal("700", "订阅参数错误：缺少 callbackurl (bad data)")
    if not isinstance(salt, str):
        raise Refusal("700", "订阅参数错误：salt 必须是字符串 (bad data)")
    return Subscription(company, number.strip(), callback, salt, str(parameters.get("resultv2", "0")))


def _check_served(company: str, number: str) -> None:
    if company in UNSERVED:
        raise Refusal("701", f"快递公司 {company} 不支持订阅 (carrier refused)")
    carrier = BY_KUAIDI100.get(company)
    if carrier is None:
        raise Refusal("702", f"无法识别的快递公司编码 {company} (unknown company)")
    if not carrier.matches(number):
        raise Refusal("700", f"单号 {number} 不符合 {company} 的规则 (bad number)")


def check_customer(customer: object, expected: str) -> str:
    if not isinstance(customer, str) or customer != expected:
        raise Refusal("400", "customer 错误 (unknown customer)")
    return customer


def read_query(raw: object, sign: object, key: str, customer: str) -> Query:
    """A query's ``param``, once its sign is right."""
    expected = kuaidi100_query_sign(raw, key, customer) if isinstance(raw, str) else ""
    if not isinstance(sign, str) or sign.upper() != expected:
        raise Refusal("400", "验证签名失败 (sign check failed)")
    param = json_object(raw)
    if param is None or not isinstance(param.get("num"), str) or not isinstance(param.get("com"), str):
        raise Refusal("400", "参数错误：需要 com 和 num (bad data)")
    return Query(param["com"], param["num"])
