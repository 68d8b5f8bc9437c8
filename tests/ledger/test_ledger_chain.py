"""The hash chain verifies, and any edit to a past entry is detected and located (§3, §6.6)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from ledger_testkit import (
    append_text,
    assert_bean_check_passes,
    donation,
    expense,
    fixed_clock,
    load,
    reversal,
    year_text,
)

from ledger import chain, services
from ledger.book import Book
from ledger.store import LedgerStore


@pytest.fixture
def written(book: Book) -> Book:
    """Five entries: three donations, an expense and its reversal (seq 1..5)."""
    services.record_donation(book, donation("d-1", "100"))
    services.record_donation(book, donation("d-2", "200", fund="zhulaocan"))
    services.record_expense(book, expense("e-1", "50.00"))
    services.record_reversal(book, reversal("r-1", "e-1"))
    services.record_donation(book, donation("d-3", "300"))
    return book


def _verify(store: LedgerStore) -> chain.ChainReport:
    entries, errors = load(store)
    assert errors == []
    return chain.verify(entries)


def _block(text: str, seq: int) -> str:
    match = re.search(rf"; >>> entry {seq}\n.*?; <<< entry {seq}\n\n", text, flags=re.S)
    assert match, f"no block for entry {seq}"
    return match.group(0)


def _header_line(text: str, seq: int) -> int:
    """1-based line number of the first line of entry ``seq`` (just after its begin line)."""
    lines = text.splitlines()
    return lines.index(f"; >>> entry {seq}") + 2


def test_the_chain_verifies_after_writes(written: Book) -> None:
    report = _verify(written.store)
    assert report.ok
    assert report.entries == 5
    assert report.head == written.head_hash
    assert report.problem == ""
    assert report.unchained == 0


def test_each_entry_carries_seq_and_the_hash_of_its_text_and_the_previous_hash(
    written: Book,
) -> None:
    entries, _ = load(written.store)
    txns = sorted((e for e in entries if chain.seq_of(e)), key=chain.seq_of)
    prev = chain.GENESIS
    for expected_seq, txn in enumerate(txns, start=1):
        assert chain.seq_of(txn) == expected_seq
        assert txn.meta["hash"] == chain.entry_hash(prev, chain.canonical_text(txn))
        prev = txn.meta["hash"]
    assert prev == written.head_hash


def test_the_head_hash_survives_a_restart(written: Book) -> None:
    again = Book(written.store, clock=fixed_clock).open()
    assert (again.seq, again.head_hash) == (5, written.head_hash)


def test_an_empty_ledger_verifies_with_the_genesis_hash(book: Book) -> None:
    report = _verify(book.store)
    assert report.ok
    assert (report.entries, report.head) == (0, chain.GENESIS)


def test_a_hand_edited_amount_is_detected_and_located(written: Book) -> None:
    store = written.store
    text = year_text(store)
    block = _block(text, 3)
    assert 'id: "e-1"' in block
    edited = block.replace("  50.00 CNY", "  5.00 CNY").replace("  -50.00 CNY", "  -5.00 CNY")
    assert edited.count("5.00 CNY") == 2
    store.year_file(2026).write_text(text.replace(block, edited), "utf-8")
    assert_bean_check_passes(store)  # still balanced: Beancount alone cannot see the edit

    report = _verify(store)
    assert not report.ok
    assert report.entry_id == "e-1"
    assert report.entries == 2
    assert "seq 3" in report.problem
    assert report.location == f"{store.year_file(2026)}:{_header_line(year_text(store), 3)}"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"张*" "捐赠：社区微基金（非限定）"', '"王*" "捐赠：社区微基金（非限定）"'),
        ('donor: "D0001"', 'donor: "D0666"'),
        ("2026-03-01 *", "2026-03-04 *"),
        ("#donation #fund-general", "#donation #fund-meiyuanzi"),
    ],
    ids=["payee", "metadata", "date", "tag"],
)
def test_any_edit_to_the_first_entry_is_detected(written: Book, old: str, new: str) -> None:
    store = written.store
    text = year_text(store)
    block = _block(text, 1)
    assert old in block
    store.year_file(2026).write_text(text.replace(block, block.replace(old, new, 1)), "utf-8")
    report = _verify(store)
    assert not report.ok
    assert (report.entry_id, report.entries) == ("d-1", 0)
    assert report.location == f"{store.year_file(2026)}:{_header_line(year_text(store), 1)}"


def test_rewriting_the_hash_of_an_edited_entry_breaks_the_next_link(written: Book) -> None:
    store = written.store
    text = year_text(store)
    block = _block(text, 2)
    edited = block.replace("200.00 CNY", "20.00 CNY")
    entries, _ = load(store)
    original = next(e for e in entries if chain.seq_of(e) == 2)
    forged = original._replace(
        postings=[
            p._replace(units=p.units._replace(number=p.units.number / 10))
            for p in original.postings
        ]
    )
    prev = next(e for e in entries if chain.seq_of(e) == 1).meta["hash"]
    new_hash = chain.entry_hash(prev, chain.canonical_text(forged))
    edited = edited.replace(original.meta["hash"], new_hash)
    store.year_file(2026).write_text(text.replace(block, edited), "utf-8")
    report = _verify(store)
    assert not report.ok
    assert report.entry_id == "e-1"  # entry 2 now matches itself, so entry 3 is the first to fail


def test_a_deleted_middle_entry_is_reported_as_a_gap(written: Book) -> None:
    store = written.store
    text = year_text(store)
    block = _block(text, 3)
    # Take out the expense and its reversal together so the books still balance and bean-check
    # passes; only the chain can tell that entries 3 and 4 are gone.
    text = text.replace(block, "").replace(_block(text, 4), "")
    store.year_file(2026).write_text(text, "utf-8")
    assert_bean_check_passes(store)
    report = _verify(store)
    assert not report.ok
    assert report.entries == 2
    assert report.entry_id == "d-3"
    assert "缺少第 3 笔" in report.problem
    assert report.location == f"{store.year_file(2026)}:{_header_line(text, 5)}"


def test_a_deleted_last_entry_changes_the_head(written: Book) -> None:
    store = written.store
    text = year_text(store)
    store.year_file(2026).write_text(text.replace(_block(text, 5), ""), "utf-8")
    report = _verify(store)
    assert report.ok  # nothing after it to break; the published head hash tells
    assert report.entries == 4
    assert report.head != written.head_hash


def test_a_copied_entry_is_reported_as_a_repeated_seq(written: Book) -> None:
    store = written.store
    append_text(store, _block(year_text(store), 2).replace('id: "d-2"', 'id: "d-2b"'))
    report = _verify(store)
    assert not report.ok
    assert "重复的序号" in report.problem


def test_hand_written_entries_are_counted_as_unchained(written: Book) -> None:
    append_text(
        written.store,
        '2026-03-06 * "居民" "现金捐赠（手工补记）" #fund-general\n'
        "  Assets:1001-库存现金  30.00 CNY\n"
        "  Income:4101-捐赠收入:非限定性  -30.00 CNY\n",
    )
    report = _verify(written.store)
    assert report.ok
    assert (report.entries, report.unchained) == (5, 1)


def test_entries_in_several_year_files_form_one_chain(book: Book) -> None:
    services.record_donation(book, donation("d-2025", date=dt.date(2025, 12, 31)))
    services.record_donation(book, donation("d-2026", date=dt.date(2026, 1, 1)))
    services.record_donation(book, donation("d-2025b", date=dt.date(2025, 6, 1)))
    report = _verify(book.store)
    assert report.ok
    assert report.entries == 3
    assert report.head == book.head_hash
    assert_bean_check_passes(book.store)
