"""The host charity export: the period's postings by host account code and fund, against bean-query."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from beanquery_helpers import bean_query, connect

from ledger.book import Book
from ledger.errors import RuleError
from ledger.financials import Period, parse_period
from ledger.host_export import (
    CSV_HEADER,
    DEFAULT_MAPPING,
    MappingError,
    host_account,
    mapping_from_setting,
    mapping_to_setting,
    parse_mapping,
    render_mapping,
    summarise,
)
from ledger.store import LedgerStore

ZERO = Decimal("0.00")
PERIODS = ("2026-Q1", "2026-03", "2026", "2025-12-15..2026-02-10")


@pytest.fixture(scope="module")
def book(demo_ledger: Path) -> Book:
    """A Book on the demo year (read only here)."""
    return Book(LedgerStore(demo_ledger)).open()


def bql_by_code(main: Path, period: Period, mapping: dict[str, tuple[str, str]]) -> dict:
    """Debits and credits by host code, from bean-query's per-account sums.

    Each account's code is found by the longest prefix by hand here (no prefix of the default
    mapping is a prefix of another, so the first match is the only one).
    """
    conn = connect(main)
    rows = bean_query(
        conn,
        "SELECT account, sum(number) AS n WHERE number > 0 "
        f"AND date >= {period.start} AND date <= {period.end} GROUP BY account",
    )
    rows += bean_query(
        conn,
        "SELECT account, sum(number) AS n WHERE number < 0 "
        f"AND date >= {period.start} AND date <= {period.end} GROUP BY account",
    )
    out: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for account, number in rows:
        prefixes = [p for p in mapping if account == p or account.startswith(p + ":")]
        assert len(prefixes) == 1, (account, prefixes)
        code = mapping[prefixes[0]][0]
        out[code][0 if number > 0 else 1] += abs(Decimal(number))
    return {code: (d, c) for code, (d, c) in out.items()}


@pytest.mark.parametrize("text", PERIODS)
def test_totals_by_host_code_equal_bean_query_and_debits_equal_credits(
    book: Book, demo_ledger: Path, text: str
) -> None:
    period = parse_period(text)
    summary = summarise(book, period, DEFAULT_MAPPING)
    mine: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for row in summary.rows:
        mine[row.code][0] += row.debit
        mine[row.code][1] += row.credit
    expected = bql_by_code(demo_ledger / "main.beancount", period, DEFAULT_MAPPING)
    assert {code: tuple(v) for code, v in mine.items()} == expected
    assert summary.debit_total == summary.credit_total > 0
    assert summary.balanced
    assert all(
        isinstance(r.debit, Decimal) and r.debit == r.debit.quantize(ZERO) for r in summary.rows
    )


def test_a_restricted_funds_donations_are_summed_under_its_code_and_name(
    book: Book, demo_ledger: Path
) -> None:
    period = parse_period("2026")
    summary = summarise(book, period, DEFAULT_MAPPING, special_fund="市慈善总会·督院街社区微基金")
    (row,) = [r for r in summary.rows if r.code == "410102" and r.fund == "zhulaocan"]
    assert row.name == "捐赠收入—限定性收入"
    assert row.fund_name == "助老餐"
    assert row.project == "市慈善总会·督院街社区微基金"
    total = bean_query(
        demo_ledger / "main.beancount",
        "SELECT sum(number) WHERE account = 'Income:4101-捐赠收入:限定性' "
        f"AND date >= {period.start} AND date <= {period.end} AND number < 0 "
        "AND (meta('fund') = 'zhulaocan' OR (meta('fund') IS NULL AND 'fund-zhulaocan' IN tags))",
    )[0][0]
    assert row.credit == -Decimal(total)


def test_the_special_fund_defaults_to_the_ledgers_title(book: Book) -> None:
    summary = summarise(book, parse_period("2026-03"), DEFAULT_MAPPING)
    assert summary.special_fund == book.title
    assert {r.project for r in summary.rows} == {book.title}


def test_the_csv_rows_end_with_a_total_line(book: Book) -> None:
    summary = summarise(book, parse_period("2026-03"), DEFAULT_MAPPING)
    rows = summary.csv_rows()
    assert len(rows) == len(summary.rows) + 1
    assert all(len(r) == len(CSV_HEADER) for r in rows)
    assert rows[-1][0] == "合计 total"
    assert rows[-1][5] == rows[-1][6] == summary.debit_total


def test_a_period_with_no_entries_gives_no_rows_and_zero_totals(book: Book) -> None:
    summary = summarise(book, parse_period("2030"), DEFAULT_MAPPING)
    assert summary.rows == ()
    assert summary.entries == 0
    assert summary.debit_total == summary.credit_total == ZERO


def test_an_account_no_prefix_maps_is_refused_by_name(book: Book) -> None:
    mapping = {k: v for k, v in DEFAULT_MAPPING.items() if not k.startswith("Expenses:5101")}
    with pytest.raises(RuleError) as caught:
        summarise(book, parse_period("2026-Q1"), mapping)
    assert caught.value.field == "mapping"
    assert caught.value.code == "unmapped"
    assert "Expenses:5101-业务活动成本" in caught.value.message
    assert "unmapped" in caught.value.message


def test_one_host_code_with_two_names_is_refused(book: Book) -> None:
    mapping = dict(DEFAULT_MAPPING)
    mapping["Assets:1001-库存现金"] = ("1002", "现金")
    with pytest.raises(RuleError) as caught:
        summarise(book, parse_period("2026-Q1"), mapping)
    assert caught.value.code == "code_clash"
    assert "1002" in caught.value.message


def test_the_longest_prefix_wins_and_prefixes_match_whole_components() -> None:
    mapping = {
        "Income:4101-捐赠收入": ("4101", "捐赠收入"),
        "Income:4101-捐赠收入:限定性": ("410102", "捐赠收入—限定性收入"),
        "Assets:1002": ("9999", "不应匹配"),
    }
    assert host_account(mapping, "Income:4101-捐赠收入:限定性") == ("410102", "捐赠收入—限定性收入")
    assert host_account(mapping, "Income:4101-捐赠收入:非限定性") == ("4101", "捐赠收入")
    assert host_account(mapping, "Income:4101-捐赠收入") == ("4101", "捐赠收入")
    assert host_account(mapping, "Assets:1002-银行存款") is None


def test_the_longest_prefix_decides_the_summary(book: Book) -> None:
    mapping = {k: v for k, v in DEFAULT_MAPPING.items() if not k.startswith("Income:4101")}
    mapping["Income:4101-捐赠收入"] = ("4101", "捐赠收入")
    mapping["Income:4101-捐赠收入:限定性"] = ("4101.02", "捐赠收入—限定性")
    summary = summarise(book, parse_period("2026"), mapping)
    codes = {r.code for r in summary.rows}
    assert {"4101", "4101.02"} <= codes
    assert "410101" not in codes
    assert {r.fund for r in summary.rows if r.code == "4101.02"} <= {"zhulaocan", "meiyuanzi"}


# -- the mapping as text ----------------------------------------------------------------------


def test_the_default_mapping_round_trips_through_its_text(book: Book) -> None:
    text = render_mapping(DEFAULT_MAPPING)
    assert parse_mapping(text, book.accounts) == DEFAULT_MAPPING
    assert mapping_from_setting(mapping_to_setting(DEFAULT_MAPPING)) == DEFAULT_MAPPING
    assert mapping_from_setting(None) == DEFAULT_MAPPING


def test_a_name_with_a_comma_or_quote_survives_the_round_trip(book: Book) -> None:
    mapping = {"Assets:1002-银行存款": ("1002", '银行存款, 工行 "基本户"')}
    assert parse_mapping(render_mapping(mapping), book.accounts) == mapping


def test_comments_and_blank_lines_are_ignored(book: Book) -> None:
    text = "# 主办机构：市慈善总会\n\nAssets:1002-银行存款,1002,银行存款\n  \n"
    assert parse_mapping(text, book.accounts) == {"Assets:1002-银行存款": ("1002", "银行存款")}


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("Assets:1003-备用金,1003,备用金", ["第 2 行", "unknown or unopened account prefix"]),
        ("Assets:1002,1002,银行存款", ["第 2 行", "unopened"]),
        ("资产:1002-银行存款,1002,银行存款", ["第 2 行", "unknown account prefix"]),
        (",1002,银行存款", ["第 2 行", "account prefix is required"]),
        ("Assets:1002-银行存款,,银行存款", ["第 2 行", "host code is required"]),
        ("Assets:1002-银行存款,12,银行存款", ["第 2 行", "ill-formed host code"]),
        ("Assets:1002-银行存款,1002x,银行存款", ["第 2 行", "ill-formed host code"]),
        ("Assets:1002-银行存款,=1+1,银行存款", ["第 2 行", "ill-formed host code"]),
        ("Assets:1002-银行存款,1002,", ["第 2 行", "host account name is required"]),
        ("Assets:1002-银行存款,1002,银行\u202e存款", ["第 2 行", "control characters"]),
        ("Assets:1002-银行存款,1002,银" + "行" * 60, ["第 2 行", "too long"]),
        ("Assets:1002-银行存款,1002", ["第 2 行", "expected: account prefix,host code,host name"]),
        ("Assets:1002-银行存款,1002,银行存款,多余", ["第 2 行", "实为 4 项"]),
        ("Assets:1001-库存现金,1001,库存现金", ["第 2 行", "与第 1 行重复", "duplicate"]),
        ("Assets:1002-银行存款,1001,银行存款", ["第 2 行", "1001", "第 1 行", "two names"]),
    ],
)
def test_each_bad_mapping_line_is_refused_naming_the_line(
    book: Book, line: str, words: list[str]
) -> None:
    text = f"Assets:1001-库存现金,1001,库存现金\n{line}\n"
    with pytest.raises(MappingError) as caught:
        parse_mapping(text, book.accounts)
    assert caught.value.field == "mapping"
    assert len(caught.value.problems) == 1, caught.value.problems
    for word in words:
        assert word in caught.value.problems[0], caught.value.problems[0]


def test_every_bad_line_is_named_not_only_the_first(book: Book) -> None:
    text = "Assets:9999-无,1,x\nAssets:1002-银行存款,1002,银行存款\nfoo\n"
    with pytest.raises(MappingError) as caught:
        parse_mapping(text, book.accounts)
    problems = caught.value.problems
    assert [p.split("：", 1)[0] for p in problems] == ["第 1 行（line 1）", "第 3 行（line 3）"]


def test_an_empty_mapping_is_refused(book: Book) -> None:
    with pytest.raises(MappingError) as caught:
        parse_mapping("# nothing\n\n", book.accounts)
    assert "the mapping is empty" in caught.value.message
