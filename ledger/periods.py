"""Month-end reconciliation and the month close (结账) that locks a month's figures.

Closing a month needs every cash, bank and payment-channel account to agree with its statement;
the close then writes Beancount ``balance`` assertions dated the first of the next month and a
``custom "period-close"`` directive, after which no entry dated in that month is accepted anywhere.
A reopening is a ``custom "period-reopen"`` with its reason; both carry who did it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from ledger import chart
from ledger.book import ZERO, Book
from ledger.errors import RuleError
from ledger.money import format_cny
from ledger.render import check_text, quote

#: The accounts reconciled against a statement at each month end.
RECONCILED = tuple(chart.CHANNEL_ACCOUNTS.values())


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``"YYYY-MM"``; a bad month is a RuleError on field ``month``."""
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise RuleError("month", f"月份格式须为 YYYY-MM：{month!r}（bad month）") from exc
    nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


@dataclass(frozen=True)
class Reconciliation:
    """One account at a month end: the ledger against the statement."""

    account: str
    month: str
    ledger_balance: Decimal
    statement_balance: Decimal
    entries: tuple[data.Transaction, ...]

    @property
    def difference(self) -> Decimal:
        """Statement less ledger; zero when they agree."""
        return self.statement_balance - self.ledger_balance

    @property
    def agrees(self) -> bool:
        return self.difference == 0


def reconcile(book: Book, account: str, month: str, statement_balance: Decimal) -> Reconciliation:
    """Compare an account's balance at the end of ``month`` with its statement.

    ``entries`` are the month's entries on the account, for a person to tick off against the
    statement when they disagree.
    """
    first, last = month_bounds(month)
    if account not in book.accounts:
        raise RuleError("account", f"没有科目 {account}（unknown account）")
    book.refresh()
    entries = tuple(
        t
        for t in book.ordered()
        if first <= t.date <= last and any(p.account == account for p in t.postings)
    )
    return Reconciliation(
        account, month, book.account_balance(account, until=month), statement_balance, entries
    )


@dataclass(frozen=True)
class CloseMonthCommand:
    """Close a month: the statement balance of each reconciled account, maker and checker."""

    month: str
    statements: dict[str, Decimal]
    entered_by: str
    approved_by: str


def _meta(*pairs: tuple[str, str]) -> str:
    return "".join(f"  {k}: {quote(v)}\n" for k, v in pairs)


def close_month(book: Book, cmd: CloseMonthCommand, *, now: dt.datetime) -> list[data.Directive]:
    """Lock a month whose accounts all agree with their statements.

    Raises:
        RuleError: the month is not over or already closed, an account with activity has no
            statement, a statement disagrees (the message names the account and the difference),
            or the approver is the person who asked.
    """
    _first, last = month_bounds(cmd.month)
    if last >= now.date():
        raise RuleError("month", f"{cmd.month} 尚未结束，不能结账（the month is not over）")
    if not cmd.approved_by or cmd.approved_by == cmd.entered_by:
        raise RuleError(
            "approved_by", "结账须由录入人以外的另一人批准（maker cannot approve）", "same_person"
        )

    def check(b: Book) -> None:
        if cmd.month in b.closed_months:
            raise RuleError("month", f"{cmd.month} 已结账（already closed）", "closed")
        for account in RECONCILED:
            balance = b.account_balance(account, until=cmd.month)
            statement = cmd.statements.get(account)
            if statement is None:
                if balance != ZERO:
                    raise RuleError(
                        "statements", f"缺少 {account} 的对账单余额（statement missing）"
                    )
                continue
            if statement != balance:
                diff = statement - balance
                raise RuleError(
                    "statements",
                    f"{account} 对账单余额 {format_cny(statement)}，账面 {format_cny(balance)}，"
                    f"相差 {format_cny(diff)}；请核对本月分录后再结账（the statement disagrees）",
                    "mismatch",
                )

    def render(b: Book) -> str:
        day = (last + dt.timedelta(days=1)).isoformat()
        lines = []
        for account in RECONCILED:
            if account in cmd.statements:
                lines.append(
                    f"{day} balance {account}  {format(cmd.statements[account], 'f')} CNY\n"
                )
        lines.append(f'{day} custom "period-close" {quote(cmd.month)}\n')
        lines.append(
            _meta(
                ("entered-by", cmd.entered_by),
                ("approved-by", cmd.approved_by),
                ("closed-at", now.isoformat(timespec="seconds")),
            )
        )
        return "".join(lines)

    return book.write_directives(f"close {cmd.month}", render, check=check)


def reopen_month(
    book: Book, month: str, reason: str, entered_by: str, *, now: dt.datetime
) -> list[data.Directive]:
    """Reopen a closed month (an administrator, with a reason recorded in the ledger).

    The balance assertions stay: they are the bank's word; entries touching a reconciled account
    before its assertion remain refused.
    """
    month_bounds(month)
    check_text("reason", reason, max_len=300, required=True)

    def check(b: Book) -> None:
        if month not in b.closed_months:
            raise RuleError("month", f"{month} 未结账，无需重新打开（not closed）")

    def render(b: Book) -> str:
        return f'{now.date().isoformat()} custom "period-reopen" {quote(month)}\n' + _meta(
            ("reason", reason),
            ("entered-by", entered_by),
            ("reopened-at", now.isoformat(timespec="seconds")),
        )

    return book.write_directives(f"reopen {month}", render, check=check)
