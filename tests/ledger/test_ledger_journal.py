"""The journal and the general ledger of ledger/journal.py, against bean-query and the trial
balance on the demo year.

Periods are taken from the demo's span (it ends yesterday): its last calendar year, that year's
first quarter, a month in the middle, a range across the year change and the whole span.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import beanquery
import pytest
from beanquery_helpers import bean_query, bean_query_sum, connect

from ledger import services
from ledger.book import Book
from ledger.errors import RuleError
from ledger.financials import Period, parse_period, trial_balance
from ledger.journal import (
    META_FIRST,
    general_ledger,
    journal_count,
    journal_entries,
    journal_view,
)
from ledger.store import LedgerStore

ZERO = Decimal("0.00")
PERIODS = ("year", "quarter", "month", "year-change", "whole")


@pytest.fixture(scope="module")
def conn(demo_ledger: Path) -> beanquery.Connection:
    """bean-query on the demo ledger (loaded once for the module)."""
    return connect(demo_ledger / "main.beancount")


@pytest.fixture(scope="module")
def demo_book(demo_ledger: Path) -> Book:
    """The application's Book on the demo ledger."""
    return Book(LedgerStore(demo_ledger)).open()


@pytest.fixture(scope="module")
def periods(conn: beanquery.Connection) -> dict[str, Period]:
    """The test periods, from the span of the demo's entries as bean-query sees it."""
    days = sorted({row[0] for row in bean_query(conn, "SELECT date")})
    first, last = days[0], days[-1]
    middle = first + (last - first) / 2
    year = last.year
    texts = {
        "year": f"{year}",
        "quarter": f"{year}-Q1",
        "month": f"{middle.year}-{middle.month:02d}",
        "year-change": f"{year - 1}-12-15..{year}-01-31",
        "whole": f"{first.isoformat()}..{last.isoformat()}",
    }
    return {name: parse_period(text) for name, text in texts.items()}


def where(period: Period) -> str:
    return f"date >= {period.start.isoformat()} AND date <= {period.end.isoformat()}"


# -- journal ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PERIODS)
def test_the_journal_holds_every_posting_bean_query_finds_in_the_period(
    name: str, demo_book: Book, conn: beanquery.Connection, periods: dict[str, Period]
) -> None:
    period = periods[name]
    rows = bean_query(
        conn,
        f"SELECT entry_meta('id'), date, account, number WHERE {where(period)}",
    )
    expected = Counter((str(i), d, a, Decimal(n)) for i, d, a, n in rows)
    entries = list(journal_entries(demo_book, period))
    got = Counter(
        (e.id, e.date, p.account, p.debit - p.credit) for e in entries for p in e.postings
    )
    assert rows, name
    assert got == expected
    assert len(entries) == len({r[0] for r in rows}) == journal_count(demo_book, period)


@pytest.mark.parametrize("name", ["year", "year-change"])
def test_the_journal_is_in_date_and_seq_order_and_balances(
    name: str, demo_book: Book, periods: dict[str, Period]
) -> None:
    entries = list(journal_entries(demo_book, periods[name]))
    keys = [(e.date, e.seq or 0) for e in entries]
    assert keys == sorted(keys)
    assert len({e.id for e in entries}) == len(entries)
    for entry in entries:
        assert entry.debit == entry.credit, entry.id
        assert all(p.debit >= 0 and p.credit >= 0 for p in entry.postings)
        assert all(not (p.debit and p.credit) for p in entry.postings)


def test_an_entry_carries_its_metadata_its_account_names_and_where_it_is_written(
    demo_book: Book, demo_ledger: Path, periods: dict[str, Period]
) -> None:
    entries = list(journal_entries(demo_book, periods["whole"]))
    donation = next(e for e in entries if e.kind == "donation")
    keys = [k for k, _ in donation.meta]
    # META_FIRST first, in order; the chain hash last; never id, seq or Beancount's own keys.
    assert keys[-1] == "hash"
    assert donation.hash == str(demo_book.get(donation.id).meta["hash"])  # type: ignore[union-attr]
    first = [k for k in keys if k in META_FIRST]
    assert first == [k for k in META_FIRST if k in first]
    assert keys[: len(first)] == first
    assert not {"id", "seq", "filename", "lineno", "kind"} & set(keys)
    assert "donor" in keys
    assert "receipt" in keys
    assert donation.seq is not None
    assert donation.tags
    assert donation.links
    # Chinese account names from the accounts' open directives.
    for posting in donation.postings:
        assert posting.account_name == demo_book.accounts[posting.account].display
        assert posting.fund
    # The source points at the entry's first line in the ledger file.
    file, line = donation.source.rsplit(":", 1)
    text = (demo_ledger / file).read_text("utf-8").splitlines()[int(line) - 1]
    assert text.startswith(donation.date.isoformat())
    assert donation.narration in text
    # Posting metadata other than the fund is kept on the posting.
    canteen = next(e for e in entries if e.kind == "canteen-day")
    assert any(dict(p.meta).get("meal-class") for p in canteen.postings)
    assert not any("fund" in dict(p.meta) for p in canteen.postings)


def test_the_view_is_a_snapshot_that_later_writes_do_not_change(
    demo_ledger: Path, tmp_path: Path
) -> None:
    root = tmp_path / "ledger"
    shutil.copytree(demo_ledger, root)
    book = Book(LedgerStore(root)).open()
    day = book.clock().date()  # months before this one are closed in the demo
    period = Period(day - dt.timedelta(days=40), day)
    view = journal_view(book, period)
    before = [e.id for e in view]
    general = general_ledger(book, period)
    rows_before = [len(s.rows) for s in general]
    services.record_donation(
        book,
        services.DonationCommand(
            id="journal-snapshot-1",
            date=day,
            amount=Decimal("12.00"),
            fund="general",
            channel="cash",
            donor_ref="d-journal00001",
            donor_public="张*",
            entered_by="clerk",
            note="",
        ),
    )
    assert journal_count(book, period) == len(before) + 1
    assert [e.id for e in view] == before == [e.id for e in view]  # and it reads again the same
    assert len(view) == len(before)
    assert [len(s.rows) for s in general] == rows_before
    assert "journal-snapshot-1" in {e.id for e in journal_view(book, period)}


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("2026-13", "期间"),
        ("2026-02-30..2026-03-31", "不存在"),
        ("last year", "期间格式不正确"),
        (Period(dt.date(2026, 3, 31), dt.date(2026, 3, 1)), "截止日期早于起始日期"),
    ],
)
def test_a_bad_period_is_refused_naming_the_field(
    period: Period | str, message: str, demo_book: Book
) -> None:
    for call in (journal_entries, journal_count, journal_view, general_ledger):
        with pytest.raises(RuleError) as err:
            call(demo_book, period)  # type: ignore[operator]
        assert err.value.field == "period"
        assert message in err.value.message


# -- general ledger -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", PERIODS)
def test_the_general_ledger_equals_the_trial_balance(
    name: str, demo_book: Book, periods: dict[str, Period]
) -> None:
    period = periods[name]
    sections = {s.account: s for s in general_ledger(demo_book, period)}
    tb = trial_balance(demo_book, period)
    for line in tb.lines:
        if line.key == "合计":
            continue
        o_dr, o_cr, dr, cr, c_dr, c_cr = line.values
        section = sections.get(line.key)
        if section is None:  # an account with nothing in it: all zeros in the trial balance
            assert not any(line.values), line.key
            continue
        assert section.opening == o_dr - o_cr, line.key
        assert section.debit == dr, line.key
        assert section.credit == cr, line.key
        assert section.closing == c_dr - c_cr, line.key
    assert set(sections) <= {line.key for line in tb.lines}
    total = tb.line("合计").values
    assert sum((s.debit for s in sections.values()), ZERO) == total[2]
    assert sum((s.credit for s in sections.values()), ZERO) == total[3]


@pytest.mark.parametrize("name", PERIODS)
def test_each_account_runs_from_its_opening_to_its_closing_balance(
    name: str, demo_book: Book, periods: dict[str, Period]
) -> None:
    for section in general_ledger(demo_book, periods[name]):
        rows = list(section.rows)
        assert len(rows) == len(section.rows)
        assert list(section.rows) == rows  # re-iterable: a PDF reads it twice
        assert sum((r.debit for r in rows), ZERO) == section.debit
        assert sum((r.credit for r in rows), ZERO) == section.credit
        balance = section.opening
        for row in rows:
            balance += row.debit - row.credit
            assert row.balance == balance
        assert balance == section.closing == section.opening + section.debit - section.credit
        keys = [(r.date, r.seq or 0) for r in rows]
        assert keys == sorted(keys)


@pytest.mark.parametrize("name", PERIODS)
def test_balance_sheet_accounts_close_at_the_balance_bean_query_gives(
    name: str, demo_book: Book, conn: beanquery.Connection, periods: dict[str, Period]
) -> None:
    period = periods[name]
    sections = general_ledger(demo_book, period)
    checked = 0
    for section in sections:
        if not section.account.startswith(("Assets:", "Liabilities:")):
            continue
        account = f"account = '{section.account}'"
        closing = bean_query_sum(conn, f"{account} AND date <= {period.end.isoformat()}")
        opening = bean_query_sum(conn, f"{account} AND date < {period.start.isoformat()}")
        assert section.closing == closing, section.account
        assert section.opening == opening, section.account
        checked += 1
    assert checked >= 3


def test_income_and_expenses_of_the_period_equal_bean_query(
    demo_book: Book, conn: beanquery.Connection, periods: dict[str, Period]
) -> None:
    period = periods["quarter"]
    for section in general_ledger(demo_book, period):
        if not section.account.startswith(("Income:", "Expenses:")):
            continue
        account = f"account = '{section.account}' AND {where(period)}"
        assert section.debit == bean_query_sum(conn, f"{account} AND number > 0")
        assert section.credit == -bean_query_sum(conn, f"{account} AND number < 0")


def test_earlier_years_income_and_expenses_open_in_net_assets(
    demo_book: Book, periods: dict[str, Period]
) -> None:
    period = periods["year"]
    sections = {s.account: s for s in general_ledger(demo_book, period)}
    for account, section in sections.items():
        if account.startswith(("Income:", "Expenses:")):
            assert section.opening == 0, account  # a new year starts them at zero
    # The year before had income, so net assets open with it.
    previous = Period(dt.date(period.start.year - 1, 1, 1), dt.date(period.start.year - 1, 12, 31))
    earlier = sum(
        (s.debit - s.credit for s in general_ledger(demo_book, previous) if "Income:" in s.account),
        ZERO,
    )
    assert earlier < 0
    assert any(a.startswith("Equity:31") and s.opening for a, s in sections.items())
