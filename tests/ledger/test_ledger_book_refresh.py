"""Books in several workers stay current: appends read incrementally, hand edits reload (§2, §3)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from ledger_testkit import (
    append_text,
    donation,
    expense,
    fixed_clock,
    load,
    snapshot,
    year_text,
)

import ledger.book
from ledger import chain, services
from ledger.book import Book
from ledger.errors import LedgerUnavailableError
from ledger.store import LedgerStore

HAND_WRITTEN = (
    '2026-03-06 * "居民" "现金捐赠（手工补记）" #fund-zhulaocan\n'
    '  entered-by: "会计手工"\n'
    "  Assets:1001-库存现金  30.00 CNY\n"
    "  Income:4101-捐赠收入:限定性  -30.00 CNY\n"
)
UNBALANCED = (
    '2026-03-07 * "居民" "记错了" #fund-general\n'
    "  Assets:1001-库存现金  30.00 CNY\n"
    "  Income:4101-捐赠收入:非限定性  -20.00 CNY\n"
)


class LoadCounter:
    """Wraps beancount's loader as the Book sees it: counts full loads, or forbids them."""

    def __init__(self, real: Callable[..., Any]) -> None:
        self.real = real
        self.calls = 0
        self.forbidden = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.forbidden:
            raise AssertionError("the Book did a full reload where reading the new bytes would do")
        self.calls += 1
        return self.real(*args, **kwargs)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> LoadCounter:
    """Count the Book's full loads (only the Book's: the tests' own loader calls go through)."""
    counter = LoadCounter(ledger.book.loader.load_file)
    monkeypatch.setattr(ledger.book, "loader", SimpleNamespace(load_file=counter))
    return counter


@pytest.fixture
def pair(store: LedgerStore, loads: LoadCounter) -> tuple[Book, Book]:
    """Two Books on one folder, as two web workers would hold them."""
    one = Book(store, clock=fixed_clock).open()
    two = Book(store, clock=fixed_clock).open()
    assert loads.calls == 2
    return one, two


def _same_view(a: Book, b: Book) -> None:
    assert (a.seq, a.head_hash) == (b.seq, b.head_hash)
    assert [t.meta.get("id") for t in a.ordered()] == [t.meta.get("id") for t in b.ordered()]
    for fund in a.funds:
        assert a.fund_totals(fund) == b.fund_totals(fund), fund
    for account in a.accounts:
        assert a.account_balance(account) == b.account_balance(account), account


def test_writes_through_one_book_are_seen_by_another_after_refresh_incrementally(
    pair: tuple[Book, Book], loads: LoadCounter
) -> None:
    one, two = pair
    loads.forbidden = True
    services.record_donation(one, donation("d-1", "100", fund="zhulaocan"))
    services.record_donation(one, donation("d-2", "250"))
    services.record_expense(one, expense("e-1", "40", fund="zhulaocan"))
    two.refresh()
    assert two.get("d-2") is not None
    assert two.fund_balance("zhulaocan") == Decimal("60.00")
    assert two.fund_balance("general") == Decimal("250.00")
    _same_view(one, two)

    # and back: the second Book writes after catching up under the lock, the first reads it
    result = services.record_donation(two, donation("d-3", "5", fund="meiyuanzi"))
    assert result.seq == 4
    one.refresh()
    _same_view(one, two)
    assert one.latest(1)[0].meta["id"] == "e-1"  # by date, then order of writing
    assert services.record_donation(one, donation("d-3", "5", fund="meiyuanzi")).created is False
    entries, errors = load(one.store)
    assert errors == []
    assert chain.verify(entries).head == one.head_hash == two.head_hash


def test_a_write_catches_up_before_it_checks_the_rules(
    pair: tuple[Book, Book], loads: LoadCounter
) -> None:
    one, two = pair
    loads.forbidden = True
    services.record_donation(one, donation("d-1", "100", fund="zhulaocan"))
    services.record_expense(two, expense("e-1", "100", fund="zhulaocan"))  # sees d-1's 100
    with pytest.raises(Exception, match="zhulaocan would be overdrawn"):
        services.record_expense(one, expense("e-2", "0.01", fund="zhulaocan"))


def test_a_new_year_file_written_by_another_book_is_read_incrementally(
    pair: tuple[Book, Book], loads: LoadCounter
) -> None:
    one, two = pair
    loads.forbidden = True
    services.record_donation(one, donation("d-2025", date=dt.date(2025, 12, 31)))
    assert one.store.year_file(2025).exists()
    two.refresh()
    assert two.get("d-2025") is not None
    _same_view(one, two)


def test_refresh_without_changes_reads_nothing(pair: tuple[Book, Book], loads: LoadCounter) -> None:
    one, two = pair
    services.record_donation(one, donation("d-1"))
    two.refresh()
    loads.forbidden = True
    for _ in range(3):
        one.refresh()
        two.refresh()


def test_a_hand_appended_transaction_causes_a_full_reload_and_is_counted(
    pair: tuple[Book, Book], loads: LoadCounter
) -> None:
    one, two = pair
    services.record_donation(one, donation("d-1", "100", fund="zhulaocan"))
    two.refresh()
    calls = loads.calls
    append_text(one.store, HAND_WRITTEN)

    two.refresh()
    assert loads.calls == calls + 1
    assert two.errors == []
    assert two.fund_balance("zhulaocan") == Decimal("130.00")
    assert two.account_balance("Assets:1001-库存现金") == Decimal("30.00")
    assert any(t.payee == "居民" for t in two.transactions())

    one.refresh()
    assert loads.calls == calls + 2
    _same_view(one, two)

    # after the reload, appends are read incrementally again
    loads.forbidden = True
    services.record_expense(one, expense("e-1", "130", fund="zhulaocan"))
    two.refresh()
    assert two.fund_balance("zhulaocan") == Decimal("0.00")


def test_a_hand_edit_inside_the_file_is_seen_even_after_another_book_wrote(
    pair: tuple[Book, Book], loads: LoadCounter
) -> None:
    one, two = pair
    services.record_donation(one, donation("d-1", "100"))
    two.refresh()
    path = one.store.year_file(2026)
    mtime = path.stat().st_mtime_ns
    # same length, so only the modification time tells; then the first Book appends on top
    path.write_text(year_text(one.store).replace("100.00 CNY", "900.00 CNY"), "utf-8")
    # a person edits seconds later, not within the file system's timestamp granularity
    os.utime(path, ns=(mtime + 2_000_000_000, mtime + 2_000_000_000))
    services.record_donation(one, donation("d-2", "1"))
    assert one.fund_balance("general") == Decimal("901.00")
    two.refresh()
    assert two.fund_balance("general") == Decimal("901.00")
    _same_view(one, two)


def test_a_hand_edit_that_breaks_the_files_stops_every_write(
    pair: tuple[Book, Book], loads: LoadCounter
) -> None:
    one, two = pair
    services.record_donation(one, donation("d-1"))
    append_text(one.store, UNBALANCED)

    two.refresh()
    assert two.errors
    assert any("balance" in e for e in two.errors)
    before = snapshot(two.path)
    for book in (two, one):
        with pytest.raises(LedgerUnavailableError) as info:
            services.record_donation(book, donation("d-2"))
        assert info.value.problems == book.errors
        with pytest.raises(LedgerUnavailableError):
            services.check_expense_request(book, expense("e-1", "1"))
    assert snapshot(two.path) == before

    # a person fixes the file: writes resume
    text = year_text(one.store)
    one.store.year_file(2026).write_text(text.replace(UNBALANCED, ""), "utf-8")
    two.refresh()
    assert two.errors == []
    assert services.record_donation(two, donation("d-2")).seq == 2
    one.refresh()
    assert one.errors == []
    _same_view(one, two)


def test_a_syntax_error_by_hand_is_reported_not_raised(store: LedgerStore) -> None:
    book = Book(store, clock=fixed_clock).open()
    append_text(store, '2026-03-07 * "x" "y\n  this is not beancount\n')
    book.refresh()
    assert book.errors
    before = snapshot(store.root)
    with pytest.raises(LedgerUnavailableError):
        services.record_donation(book, donation("d-1"))
    assert snapshot(store.root) == before


def test_a_book_opened_on_broken_files_refuses_writes(store: LedgerStore) -> None:
    append_text(store, UNBALANCED)
    book = Book(store, clock=fixed_clock).open()
    assert book.errors
    before = snapshot(store.root)
    with pytest.raises(LedgerUnavailableError):
        services.record_donation(book, donation("d-1"))
    assert snapshot(store.root) == before
