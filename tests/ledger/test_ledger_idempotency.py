"""The id is the idempotency key: the same request twice is one entry (§3, §6.2)."""

from __future__ import annotations

import dataclasses

from ledger_testkit import (
    assert_bean_check_passes,
    donation,
    expense,
    fixed_clock,
    ids_in_files,
    load,
    reversal,
    snapshot,
)

from ledger import chain, services
from ledger.book import Book
from ledger.store import LedgerStore


def test_a_repeated_id_writes_one_entry(book: Book) -> None:
    first = services.record_donation(book, donation("d-1", "88.80", note="春节"))
    after_first = snapshot(book.path)
    second = services.record_donation(book, donation("d-1", "88.80", note="春节"))
    assert first.created is True
    assert second.created is False
    assert (second.id, second.seq, second.head_hash) == ("d-1", first.seq, first.head_hash)
    assert snapshot(book.path) == after_first
    assert ids_in_files(book.store) == ["d-1"]
    assert len(book.transactions()) == 1


def test_a_repeat_reports_the_seq_of_the_original_entry(book: Book) -> None:
    services.record_donation(book, donation("d-1"))
    services.record_donation(book, donation("d-2"))
    again = services.record_donation(book, donation("d-1"))
    assert (again.created, again.seq) == (False, 1)
    assert again.head_hash == book.head_hash


def test_a_retry_by_another_clerk_is_still_the_same_request(book: Book) -> None:
    services.record_donation(book, donation("d-1", entered_by="wang"))
    again = services.record_donation(book, donation("d-1", entered_by="zhao"))
    assert again.created is False
    assert ids_in_files(book.store) == ["d-1"]


def test_a_repeated_id_through_another_book_writes_one_entry(store: LedgerStore) -> None:
    one = Book(store, clock=fixed_clock).open()
    two = Book(store, clock=fixed_clock).open()
    assert services.record_donation(one, donation("d-1")).created
    assert not services.record_donation(two, donation("d-1")).created
    assert ids_in_files(store) == ["d-1"]


def test_a_repeated_id_after_a_restart_writes_one_entry(store: LedgerStore) -> None:
    services.record_donation(Book(store, clock=fixed_clock).open(), donation("d-1"))
    again = services.record_donation(Book(store, clock=fixed_clock).open(), donation("d-1"))
    assert again.created is False
    assert ids_in_files(store) == ["d-1"]


def test_repeated_expenses_and_reversals_write_one_entry_each(book: Book) -> None:
    services.record_donation(book, donation("d-1", "300"))
    for _ in range(3):
        services.record_expense(book, expense("e-1", "120"))
        services.record_reversal(book, reversal("r-1", "e-1"))
    assert ids_in_files(book.store) == ["d-1", "e-1", "r-1"]
    assert book.seq == 3
    entries, errors = load(book.store)
    assert errors == []
    assert chain.verify(entries).entries == 3


def test_a_repeated_reversal_is_not_refused_as_already_reversed(book: Book) -> None:
    services.record_donation(book, donation("d-1", "300"))
    services.record_reversal(book, reversal("r-1", "d-1"))
    again = services.record_reversal(book, reversal("r-1", "d-1"))
    assert again.created is False


def test_a_repeat_is_recognised_even_once_its_month_is_closed(book: Book) -> None:
    # A retry that arrives after the close must not be mistaken for a new entry in a closed month.
    services.record_donation(book, donation("d-1"))
    book.closed_months.add("2026-03")
    assert services.record_donation(book, donation("d-1")).created is False


def test_many_repeats_leave_a_ledger_that_passes_bean_check(book: Book) -> None:
    cmds = [donation(f"d-{i}", f"{i}.50") for i in range(1, 6)]
    for cmd in cmds + cmds + [dataclasses.replace(c, entered_by="other") for c in cmds]:
        services.record_donation(book, cmd)
    assert ids_in_files(book.store) == [f"d-{i}" for i in range(1, 6)]
    assert_bean_check_passes(book.store)
