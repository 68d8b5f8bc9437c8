"""User text can never break out of its string, and what is written reads back exactly (§3)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from beancount.core import data
from beancount.parser import parser
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ledger_testkit import (
    assert_bean_check_passes,
    donation,
    expense,
    fixed_clock,
    load,
    make_store,
    snapshot,
    transactions,
)

from ledger import chain, render, services
from ledger.book import Book
from ledger.errors import RuleError
from ledger.store import LedgerStore

HOSTILE = [
    '"',
    "\\",
    "\\t",  # a literal backslash followed by t, not a tab
    "\\n",
    '\\"',
    "ends with a backslash \\",
    'a"b\\"c\\\\d',
    '"\n2026-01-01 open Assets:Evil',
    '" "x"\n  Assets:Evil  1 CNY',
    "\n",
    "line one\nline two",
    "\r",
    "\t",
    "\x00",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u202e",
    "abc\u202edef",
    "\u2066",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\u200b",
    "🎉",
    "👨\u200d👩\u200d👧",
    "; >>> entry 99",
    "; <<< entry 1",
    "#fund-zhulaocan ^evil",
    "  leading and trailing  ",
    "张*",
    "=1+1",
    "<b>bold</b>",
]
#: What check_text must refuse among HOSTILE: control, separator, bidi and invisible characters.
MUST_REFUSE = {
    '"\n2026-01-01 open Assets:Evil',
    '" "x"\n  Assets:Evil  1 CNY',
    "\n",
    "line one\nline two",
    "\r",
    "\t",
    "\x00",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u202e",
    "abc\u202edef",
    "\u2066",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\u200b",
}


#: Arbitrary text, plus text that check_text accepts (so that many examples are really written),
#: plus accepted text salted with the characters that matter most to a Beancount string.
_VISIBLE = st.characters(exclude_categories=("Cc", "Cs", "Cn", "Zl", "Zp", "Cf"))
_SALT = st.sampled_from(['"', "\\", "\n", "\x00", "\u202e", "\u2028", ";", "^", "#", "\u200d"])
TEXT = st.one_of(st.text(), st.text(_VISIBLE, min_size=1), st.text(_VISIBLE | _SALT, min_size=1))


@pytest.fixture(scope="module")
def shared_book(tmp_path_factory: pytest.TempPathFactory) -> Book:
    """One ledger for all the examples of this module (a folder per example would be slow)."""
    return Book(make_store(tmp_path_factory.mktemp("roundtrip")), clock=fixed_clock).open()


_ids: Iterator[int] = itertools.count(1)


def _attempt(call: Callable[[], object]) -> RuleError | None:
    """The RuleError a call raises, or None if it goes through."""
    try:
        call()
    except RuleError as exc:
        return exc
    return None


def _refused_by_check_text(value: str, *, max_len: int, required: bool) -> bool:
    return (
        _attempt(lambda: render.check_text("x", value, max_len=max_len, required=required))
        is not None
    )


def _parsed(store: LedgerStore, entry_id: str) -> data.Transaction:
    by_id = {t.meta.get("id"): t for t in transactions(store)}
    return by_id[entry_id]


def _donate_and_compare(book: Book, donor_public: str, note: str) -> bool:
    """Write a donation with this text; True if it was written, False if it was refused."""
    entry_id = f"rt-{next(_ids)}"
    donor_refused = _refused_by_check_text(donor_public, max_len=100, required=True)
    note_refused = _refused_by_check_text(note, max_len=300, required=False)
    before = snapshot(book.path)
    cmd = donation(entry_id, "1", donor_public=donor_public, note=note)
    error = _attempt(lambda: services.record_donation(book, cmd))
    if error is not None:
        assert donor_refused or note_refused, f"refused although check_text accepts it: {error}"
        assert error.field == ("donor" if donor_refused else "note")
        assert snapshot(book.path) == before
        return False
    assert not donor_refused, "written although check_text refuses the payee"
    assert not note_refused, "written although check_text refuses the note"
    txn = _parsed(book.store, entry_id)
    assert txn.payee == donor_public
    if note:
        assert txn.meta["note"] == note
    else:
        assert "note" not in txn.meta
    assert book.get(entry_id).payee == donor_public
    return True


@settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(donor_public=TEXT, note=TEXT)
def test_any_text_as_payee_and_note_is_refused_or_reads_back_exactly(
    shared_book: Book, donor_public: str, note: str
) -> None:
    event("written" if _donate_and_compare(shared_book, donor_public, note) else "refused")


@settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payee=TEXT,
    purpose=TEXT,
)
def test_any_text_as_expense_payee_and_narration_is_refused_or_reads_back_exactly(
    shared_book: Book, payee: str, purpose: str
) -> None:
    entry_id = f"rx-{next(_ids)}"
    refused = _refused_by_check_text(payee, max_len=200, required=True) or (
        _refused_by_check_text(purpose, max_len=300, required=True)
    )
    before = snapshot(shared_book.path)
    cmd = expense(entry_id, "0.01", fund="canteen", payee=payee, purpose=purpose)
    error = _attempt(lambda: services.record_expense(shared_book, cmd))
    if error is not None:
        assert refused, error
        assert error.field in {"payee", "purpose"}
        assert snapshot(shared_book.path) == before
        event("refused")
        return
    event("written")
    assert not refused
    txn = _parsed(shared_book.store, entry_id)
    assert (txn.payee, txn.narration) == (payee, purpose)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text())
def test_check_text_accepts_exactly_what_quote_lets_beancount_read_back(value: str) -> None:
    error = _attempt(lambda: render.check_text("payee", value, max_len=10_000))
    if error is not None:
        assert error.field == "payee"
        return
    text = (
        f"2026-03-01 * {render.quote(value)} {render.quote(value)}\n"
        f"  note: {render.quote(value)}\n"
        "  Assets:A  1.00 CNY\n  Assets:B  -1.00 CNY\n"
    )
    entries, errors, _ = parser.parse_string(text)
    assert errors == []
    assert len(entries) == 1
    assert (entries[0].payee, entries[0].narration, entries[0].meta["note"]) == (value,) * 3


@pytest.mark.parametrize("text", HOSTILE, ids=[ascii(t)[:40] for t in HOSTILE])
def test_hostile_text_is_refused_or_read_back_exactly(store: LedgerStore, text: str) -> None:
    book = Book(store, clock=fixed_clock).open()
    as_payee = _donate_and_compare(book, text, "")
    as_note = _donate_and_compare(book, "匿名", text)
    if text in MUST_REFUSE:
        assert (as_payee, as_note) == (False, False)
    else:
        assert (as_payee, as_note) == (True, True)
    entries, errors = load(store)
    assert errors == []
    assert chain.verify(entries).ok
    assert "Assets:Evil" not in {getattr(e, "account", "") for e in entries}


def test_after_every_hostile_try_the_ledger_still_passes_bean_check(tmp_path: Path) -> None:
    store = make_store(tmp_path / "ledger")
    book = Book(store, clock=fixed_clock).open()
    written = 0
    for text in HOSTILE:
        written += _donate_and_compare(book, text, "")
        written += _donate_and_compare(book, "匿名", text)
        for field in ("payee", "purpose"):
            cmd = expense(f"hx-{next(_ids)}", "0.01", fund="canteen", **{field: text})
            error = _attempt(lambda cmd=cmd: services.record_expense(book, cmd))
            if error is None:
                written += 1
            else:
                assert error.field == field
    assert_bean_check_passes(store)
    entries, errors = load(store)
    assert errors == []
    report = chain.verify(entries)
    assert report.ok
    assert report.entries == written
    opened = {e.account for e in entries if hasattr(e, "account")}
    assert not any("Evil" in account for account in opened)


def test_the_donor_reference_must_be_an_opaque_id(book: Book) -> None:
    before = snapshot(book.path)
    for ref in ("D 1", "张三", "", '"; evil', "a\nb"):
        with pytest.raises(RuleError) as info:
            services.record_donation(book, donation("dr-1", donor_ref=ref))
        assert info.value.field == "donor"
    assert snapshot(book.path) == before


@pytest.mark.parametrize(("field", "limit"), [("donor_public", 100), ("note", 300)])
def test_text_longer_than_its_limit_is_refused(book: Book, field: str, limit: int) -> None:
    before = snapshot(book.path)
    ok = {"donor_public": "甲", "note": ""}
    services.record_donation(book, donation("len-ok", **{**ok, field: "长" * limit}))
    after_ok = snapshot(book.path)
    assert after_ok != before
    with pytest.raises(RuleError) as info:
        services.record_donation(book, donation("len-bad", **{**ok, field: "长" * (limit + 1)}))
    assert info.value.field == ("donor" if field == "donor_public" else "note")
    assert info.value.code == "too_long"
    assert snapshot(book.path) == after_ok
