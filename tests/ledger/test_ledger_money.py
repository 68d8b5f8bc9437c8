"""Amounts: one strict parser for every entry point, and 大写 for receipts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import RuleError
from ledger.money import MAX_AMOUNT, format_cny, parse_amount, to_chinese_capital


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("200", Decimal("200.00")),
        ("200.5", Decimal("200.50")),
        ("200.50", Decimal("200.50")),
        ("1,200.50", Decimal("1200.50")),
        (" 3 ", Decimal("3.00")),
        ("0.01", Decimal("0.01")),
        ("10000000", Decimal("10000000.00")),
        ("10,000,000.00", Decimal("10000000.00")),
    ],
)
def test_a_plain_amount_is_parsed_to_cents(text: str, expected: Decimal) -> None:
    amount = parse_amount(text)
    assert amount == expected
    assert amount.as_tuple().exponent == -2


def test_a_decimal_from_our_own_code_is_accepted() -> None:
    assert parse_amount(Decimal("12.3")) == Decimal("12.30")


@pytest.mark.parametrize(
    "value",
    [
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "1E+3",
        "1e3",
        "-5",
        "+5",
        "0",
        "0.00",
        "２００",
        "٢٠٠",
        "1.234",
        "",
        "   ",
        "10000000.01",
        "1,2000",
        "1 000",
        "¥200",
        "200元",
        "0x10",
        "1_000",
        200.0,
        200,
        None,
        Decimal("NaN"),
        Decimal("-1"),
        Decimal("0"),
    ],
)
def test_a_bad_amount_is_refused_naming_the_amount_field(value: object) -> None:
    with pytest.raises(RuleError) as info:
        parse_amount(value)
    assert info.value.field == "amount"
    assert info.value.message


def test_the_refusal_names_the_field_the_caller_gives() -> None:
    with pytest.raises(RuleError) as info:
        parse_amount("abc", field="budget")
    assert info.value.field == "budget"


def test_an_amount_above_the_limit_has_its_own_code() -> None:
    with pytest.raises(RuleError) as info:
        parse_amount("10000000.01")
    assert info.value.code == "too_large"
    assert parse_amount(format(MAX_AMOUNT, "f")) == MAX_AMOUNT


@settings(database=None)
@given(st.integers(min_value=1, max_value=1_000_000_000))
def test_every_whole_number_of_cents_within_the_limit_round_trips(cents: int) -> None:
    amount = Decimal(cents) / 100
    assert parse_amount(f"{amount:.2f}") == amount
    assert parse_amount(format_cny(amount, symbol=False)) == amount


@pytest.mark.parametrize(
    ("amount", "capital"),
    [
        ("100", "壹佰元整"),
        ("1204.50", "壹仟贰佰零肆元伍角"),
        ("0.05", "伍分"),
        ("100010", "壹拾万零壹拾元整"),
        ("0", "零元整"),
        ("10", "壹拾元整"),
        ("1.01", "壹元零壹分"),
        ("3.45", "叁元肆角伍分"),
        ("100000000", "壹亿元整"),
        ("1000001", "壹佰万零壹元整"),
        ("10000000", "壹仟万元整"),
    ],
)
def test_amounts_are_written_in_chinese_capitals(amount: str, capital: str) -> None:
    assert to_chinese_capital(Decimal(amount)) == capital


def test_a_negative_amount_has_no_chinese_capital_form() -> None:
    with pytest.raises(ValueError, match="negative"):
        to_chinese_capital(Decimal("-1"))


@pytest.mark.parametrize(
    ("amount", "text"),
    [("1234.5", "¥1,234.50"), ("-0.5", "-¥0.50"), ("0", "¥0.00"), ("1000000", "¥1,000,000.00")],
)
def test_amounts_are_formatted_with_the_yuan_sign_and_grouping(amount: str, text: str) -> None:
    assert format_cny(Decimal(amount)) == text
