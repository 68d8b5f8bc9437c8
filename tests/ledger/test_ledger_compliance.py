"""Charity spending indicators (ledger/compliance.py): shares of spending, programme spending
against last year's income, thresholds and their validation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from beanquery_helpers import bean_query_sum
from ledger_testkit import donation, expense

from ledger import compliance, services
from ledger.book import Book
from ledger.compliance import (
    BREACHED,
    INFO,
    MET,
    NOT_APPLICABLE,
    Thresholds,
    compliance_indicators,
    default_thresholds,
    parse_percent,
    percent_of,
    thresholds_from_setting,
)
from ledger.errors import RuleError
from ledger.financials import trace


def spend(book: Book, entry_id: str, amount: str, line: str, day: dt.date) -> None:
    services.record_expense(book, expense(entry_id, amount, line=line, date=day))


@pytest.fixture
def year_of_spending(book: Book) -> Book:
    """2025: 1,000.00 of income. 2026: 10,000.00 of income, then 600 programme, 100 management
    and 50 fundraising costs (750.00 in all) from the general fund."""
    services.record_donation(book, donation("d2025", "1000", date=dt.date(2025, 6, 1)))
    services.record_donation(book, donation("d2026", "10000", date=dt.date(2026, 1, 5)))
    spend(book, "e-prog", "600", "programme", dt.date(2026, 2, 1))
    spend(book, "e-admin", "100", "admin", dt.date(2026, 2, 2))
    spend(book, "e-fund", "50", "fundraising", dt.date(2026, 2, 3))
    return book


# -- the ratios ---------------------------------------------------------------------------------


def test_shares_of_spending_and_programme_against_last_years_income(year_of_spending: Book) -> None:
    result = compliance_indicators(year_of_spending, 2026, default_thresholds())
    programme = result.indicator("programme_share")
    assert (programme.numerator.amount, programme.denominator.amount) == (
        Decimal("600.00"),
        Decimal("750.00"),
    )
    assert programme.ratio == Decimal("80.00")
    assert programme.status == INFO  # no limit of its own: shown for the reader
    management = result.indicator("management_share")
    assert management.ratio == Decimal("13.33")
    assert management.status == BREACHED  # 13.33% > 13% for a social-service organisation
    assert "13.00%" in management.rule
    fundraising = result.indicator("fundraising_share")
    assert fundraising.ratio == Decimal("6.67")
    assert fundraising.status == INFO
    against_income = result.indicator("programme_vs_income")
    assert against_income.denominator.amount == Decimal("1000.00")
    assert against_income.denominator.period.start == dt.date(2025, 1, 1)
    assert against_income.ratio == Decimal("60.00")
    assert against_income.status == BREACHED  # 600 < 70% of 1,000
    assert {i.key for i in result.breaches} == {"management_share", "programme_vs_income"}


def test_the_figures_equal_bean_query_on_the_files(year_of_spending: Book) -> None:
    main = year_of_spending.store.main
    result = compliance_indicators(year_of_spending, 2026, default_thresholds())
    in_2026 = "date >= 2026-01-01 AND date <= 2026-12-31"
    assert result.indicator("programme_share").numerator.amount == bean_query_sum(
        main, f"account ~ '^Expenses:5101' AND {in_2026}"
    )
    assert result.indicator("management_share").numerator.amount == bean_query_sum(
        main, f"account ~ '^Expenses:5201' AND {in_2026}"
    )
    assert result.indicator("management_share").denominator.amount == bean_query_sum(
        main, f"account ~ '^Expenses:' AND {in_2026}"
    )
    assert result.indicator("programme_vs_income").denominator.amount == -bean_query_sum(
        main, "account ~ '^Income:' AND date >= 2025-01-01 AND date <= 2025-12-31"
    )


def test_each_figure_traces_to_postings_that_add_up_to_it(year_of_spending: Book) -> None:
    result = compliance_indicators(year_of_spending, 2026, default_thresholds())
    for indicator in result.indicators:
        for figure in (indicator.numerator, indicator.denominator):
            traced = trace(year_of_spending, figure.kind, figure.key, figure.column, figure.period)
            assert traced.total == figure.amount
            assert sum((r.amount for r in traced.rows), Decimal("0.00")) == figure.amount


def test_thresholds_of_a_foundation_and_the_organisations_own(year_of_spending: Book) -> None:
    foundation = compliance_indicators(year_of_spending, 2026, default_thresholds("foundation"))
    assert foundation.thresholds.management_max == Decimal("10.00")
    assert foundation.indicator("management_share").status == BREACHED
    assert "基金会" in foundation.indicator("management_share").rule
    lenient = Thresholds("social_service", Decimal("14.00"), Decimal("60.00"))
    result = compliance_indicators(year_of_spending, 2026, lenient)
    assert result.indicator("management_share").status == MET
    assert result.indicator("programme_vs_income").status == MET  # exactly 60%: met
    assert result.breaches == ()


def test_the_comparison_is_exact_not_on_the_rounded_percentage(book: Book) -> None:
    services.record_donation(book, donation("d", "20000", date=dt.date(2026, 1, 5)))
    spend(book, "prog", "8699.60", "programme", dt.date(2026, 2, 1))
    spend(book, "adm", "1300.40", "admin", dt.date(2026, 2, 2))  # 13.004% of 10,000.00
    management = compliance_indicators(book, 2026, default_thresholds()).indicator(
        "management_share"
    )
    assert management.ratio == Decimal("13.00")
    assert management.status == BREACHED


def test_exactly_at_the_limit_is_met(book: Book) -> None:
    services.record_donation(book, donation("d", "20000", date=dt.date(2026, 1, 5)))
    spend(book, "prog", "8700", "programme", dt.date(2026, 2, 1))
    spend(book, "adm", "1300", "admin", dt.date(2026, 2, 2))
    management = compliance_indicators(book, 2026, default_thresholds()).indicator(
        "management_share"
    )
    assert (management.ratio, management.status) == (Decimal("13.00"), MET)


# -- nothing to divide by -----------------------------------------------------------------------


def test_a_year_without_spending_or_earlier_income_is_not_applicable(book: Book) -> None:
    result = compliance_indicators(book, 2026, default_thresholds())
    assert [i.status for i in result.indicators] == [NOT_APPLICABLE] * 4
    assert all(i.ratio is None for i in result.indicators)
    assert "no spending" in result.indicator("management_share").note
    assert "no income the year before" in result.indicator("programme_vs_income").note
    assert result.breaches == ()


def test_spending_without_last_years_income_is_not_held_to_the_70_percent_rule(
    book: Book,
) -> None:
    services.record_donation(book, donation("d", "1000", date=dt.date(2026, 1, 5)))
    spend(book, "prog", "100", "programme", dt.date(2026, 2, 1))
    result = compliance_indicators(book, 2026, default_thresholds())
    assert result.indicator("programme_share").ratio == Decimal("100.00")
    assert result.indicator("management_share").status == MET  # 0% of 100.00
    assert result.indicator("programme_vs_income").status == NOT_APPLICABLE


def test_percent_of_nothing_is_none() -> None:
    assert percent_of(Decimal("5"), Decimal("0")) is None
    assert percent_of(Decimal("5"), Decimal("-10")) is None
    assert percent_of(Decimal("0"), Decimal("10")) == Decimal("0.00")
    assert percent_of(Decimal("1"), Decimal("3")) == Decimal("33.33")
    assert percent_of(Decimal("2"), Decimal("3")) == Decimal("66.67")


# -- thresholds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("13", "13.00"),
        ("12.5", "12.50"),
        (" 70.00 ", "70.00"),
        ("0", "0.00"),
        ("100", "100.00"),
        ("10%", "10.00"),
    ],
)
def test_a_percentage_from_0_to_100_with_two_decimals(text: str, value: str) -> None:
    assert parse_percent(text, field="management_max") == Decimal(value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("150", "不能大于 100"),
        ("100.01", "不能大于 100"),
        ("-1", "不能小于 0"),
        ("abc", "not a number"),
        ("12.345", "at most two decimals"),
        ("", "required"),
        ("1e1", "not a number"),
        ("NaN", "not a number"),
        ("１３", "not a number"),
        ("+5", "not a number"),
    ],
)
def test_a_bad_percentage_is_refused_naming_the_field(text: str, says: str) -> None:
    with pytest.raises(RuleError) as exc:
        parse_percent(text, field="programme_min")
    assert exc.value.field == "programme_min"
    assert says in exc.value.message


def test_floats_are_not_percentages() -> None:
    with pytest.raises(RuleError) as exc:
        parse_percent(12.5, field="management_max")
    assert exc.value.field == "management_max"


def test_thresholds_from_the_stored_setting() -> None:
    assert thresholds_from_setting(None) == default_thresholds()
    assert thresholds_from_setting({}) == Thresholds(
        "social_service", Decimal("13.00"), Decimal("70.00")
    )
    foundation = thresholds_from_setting({"org_kind": "foundation", "management_max": ""})
    assert foundation.management_max == Decimal("10.00")
    own = thresholds_from_setting(
        {"org_kind": "foundation", "management_max": "8.5", "programme_min": "75"}
    )
    assert own == Thresholds("foundation", Decimal("8.50"), Decimal("75.00"))
    assert thresholds_from_setting(own.as_setting()) == own


@pytest.mark.parametrize(
    ("stored", "field"),
    [
        ({"org_kind": "church"}, "org_kind"),
        ({"management_max": "150"}, "management_max"),
        ({"programme_min": "abc"}, "programme_min"),
    ],
)
def test_a_bad_stored_setting_is_refused_naming_its_key(stored: dict[str, str], field: str) -> None:
    with pytest.raises(RuleError) as exc:
        thresholds_from_setting(stored)
    assert exc.value.field == field


def test_the_kinds_of_organisation_and_their_limits() -> None:
    assert compliance.ORG_KINDS["social_service"].management_max == Decimal("13.00")
    assert compliance.ORG_KINDS["foundation"].management_max == Decimal("10.00")
    assert default_thresholds().programme_min == Decimal("70.00")
    with pytest.raises(RuleError) as exc:
        default_thresholds("club")
    assert exc.value.field == "org_kind"
