"""The journal (序时账) and the general ledger (总账) of a period as view data for pages, PDFs and
CSV files.

The journal lists every transaction dated in the period in (date, seq) order, with its metadata
and its postings as debits and credits. The general ledger lists, account by account, the opening
balance, every posting of the period with a running balance, the period's debits and credits and
the closing balance. It follows :func:`ledger.financials.trial_balance` exactly: a posting is
shown under :func:`ledger.financials.trial_balance_account` (income and expenses of years before
the period's first year are carried into 3101/3102), a positive amount is a debit and a negative
one a credit, so every account's figures here equal its line of the trial balance.

Both are *views over a snapshot*: :func:`journal_view` and :func:`general_ledger` take the list
of transactions once, so a document built in two passes (count the pages, then draw them) sees
the same entries both times even if the Book takes new writes in between. Rows are built as they
are read, so a large ledger is never copied into a second set of objects.
"""

from __future__ import annotations

import bisect
import datetime as dt
from array import array
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from beancount.core import data

from ledger.book import ZERO, Book, fund_of_posting
from ledger.chain import seq_of
from ledger.errors import RuleError
from ledger.financials import (
    Period,
    account_code,
    account_sort_key,
    parse_period,
    trial_balance_account,
)

#: Entry metadata shown first, in this order; the rest follow in the order of the file.
META_FIRST = (
    "kind",
    "entered-by",
    "entered-at",
    "approved-by",
    "source",
    "receipt",
    "grant",
    "donor",
    "reverses",
    "reason",
    "document",
    "request",
    "ext-id",
)
#: Entry metadata not repeated among the pairs: shown in their own columns, or Beancount's own.
_META_SKIP = frozenset({"id", "seq", "hash", "filename", "lineno", "kind"})
#: Posting metadata not repeated among the posting's pairs (``fund`` has its own column).
_POSTING_META_SKIP = frozenset({"fund", "filename", "lineno"})

MetaPairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class JournalPosting:
    """One posting of a journal entry, as a debit or a credit.

    Attributes:
        account: the Beancount account (``Assets:1002-银行存款``).
        account_name: its Chinese name from the ``open`` directive (``银行存款``).
        fund: the fund slug the posting belongs to, or ``""``.
        debit: the amount when positive, else zero.
        credit: minus the amount when negative, else zero.
        meta: the posting's own metadata other than ``fund``, as (key, text) pairs.
    """

    account: str
    account_name: str
    fund: str
    debit: Decimal
    credit: Decimal
    meta: MetaPairs = ()


@dataclass(frozen=True)
class JournalEntry:
    """One transaction of the journal.

    Attributes:
        date: the entry's date.
        seq: the write sequence number (``None`` for an entry written by hand).
        id: the entry's ``id`` metadata (``""`` if it has none).
        kind: its ``kind`` metadata (``donation``, ``expense`` …).
        flag: Beancount's flag (``*`` or ``!``).
        payee: the payee, ``""`` if none.
        narration: the narration.
        tags: the tags, sorted.
        links: the links, sorted.
        meta: every other metadata item as (key, text) pairs: :data:`META_FIRST` first, then the
            rest in file order, and the chain ``hash`` last.
        source: where it is written: ``txns/2026.beancount:123``.
        postings: the postings, in the order written.
    """

    date: dt.date
    seq: int | None
    id: str
    kind: str
    flag: str
    payee: str
    narration: str
    tags: tuple[str, ...]
    links: tuple[str, ...]
    meta: MetaPairs
    source: str
    postings: tuple[JournalPosting, ...]

    @property
    def hash(self) -> str:
        """The entry's chain hash (``""`` for an entry written by hand)."""
        return dict(self.meta).get("hash", "")

    @property
    def debit(self) -> Decimal:
        """The sum of the entry's debits."""
        return sum((p.debit for p in self.postings), ZERO)

    @property
    def credit(self) -> Decimal:
        """The sum of the entry's credits."""
        return sum((p.credit for p in self.postings), ZERO)


# -- periods --------------------------------------------------------------------------------


def checked_period(period: Period | str) -> Period:
    """A period, parsed if given as text (``2026``, ``2026-Q1`` …) and checked.

    Raises:
        RuleError: (field ``period``) text that is not a period, or an end before the start.
    """
    if isinstance(period, str):
        return parse_period(period)
    if not isinstance(period, Period):
        raise RuleError("period", "期间格式不正确（not a period）")
    if period.end < period.start:
        raise RuleError("period", "截止日期早于起始日期（end before start）")
    return period


def _in_period(book: Book, period: Period) -> list[data.Transaction]:
    """The transactions dated in the period, in (date, seq) order: a slice, found by bisection."""
    ordered = book.ordered()
    lo = bisect.bisect_left(ordered, period.start, key=_date)
    hi = bisect.bisect_right(ordered, period.end, key=_date)
    return ordered[lo:hi]


def _date(txn: data.Transaction) -> dt.date:
    return txn.date


# -- journal --------------------------------------------------------------------------------


def _text(value: object) -> str:
    """A metadata value as text: dates ISO, everything else as Beancount reads it back."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _source(book: Book, meta: dict[str, object], files: dict[str, str]) -> str:
    filename = meta.get("filename")
    if not isinstance(filename, str) or not filename:
        return ""
    shown = files.get(filename)
    if shown is None:
        path = Path(filename)
        try:
            shown = book.store.relative(path)
        except ValueError:  # a file outside the ledger folder (a string ledger): its name
            shown = path.name
        files[filename] = shown
    lineno = meta.get("lineno")
    # Entries this process appended carry line 0: the file is right, the line is not known.
    return f"{shown}:{lineno}" if isinstance(lineno, int) and lineno > 0 else shown


def entry_meta(meta: dict[str, object]) -> MetaPairs:
    """The metadata pairs a journal entry shows: :data:`META_FIRST`, the rest, then ``hash``."""
    pairs = [(k, _text(meta[k])) for k in META_FIRST if k in meta and k not in _META_SKIP]
    first = set(META_FIRST)
    pairs += [
        (k, _text(v))
        for k, v in meta.items()
        if k not in first and k not in _META_SKIP and not k.startswith("__")
    ]
    if "hash" in meta:
        pairs.append(("hash", _text(meta["hash"])))
    return tuple(pairs)


def journal_entry(
    book: Book, txn: data.Transaction, files: dict[str, str] | None = None
) -> JournalEntry:
    """One transaction as a journal entry.

    Args:
        book: the Book the transaction is from (for account names and the ledger folder).
        txn: the transaction.
        files: a cache of file names as shown, shared by the entries of one listing.
    """
    meta = dict(txn.meta or {})
    postings = []
    for posting in txn.postings:
        units = posting.units
        number = Decimal(units.number) if units is not None and units.number is not None else ZERO
        info = book.accounts.get(posting.account)
        pmeta = posting.meta or {}
        postings.append(
            JournalPosting(
                account=posting.account,
                account_name=info.display if info is not None else "",
                fund=fund_of_posting(txn, posting) or "",
                debit=number if number > 0 else ZERO,
                credit=-number if number < 0 else ZERO,
                meta=tuple(
                    (k, _text(v))
                    for k, v in pmeta.items()
                    if k not in _POSTING_META_SKIP and not k.startswith("__")
                ),
            )
        )
    return JournalEntry(
        date=txn.date,
        seq=seq_of(txn),
        id=str(meta.get("id", "")),
        kind=str(meta.get("kind", "")),
        flag=str(txn.flag or ""),
        payee=txn.payee or "",
        narration=txn.narration or "",
        tags=tuple(sorted(txn.tags or ())),
        links=tuple(sorted(txn.links or ())),
        meta=entry_meta(meta),
        source=_source(book, meta, {} if files is None else files),
        postings=tuple(postings),
    )


class JournalView:
    """The journal of a period over a snapshot of the Book: sized, and iterable many times.

    Attributes:
        period: the period shown.
        head_hash: the ledger's head hash when the snapshot was taken.
        head_seq: the ledger's last seq when the snapshot was taken.
    """

    def __init__(self, book: Book, period: Period | str) -> None:
        self.period = checked_period(period)
        book.refresh()
        self._book = book
        # A copy of the slice: later writes to the Book do not change what this view shows.
        self._txns = _in_period(book, self.period)
        self.head_hash = book.head_hash
        self.head_seq = book.seq

    def __len__(self) -> int:
        return len(self._txns)

    def shapes(self) -> Iterator[tuple[int, Decimal, Decimal]]:
        """(postings, debits, credits) of each entry, without building the entries: what a
        document needs to count its pages."""
        for txn in self._txns:
            debit = credit = ZERO
            for posting in txn.postings:
                number = _number(posting)
                if number > 0:
                    debit += number
                else:
                    credit -= number
            yield len(txn.postings), debit, credit

    def __iter__(self) -> Iterator[JournalEntry]:
        book = self._book
        files: dict[str, str] = {}
        for txn in self._txns:
            yield journal_entry(book, txn, files)


def journal_view(book: Book, period: Period | str) -> JournalView:
    """The journal of a period, re-iterable (what the PDF builder takes: it reads it twice)."""
    return JournalView(book, period)


def journal_entries(book: Book, period: Period | str) -> Iterator[JournalEntry]:
    """Every transaction dated in the period, in (date, seq) order.

    Raises:
        RuleError: (field ``period``) a bad period.
    """
    return iter(JournalView(book, period))


def journal_count(book: Book, period: Period | str) -> int:
    """How many transactions are dated in the period (without building them).

    Raises:
        RuleError: (field ``period``) a bad period.
    """
    checked = checked_period(period)
    book.refresh()
    return len(_in_period(book, checked))


# -- general ledger -------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerRow:
    """One posting in an account of the general ledger.

    Attributes:
        date: the entry's date.
        seq: its write sequence number, if any.
        entry_id: its ``id``.
        payee: the entry's payee.
        narration: the entry's narration.
        fund: the posting's fund slug, or ``""``.
        debit: the amount when positive, else zero.
        credit: minus the amount when negative, else zero.
        balance: the account's balance after this posting (debit positive).
    """

    date: dt.date
    seq: int | None
    entry_id: str
    payee: str
    narration: str
    fund: str
    debit: Decimal
    credit: Decimal
    balance: Decimal


class LedgerRows:
    """The postings of one account in a period, built as they are read (re-iterable, sized)."""

    def __init__(
        self,
        txns: list[data.Transaction],
        where: array[int],
        opening: Decimal,
    ) -> None:
        self._txns = txns
        # Pairs (index into txns, index of the posting): 8 bytes a posting, not an object each.
        self._where = where
        self._opening = opening

    def __len__(self) -> int:
        return len(self._where) // 2

    def __iter__(self) -> Iterator[LedgerRow]:
        balance = self._opening
        where = self._where
        for k in range(0, len(where), 2):
            txn = self._txns[where[k]]
            posting = txn.postings[where[k + 1]]
            number = _number(posting)
            balance += number
            meta = txn.meta or {}
            yield LedgerRow(
                date=txn.date,
                seq=seq_of(txn),
                entry_id=str(meta.get("id", "")),
                payee=txn.payee or "",
                narration=txn.narration or "",
                fund=fund_of_posting(txn, posting) or "",
                debit=number if number > 0 else ZERO,
                credit=-number if number < 0 else ZERO,
                balance=balance,
            )


@dataclass(frozen=True)
class AccountLedger:
    """One account of the general ledger over a period.

    Attributes:
        account: the account as the trial balance shows it.
        name: its Chinese name (``银行存款``), or the account itself if it was never opened.
        code: its standard code (``1002``), or ``""``.
        opening: the balance before the period (debit positive).
        debit: the period's debits.
        credit: the period's credits.
        closing: the balance at the period's end: opening + debit - credit.
        rows: the period's postings with running balances, in (date, seq) order.
    """

    account: str
    name: str
    code: str
    opening: Decimal
    debit: Decimal
    credit: Decimal
    closing: Decimal
    rows: LedgerRows = field(compare=False, repr=False)


def _number(posting: data.Posting) -> Decimal:
    units = posting.units
    if units is None or units.number is None:
        return ZERO
    return Decimal(units.number)


def general_ledger(book: Book, period: Period | str) -> tuple[AccountLedger, ...]:
    """Every account with an opening balance or postings in the period, in the chart's order.

    One walk over the transactions up to the period's end; each account keeps only the positions
    of its postings, and its rows are built when they are read.

    Raises:
        RuleError: (field ``period``) a bad period.
    """
    checked = checked_period(period)
    book.refresh()
    ordered = book.ordered()
    txns = ordered[: bisect.bisect_right(ordered, checked.end, key=_date)]
    opening: dict[str, Decimal] = defaultdict(Decimal)
    debit: dict[str, Decimal] = defaultdict(Decimal)
    credit: dict[str, Decimal] = defaultdict(Decimal)
    where: dict[str, array[int]] = defaultdict(lambda: array("q"))
    for i, txn in enumerate(txns):
        before = txn.date < checked.start
        for j, posting in enumerate(txn.postings):
            if posting.units is None or posting.units.number is None:
                continue
            number = Decimal(posting.units.number)
            account = trial_balance_account(book, txn, posting, checked)
            if before:
                opening[account] += number
                continue
            if number >= 0:
                debit[account] += number
            else:
                credit[account] -= number
            positions = where[account]
            positions.append(i)
            positions.append(j)
    sections = []
    for account in sorted(set(opening) | set(where), key=account_sort_key):
        info = book.accounts.get(account)
        first = opening.get(account, ZERO)
        dr, cr = debit.get(account, ZERO), credit.get(account, ZERO)
        rows = where.get(account, array("q"))
        if not rows and first == 0:
            continue  # balances that net to nothing before the period and no activity in it
        sections.append(
            AccountLedger(
                account=account,
                name=info.display if info is not None else account,
                code=account_code(account),
                opening=first,
                debit=dr,
                credit=cr,
                closing=first + dr - cr,
                rows=LedgerRows(txns, rows, first),
            )
        )
    return tuple(sections)
