"""Every figure the app shows equals what bean-query computes from the files alone (§6.3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import beanquery
import pytest
from beanquery_helpers import FUND_ROOTS, bean_query, bean_query_sum, connect, fund_where
from ledger_testkit import append_text, donation, expense, fixed_clock, load, reversal

from ledger import chain, queries, services
from ledger.book import Book
from ledger.model import NewEntry, Posting

START, END = dt.date(2026, 3, 1), dt.date(2026, 3, 31)
HAND_WRITTEN = (
    '2026-03-06 * "居民" "现金捐赠（手工补记）" #fund-general\n'
    "  Assets:1001-库存现金  30.00 CNY\n"
    "  Income:4101-捐赠收入:非限定性  -30.00 CNY\n"
)


@pytest.fixture
def busy(book: Book) -> Book:
    """A year and a bit of activity: every kind of entry, two year files, one hand-written entry."""
    w = services
    w.record_donation(book, donation("d-2025", "2000", fund="general", date=dt.date(2025, 11, 3)))
    w.record_expense(book, expense("e-2025", "150", fund="general", date=dt.date(2025, 12, 1)))
    w.record_donation(
        book, donation("d-feb-1", "1000", fund="zhulaocan", date=dt.date(2026, 2, 10))
    )
    w.record_donation(
        book, donation("d-feb-2", "500.50", fund="general", date=dt.date(2026, 2, 11))
    )
    w.record_expense(book, expense("e-feb", "200", fund="zhulaocan", date=dt.date(2026, 2, 20)))
    w.record_donation(book, donation("d-mar-1", "800", fund="meiyuanzi", channel="alipay"))
    w.record_donation(book, donation("d-mar-2", "66.60", fund="general", channel="cash"))
    w.record_expense(book, expense("e-mar-1", "300", fund="zhulaocan", date=dt.date(2026, 3, 4)))
    w.record_expense(
        book, expense("e-mar-2", "120", fund="general", line="admin", date=dt.date(2026, 3, 5))
    )
    w.record_reversal(book, reversal("r-mar-2", "e-mar-2", date=dt.date(2026, 3, 6)))
    w.record_reversal(book, reversal("r-mar-1", "d-mar-2", reason="捐赠人要求退款"))
    w.record_expense(book, expense("e-canteen", "50", fund="canteen", date=dt.date(2026, 3, 7)))
    # a release of restriction: 100 of 助老餐's money moves to the general fund
    book.write(
        NewEntry(
            id="t-mar",
            date=dt.date(2026, 3, 8),
            payee="议事会",
            narration="限定性净资产转为非限定性",
            postings=(
                Posting("Equity:3102-限定性净资产", Decimal("100.00"), (("fund", "zhulaocan"),)),
                Posting("Equity:3101-非限定性净资产", Decimal("-100.00"), (("fund", "general"),)),
            ),
            tags=frozenset({"transfer"}),
            meta=(("kind", "transfer"), ("entered-by", "clerk")),
        )
    )
    w.record_donation(book, donation("d-apr", "9", fund="general", date=dt.date(2026, 3, 15)))
    append_text(book.store, HAND_WRITTEN)
    book.refresh()
    assert book.errors == []
    return book


@pytest.fixture
def bq(busy: Book) -> beanquery.Connection:
    return connect(busy.store.main)


def _flows(bq: beanquery.Connection, slug: str, when: str = "TRUE") -> dict[str, Decimal]:
    """A fund's income, spending, transfers and balance as bean-query sees them (one query)."""
    rows = bean_query(
        bq,
        f"SELECT root(account, 1) AS root, sum(number) AS total "
        f"WHERE {FUND_ROOTS} AND {fund_where(slug)} AND {when} GROUP BY root",
    )
    by_root = {root: Decimal(total) for root, total in rows}
    zero = Decimal("0.00")
    income = -by_root.get("Income", zero)
    spent = by_root.get("Expenses", zero)
    transfers = -by_root.get("Equity", zero)
    return {
        "income": income,
        "spent": spent,
        "transfers": transfers,
        "balance": income - spent + transfers,
    }


def _balance(bq: beanquery.Connection, slug: str, when: str = "TRUE") -> Decimal:
    return -bean_query_sum(bq, f"{FUND_ROOTS} AND {fund_where(slug)} AND {when}")


def test_fund_rows_equal_bean_query_over_all_time(busy: Book, bq: beanquery.Connection) -> None:
    rows = queries.fund_rows(busy)
    assert {r.slug for r in rows} == {"general", "canteen", "zhulaocan", "meiyuanzi"}
    for row in rows:
        flows = _flows(bq, row.slug)
        assert (row.income, row.spent, row.transfers) == (
            flows["income"],
            flows["spent"],
            flows["transfers"],
        ), row.slug
        assert row.balance == flows["balance"], row.slug
    by_slug = {r.slug: r for r in rows}
    # spot checks, so that a bug shared by the app and the helper cannot hide
    assert by_slug["zhulaocan"].balance == Decimal("400.00")  # 1000 - 200 - 300 - 100
    assert by_slug["general"].balance == Decimal("2489.50")  # 2000-150+500.5+30+100+9
    assert by_slug["canteen"].balance == Decimal("-50.00")
    assert by_slug["meiyuanzi"].balance == Decimal("800.00")


def test_fund_rows_of_one_year_equal_bean_query(busy: Book, bq: beanquery.Connection) -> None:
    in_2026 = "date >= 2026-01-01 AND date < 2027-01-01"
    for row in queries.fund_rows(busy, year=2026):
        flows = _flows(bq, row.slug, in_2026)
        assert (row.income, row.spent, row.transfers) == (
            flows["income"],
            flows["spent"],
            flows["transfers"],
        ), row.slug
        assert row.balance == _balance(bq, row.slug)  # the balance is always the current one
    general_2025 = next(r for r in queries.fund_rows(busy, year=2025) if r.slug == "general")
    assert (general_2025.income, general_2025.spent) == (Decimal("2000.00"), Decimal("150.00"))


def test_the_fund_statement_equals_bean_query(busy: Book, bq: beanquery.Connection) -> None:
    statement = queries.fund_statement(busy, START, END)
    before, within = f"date < {START}", f"date >= {START} AND date <= {END}"
    for row in statement.rows:
        flows = _flows(bq, row.slug, within)
        assert row.opening == _flows(bq, row.slug, before)["balance"], row.slug
        assert (row.income, row.spent, row.transfers) == (
            flows["income"],
            flows["spent"],
            flows["transfers"],
        ), row.slug
        assert row.closing == row.opening + flows["balance"], row.slug
        assert row.closing == row.opening + row.income - row.spent + row.transfers
    total = statement.total
    assert total.opening == -bean_query_sum(bq, f"{FUND_ROOTS} AND {before}")
    assert total.closing == -bean_query_sum(bq, f"{FUND_ROOTS} AND date <= {END}")
    assert total.income == -bean_query_sum(bq, f"account ~ '^Income:' AND {within}")
    assert total.spent == bean_query_sum(bq, f"account ~ '^Expenses:' AND {within}")


def test_the_fund_statement_lists_the_entries_bean_query_finds(
    busy: Book, bq: beanquery.Connection
) -> None:
    statement = queries.fund_statement(busy, START, END)
    rows = bean_query(
        bq,
        f"SELECT DISTINCT entry_meta('id') AS id, date, payee, narration "
        f"WHERE date >= {START} AND date <= {END}",
    )
    assert sorted((r.id, r.date, r.payee) for r in statement.entries) == sorted(
        (i or "", d, p) for i, d, p, _n in rows
    )
    # every app-written entry puts the fund on each income, expense and net-asset posting
    deltas = bean_query(
        bq,
        f"SELECT entry_meta('id') AS id, meta('fund') AS fund, sum(number) AS total "
        f"WHERE {FUND_ROOTS} AND date >= {START} AND date <= {END} "
        f"AND entry_meta('id') IS NOT NULL GROUP BY id, fund",
    )
    assert {
        (e.id, slug, delta) for e in statement.entries if e.id for slug, _n, delta in e.funds
    } == {(entry_id, fund, -total) for entry_id, fund, total in deltas}
    reversed_rows = {e.id: e.reversed_by for e in statement.entries if e.reversed_by}
    assert reversed_rows == {"e-mar-2": "r-mar-2", "d-mar-2": "r-mar-1"}


def test_the_statement_head_hash_is_the_verified_chain_head(busy: Book) -> None:
    statement = queries.fund_statement(busy, START, END, now=fixed_clock())
    entries, _ = load(busy.store)
    report = chain.verify(entries)
    assert report.ok
    assert (statement.head_hash, statement.head_seq) == (report.head, report.entries)
    assert statement.generated_at == fixed_clock()


def test_account_balances_equal_bean_query(busy: Book, bq: beanquery.Connection) -> None:
    by_account = dict(bean_query(bq, "SELECT account, sum(number) GROUP BY account"))
    for account in busy.accounts:
        assert busy.account_balance(account) == by_account.get(account, Decimal("0.00")), account
    for root in ("Assets", "Liabilities", "Equity", "Income", "Expenses"):
        assert busy.account_balance(root) == bean_query_sum(bq, f"account ~ '^{root}:'"), root
    assert busy.account_balance("Assets:1002-银行存款", until="2026-02") == bean_query_sum(
        bq, "account = 'Assets:1002-银行存款' AND date < 2026-03-01"
    )


def test_figures_follow_writes_made_after_the_first_query(busy: Book) -> None:
    queries.fund_rows(busy)
    services.record_donation(busy, donation("d-late", "12.34", fund="meiyuanzi"))
    row = next(r for r in queries.fund_rows(busy) if r.slug == "meiyuanzi")
    assert row.balance == _balance(connect(busy.store.main), "meiyuanzi") == Decimal("812.34")


def test_the_latest_entries_show_no_donor_id_or_staff_name(busy: Book) -> None:
    rows = queries.latest_entries(busy, 5)
    assert len(rows) == 5
    assert [r.date for r in rows] == sorted((r.date for r in rows), reverse=True)
    for row in rows:
        text = repr(row)
        for private in ("D0001", "clerk", "chair"):
            assert private not in text
