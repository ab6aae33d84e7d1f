"""Number patterns (operators set them in the allocation catalogue) are matched by a linear-time engine (RE2):
a catastrophic-backtracking pattern takes microseconds, and patterns RE2 cannot match in linear time
(look-arounds, back-references) or longer than the limit are refused when the rule is built."""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shared.waybill import (
    DEFAULT_RULES,
    MAX_PATTERN_LENGTH,
    InvalidWaybillNumber,
    NumberRule,
    RuleAlternative,
    pattern_problem,
)

ROOT = Path(__file__).resolve().parents[3]
SEED = ROOT / "services" / "allocation" / "migrations" / "versions" / "a0002_seed_catalogue.py"
# Patterns Python's backtracking engine takes exponential time on when the match fails at the end.
EVIL = [r"(a+)+$", r"(a|a)+$", r"(a|aa)+$", r"(a*)*$", r"(\d+)+$", r"([A-Z0-9]+)*X"]
REFUSED = [
    r"(?=A)A{12}",  # look-ahead
    r"(?<=A)\d{12}",  # look-behind
    r"(\d)\1{11}",  # back-reference
    r"\d{12}\Z",  # Python's end anchor (RE2 spells it \z)
    r"\d{1001}",  # repetition count RE2 caps at 1000
    r"[0-9",  # bad syntax
    "\\d" * (MAX_PATTERN_LENGTH // 2 + 1),  # too long
]


def _seed_patterns() -> list[str]:
    spec = importlib.util.spec_from_file_location("a0002_seed_catalogue", SEED)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    carriers: list[dict[str, Any]] = module.CARRIERS
    return [alt["pattern"] for carrier in carriers for alt in carrier["number_rule"]]


@pytest.mark.parametrize("pattern", EVIL)
def test_a_catastrophic_pattern_is_matched_in_bounded_time(pattern: str) -> None:
    alternative = RuleAlternative(pattern)
    started = time.perf_counter()
    assert alternative.matches("a" * 50 + "!") is False
    assert alternative.matches("1" * 50 + "!") is False
    assert time.perf_counter() - started < 1.0


def test_a_catastrophic_catalogue_rule_refuses_a_number_in_bounded_time() -> None:
    rule = NumberRule.of(r"(A+)+$", description="evil")
    started = time.perf_counter()
    with pytest.raises(InvalidWaybillNumber):
        rule.validate("a" * 39 + "!")  # uppercased to 'AAA...!', the longest number validate looks at
    assert time.perf_counter() - started < 1.0
    assert rule.validate("aaaa") == "AAAA"


@pytest.mark.parametrize("pattern", REFUSED)
def test_patterns_the_linear_time_engine_refuses_are_refused_when_the_rule_is_built(pattern: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None
    with pytest.raises(ValidationError, match="invalid regular expression"):
        RuleAlternative(pattern)


def test_the_refusal_says_why() -> None:
    assert pattern_problem("x" * (MAX_PATTERN_LENGTH + 1)) == f"longer than {MAX_PATTERN_LENGTH} characters"
    problem = pattern_problem(r"(?=A)A")
    assert problem is not None
    assert "RE2" in problem
    assert "(?=" in problem
    assert pattern_problem(r"\d{12}|\d{14}") is None


def test_every_default_and_seeded_pattern_is_accepted_and_means_what_it_meant() -> None:
    patterns = {a.pattern for rule in DEFAULT_RULES.values() for a in rule.alternatives} | set(_seed_patterns())
    samples = [
        "123456789012",
        "12345678901234",
        "SF1234567890123",
        "YT1234567890123",
        "JDX123456789012",
        "JDVA12345678901",
        "EA123456785CN",
        "DPK123456789012",
        "AB12CD34EF",
        "123456789012345678",
        "1234567890123",
        "١٢٣٤٥٦٧٨٩٠١٢",  # Arabic-Indic digits: not digits to RE2, as re.ASCII made them before
        "１２３４５６７８９０１２",  # full-width digits
        "",
    ]
    for pattern in patterns:
        assert pattern_problem(pattern) is None, pattern
        alternative = RuleAlternative(pattern)
        for number in samples:
            expected = re.fullmatch(pattern, number, re.ASCII) is not None
            assert alternative.matches(number) is expected, (pattern, number)
