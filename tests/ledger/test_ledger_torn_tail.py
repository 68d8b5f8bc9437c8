"""A crash can leave half an entry at the end of a file; start-up finds it by the framing (§3)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from ledger_testkit import (
    append_text,
    assert_bean_check_passes,
    bean_check,
    donation,
    fixed_clock,
    ids_in_files,
    load,
    year_text,
)

from ledger import chain, services
from ledger.book import Book
from ledger.store import LedgerStore, Repair

HALF = (
    "; >>> entry 4\n"
    '2026-03-09 * "半截" "捐赠：社区微基金（非限定）" #donation #fund-general ^torn\n'
    '  id: "torn"\n'
    "  seq: 4\n"
    "  Assets:1009-其他货币资金:微信支付  10.00 CNY\n"
    "  Income:4101-捐赠收入:非"
)
#: A torn write that happens to stop at a line end: Beancount reads it as a fine transaction.
WHOLE_BUT_UNTERMINATED = (
    "; >>> entry 4\n"
    '2026-03-09 * "半截" "捐赠" #donation #fund-general ^torn\n'
    '  id: "torn"\n'
    "  seq: 4\n"
    "  Assets:1009-其他货币资金:微信支付  10.00 CNY\n"
    "  Income:4101-捐赠收入:非限定性  -10.00 CNY\n"
    '    fund: "general"\n'
)
HAND_WRITTEN = (
    '2026-03-06 * "居民" "现金捐赠（手工补记）" #fund-general\n'
    "  Assets:1001-库存现金  30.00 CNY\n"
    "  Income:4101-捐赠收入:非限定性  -30.00 CNY\n"
)


@pytest.fixture
def three(book: Book) -> Book:
    for i in (1, 2, 3):
        services.record_donation(book, donation(f"d-{i}", f"{i}00"))
    return book


def test_a_half_written_entry_is_cut_off_when_the_book_opens(
    three: Book, caplog: pytest.LogCaptureFixture
) -> None:
    store = three.store
    intact = store.year_file(2026).read_bytes()
    append_text(store, HALF)
    with caplog.at_level(logging.WARNING, logger="ledger.store"):
        reopened = Book(store, clock=fixed_clock).open()

    assert reopened.repairs == [Repair("txns/2026.beancount", len(HALF.encode()), HALF)]
    assert store.year_file(2026).read_bytes() == intact
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "txns/2026.beancount" in warnings[0].getMessage()
    assert "half-written" in warnings[0].getMessage()

    assert_bean_check_passes(store)
    assert ids_in_files(store) == ["d-1", "d-2", "d-3"]
    assert reopened.errors == []
    assert reopened.get("torn") is None
    entries, _ = load(store)
    assert chain.verify(entries).ok
    assert services.record_donation(reopened, donation("d-4")).seq == 4
    assert chain.verify(load(store)[0]).entries == 4


def test_a_torn_entry_that_beancount_would_accept_is_removed_too(three: Book) -> None:
    store = three.store
    intact = store.year_file(2026).read_bytes()
    append_text(store, WHOLE_BUT_UNTERMINATED)
    assert bean_check(store.main).returncode == 0  # Beancount sees nothing wrong
    reopened = Book(store, clock=fixed_clock).open()
    assert len(reopened.repairs) == 1
    assert store.year_file(2026).read_bytes() == intact
    assert reopened.seq == 3


def test_repair_torn_tails_returns_what_it_removed(three: Book) -> None:
    store = three.store
    append_text(store, HALF)
    with store.locked():
        repairs = store.repair_torn_tails()
        again = store.repair_torn_tails()
    assert [r.path for r in repairs] == ["txns/2026.beancount"]
    assert repairs[0].removed_text.startswith("; >>> entry 4\n")
    assert repairs[0].removed_bytes == len(HALF.encode("utf-8"))
    assert again == []


def test_text_appended_by_hand_without_a_begin_line_is_kept(three: Book) -> None:
    store = three.store
    append_text(store, HAND_WRITTEN)
    before = store.year_file(2026).read_bytes()
    reopened = Book(store, clock=fixed_clock).open()
    assert reopened.repairs == []
    assert store.year_file(2026).read_bytes() == before
    assert reopened.fund_balance("general") == 630
    assert_bean_check_passes(store)


def test_a_half_entry_after_hand_written_text_is_removed_and_the_text_kept(three: Book) -> None:
    store = three.store
    append_text(store, HAND_WRITTEN)
    kept = store.year_file(2026).read_bytes()
    append_text(store, HALF)
    reopened = Book(store, clock=fixed_clock).open()
    assert len(reopened.repairs) == 1
    assert store.year_file(2026).read_bytes() == kept


def test_a_torn_tail_in_an_earlier_year_file_is_repaired(book: Book) -> None:
    services.record_donation(book, donation("d-2025", date=dt.date(2025, 12, 30)))
    services.record_donation(book, donation("d-2026"))
    store = book.store
    intact = store.year_file(2025).read_bytes()
    append_text(store, HALF.replace("2026-03-09", "2025-12-31"), year=2025)
    reopened = Book(store, clock=fixed_clock).open()
    assert [r.path for r in reopened.repairs] == ["txns/2025.beancount"]
    assert store.year_file(2025).read_bytes() == intact
    assert_bean_check_passes(store)


def test_a_file_holding_only_a_torn_entry_is_emptied(store: LedgerStore) -> None:
    path = store.year_file(2024)
    path.write_text(HALF, "utf-8")
    book = Book(store, clock=fixed_clock).open()
    assert len(book.repairs) == 1
    assert path.read_bytes() == b""
    assert_bean_check_passes(store)


def test_a_torn_begin_line_is_harmless_and_the_next_entry_is_framed(three: Book) -> None:
    store = three.store
    append_text(store, "; >>> ent")
    reopened = Book(store, clock=fixed_clock).open()
    assert reopened.repairs == []  # only a comment was left
    services.record_donation(reopened, donation("d-4"))
    assert "\n; >>> entry 4\n" in year_text(store)
    assert_bean_check_passes(store)
    append_text(store, HALF.replace("entry 4", "entry 5").replace("seq: 4", "seq: 5"))
    again = Book(store, clock=fixed_clock).open()
    assert len(again.repairs) == 1
    assert ids_in_files(store) == ["d-1", "d-2", "d-3", "d-4"]


def test_an_entry_after_hand_text_without_a_final_newline_starts_on_its_own_line(
    three: Book,
) -> None:
    store = three.store
    append_text(store, HAND_WRITTEN.rstrip("\n"))
    reopened = Book(store, clock=fixed_clock).open()
    services.record_donation(reopened, donation("d-4"))
    assert "-30.00 CNY\n; >>> entry 4\n" in year_text(store)
    assert_bean_check_passes(store)
    assert chain.verify(load(store)[0]).entries == 4


def test_a_book_refreshing_after_a_crash_repairs_the_tail(three: Book) -> None:
    other = Book(three.store, clock=fixed_clock).open()
    append_text(three.store, HALF)
    other.refresh()
    assert len(other.repairs) == 1
    assert other.errors == []
    assert services.record_donation(three, donation("d-4")).seq == 4
    assert_bean_check_passes(three.store)
