"""Every entry the Book holds says where it stands in its file (``filename``, ``lineno``), as a
fresh load would: for this process's own appends, for what another process appended, and for
the month close's directives. Auditors follow these to the line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from beancount import loader
from beancount.core import data
from ledger_testkit import donation, expense, fixed_clock

from ledger import services
from ledger.book import Book
from ledger.store import LedgerStore


def _fresh(store: LedgerStore) -> dict[str, tuple[str, int, list[int]]]:
    """id -> (file, line, posting lines) from a load of the files from scratch."""
    entries, errors, _ = loader.load_file(str(store.main))
    assert not errors
    return {
        str(e.meta["id"]): (
            str(Path(e.meta["filename"]).resolve()),
            e.meta["lineno"],
            [p.meta["lineno"] for p in e.postings],
        )
        for e in entries
        if isinstance(e, data.Transaction) and "id" in e.meta
    }


def _held(book: Book, entry_id: str) -> tuple[str, int, list[int]]:
    txn = book.get(entry_id)
    assert txn is not None
    return (
        str(Path(txn.meta["filename"]).resolve()),
        txn.meta["lineno"],
        [p.meta["lineno"] for p in txn.postings],
    )


def test_own_appends_and_another_books_appends_carry_the_lines_a_fresh_load_gives(
    store: LedgerStore,
) -> None:
    mine = Book(store, clock=fixed_clock).open()
    other = Book(store, clock=fixed_clock).open()
    services.record_donation(mine, donation("don-1", "300"))
    services.record_donation(other, donation("don-2", "50", note="第二行\\n不是换行"))
    services.record_donation(mine, donation("don-3", "80", date=dt.date(2025, 12, 30)))
    services.record_expense(mine, expense("exp-1", "20"))
    services.record_donation(other, donation("don-4", "10"))
    mine.refresh()
    fresh = _fresh(store)
    for entry_id in fresh:
        assert _held(mine, entry_id) == fresh[entry_id], entry_id
    other.refresh()
    for entry_id in fresh:
        assert _held(other, entry_id) == fresh[entry_id], entry_id
    # The line really is the entry's first line.
    path, line, _ = fresh["exp-1"]
    text = Path(path).read_text("utf-8").splitlines()
    assert text[line - 1].startswith("2026-03-02 * ")
    assert text[line] == '  id: "exp-1"'


def test_the_month_closes_directives_carry_their_lines(store: LedgerStore) -> None:
    book = Book(store, clock=fixed_clock).open()
    services.record_donation(book, donation("don-1", "300"))
    text = '2026-03-01 custom "audit-note" "demo"\n'
    added = book.write_directives("note-1", lambda _b: text, check=lambda _b: None)
    entries, errors, _ = loader.load_file(str(store.main))
    assert not errors
    fresh = next(e for e in entries if isinstance(e, data.Custom) and e.type == "audit-note")
    assert added[0].meta["lineno"] == fresh.meta["lineno"]
    assert Path(added[0].meta["filename"]).resolve() == Path(fresh.meta["filename"]).resolve()
