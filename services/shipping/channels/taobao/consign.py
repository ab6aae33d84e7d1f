"""Taobao's shipping calls as pure functions: which method confirms (or changes) which numbers, with which
parameters, and whether its answer says it was done.

Facts (TOP SDKs, as generated in bububa/opentaobao model/logistic/ and the official Java/Python SDKs):
- ``taobao.logistics.offline.send``: ``tid``, ``out_sid``, ``company_code``; a split consign adds
  ``is_split`` = 1 and ``sub_tid`` = the lines' ``oid`` values, comma-separated. Answers ``shipping.is_success``.
- ``alibaba.ascp.logistics.offline.send`` (一单多包): ``tid``, optional ``sub_tid``, ``consign_pkgs`` = a JSON
  list of ``{company_code, out_sid}``, one per package. Answers ``result.success``
  (AlibabaAscpLogisticsOfflineSendResultDto).
- ``taobao.logistics.consign.resend`` (修改运单号, shipped trades only, an offline send only within 24 h):
  ``tid``, ``out_sid``, ``company_code``, ``is_split``/``sub_tid``. Answers ``shipping.is_success``.
- ``alibaba.ascp.logistics.consign.resend``: ``tid``, optional ``sub_tids``, ``consign_pkgs`` with every
  package's number (they replace the old ones). Answers ``result.success``
  (AlibabaAscpLogisticsConsignResendResultDto).
One number goes by the taobao.* call, several by the ascp one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from services.shipping.channels.taobao.protocol import (
    ASCP_CONSIGN_RESEND,
    ASCP_OFFLINE_SEND,
    CONSIGN_RESEND,
    OFFLINE_SEND,
)

ASCP_METHODS = frozenset({ASCP_OFFLINE_SEND, ASCP_CONSIGN_RESEND})


def packages(numbers: Sequence[str], company_code: str) -> str:
    """``consign_pkgs``: one package per number, all with ``company_code``."""
    rows = [{"company_code": company_code, "out_sid": n} for n in numbers]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def _split(lines: Sequence[str] | None) -> dict[str, str]:
    return {"is_split": "1", "sub_tid": ",".join(lines)} if lines else {}


def send_request(
    tid: str, numbers: Sequence[str], company_code: str, lines: Sequence[str] | None
) -> tuple[str, dict[str, str]]:
    """The method and business parameters that confirm ``numbers`` for ``tid`` (or its ``lines``)."""
    if len(numbers) == 1:
        return OFFLINE_SEND, {"tid": tid, "out_sid": numbers[0], "company_code": company_code, **_split(lines)}
    params = {"tid": tid, "consign_pkgs": packages(numbers, company_code)}
    if lines:
        params["sub_tid"] = ",".join(lines)
    return ASCP_OFFLINE_SEND, params


def resend_request(
    tid: str, numbers: Sequence[str], company_code: str, lines: Sequence[str] | None
) -> tuple[str, dict[str, str]]:
    """The method and business parameters that replace the numbers ``tid`` (or its ``lines``) shipped with."""
    if len(numbers) == 1:
        return CONSIGN_RESEND, {"tid": tid, "out_sid": numbers[0], "company_code": company_code, **_split(lines)}
    params = {"tid": tid, "consign_pkgs": packages(numbers, company_code)}
    if lines:
        params["sub_tids"] = ",".join(lines)
    return ASCP_CONSIGN_RESEND, params


def answer_ok(method: str, body: dict[str, Any]) -> bool:
    """Whether ``method``'s answer body says it was done."""
    if method in ASCP_METHODS:
        result = body.get("result")
        return isinstance(result, dict) and result.get("success") is True
    shipping = body.get("shipping")
    return isinstance(shipping, dict) and bool(shipping.get("is_success"))
