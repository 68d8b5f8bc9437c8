"""Read-side view data: the figures pages, PDFs and the API show, computed in one place.

Reports receive these records finished, so a page and a PDF built from the same query cannot
disagree, and none of them does arithmetic on money itself.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from beancount.core import data

from ledger.book import ZERO, Book, fund_of_posting

_FUND_ROOTS = ("Income", "Expenses", "Equity")


@dataclass(frozen=True)
class FundRow:
    """One fund's figures for a span of time."""

    slug: str
    name: str
    name_en: str
    restricted: bool
    purpose: str
    income: Decimal
    spent: Decimal
    transfers: Decimal
    balance: Decimal
    #: Part of the balance committed to awarded micro-grants and not yet spent or released.
    committed: Decimal = Decimal("0.00")

    @property
    def uncommitted(self) -> Decimal:
        """What the fund can still promise."""
        return self.balance - self.committed


@dataclass(frozen=True)
class EntryRow:
    """One transaction as the public may see it: no donor id, no staff names, no contacts."""

    id: str
    date: dt.date
    kind: str
    payee: str
    narration: str
    #: (fund slug, fund name, signed change of the fund's balance)
    funds: tuple[tuple[str, str, Decimal], ...]
    amount: Decimal
    reversed_by: str = ""
    #: The donation confirmation number, for donations.
    receipt: str = ""


@dataclass(frozen=True)
class StatementRow:
    """One fund's movement over a statement period."""

    slug: str
    name: str
    restricted: bool
    opening: Decimal
    income: Decimal
    spent: Decimal
    transfers: Decimal
    closing: Decimal


@dataclass(frozen=True)
class FundStatement:
    """Everything the fund statement shows, for one period."""

    title: str
    start: dt.date
    end: dt.date
    rows: tuple[StatementRow, ...]
    total: StatementRow
    entries: tuple[EntryRow, ...]
    head_hash: str
    head_seq: int
    generated_at: dt.datetime
    notes: tuple[str, ...] = field(default_factory=tuple)


def fund_deltas(txn: data.Transaction) -> dict[str, Decimal]:
    """How much each fund's balance changed by one transaction."""
    deltas: dict[str, Decimal] = defaultdict(Decimal)
    for p in txn.postings:
        if p.units is None or p.units.number is None:
            continue
        if p.account.split(":", 1)[0] in _FUND_ROOTS:
            fund = fund_of_posting(txn, p)
            if fund:
                deltas[fund] -= p.units.number
    return deltas


def fund_rows(book: Book, *, year: int | None = None) -> list[FundRow]:
    """Every fund with income, spending, transfers and balance (all time, or one year's flows).

    The balance is always the fund's balance now; with ``year`` the flows are that year's.
    """
    book.refresh()
    start = end = None
    if year is not None:
        start, end = f"{year:04d}-01", f"{year:04d}-12"
    rows = []
    for fund in book.funds.values():
        flows = book.fund_totals(fund.slug, start=start, end=end)
        rows.append(
            FundRow(
                fund.slug,
                fund.name,
                fund.name_en,
                fund.restricted,
                fund.purpose,
                flows.income,
                flows.spent,
                flows.transfers,
                book.fund_balance(fund.slug),
                book.committed(fund.slug),
            )
        )
    return rows


def entry_row(book: Book, txn: data.Transaction) -> EntryRow:
    """The public view of one transaction."""
    meta = txn.meta or {}
    deltas = fund_deltas(txn)
    funds = tuple(
        (slug, book.funds[slug].name if slug in book.funds else slug, amount)
        for slug, amount in sorted(deltas.items())
    )
    net = sum(deltas.values(), ZERO)
    if net == 0 and deltas:
        net = sum((a for a in deltas.values() if a > 0), ZERO)
    entry_id = str(meta.get("id", ""))
    return EntryRow(
        id=entry_id,
        date=txn.date,
        kind=str(meta.get("kind", "")),
        payee=txn.payee or "",
        narration=txn.narration or "",
        funds=funds,
        amount=net,
        reversed_by=book.reversed_by(entry_id) or "" if entry_id else "",
        receipt=str(meta.get("receipt", "")),
    )


def latest_entries(book: Book, n: int = 20, *, fund: str | None = None) -> list[EntryRow]:
    """The latest transactions as the public sees them."""
    book.refresh()
    return [entry_row(book, t) for t in book.latest(n, fund=fund)]


def _movement(
    txns: Iterable[data.Transaction], start: dt.date, end: dt.date
) -> tuple[dict[str, Decimal], dict[str, list[Decimal]]]:
    opening: dict[str, Decimal] = defaultdict(Decimal)
    flows: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for txn in txns:
        if txn.date > end:
            break
        for p in txn.postings:
            if p.units is None or p.units.number is None:
                continue
            root = p.account.split(":", 1)[0]
            fund = fund_of_posting(txn, p)
            if root not in _FUND_ROOTS or not fund:
                continue
            amount = p.units.number
            if txn.date < start:
                opening[fund] -= amount
            elif root == "Income":
                flows[fund][0] -= amount
            elif root == "Expenses":
                flows[fund][1] += amount
            else:
                flows[fund][2] -= amount
    return opening, flows


def fund_statement(
    book: Book, start: dt.date, end: dt.date, *, now: dt.datetime | None = None
) -> FundStatement:
    """Each fund's opening balance, income, spending, transfers and closing balance for a period.

    Args:
        book: the Book.
        start: first day of the period.
        end: last day of the period (inclusive).
        now: the generation time printed on the statement.
    """
    book.refresh()
    ordered = book.ordered()
    opening, flows = _movement(ordered, start, end)
    rows = []
    for fund in book.funds.values():
        o = opening.get(fund.slug, ZERO)
        inc, spent, transfers = flows.get(fund.slug, [ZERO, ZERO, ZERO])
        rows.append(
            StatementRow(
                fund.slug,
                fund.name,
                fund.restricted,
                o,
                inc,
                spent,
                transfers,
                o + inc - spent + transfers,
            )
        )
    total = StatementRow(
        "",
        "合计",
        False,
        sum((r.opening for r in rows), ZERO),
        sum((r.income for r in rows), ZERO),
        sum((r.spent for r in rows), ZERO),
        sum((r.transfers for r in rows), ZERO),
        sum((r.closing for r in rows), ZERO),
    )
    entries = tuple(entry_row(book, t) for t in ordered if start <= t.date <= end)
    return FundStatement(
        title=book.title,
        start=start,
        end=end,
        rows=tuple(rows),
        total=total,
        entries=entries,
        head_hash=book.head_hash,
        head_seq=book.seq,
        generated_at=now or book.clock(),
    )
