"""The statements of ledger/financials.py, every line of them, against bean-query on the demo year.

The expected figures come from ``financials_oracle``, which recomputes each statement from the
rows one bean-query returns (statement lines from the accounts' ``open`` metadata, fund classes
from the ``custom "fund"`` directives) without importing ``ledger``; a few figures are also asked
of bean-query directly as a single ``sum(number)``. Periods are taken from the demo's span (it
ends yesterday): its last calendar year, that year's first quarter, a month in the middle, a
range across the year change and the whole span.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from beanquery_helpers import bean_query_sum, fund_where
from financials_oracle import CASH, ROWS, Oracle

from ledger.book import Book
from ledger.errors import RuleError
from ledger.financials import (
    KIND_NAMES,
    KINDS,
    RELEASE,
    Period,
    Statement,
    build_statement,
    parse_period,
    trace,
)
from ledger.store import LedgerStore

PERIODS = ("year", "quarter", "month", "year-change", "whole")
ZERO = Decimal("0.00")


@pytest.fixture(scope="module")
def oracle(demo_ledger: Path) -> Oracle:
    """The demo ledger as bean-query sees it (loaded once for the module)."""
    return Oracle(demo_ledger)


@pytest.fixture(scope="module")
def demo_book(demo_ledger: Path) -> Book:
    """The application's Book on the demo ledger."""
    return Book(LedgerStore(demo_ledger)).open()


@pytest.fixture(scope="module")
def statements(demo_book: Book, oracle: Oracle) -> dict[tuple[str, str], Statement]:
    """Every statement for every test period, built once."""
    out = {}
    for name in PERIODS:
        period = parse_period(oracle.demo_periods()[name])
        for kind in KINDS:
            out[(kind, name)] = build_statement(demo_book, kind, period)
    return out


def figures(statement: Statement) -> dict[str, tuple[Decimal, ...]]:
    return {line.key: line.values for line in statement.lines if line.kind != "section"}


# -- the demo periods are what they say ---------------------------------------------------------


def test_the_test_periods_hold_entries_and_cross_the_year_change(oracle: Oracle) -> None:
    periods = {name: parse_period(text) for name, text in oracle.demo_periods().items()}
    for name, period in periods.items():
        inside = [r for r in oracle.rows if period.start <= r.date <= period.end]
        assert inside, name
    change = periods["year-change"]
    assert change.start.year + 1 == change.end.year
    assert periods["whole"] == Period(oracle.first, oracle.last)
    assert periods["quarter"].end == dt.date(periods["quarter"].start.year, 3, 31)
    # The demo began in an earlier year, so the calendar year has an opening balance to carry.
    assert oracle.first < periods["year"].start


# -- every line equals bean-query ---------------------------------------------------------------


@pytest.mark.parametrize("name", PERIODS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_figure_of_every_statement_equals_bean_query(
    kind: str, name: str, statements: dict[tuple[str, str], Statement], oracle: Oracle
) -> None:
    statement = statements[(kind, name)]
    period = statement.period
    expected = oracle.statement(kind, period.start, period.end)
    assert figures(statement) == expected
    assert statement.kind == kind
    assert statement.title == KIND_NAMES[kind]
    for line in statement.lines:
        assert len(line.values) == (0 if line.kind == "section" else len(statement.columns))
    rows = {line.key: line.row for line in statement.lines if line.row is not None}
    assert rows == ROWS[kind], "行次 as in the standard form"


def test_the_statements_are_not_all_zero(
    statements: dict[tuple[str, str], Statement],
) -> None:
    """The comparison above would pass on an empty ledger too: the demo year is not empty."""
    year = {kind: figures(statements[(kind, "year")]) for kind in KINDS}
    assert year["balance_sheet"]["资产总计"][1] > 0
    assert year["balance_sheet"]["限定性净资产"][1] > 0
    assert year["activities"]["捐赠收入"][0] > 0 < year["activities"]["捐赠收入"][1]
    assert year["activities"]["提供服务收入"][2] > 0
    assert year["activities"][RELEASE][0] != 0
    assert year["cash_flow"]["提供捐赠或者资助支付的现金"][0] > 0
    assert year["cash_flow"]["支付给员工以及为员工支付的现金"][0] > 0
    assert year["trial_balance"]["合计"][2] > 0


@pytest.mark.parametrize("kind", KINDS)
def test_a_period_before_the_first_entry_is_all_zeros_like_bean_query(
    kind: str, demo_book: Book, oracle: Oracle
) -> None:
    period = parse_period(str(oracle.first.year - 3))
    statement = build_statement(demo_book, kind, period)
    expected = oracle.statement(kind, period.start, period.end)
    assert figures(statement) == expected
    assert {v for values in expected.values() for v in values} == {ZERO}


@pytest.mark.parametrize("name", PERIODS)
def test_trial_balance_lists_every_account_in_chart_order_with_code_and_name(
    name: str, statements: dict[tuple[str, str], Statement], oracle: Oracle
) -> None:
    statement = statements[("trial_balance", name)]
    keys = [line.key for line in statement.lines]
    assert keys[-1] == "合计"
    accounts = keys[:-1]
    assert set(accounts) == set(oracle.accounts)
    codes = [int(a.split(":")[1].split("-")[0]) for a in accounts]
    assert codes == sorted(codes)
    for line in statement.lines[:-1]:
        assert line.label == oracle.trial_balance_label(line.key)
        assert statement.accounts[line.key] == line.key


# -- figures asked of bean-query directly -------------------------------------------------------


@pytest.mark.parametrize("name", ["year", "month", "year-change"])  # ~0.3 s a query
def test_key_figures_equal_a_single_bean_query_sum(
    name: str, statements: dict[tuple[str, str], Statement], oracle: Oracle
) -> None:
    bs = figures(statements[("balance_sheet", name)])
    act = figures(statements[("activities", name)])
    tb = figures(statements[("trial_balance", name)])
    period = statements[("balance_sheet", name)].period
    start, end = period.start.isoformat(), period.end.isoformat()
    conn = oracle.conn
    cash = f"open_meta(account, 'statement') = '资产负债表·{CASH}'"
    assert bs[CASH] == (
        bean_query_sum(conn, f"{cash} AND date < {start}"),
        bean_query_sum(conn, f"{cash} AND date <= {end}"),
    )
    net_assets = "account ~ '^(Income|Expenses|Equity):'"
    assert bs["净资产合计"][1] == -bean_query_sum(conn, f"{net_assets} AND date <= {end}")
    within = f"date >= {start} AND date <= {end}"
    assert act["收入合计"][2] == -bean_query_sum(conn, f"account ~ '^Income:' AND {within}")
    assert act["费用合计"][2] == bean_query_sum(conn, f"account ~ '^Expenses:' AND {within}")
    assert act["费用合计"][1] == ZERO  # the system puts every cost in the unrestricted column
    restricted = " OR ".join(fund_where(slug) for slug, r in oracle.restricted.items() if r)
    assert act["收入合计"][1] == -bean_query_sum(
        conn, f"account ~ '^Income:' AND {within} AND ({restricted})"
    )
    assert act["捐赠收入"][2] == -bean_query_sum(conn, f"account ~ '^Income:4101' AND {within}")
    assert tb["合计"][2] == bean_query_sum(conn, f"number > 0 AND {within}")
    assert tb["合计"][3] == -bean_query_sum(conn, f"number < 0 AND {within}")


# -- the statements agree with each other -------------------------------------------------------


@pytest.mark.parametrize("name", PERIODS)
def test_the_balance_sheet_balances(
    name: str, statements: dict[tuple[str, str], Statement]
) -> None:
    bs = figures(statements[("balance_sheet", name)])
    assert bs["资产总计"] == bs["负债和净资产总计"]
    assert bs["净资产合计"] == tuple(
        a + b for a, b in zip(bs["非限定性净资产"], bs["限定性净资产"], strict=True)
    )


@pytest.mark.parametrize("name", PERIODS)
def test_change_in_net_assets_equals_the_balance_sheets_change(
    name: str, statements: dict[tuple[str, str], Statement]
) -> None:
    bs = figures(statements[("balance_sheet", name)])
    change = figures(statements[("activities", name)])["净资产变动额"]
    for column, key in enumerate(("非限定性净资产", "限定性净资产", "净资产合计")):
        opening, closing = bs[key]
        assert change[column] == closing - opening, key


@pytest.mark.parametrize("name", PERIODS)
def test_net_increase_in_cash_equals_the_change_in_cash(
    name: str, statements: dict[tuple[str, str], Statement]
) -> None:
    bs = figures(statements[("balance_sheet", name)])
    cf = figures(statements[("cash_flow", name)])
    opening, closing = bs[CASH]
    assert cf["现金及现金等价物净增加额"] == (closing - opening,)
    assert cf["期初现金及现金等价物余额"] == (opening,)
    assert cf["期末现金及现金等价物余额"] == (closing,)


@pytest.mark.parametrize("name", PERIODS)
def test_trial_balance_debits_equal_credits_and_its_balances_match_the_balance_sheet(
    name: str, statements: dict[tuple[str, str], Statement], oracle: Oracle
) -> None:
    tb = figures(statements[("trial_balance", name)])
    total = tb["合计"]
    assert (total[0], total[2], total[4]) == (total[1], total[3], total[5])
    bs = figures(statements[("balance_sheet", name)])
    cash = oracle.cash_accounts()
    for column, first in ((0, 0), (1, 4)):  # 期初, 期末
        balance = sum((tb[a][first] - tb[a][first + 1] for a in cash), ZERO)
        assert balance == bs[CASH][column]
        # Net assets: what the equity accounts hold (with earlier years' results carried
        # into them) plus the results still standing in income and expenses.
        net_assets = sum(
            (
                tb[a][first + 1] - tb[a][first]
                for a in tb
                if a.startswith(("Equity:", "Income:", "Expenses:"))
            ),
            ZERO,
        )
        assert net_assets == bs["净资产合计"][column]


# -- trace ----------------------------------------------------------------------------------

TRACED = (
    ("balance_sheet", CASH, 1),
    ("balance_sheet", "非限定性净资产", 0),
    ("balance_sheet", "限定性净资产", 1),
    ("balance_sheet", "资产总计", 1),
    ("activities", "捐赠收入", 2),
    ("activities", RELEASE, 0),
    ("activities", "净资产变动额", 1),
    ("cash_flow", "提供捐赠或者资助支付的现金", 0),
    ("cash_flow", "支付给员工以及为员工支付的现金", 0),
    ("cash_flow", "现金及现金等价物净增加额", 0),
    ("trial_balance", "Assets:1002-银行存款", 0),
    ("trial_balance", "Assets:1002-银行存款", 2),
    ("trial_balance", "Income:4101-捐赠收入:限定性", 3),
    ("trial_balance", "Equity:3101-非限定性净资产", 4),
    ("trial_balance", "合计", 2),
)


@pytest.mark.parametrize("name", ["year", "year-change"])
@pytest.mark.parametrize(("kind", "key", "column"), TRACED)
def test_trace_adds_up_to_the_figure_and_names_entries_in_the_files(
    kind: str,
    key: str,
    column: int,
    name: str,
    demo_book: Book,
    statements: dict[tuple[str, str], Statement],
    oracle: Oracle,
) -> None:
    statement = statements[(kind, name)]
    line = statement.line(key)
    result = trace(demo_book, kind, key, column, statement.period)
    if kind == "trial_balance" and column in (0, 4):  # a balance, traced as one signed sum
        figure = line.values[column] - line.values[column + 1]
    else:
        figure = line.values[column]
    assert result.total == figure
    assert sum((row.amount for row in result.rows), ZERO) == figure
    if figure:
        assert result.rows
    postings = {(r.entry_id, r.date, r.account) for r in oracle.rows}
    for row in result.rows:
        assert row.entry_id in oracle.entry_ids
        assert (row.entry_id, row.date, row.account) in postings
        if kind == "trial_balance" and key != "合计" and not key.startswith("Equity:"):
            assert row.account == key
    dates = [(row.date, row.seq or 0) for row in result.rows]
    assert dates == sorted(dates)


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2026-13", ("不存在", "no such day")),
        ("2026-02-30", ("格式不正确", "unknown period")),
        ("2026-01-01..2026-02-30", ("不存在", "no such day")),
        ("abc", ("格式不正确", "unknown period")),
        ("", ("格式不正确", "unknown period")),
        ("2026-Q5", ("格式不正确", "unknown period")),
        ("2026-03-31..2026-01-01", ("早于", "end before start")),
        ("1999", ("2000", "out of range")),
    ],
)
def test_parse_period_refuses_bad_periods_naming_the_field(
    text: str, words: tuple[str, str]
) -> None:
    with pytest.raises(RuleError) as caught:
        parse_period(text)
    assert caught.value.field == "period"
    for word in words:
        assert word in caught.value.message


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026", dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
        ("2026-Q1", dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        (" 2025-12-15..2026-01-31 ", dt.date(2025, 12, 15), dt.date(2026, 1, 31)),
        ("2026-01-01 至 2026-01-01", dt.date(2026, 1, 1), dt.date(2026, 1, 1)),
    ],
)
def test_parse_period_reads_years_quarters_months_and_ranges(
    text: str, start: dt.date, end: dt.date
) -> None:
    assert parse_period(text) == Period(start, end)


@pytest.mark.parametrize(
    ("kind", "key", "column", "field"),
    [
        ("balance_sheet", "没有这一行", 0, "line"),
        ("balance_sheet", CASH, 2, "column"),
        ("balance_sheet", CASH, -1, "column"),
        ("balance_sheet", "流动资产", 0, "column"),  # a section heading has no figures
        ("activities", "捐赠收入", 3, "column"),
        ("trial_balance", "Assets:9999-没有", 0, "line"),
        ("trial_balance", "合计", 0, "column"),  # the total of balances is not a sum of postings
        ("trial_balance", "合计", 4, "column"),
        ("profit_and_loss", "捐赠收入", 0, "type"),
    ],
)
def test_trace_refuses_unknown_lines_and_columns(
    kind: str, key: str, column: int, field: str, demo_book: Book, oracle: Oracle
) -> None:
    period = parse_period(oracle.demo_periods()["year"])
    with pytest.raises(RuleError) as caught:
        trace(demo_book, kind, key, column, period)
    assert caught.value.field == field
    assert caught.value.message


def test_build_statement_refuses_an_unknown_kind(demo_book: Book) -> None:
    with pytest.raises(RuleError) as caught:
        build_statement(demo_book, "balance", parse_period("2026"))
    assert caught.value.field == "type"
    assert "unknown statement" in caught.value.message


def test_building_statements_leaves_the_ledger_files_unchanged(
    demo_ledger: Path, demo_book: Book, oracle: Oracle
) -> None:
    before = {p: p.read_bytes() for p in sorted(demo_ledger.rglob("*.beancount"))}
    for kind in KINDS:
        build_statement(demo_book, kind, parse_period(oracle.demo_periods()["whole"]))
    assert {p: p.read_bytes() for p in sorted(demo_ledger.rglob("*.beancount"))} == before
