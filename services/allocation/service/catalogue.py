"""The carrier catalogue: carriers, their number rules, and the packages on sale."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import AppError, Conflict, NotFound
from services.allocation.models import CarrierPackage
from services.allocation.repository.catalogue import CatalogueRepository
from services.allocation.schemas.catalogue import CarrierOut, CarrierUpdate, PackageCreate, PackageOut
from services.allocation.service import prices
from shared.catalogue import RuleAlternativeIn
from shared.errors import ErrorCode
from shared.waybill import CheckDigit, NumberRule, RuleAlternative, pattern_problem


def rule_of(number_rule: list[dict[str, Any]]) -> NumberRule:
    return NumberRule(
        tuple(
            RuleAlternative(a["pattern"], CheckDigit(a.get("check", "none")), a.get("description", ""))
            for a in number_rule
        )
    )


def checked_number_rule(alternatives: Sequence[RuleAlternativeIn]) -> list[dict[str, Any]]:
    """The rule as stored, or a 422. Refused when it is set, not when numbers are checked: numbers are matched
    by RE2 (linear time), and a pattern RE2 refuses would fail every check."""
    for i, alternative in enumerate(alternatives):
        problem = pattern_problem(alternative.pattern)
        if problem is not None:
            raise AppError(
                f"number_rule.{i}.pattern is refused: {problem}",
                code=ErrorCode.INVALID_NUMBER_PATTERN,
                status_code=422,
                details={"field": f"number_rule.{i}.pattern", "reason": problem},
            )
    stored = [a.model_dump() for a in alternatives]
    try:
        rule_of(stored)
    except ValueError as exc:
        raise AppError(f"invalid number rule: {exc}", status_code=422) from exc
    return stored


async def _package_outs(uow: UnitOfWork, packages: Sequence[CarrierPackage], shop_id: str | None) -> list[PackageOut]:
    """The packages as the API shows them, each with what ``shop_id`` would pay for it (None: nobody's)."""
    priced = await prices.package_prices(uow, shop_id, packages) if shop_id is not None else {}
    return [PackageOut.model_validate(p).model_copy(update={"shop_price": priced.get(p.id)}) for p in packages]


async def list_carriers(uow: UnitOfWork, shop_id: str | None = None) -> list[CarrierOut]:
    repo = CatalogueRepository(uow.session)
    packages: dict[str, list[PackageOut]] = {}
    for p in await _package_outs(uow, await repo.packages(), shop_id):
        packages.setdefault(p.carrier, []).append(p)
    return [
        CarrierOut.model_validate(c).model_copy(update={"packages": packages.get(c.code, [])})
        for c in await repo.carriers()
    ]


async def get_carrier(uow: UnitOfWork, code: str, shop_id: str | None = None) -> CarrierOut:
    repo = CatalogueRepository(uow.session)
    carrier = await repo.carrier(code)
    if carrier is None:
        raise NotFound(f"carrier {code} not found")
    packages = await _package_outs(uow, await repo.packages(code), shop_id)
    return CarrierOut.model_validate(carrier).model_copy(update={"packages": packages})


async def update_carrier(uow: UnitOfWork, code: str, body: CarrierUpdate) -> CarrierOut:
    repo = CatalogueRepository(uow.session)
    if await repo.carrier(code) is None:
        raise NotFound(f"carrier {code} not found")
    values = body.model_dump(exclude_none=True)
    if body.number_rule is not None:
        values["number_rule"] = checked_number_rule(body.number_rule)
    await repo.update_carrier(code, values)
    uow.session.expire_all()
    return await get_carrier(uow, code)


async def add_package(uow: UnitOfWork, code: str, body: PackageCreate) -> PackageOut:
    repo = CatalogueRepository(uow.session)
    if await repo.carrier(code) is None:
        raise NotFound(f"carrier {code} not found")
    package = CarrierPackage(
        carrier=code,
        **body.model_dump(exclude={"void_credit"}),
        void_credit_percent=body.void_credit.percent,
        void_fee_cents=body.void_credit.fee_cents,
    )
    if not await repo.add_package(package):
        raise Conflict(f"package {body.id} already exists", details={"package_id": body.id})
    return PackageOut.model_validate(package)
