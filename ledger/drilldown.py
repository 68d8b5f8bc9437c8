"""The statements as pages show them, with a trace behind every figure: view data for the
statements page (the four statements of :mod:`ledger.financials` and the fund statement of
:mod:`ledger.queries`) and for the trace page (the postings behind one figure, a page at a time).

Nothing here adds up a statement line itself: the figures come from ``build_statement``,
``fund_statement`` and ``trace``; the fund statement's trace follows the same rules as
:func:`ledger.queries.fund_statement` (a posting of an Income, Expenses or Equity account that
belongs to a fund: income and transfers are credits, spending debits), so a figure and the rows
behind it cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from ledger import financials, queries
from ledger.book import ZERO, Book, fund_of_posting
from ledger.errors import RuleError
from ledger.financials import Period, Trace, TraceRow

FUNDS = "funds"
#: Every statement the statements page shows, in the order of its tabs.
TYPES = ("balance_sheet", "activities", "cash_flow", "trial_balance", FUNDS)
TYPE_NAMES = {**financials.KIND_NAMES, FUNDS: "基金收支表"}
TYPE_NAMES_EN = {
    "balance_sheet": "Statement of financial position",
    "activities": "Statement of activities",
    "cash_flow": "Cash-flow statement",
    "trial_balance": "Trial balance",
    FUNDS: "Fund statement",
}
FUND_COLUMNS = ("期初余额", "本期收入", "本期支出", "本期划转", "期末余额")
FUND_TOTAL = "合计"
PER_PAGE = 200
_FUND_ROOTS = ("Income", "Expenses", "Equity")


def check_type(kind: str) -> str:
    """``kind`` if the statements page knows it.

    Raises:
        RuleError: (field ``type``) any other value.
    """
    if kind in TYPES:
        return kind
    raise RuleError(
        "type",
        f"报表类型须为 {' / '.join(TYPES)} 之一：{kind[:40]!r}（unknown statement）",
    )


def traceable(kind: str, key: str, column: int) -> bool:
    """Whether a figure is a sum of postings (and so has a trace).

    The trial balance's 合计 of the balance columns is not: it adds debit balances of some
    accounts and credit balances of others, so it is traced account by account instead.
    """
    return not (kind == "trial_balance" and key == "合计" and column in (0, 1, 4, 5))


# -- the statements page ----------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One figure of a line, and whether it has a trace."""

    column: int
    value: Decimal
    traceable: bool


@dataclass(frozen=True)
class Row:
    """One line of a statement as shown: ``kind`` is section, item, subtotal or total."""

    key: str
    label: str
    row: int | None
    kind: str
    indent: int
    cells: tuple[Cell, ...]
    note: str = ""


@dataclass(frozen=True)
class StatementView:
    """A statement ready for the page: no arithmetic left for the template."""

    kind: str
    title: str
    title_en: str
    form: str
    period: Period
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    head_hash: str
    head_seq: int
    generated_at: dt.datetime
    notes: tuple[str, ...] = ()


def statement_view(
    book: Book, kind: str, period: Period, *, now: dt.datetime | None = None
) -> StatementView:
    """One statement of :data:`TYPES` for ``period``, every figure marked traceable or not.

    Raises:
        RuleError: (field ``type``) an unknown statement.
    """
    check_type(kind)
    if kind == FUNDS:
        return _fund_view(book, period, now)
    statement = financials.build_statement(book, kind, period, now=now)
    # Keys are unique in every form; were one ever repeated, Statement.line() would find the
    # first, so such a line shows its figures unlinked rather than as links that fail.
    lost = {line.key for line in statement.lines if statement.line(line.key) is not line}
    rows = tuple(
        Row(
            line.key,
            line.label,
            line.row,
            line.kind,
            line.indent,
            tuple(
                Cell(c, v, line.key not in lost and traceable(kind, line.key, c))
                for c, v in enumerate(line.values)
            ),
        )
        for line in statement.lines
    )
    return StatementView(
        kind=kind,
        title=statement.title,
        title_en=statement.title_en,
        form=statement.form,
        period=period,
        columns=statement.columns,
        rows=rows,
        head_hash=statement.head_hash,
        head_seq=statement.head_seq,
        generated_at=statement.generated_at,
        notes=statement.notes,
    )


def _fund_values(row: queries.StatementRow) -> tuple[Decimal, ...]:
    return (row.opening, row.income, row.spent, row.transfers, row.closing)


def _fund_view(book: Book, period: Period, now: dt.datetime | None) -> StatementView:
    statement = queries.fund_statement(book, period.start, period.end, now=now)
    rows = [
        Row(
            r.slug,
            r.name,
            None,
            "item",
            0,
            tuple(Cell(c, v, True) for c, v in enumerate(_fund_values(r))),
            "限定性" if r.restricted else "非限定性",
        )
        for r in statement.rows
    ]
    rows.append(
        Row(
            FUND_TOTAL,
            "合计",
            None,
            "total",
            0,
            tuple(Cell(c, v, True) for c, v in enumerate(_fund_values(statement.total))),
        )
    )
    return StatementView(
        kind=FUNDS,
        title=TYPE_NAMES[FUNDS],
        title_en=TYPE_NAMES_EN[FUNDS],
        form="",
        period=period,
        columns=FUND_COLUMNS,
        rows=tuple(rows),
        head_hash=statement.head_hash,
        head_seq=statement.head_seq,
        generated_at=statement.generated_at,
        notes=(
            "每个基金的收入、支出与划转取自属于该基金的收入、费用与净资产科目分录"
            "（分录的 fund 元数据，或分录的 #fund-… 标签）。",
            "期末余额 = 期初余额 + 本期收入 − 本期支出 + 本期划转。",
        ),
    )


# -- the fund statement's trace ---------------------------------------------------------------


def _fund_part(txn: data.Transaction, posting: data.Posting, period: Period) -> tuple[int, ...]:
    """The fund statement columns a posting adds to (it adds minus its number to each)."""
    if txn.date < period.start:
        return (0, 4)
    root = posting.account.split(":", 1)[0]
    return ({"Income": 1, "Expenses": 2, "Equity": 3}[root], 4)


def fund_trace(book: Book, key: str, column: int, period: Period) -> Trace:
    """The postings behind one figure of the fund statement.

    Args:
        book: the Book.
        key: a fund's slug, or ``合计`` for all funds.
        column: an index of :data:`FUND_COLUMNS`.
        period: the statement's period.

    Raises:
        RuleError: an unknown fund (field ``line``) or column (field ``column``).
    """
    statement = queries.fund_statement(book, period.start, period.end)
    rows_by_key = {r.slug: r for r in statement.rows}
    if key == FUND_TOTAL:
        figure_row = statement.total
        wanted = set(rows_by_key)
    elif key in rows_by_key:
        figure_row = rows_by_key[key]
        wanted = {key}
    else:
        raise RuleError("line", f"基金收支表中没有「{key[:40]}」这一行（unknown line）")
    if not 0 <= column < len(FUND_COLUMNS):
        raise RuleError("column", "该行没有这一栏数字（no such figure）")
    rows: list[TraceRow] = []
    for txn in book.ordered():
        if txn.date > period.end:
            break
        for posting in txn.postings:
            units = posting.units
            if units is None or units.number is None:
                continue
            if posting.account.split(":", 1)[0] not in _FUND_ROOTS:
                continue
            fund = fund_of_posting(txn, posting)
            if fund not in wanted:
                continue
            if column in _fund_part(txn, posting, period):
                # Spending is a debit shown as a positive figure; everything else a credit.
                sign = 1 if column == 2 else -1
                rows.append(financials.trace_row(txn, posting, sign * Decimal(units.number)))
    return Trace(
        kind=FUNDS,
        key=key,
        label=figure_row.name,
        column=column,
        column_label=FUND_COLUMNS[column],
        period=period,
        total=_fund_values(figure_row)[column],
        rows=tuple(rows),
    )


def trace_figure(book: Book, kind: str, key: str, column: int, period: Period) -> Trace:
    """The postings behind one figure of any statement of :data:`TYPES`.

    Raises:
        RuleError: an unknown statement (``type``), line (``line``) or column (``column``).
    """
    check_type(kind)
    if not traceable(kind, key, column):
        raise RuleError(
            "column", "合计行的余额栏不是某些分录之和，请从各科目追溯（no such figure）"
        )
    if kind == FUNDS:
        return fund_trace(book, key, column, period)
    return financials.trace(book, kind, key, column, period)


# -- the trace page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TracePage:
    """One page of the postings behind a figure, with the figure and the rows' sum.

    Attributes:
        figure: the figure as the statement shows it.
        rows_total: the sum of every row's amount (all pages); equals ``figure``.
        rows: this page's rows.
        first: the 1-based position of this page's first row (0 when there are none).
        count: the number of rows over all pages.
    """

    trace: Trace
    title: str
    figure: Decimal
    rows_total: Decimal
    rows: tuple[TraceRow, ...]
    page: int
    pages: int
    per_page: int
    first: int
    count: int

    @property
    def last(self) -> int:
        """The 1-based position of this page's last row (0 when there are none)."""
        return self.first + len(self.rows) - 1 if self.rows else 0

    @property
    def agrees(self) -> bool:
        """Whether the rows add up to the figure."""
        return self.figure == self.rows_total


def trace_page(
    book: Book,
    kind: str,
    key: str,
    column: int,
    period: Period,
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> TracePage:
    """The trace of one figure, ``per_page`` rows at a time.

    Raises:
        RuleError: as :func:`trace_figure`, or a page that does not exist (field ``page``).
    """
    trace = trace_figure(book, kind, key, column, period)
    count = len(trace.rows)
    pages = max(1, -(-count // per_page))
    if not 1 <= page <= pages:
        raise RuleError("page", f"页码须在 1 至 {pages} 之间（no such page）")
    start = (page - 1) * per_page
    return TracePage(
        trace=trace,
        title=TYPE_NAMES[kind],
        figure=trace.total,
        rows_total=sum((r.amount for r in trace.rows), ZERO),
        rows=trace.rows[start : start + per_page],
        page=page,
        pages=pages,
        per_page=per_page,
        first=start + 1 if count else 0,
        count=count,
    )
