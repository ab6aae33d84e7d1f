"""Allocation routes: the carrier catalogue."""

from __future__ import annotations

from fastapi import APIRouter, status

from runtime.app import UowDep
from runtime.auth import AdminDep, PrincipalDep
from runtime.openapi import responses
from services.allocation.schemas.catalogue import CarrierOut, CarrierUpdate, PackageCreate, PackageOut
from services.allocation.service import catalogue
from shared.carriers import CarrierCode
from shared.pages import Page

router = APIRouter(prefix="/v1/carriers", tags=["carriers"])


@router.get(
    "",
    summary="Carrier catalogue",
    description=(
        "Every carrier with its number rule, coverage, transit days and packages on sale. Each package says its "
        "`void_credit`: what a printed number voided before the courier collected it earns back (`percent` of "
        "the price paid for it, less `fee_cents`; see `POST /v1/waybills/{number}/release`), and its "
        "`shop_price`: what the shop asking would pay for it now, its negotiated price in force "
        "(`price_source: negotiated`, with the price's validity) or the catalogue's (`catalogue`)."
    ),
)
async def list_carriers(uow: UowDep, principal: PrincipalDep) -> Page[CarrierOut]:
    return Page.whole(await catalogue.list_carriers(uow, principal.shop_id))


@router.get(
    "/{code}",
    summary="One carrier",
    description=(
        "The carrier's number rule, coverage, transit days and the packages on sale, each with the `shop_price` "
        "the shop asking would pay. Unknown code: 422."
    ),
    responses=responses(404),
)
async def get_carrier(code: CarrierCode, uow: UowDep, principal: PrincipalDep) -> CarrierOut:
    return await catalogue.get_carrier(uow, code, principal.shop_id)


@router.patch(
    "/{code}",
    summary="Edit a carrier (operators)",
    description=(
        "Admin only. Only the fields sent change. Patterns are RE2 syntax, matched in linear time: one RE2 "
        "refuses (bad syntax, look-arounds, back-references) answers 422 `invalid_number_pattern`, one over 200 "
        "characters 422 `validation_error`. "
        "The new rule applies to numbers validated from now on."
    ),
    responses=responses(403, 404),
)
async def update_carrier(code: CarrierCode, body: CarrierUpdate, uow: UowDep, _: AdminDep) -> CarrierOut:
    return await catalogue.update_carrier(uow, code, body)


@router.post(
    "/{code}/packages",
    status_code=status.HTTP_201_CREATED,
    summary="Put a package on sale (operators)",
    description=(
        "Admin only. Price in integer cents, validity in days from delivery; `void_credit` is what a printed "
        'number voided before collection earns back (default full: `{"percent": 100, "fee_cents": 0}`), '
        "kept by each purchase of the package as bought. A package id already in the catalogue answers 409 "
        "`conflict`."
    ),
    responses=responses(403, 404, 409),
)
async def add_carrier_package(code: CarrierCode, body: PackageCreate, uow: UowDep, _: AdminDep) -> PackageOut:
    return await catalogue.add_package(uow, code, body)
