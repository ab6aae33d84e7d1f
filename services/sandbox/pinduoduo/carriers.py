"""The logistics companies ``pdd.logistics.companies.get`` lists, and the number pattern each one takes.

Ids, names, codes and ``available`` are those of a real ``logistics_companies_get_response`` captured in public
code (a Java ERP's comment, found by searching for ``"logistics_company":"中通快递"``): 申通 STO 1, 上海汇通
SHHT 2 (unavailable), 顺丰 SF 44, 圆通 YTO 85, 中通 ZTO 115, 全峰 QF 116 (unavailable), 邮政EMS EMS 118, 京东配送
JD 120, 韵达 YUNDA 121, 德邦 DB 131. The response shape (``id``, ``logistics_company``, ``code``,
``available`` 0/1) is lywzx/pdd-node-sdk packages/pdd-origin-api/src/wuLiu/PddLogisticsCompaniesGet.ts.
J&T (极兔速递, id 384, code JTSD) is unconfirmed: it is newer than the captured list.

The patterns are the sandbox's own (the platform does not publish its checks); they accept the shapes the
sandbox's couriers issue and real numbers of each carrier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Company:
    id: int
    name: str
    code: str
    available: bool
    pattern: str

    def matches(self, number: str) -> bool:
        return re.fullmatch(self.pattern, number) is not None

    def view(self) -> dict[str, object]:
        return {"id": self.id, "logistics_company": self.name, "code": self.code, "available": int(self.available)}


COMPANIES: tuple[Company, ...] = (
    Company(1, "申通快递", "STO", True, r"(77|88|66|55|22)\d{11}"),
    Company(2, "上海汇通", "SHHT", False, r"\d{12,14}"),
    Company(44, "顺丰快递", "SF", True, r"SF\d{12,13}"),
    Company(85, "圆通快递", "YTO", True, r"YT\d{13}"),
    Company(115, "中通快递", "ZTO", True, r"7\d{11}|7\d{13}"),
    Company(116, "全峰快递", "QF", False, r"\d{12}"),
    Company(118, "邮政EMS", "EMS", True, r"E[A-Z]\d{9}CN|(10|11|50|51|98)\d{11}"),
    Company(120, "京东配送", "JD", True, r"JD[A-Z]{1,2}\d{10,13}"),
    Company(121, "韵达快递", "YUNDA", True, r"(1\d|3\d|4[0-6])\d{11}"),
    Company(131, "德邦快递", "DB", True, r"DPK\d{12}|\d{10}"),
    Company(384, "极兔速递", "JTSD", True, r"JT\d{13}"),  # unconfirmed id and code
)
BY_ID = {company.id: company for company in COMPANIES}
