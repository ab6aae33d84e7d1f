"""Waybill number rules: what a carrier's tracking number looks like, and its check digit.

The defaults here catch typos and numbers pasted for the wrong carrier before they reach a carrier or the
marketplace. They are not the authority: the marketplace's ``reg_mail_no`` is, and the allocation service's
catalogue may override patterns per carrier by building its own ``NumberRule``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Annotated, Protocol, Self

import re2  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic.dataclasses import dataclass

from shared.carriers import CarrierCode

# Longer than any real tracking number; also bounds the work a catalogue-supplied regex can be made to do.
WAYBILL_MAX_LENGTH = 40
WAYBILL_MIN_LENGTH = 6
# Longest number pattern an operator may set (the catalogue's own are under 40 characters).
MAX_PATTERN_LENGTH = 200


class CheckDigit(StrEnum):
    NONE = "none"
    S10 = "s10"  # UPU S10 (international/EMS style: two letters, 8 digits, check digit, two letters)
    GS1_MOD10 = "gs1_mod10"  # GS1 mod 10 over all preceding digits (SSCC-18, GTIN, ...)


class InvalidWaybillNumber(ValueError):
    """A waybill number that no alternative of the rule accepts; ``reason`` says why, for humans."""

    def __init__(self, number: str, reason: str, carrier: CarrierCode | None = None) -> None:
        who = f"{carrier.value} waybill number" if carrier is not None else "waybill number"
        super().__init__(f"invalid {who} {number!r}: {reason}")
        self.number = number
        self.reason = reason
        self.carrier = carrier


_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_ASCII_DIGITS = re.compile(r"[0-9]+")


def s10_check_digit(eight_digits: str) -> int:
    """UPU S10 check digit over the 8-digit serial number.

    Note the standard maps both remainder 0 and remainder 6 to check digit 5, so unlike GS1 it does not
    catch every single-digit error.
    """
    if len(eight_digits) != 8 or not _ASCII_DIGITS.fullmatch(eight_digits):
        raise ValueError(f"S10 serial must be exactly 8 ASCII digits, got {eight_digits!r}")
    r = sum(int(d) * w for d, w in zip(eight_digits, _S10_WEIGHTS, strict=True)) % 11
    if r == 0:
        return 5
    if r == 1:
        return 0
    return 11 - r


def gs1_mod10_check_digit(data: str) -> int:
    """GS1 mod 10 check digit over ``data`` (everything except the check digit itself)."""
    if not _ASCII_DIGITS.fullmatch(data):
        raise ValueError(f"GS1 data must be ASCII digits, got {data!r}")
    # Weight 3 falls on the rightmost data digit, so the same code works for GTIN-8/13/14 and SSCC-18.
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(data)))
    return (10 - total % 10) % 10


class _Matcher(Protocol):
    def fullmatch(self, text: str) -> object | None: ...


def _re2_options() -> object:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported to the operator, not printed on stderr
    return options


_RE2_OPTIONS = _re2_options()


@lru_cache(maxsize=256)
def _compile(pattern: str) -> _Matcher:
    r"""The pattern compiled by RE2, which matches in time linear in the number whatever the pattern (no
    backtracking: ``(a+)+$`` cannot take exponential time). Operators set these patterns (the allocation
    catalogue); Python's ``re`` would let one such pattern stall a worker per number checked. RE2's ``\d``,
    ``\w`` and ``\s`` are ASCII only, as ``re.ASCII`` made them before. Raises ``re2.error``."""
    matcher: _Matcher = re2.compile(pattern, _RE2_OPTIONS)
    return matcher


def pattern_problem(pattern: str) -> str | None:
    r"""Why a number pattern is refused, or None: longer than ``MAX_PATTERN_LENGTH``, or not accepted by RE2
    (bad syntax, look-arounds and back-references, which linear-time matching cannot offer, ``\Z`` (RE2
    spells it ``\z``; a full match needs neither), repetition counts over 1000, a program too large)."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"longer than {MAX_PATTERN_LENGTH} characters"
    try:
        _compile(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        return f"not a pattern the linear-time (RE2) engine accepts: {text or 'refused'}"
    return None


_S10_SHAPE = re.compile(r"[A-Z]{2}[0-9]{9}")


def _check_digit_failure(number: str, check: CheckDigit) -> str | None:
    """Why ``number`` (which already matched the pattern) fails ``check``, or None if it passes."""
    if check is CheckDigit.NONE:
        return None
    if check is CheckDigit.S10:
        if not _S10_SHAPE.match(number):
            return "an S10 check digit needs 2 letters then 9 digits"
        got, expected = int(number[10]), s10_check_digit(number[2:10])
        label = "UPU S10"
    else:
        if len(number) < 2 or not _ASCII_DIGITS.fullmatch(number):
            return "a GS1 check digit needs at least 2 digits and nothing else"
        got, expected = int(number[-1]), gs1_mod10_check_digit(number[:-1])
        label = "GS1 mod 10"
    if got != expected:
        return f"check digit is {got}, expected {expected} ({label})"
    return None


@dataclass(frozen=True)
class RuleAlternative:
    """One accepted shape of number: a regex that must match the whole number, and its check digit.

    Patterns see the normalised number (stripped, uppercase) and are matched by RE2 (``_compile``).
    """

    pattern: str
    check: CheckDigit = CheckDigit.NONE
    description: str = ""

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        # Catalogue overrides are data; a broken regex should fail when the rule is built, not per number.
        problem = pattern_problem(value)
        if problem is not None:
            raise ValueError(f"invalid regular expression {value[:MAX_PATTERN_LENGTH]!r}: {problem}")
        return value

    def matches(self, number: str) -> bool:
        return _compile(self.pattern).fullmatch(number) is not None


@dataclass(frozen=True)
class NumberRule:
    """A carrier's number rule: a number is valid if any alternative accepts it.

    A pydantic dataclass rather than a BaseModel because BaseModel already owns the name ``validate``.
    """

    alternatives: Annotated[tuple[RuleAlternative, ...], Field(min_length=1)]
    description: str = ""

    @classmethod
    def of(cls, pattern: str, check: CheckDigit = CheckDigit.NONE, description: str = "") -> NumberRule:
        """The common case of a rule with a single alternative."""
        return cls((RuleAlternative(pattern, check, description),), description)

    def validate(self, number: str, *, carrier: CarrierCode | None = None) -> str:
        """Normalise ``number`` (strip, uppercase) and return it, or raise ``InvalidWaybillNumber``.

        ``carrier`` only makes the error message say whose rule was broken.
        """
        normalised = number.strip().upper()
        if len(normalised) > WAYBILL_MAX_LENGTH:
            raise InvalidWaybillNumber(
                normalised[:WAYBILL_MAX_LENGTH] + "...",
                f"longer than {WAYBILL_MAX_LENGTH} characters",
                carrier,
            )
        first_check_failure: str | None = None
        for alternative in self.alternatives:
            if not alternative.matches(normalised):
                continue
            failure = _check_digit_failure(normalised, alternative.check)
            if failure is None:
                return normalised
            # A shape match with a bad check digit is almost certainly a typo; that is the useful reason.
            first_check_failure = first_check_failure or failure
        if first_check_failure is not None:
            raise InvalidWaybillNumber(normalised, first_check_failure, carrier)
        whose = f"{carrier.value}'s" if carrier is not None else "the"
        patterns = " or ".join(a.pattern for a in self.alternatives)
        explained = f"{self.description} ({patterns})" if self.description else patterns
        raise InvalidWaybillNumber(normalised, f"does not match {whose} pattern: {explained}", carrier)


def _alt(pattern: str, check: CheckDigit = CheckDigit.NONE, description: str = "") -> RuleAlternative:
    return RuleAlternative(pattern, check, description)


# China Post family (EMS, EYB, POSTB): international-style S10 numbers or plain 13-digit domestic numbers.
_POST_RULE = NumberRule(
    (
        _alt(r"[A-Z]{2}\d{8}\d[A-Z]{2}", CheckDigit.S10, "UPU S10"),
        _alt(r"\d{13}", description="13 digits"),
    ),
    "UPU S10 (e.g. EA123456785CN) or 13 digits",
)

DEFAULT_RULES: Mapping[CarrierCode, NumberRule] = MappingProxyType(
    {
        CarrierCode.SF: NumberRule(
            (
                _alt(r"SF\d{13}", description="SF + 13 digits"),
                _alt(r"\d{12}", description="12 digits (older)"),
            ),
            "SF + 13 digits, or 12 digits for older numbers",
        ),
        CarrierCode.ZTO: NumberRule.of(r"\d{12}|\d{14}", description="12 or 14 digits"),
        CarrierCode.YTO: NumberRule.of(r"YT\d{13}", description="YT + 13 digits"),
        CarrierCode.STO: NumberRule.of(r"\d{12,15}", description="12 to 15 digits"),
        CarrierCode.YUNDA: NumberRule.of(r"\d{13}|\d{15}", description="13 or 15 digits"),
        CarrierCode.JD: NumberRule(
            (_alt(r"JD[XK]\d{12}", description="JDX/JDK + 12 digits"), _alt(r"JDV[A-Z]\d{11}")),
            "JDX/JDK + 12 digits, or JDV + letter + 11 digits",
        ),
        CarrierCode.JT: NumberRule.of(r"JT\d{13}", description="JT + 13 digits"),
        CarrierCode.EMS: _POST_RULE,
        CarrierCode.EYB: _POST_RULE,
        CarrierCode.POSTB: _POST_RULE,
        # Assumptions, not confirmed against carrier documentation; the marketplace's reg_mail_no is the
        # authority and the allocation catalogue should override these once it has the real patterns.
        CarrierCode.HTKY: NumberRule.of(r"\d{12,15}", description="12 to 15 digits (assumed)"),
        CarrierCode.UC: NumberRule.of(r"\d{12,13}", description="12 or 13 digits (assumed)"),
        CarrierCode.TTKDEX: NumberRule.of(r"\d{12}", description="12 digits (assumed)"),
        CarrierCode.ZJS: NumberRule.of(r"[A-Z0-9]{10,14}", description="10 to 14 letters/digits (assumed)"),
        CarrierCode.DBKD: NumberRule(
            (
                _alt(r"\d{18}", CheckDigit.GS1_MOD10, "GS1 SSCC-18"),
                _alt(r"DPK\d{12}", description="DPK + 12 digits"),
            ),
            "GS1 SSCC-18 or DPK + 12 digits (assumed)",
        ),
    }
)


def validate_waybill(carrier: CarrierCode, number: str, rule: NumberRule | None = None) -> str:
    """Normalised ``number`` if it is valid for ``carrier`` under ``rule`` (default: ``DEFAULT_RULES``)."""
    return (rule or DEFAULT_RULES[carrier]).validate(number, carrier=carrier)


# For fields where the carrier is not known yet: shape only, no carrier rule or check digit.
# The pattern admits lowercase because pydantic checks it before uppercasing.
WaybillNumberStr = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_upper=True,
        min_length=WAYBILL_MIN_LENGTH,
        max_length=WAYBILL_MAX_LENGTH,
        pattern=r"^[A-Za-z0-9]+$",
    ),
]


class CarrierWaybill(BaseModel):
    """A waybill number together with its carrier, checked against that carrier's default rule."""

    model_config = ConfigDict(frozen=True)

    carrier: CarrierCode
    number: WaybillNumberStr

    @model_validator(mode="after")
    def _number_fits_carrier(self) -> Self:
        # InvalidWaybillNumber is a ValueError, so pydantic reports it as an ordinary validation error.
        validate_waybill(self.carrier, self.number)
        return self
