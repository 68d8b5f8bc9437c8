"""The statements as PDF and CSV: every label and every figure on the page, equal to bean-query.

The statements are built from the demo year; the expected figures come from
``financials_oracle`` (bean-query rows, no ``ledger`` code), formatted by its own helper, so a
figure that the PDF or CSV printed wrongly, or that the statement computed wrongly, fails here.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from beanquery_helpers import FUND_ROOTS, bean_query_sum, fund_where
from financials_oracle import ROWS, Oracle, format_amount
from pdf_helpers import assert_fonts_embedded, flat, page_texts, render_png, text_of
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4

from ledger.book import Book
from ledger.financials import KINDS, Statement, build_statement, parse_period
from ledger.queries import FundStatement, StatementRow, fund_statement
from ledger.store import LedgerStore
from reports import statements as statements_module
from reports.base import format_timestamp
from reports.statements import (
    FUND_CSV_HEADER,
    build_statement_pdf,
    fund_statement_csv,
    statement_csv,
)

ORG = "督院街社区微基金"
ZERO = Decimal("0.00")
FLOW_ROOTS = ("Income", "Expenses", "Equity")
PERIODS = ("year", "year-change", "month")
FORMS = {
    "balance_sheet": ("资产负债表", "会民非01表"),
    "activities": ("业务活动表", "会民非02表"),
    "cash_flow": ("现金流量表", "会民非03表"),
    "trial_balance": ("科目余额表（试算平衡表）", ""),
}


@pytest.fixture(scope="module")
def oracle(demo_ledger: Path) -> Oracle:
    """The demo ledger as bean-query sees it (loaded once for the module)."""
    return Oracle(demo_ledger)


@pytest.fixture(scope="module")
def demo_book(demo_ledger: Path) -> Book:
    """The application's Book on the demo ledger."""
    return Book(LedgerStore(demo_ledger)).open()


@pytest.fixture(scope="module")
def built(demo_book: Book, oracle: Oracle) -> dict[tuple[str, str], tuple[Statement, bytes]]:
    """Each statement for each period, with its PDF."""
    out = {}
    for name in PERIODS:
        period = parse_period(oracle.demo_periods()[name])
        for kind in KINDS:
            statement = build_statement(demo_book, kind, period)
            out[(kind, name)] = (statement, build_statement_pdf(statement, org_name=ORG))
    return out


def tokens(pdf: bytes) -> list[str]:
    """The PDF's text as the table cells come out: one stripped piece per extracted line."""
    return [piece.strip() for piece in text_of(pdf).splitlines() if piece.strip()]


def find_run(haystack: Sequence[str], run: Sequence[str], used: set[int]) -> int:
    """Where ``run`` occurs as consecutive tokens, not starting at an index already ``used``."""
    for start in range(len(haystack) - len(run) + 1):
        if start not in used and list(haystack[start : start + len(run)]) == list(run):
            used.add(start)
            return start
    raise AssertionError(f"not in the PDF as one row: {run}")


def expected_rows(statement: Statement, oracle: Oracle) -> Iterator[list[str]]:
    """Each line as the PDF must show it: label, 行次 (if the form has one), the figures that
    bean-query gives, formatted by the test's own helper."""
    period = statement.period
    expected = oracle.statement(statement.kind, period.start, period.end)
    for line in statement.lines:
        if line.kind == "section":
            yield [line.label]
            continue
        row = ROWS[statement.kind].get(line.key)
        assert line.row == row
        cells = [line.label, *([str(row)] if row is not None else [])]
        figures = expected[line.key]
        assert len(figures) == len(statement.columns)
        yield cells + [format_amount(v) for v in figures]


# -- every line, every figure -------------------------------------------------------------------


@pytest.mark.parametrize("name", PERIODS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_label_and_figure_of_the_pdf_equals_bean_query(
    kind: str,
    name: str,
    built: dict[tuple[str, str], tuple[Statement, bytes]],
    oracle: Oracle,
) -> None:
    statement, pdf = built[(kind, name)]
    text = tokens(pdf)
    used: set[int] = set()
    for run in expected_rows(statement, oracle):
        find_run(text, run, used)
    # The figures in the PDF are the Statement's too (the oracle agreed with it above).
    for line in statement.lines:
        for value in line.values:
            assert format_amount(value) in text


@pytest.mark.parametrize("name", PERIODS)
@pytest.mark.parametrize("kind", KINDS)
def test_the_csv_read_back_equals_the_statement_and_bean_query(
    kind: str,
    name: str,
    built: dict[tuple[str, str], tuple[Statement, bytes]],
    oracle: Oracle,
) -> None:
    statement, _pdf = built[(kind, name)]
    data = statement_csv(statement)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["行次", "项目", *statement.columns]
    assert len(rows) == len(statement.lines) + 1
    expected = oracle.statement(kind, statement.period.start, statement.period.end)
    for line, row in zip(statement.lines, rows[1:], strict=True):
        assert row[0] == ("" if line.row is None else str(line.row))
        assert row[1] == line.label
        if line.kind == "section":
            assert row[2:] == [""] * len(statement.columns)
            continue
        figures = tuple(Decimal(cell) for cell in row[2:])
        assert figures == line.values == expected[line.key]
        assert all(cell == format(v, "f") for cell, v in zip(row[2:], figures, strict=True))


# -- what every page and every statement carries ------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_title_form_period_head_hash_and_signatures_are_printed(
    kind: str, built: dict[tuple[str, str], tuple[Statement, bytes]]
) -> None:
    statement, pdf = built[(kind, "year")]
    text = flat(pdf)
    title, form = FORMS[kind]
    assert title in text
    assert form in text
    assert f"编制单位：{ORG}" in text
    assert "单位：元" in text
    period = statement.period
    if kind == "balance_sheet":
        assert f"期初 {period.start.isoformat()} / 期末 {period.end.isoformat()}" in text
    else:
        assert f"{period.start.isoformat()} 至 {period.end.isoformat()}" in text
    assert statement.head_hash in text
    assert f"seq {statement.head_seq}" in text
    assert format_timestamp(statement.generated_at) in text
    for note in statement.notes:
        assert note.replace(" ", "") in text.replace(" ", "")
    assert "注：" in text
    for signature in ("单位负责人：", "会计机构负责人：", "制表人："):
        assert signature in text
    assert "¥" not in text  # 单位：元 says it once; figures carry no sign


@pytest.mark.parametrize("kind", KINDS)
def test_fonts_embedded_a4_and_pages_numbered_of_the_total(
    kind: str, built: dict[tuple[str, str], tuple[Statement, bytes]]
) -> None:
    _statement, pdf = built[(kind, "year")]
    assert_fonts_embedded(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    total = len(reader.pages)
    for number, (page, text) in enumerate(zip(reader.pages, page_texts(pdf), strict=True), 1):
        assert f"第 {number} 页 / 共 {total} 页" in text
        assert ORG in text  # the header of every page
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (round(A4[0]), round(A4[1]))


def test_the_balance_sheet_activities_and_cash_flow_fit_one_page(
    built: dict[tuple[str, str], tuple[Statement, bytes]],
) -> None:
    for kind in ("balance_sheet", "activities", "cash_flow"):
        _statement, pdf = built[(kind, "year")]
        assert len(PdfReader(io.BytesIO(pdf)).pages) == 1, kind


@pytest.mark.parametrize("kind", KINDS)
def test_a_period_without_entries_prints_zeros(kind: str, demo_book: Book, oracle: Oracle) -> None:
    statement = build_statement(demo_book, kind, parse_period(str(oracle.first.year - 3)))
    text = tokens(build_statement_pdf(statement, org_name=ORG))
    used: set[int] = set()
    for run in expected_rows(statement, oracle):
        find_run(text, run, used)
    assert "0.00" in text


def test_user_text_in_the_org_name_is_shown_literally(
    built: dict[tuple[str, str], tuple[Statement, bytes]],
) -> None:
    statement, _pdf = built[("activities", "month")]
    hostile = '清河<b>社区</b>&"基金'
    pdf = build_statement_pdf(statement, org_name=hostile)
    text = flat(pdf)
    assert f"编制单位：{hostile}" in text
    assert text.count(hostile) >= 2  # the page header too


@pytest.mark.parametrize("kind", KINDS)
def test_first_page_renders_to_png(
    kind: str, built: dict[tuple[str, str], tuple[Statement, bytes]]
) -> None:
    _statement, pdf = built[(kind, "year")]
    png = render_png(pdf, f"statement-{kind}")
    assert png.stat().st_size > 10_000
    assert png.read_bytes().startswith(b"\x89PNG")


def test_a_statement_that_runs_over_pages_repeats_its_heading(
    built: dict[tuple[str, str], tuple[Statement, bytes]],
) -> None:
    """A trial balance with many accounts continues overleaf with its column headings."""
    statement, _pdf = built[("trial_balance", "year")]
    many = statement.lines[:-1] * 4 + statement.lines[-1:]
    long = dataclasses.replace(statement, lines=tuple(many))
    pdf = build_statement_pdf(long, org_name=ORG)
    pages = page_texts(pdf)
    assert len(pages) > 1
    for text in pages[: len(pages) - 1]:
        for heading in ("期初余额", "本期发生额", "期末余额"):
            assert heading in text
    assert f"第 {len(pages)} 页 / 共 {len(pages)} 页" in pages[-1]


# -- the amount helper ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("0"), "0.00"),
        (Decimal("1234.5"), "1,234.50"),
        (Decimal("-1234567.89"), "-1,234,567.89"),
        (Decimal("-0.001"), "0.00"),
        (Decimal("999.995"), "1,000.00"),
    ],
)
def test_amounts_are_printed_with_separators_two_decimals_and_a_plain_minus(
    amount: Decimal, text: str
) -> None:
    assert statements_module.format_amount(amount) == text


def test_a_float_amount_is_refused() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        statements_module.format_amount(1.5)  # type: ignore[arg-type]


# -- the fund statement as CSV -------------------------------------------------------------------


def test_fund_statement_csv_has_every_fund_and_the_total_equal_to_bean_query(
    demo_book: Book, oracle: Oracle
) -> None:
    period = parse_period(oracle.demo_periods()["year"])
    view = fund_statement(demo_book, period.start, period.end)
    rows = list(csv.reader(io.StringIO(fund_statement_csv(view).decode("utf-8-sig"))))
    assert rows[0] == list(FUND_CSV_HEADER)
    assert len(rows) == len(view.rows) + 2
    start, end = period.start.isoformat(), period.end.isoformat()
    for fund, row in zip(view.rows, rows[1:-1], strict=True):
        assert row[:3] == [fund.slug, fund.name, "限定性" if fund.restricted else "非限定性"]
        opening, income, spent, transfers, closing = (Decimal(c) for c in row[3:])
        assert (opening, income, spent, transfers, closing) == (
            fund.opening,
            fund.income,
            fund.spent,
            fund.transfers,
            fund.closing,
        )
        # The fund's postings as bean-query returned them, summed here (one query per figure
        # would take seconds); the totals below are asked of bean-query directly.
        mine = [r for r in oracle.rows if r.fund == fund.slug and r.root in FLOW_ROOTS]
        inside = [r for r in mine if period.start <= r.date <= period.end]
        assert income == -sum((r.number for r in inside if r.root == "Income"), ZERO)
        assert spent == sum((r.number for r in inside if r.root == "Expenses"), ZERO)
        assert transfers == -sum((r.number for r in inside if r.root == "Equity"), ZERO)
        assert closing == -sum((r.number for r in mine if r.date <= period.end), ZERO)
        assert opening + income - spent + transfers == closing
    total = rows[-1]
    assert total[:3] == ["", "合计", ""]
    funds = " OR ".join(fund_where(slug) for slug in oracle.restricted)
    within = f"date >= {start} AND date <= {end} AND ({funds})"
    assert Decimal(total[4]) == -bean_query_sum(oracle.conn, f"account ~ '^Income:' AND {within}")
    assert Decimal(total[7]) == -bean_query_sum(
        oracle.conn, f"{FUND_ROOTS} AND date <= {end} AND ({funds})"
    )
    assert tuple(Decimal(c) for c in total[3:]) == (
        view.total.opening,
        view.total.income,
        view.total.spent,
        view.total.transfers,
        view.total.closing,
    )


def test_fund_statement_csv_defuses_formulas_in_fund_names() -> None:
    zero = Decimal("0.00")
    row = StatementRow("x", '=HYPERLINK("http://evil")', True, zero, zero, zero, zero, zero)
    view = FundStatement(
        title="t",
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 1, 31),
        rows=(row,),
        total=StatementRow("", "合计", False, zero, zero, zero, zero, Decimal("-5.00")),
        entries=(),
        head_hash="0" * 64,
        head_seq=0,
        generated_at=dt.datetime(2026, 2, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    )
    rows = list(csv.reader(io.StringIO(fund_statement_csv(view).decode("utf-8-sig"))))
    assert rows[1][1] == '\'=HYPERLINK("http://evil")'
    assert rows[2][-1] == "-5.00"  # an amount keeps its minus sign
