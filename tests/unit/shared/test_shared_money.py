from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from shared.money import MAX_CENTS, Cents, PositiveCents, SignedCents, format_yuan


class Amounts(BaseModel):
    cents: Cents = 0
    signed: SignedCents = 0
    positive: PositiveCents = 1


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "¥0.00"),
        (5, "¥0.05"),
        (100, "¥1.00"),
        (1234, "¥12.34"),
        (123456789, "¥1234567.89"),
        (-5, "-¥0.05"),
        (-1234, "-¥12.34"),
    ],
)
def test_format_yuan(cents: int, text: str) -> None:
    assert format_yuan(cents) == text


@pytest.mark.parametrize("bad", [1.5, 12.0, True, Decimal("1")])
def test_format_yuan_refuses_non_integers(bad: object) -> None:
    with pytest.raises(TypeError):
        format_yuan(bad)  # type: ignore[arg-type]


def test_bounds() -> None:
    assert Amounts(cents=0, signed=-MAX_CENTS, positive=MAX_CENTS).signed == -MAX_CENTS
    for bad in ({"cents": -1}, {"cents": MAX_CENTS + 1}, {"positive": 0}, {"signed": -MAX_CENTS - 1}):
        with pytest.raises(ValidationError):
            Amounts.model_validate(bad)


@pytest.mark.parametrize("field", ["cents", "signed", "positive"])
@pytest.mark.parametrize("bad", [12.0, 12.5, True, Decimal("12")])
def test_floats_booleans_and_decimals_are_refused(field: str, bad: object) -> None:
    with pytest.raises(ValidationError, match="integer cents"):
        Amounts.model_validate({field: bad})


def test_json_float_is_refused_but_int_and_digit_strings_are_accepted() -> None:
    with pytest.raises(ValidationError):
        Amounts.model_validate_json('{"cents": 12.0}')
    assert Amounts.model_validate_json('{"cents": 12}').cents == 12
    # Query parameters arrive as strings.
    assert Amounts.model_validate({"cents": "1234"}).cents == 1234


def test_json_schema_says_integer_cents() -> None:
    props = Amounts.model_json_schema()["properties"]
    assert props["cents"]["type"] == "integer"
    assert props["cents"]["minimum"] == 0
    assert props["cents"]["maximum"] == MAX_CENTS
    assert "分" in props["cents"]["description"]
    assert props["positive"]["exclusiveMinimum"] == 0
    assert props["signed"]["minimum"] == -MAX_CENTS
