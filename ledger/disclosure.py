"""View data for public disclosure: the home page, fund pages, receipt verification, honour roll
and the periodic public notice (公示). Pages and PDFs receive these finished records."""

from __future__ import annotations

import datetime as dt
import hmac
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from ledger.book import ZERO, Book
from ledger.queries import EntryRow, FundRow, FundStatement, entry_row, fund_rows, fund_statement

SOURCE_LABELS = {
    "person": "居民个人",
    "organisation": "单位与商户",
    "government": "街道与政府",
    "other": "其他收入",
}
SOURCE_LABELS_EN = {
    "person": "Residents",
    "organisation": "Organisations and merchants",
    "government": "Street office and government",
    "other": "Other income",
}


@dataclass(frozen=True)
class MonthFigure:
    """Income and spending of all funds in one month."""

    month: str
    income: Decimal
    spent: Decimal


@dataclass(frozen=True)
class Share:
    """One slice of a breakdown (income by source, spending by purpose)."""

    key: str
    label: str
    amount: Decimal


@dataclass(frozen=True)
class HomeView:
    """Everything the public home page shows."""

    year: int
    funds: tuple[FundRow, ...]
    funds_year: tuple[FundRow, ...]
    income_all: Decimal
    spent_all: Decimal
    held: Decimal
    income_year: Decimal
    spent_year: Decimal
    months: tuple[MonthFigure, ...]
    by_source: tuple[Share, ...]
    by_purpose: tuple[Share, ...]
    latest: tuple[EntryRow, ...]
    head_hash: str
    head_at: str
    seq: int


@dataclass(frozen=True)
class LedgerLine:
    """One entry on a fund page with the fund's balance after it."""

    entry: EntryRow
    change: Decimal
    balance: Decimal


@dataclass(frozen=True)
class FundPage:
    """A fund's public page: its figures and every entry with the running balance."""

    fund: FundRow
    lines: tuple[LedgerLine, ...]
    donations: int
    head_hash: str


@dataclass(frozen=True)
class ReceiptView:
    """A donation confirmation as the verification page and the PDF show it."""

    number: str
    entry_id: str
    date: dt.date
    amount: Decimal
    fund_slug: str
    fund_name: str
    fund_purpose: str
    restricted: bool
    donor_public: str
    form: str
    project: str
    valuation_basis: str
    void: bool
    voided_by: str
    entry_hash: str
    spending_since: tuple[EntryRow, ...]
    spent_since: Decimal
    fund_balance: Decimal
    head_hash: str
    verify: str = ""


@dataclass(frozen=True)
class HonourRow:
    """A donor who chose to be named, with what they gave."""

    name: str
    total: Decimal
    count: int


@dataclass(frozen=True)
class NoticeView:
    """The periodic public notice (公示): the statement, the donations and the spending."""

    statement: FundStatement
    donations: tuple[EntryRow, ...]
    expenses: tuple[EntryRow, ...]
    donations_total: Decimal
    expenses_total: Decimal


def _is_donation(txn: data.Transaction) -> bool:
    return (txn.meta or {}).get("kind") == "donation"


def _income_and_spent(txn: data.Transaction) -> tuple[Decimal, Decimal]:
    income = spent = ZERO
    for p in txn.postings:
        if p.units is None or p.units.number is None:
            continue
        root = p.account.split(":", 1)[0]
        if root == "Income":
            income -= p.units.number
        elif root == "Expenses":
            spent += p.units.number
    return income, spent


def _month_range(end: dt.date, count: int) -> list[str]:
    year, month = end.year, end.month
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


def home_view(book: Book, today: dt.date, *, latest: int = 20) -> HomeView:
    """Totals per fund this year and since the start, month by month, by source and purpose."""
    book.refresh()
    funds = fund_rows(book)
    funds_year = fund_rows(book, year=today.year)
    months = _month_range(today, 12)
    first = months[0]
    # From the Book's running totals: the cost of the page does not grow with the ledger.
    flows = book.income_and_spending_by_month(first, months[-1])
    per_month = {m: list(flows.get(m, (ZERO, ZERO))) for m in months}
    by_source: dict[str, Decimal] = defaultdict(Decimal)
    year = f"{today.year:04d}"
    for kind, income in book.income_by_donor_kind(f"{year}-01", f"{year}-12").items():
        by_source[kind if kind in SOURCE_LABELS else "other"] += income
    by_purpose = tuple(Share(r.slug, r.name, r.spent) for r in funds_year if r.spent)
    return HomeView(
        year=today.year,
        funds=tuple(funds),
        funds_year=tuple(funds_year),
        income_all=sum((r.income for r in funds), ZERO),
        spent_all=sum((r.spent for r in funds), ZERO),
        held=sum((r.balance for r in funds), ZERO),
        income_year=sum((r.income for r in funds_year), ZERO),
        spent_year=sum((r.spent for r in funds_year), ZERO),
        months=tuple(MonthFigure(m, v[0], v[1]) for m, v in per_month.items()),
        by_source=tuple(Share(k, SOURCE_LABELS[k], v) for k, v in sorted(by_source.items()) if v),
        by_purpose=by_purpose,
        latest=tuple(entry_row(book, t) for t in book.latest(latest)),
        head_hash=book.head_hash,
        head_at=book.head_at,
        seq=book.seq,
    )


def fund_page(book: Book, slug: str) -> FundPage | None:
    """A fund's figures and every entry touching it, newest first, with the running balance."""
    book.refresh()
    rows = {r.slug: r for r in fund_rows(book)}
    if slug not in rows:
        return None
    balance = ZERO
    lines = []
    donations = 0
    for txn in book.ordered(slug):
        row = entry_row(book, txn)
        change = sum((a for s, _n, a in row.funds if s == slug), ZERO)
        balance += change
        donations += _is_donation(txn)
        lines.append(LedgerLine(row, change, balance))
    lines.reverse()
    return FundPage(rows[slug], tuple(lines), donations, book.head_hash)


def receipt_record(book: Book, number: str) -> ReceiptView | None:
    """A confirmation by number (for staff and PDFs; the public page also needs the code)."""
    book.refresh()
    txn = book.by_receipt(number)
    if txn is None:
        return None
    meta = txn.meta or {}
    row = entry_row(book, txn)
    slug, name, amount = row.funds[0] if row.funds else ("", "", ZERO)
    info = book.funds.get(slug)
    spending = []
    spent = ZERO
    # "Since the day of the gift", as the page says: the whole day counts, like bean-query's
    # ``date >= day``.
    for other in book.ordered(slug):
        if other.date < txn.date or other is txn:
            continue
        orow = entry_row(book, other)
        change = sum((a for s, _n, a in orow.funds if s == slug), ZERO)
        if (other.meta or {}).get("kind") in ("expense", "disbursement", "transfer") and change < 0:
            spending.append(orow)
            spent -= change
    entry_id = str(meta.get("id", ""))
    voided_by = book.reversed_by(entry_id) or ""
    return ReceiptView(
        number=number,
        entry_id=entry_id,
        date=txn.date,
        amount=amount,
        fund_slug=slug,
        fund_name=name,
        fund_purpose=info.purpose if info else "",
        restricted=bool(info and info.restricted),
        donor_public=txn.payee or "",
        form=str(meta.get("form", "money")),
        project=str(meta.get("project", "")),
        valuation_basis=str(meta.get("valuation-basis", "")),
        void=bool(voided_by),
        voided_by=voided_by,
        entry_hash=str(meta.get("hash", "")),
        spending_since=tuple(reversed(spending)),
        spent_since=spent,
        fund_balance=book.fund_balance(slug) if slug else ZERO,
        head_hash=book.head_hash,
        verify=str(meta.get("verify", "")),
    )


def verify_receipt(book: Book, number: str, code: str) -> ReceiptView | None:
    """The confirmation if the number exists and the code matches (compared in constant time)."""
    view = receipt_record(book, number.strip())
    if view is None or not view.verify:
        return None
    if not hmac.compare_digest(view.verify.upper().encode(), code.strip().upper().encode()):
        return None
    return view


def honour_roll(book: Book, *, year: int | None = None) -> list[HonourRow]:
    """Donors who chose to be named, by total given (reversed donations excluded)."""
    book.refresh()
    # By donor id, not by name: two people of the same name are two rows.
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    names: dict[str, str] = {}
    for txn in book.transactions():
        meta = txn.meta or {}
        if not _is_donation(txn) or meta.get("display") != "name":
            continue
        if year is not None and txn.date.year != year:
            continue
        if book.reversed_by(str(meta.get("id", ""))):
            continue
        income, _spent = _income_and_spent(txn)
        key = str(meta.get("donor") or txn.payee or "")
        names[key] = txn.payee or ""
        totals[key][0] += income
        totals[key][1] += 1
    rows = [HonourRow(names[k], v[0], int(v[1])) for k, v in totals.items() if names[k]]
    rows.sort(key=lambda r: (-r.total, r.name))
    return rows


def notice_view(
    book: Book, start: dt.date, end: dt.date, *, now: dt.datetime | None = None
) -> NoticeView:
    """The public notice of a month or quarter: figures, donations and spending of the period."""
    statement = fund_statement(book, start, end, now=now)

    def kind_of(row: EntryRow) -> str:
        # A reversal counts with what it reverses, so the lists add up to the statement.
        if row.kind != "reversal":
            return row.kind
        txn = book.get(row.id)
        original = book.get(str((txn.meta or {}).get("reverses", ""))) if txn else None
        return str((original.meta or {}).get("kind", "")) if original else ""

    donations = tuple(e for e in statement.entries if kind_of(e) == "donation")
    expenses = tuple(
        e
        for e in statement.entries
        if kind_of(e) not in ("donation", "") and (e.amount < 0 or e.kind == "reversal")
    )
    return NoticeView(
        statement=statement,
        donations=donations,
        expenses=expenses,
        donations_total=sum((e.amount for e in donations), ZERO),
        expenses_total=-sum((e.amount for e in expenses), ZERO),
    )


@dataclass(frozen=True)
class ReceiptRow:
    """One line of the register of confirmations (staff only: it has the donor id)."""

    number: str
    entry_id: str
    date: dt.date
    amount: Decimal
    fund: str
    donor_public: str
    donor_ref: str
    void: bool
    voided_by: str


def receipt_register(book: Book, year: int) -> list[ReceiptRow]:
    """Every confirmation number of a year in order, voids included (the sequence has no gaps)."""
    book.refresh()
    rows = []
    for n in range(1, book.receipts_issued(year) + 1):
        number = f"{year:04d}-{n:06d}"
        txn = book.by_receipt(number)
        if txn is None:
            continue
        meta = txn.meta or {}
        row = entry_row(book, txn)
        entry_id = str(meta.get("id", ""))
        voided_by = book.reversed_by(entry_id) or ""
        rows.append(
            ReceiptRow(
                number,
                entry_id,
                txn.date,
                row.amount,
                row.funds[0][1] if row.funds else "",
                txn.payee or "",
                str(meta.get("donor", "")),
                bool(voided_by),
                voided_by,
            )
        )
    return rows
