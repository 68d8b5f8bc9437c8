"""The month close (结账) where the database meets the ledger: reconcile, request, approve, reopen.

The money rules live in :mod:`ledger.periods`. Here a close is asked for by one person as an
:class:`~ledger_app.models.OutflowRequest` of kind ``"month-close"`` (payload ``{"month",
"statements": {account: "decimal string"}}``, amount ``"0.00"``), shown on the approvals page, and
written by :func:`approve_close_request` when another person approves it
(:func:`ledger_app.workflow.approve_request` dispatches here). Reopening is an administrator's act
with a reason; both are in the audit log and, as ``custom`` directives, in the ledger itself.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data
from sqlalchemy import select

from ledger import periods
from ledger.book import ZERO, Book
from ledger.errors import RuleError
from ledger.model import WriteResult
from ledger.money import format_cny
from ledger.render import check_text
from ledger_app.extensions import db
from ledger_app.models import OutflowRequest, RequestStatus
from ledger_app.security import audit

KIND = "month-close"
RECONCILED = periods.RECONCILED
_BALANCE = re.compile(r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")


def parse_balance(value: object, field: str) -> Decimal:
    """A statement balance typed by a person: may be zero or negative, at most two decimals."""
    if isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, str):
        text = value.strip().replace(",", "")
    else:
        raise RuleError(field, "对账单余额须为数字字符串（the balance must be a decimal string）")
    if not _BALANCE.fullmatch(text):
        raise RuleError(
            field, f"对账单余额格式不正确：{str(value)[:40]!r}（bad balance, e.g. 1234.56）"
        )
    return Decimal(text).quantize(Decimal("0.01"))


def account_label(book: Book, account: str) -> str:
    info = book.accounts.get(account)
    return info.display if info and info.display != account else account.rsplit(":", 1)[-1]


def last_month(today: dt.date) -> str:
    first = today.replace(day=1) - dt.timedelta(days=1)
    return first.strftime("%Y-%m")


# -- reconciliation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One reconciled account on the reconciliation page: None statement means not yet entered."""

    account: str
    label: str
    ledger_balance: Decimal
    statement_balance: Decimal | None
    entries: tuple[data.Transaction, ...]

    @property
    def difference(self) -> Decimal | None:
        if self.statement_balance is None:
            return None
        return self.statement_balance - self.ledger_balance

    @property
    def agrees(self) -> bool:
        return self.difference == 0


def reconcile_month(book: Book, month: str, statements: Mapping[str, Decimal | None]) -> list[Row]:
    """Every reconciled account at the end of ``month`` against its statement (if given)."""
    periods.month_bounds(month)
    rows = []
    for account in RECONCILED:
        if account not in book.accounts:
            continue
        given = statements.get(account)
        rec = periods.reconcile(book, account, month, given if given is not None else ZERO)
        rows.append(
            Row(account, account_label(book, account), rec.ledger_balance, given, rec.entries)
        )
    return rows


def reconcile_account(book: Book, account: str, month: str, statement: object) -> dict[str, object]:
    """One account against its statement, as plain JSON-able values (the API's reconcileAccount)."""
    balance = parse_balance(statement, "statement_balance")
    if account not in RECONCILED:
        raise RuleError("account", f"{account} 不是需要对账的现金、银行或支付账户（not reconciled)")
    rec = periods.reconcile(book, account, month, balance)
    return {
        "account": account,
        "month": month,
        "ledger_balance": str(rec.ledger_balance),
        "statement_balance": str(balance),
        "difference": str(rec.difference),
        "agrees": rec.agrees,
        "closed": month in book.closed_months,
        "entries": [] if rec.agrees else [_entry_json(t, account) for t in rec.entries],
    }


def _entry_json(txn: data.Transaction, account: str) -> dict[str, object]:
    amount = sum(
        (
            p.units.number
            for p in txn.postings
            if p.account == account and p.units is not None and p.units.number is not None
        ),
        ZERO,
    )
    return {
        "id": str((txn.meta or {}).get("id", "")),
        "date": txn.date.isoformat(),
        "narration": txn.narration,
        "amount": str(amount),
    }


def _check_statements(book: Book, month: str, statements: Mapping[str, Decimal]) -> None:
    """Refuse, naming the difference and the month's entries, unless every account agrees."""
    for row in reconcile_month(book, month, statements):
        if row.statement_balance is None:
            if row.ledger_balance != ZERO:
                raise RuleError(
                    "statements",
                    f"缺少 {row.label}（{row.account}）的对账单余额（statement missing）",
                    "missing",
                )
            continue
        diff = row.difference
        if diff:
            ids = "、".join(str((t.meta or {}).get("id", "")) for t in row.entries[:20]) or "无"
            raise RuleError(
                "statements",
                f"{row.account} 对账单余额 {format_cny(row.statement_balance)}，账面 "
                f"{format_cny(row.ledger_balance)}，相差 {format_cny(diff)}；本月该账户分录：{ids}"
                "（the statement disagrees）",
                "mismatch",
            )


# -- the close request --------------------------------------------------------------------------------


def pending_close(month: str) -> OutflowRequest | None:
    """The pending close request for this month, if any."""
    pending = db.session.scalars(
        select(OutflowRequest).where(
            OutflowRequest.kind == KIND, OutflowRequest.status == RequestStatus.PENDING.value
        )
    )
    return next((r for r in pending if r.payload.get("month") == month), None)


def request_close(
    book: Book,
    month: str,
    statements: Mapping[str, object],
    actor: str,
    *,
    source: str = "form",
) -> OutflowRequest:
    """Ask for a month to be closed with these statement balances; another person approves it.

    Everything the close will check is checked now too, so a mismatch is refused at once with
    the difference and the month's entries on that account; nothing is stored then.
    """
    _first, last = periods.month_bounds(month)
    if last >= book.clock().date():
        raise RuleError("month", f"{month} 尚未结束，不能结账（the month is not over）")
    book.refresh()
    if month in book.closed_months:
        raise RuleError("month", f"{month} 已结账（already closed）", "closed")
    parsed: dict[str, Decimal] = {}
    for account, value in statements.items():
        if account not in RECONCILED:
            raise RuleError(
                "statements", f"{account} 不是需要对账的账户（not a reconciled account）"
            )
        if value is None or value == "":
            continue
        parsed[account] = parse_balance(value, "statements")
    _check_statements(book, month, parsed)
    if pending_close(month) is not None:
        raise RuleError(
            "month", f"{month} 已有待审批的结账申请（a close is already pending）", "pending"
        )
    rid = f"close-{month}"
    if db.session.get(OutflowRequest, rid) is not None:
        rid = f"close-{month}-{secrets.token_hex(3)}"
    payload = {
        "month": month,
        "statements": {a: format(v, "f") for a, v in parsed.items()},
        "source": source,
    }
    summary = "；".join(f"{account_label(book, a)} {format_cny(v)}" for a, v in parsed.items())
    req = OutflowRequest(
        id=rid,
        kind=KIND,
        payload=payload,
        entered_by=actor,
        summary=f"结账 {month}（对账单余额：{summary or '无'}）"[:300],
        amount="0.00",
        fund="",
    )
    db.session.add(req)
    audit("request_close", target=rid, actor=actor, month=month, statements=payload["statements"])
    db.session.commit()
    return req


def approve_close_request(book: Book, req: OutflowRequest, approver: str) -> WriteResult:
    """Write the close: :func:`ledger.periods.close_month` re-checks everything under the lock."""
    month = str(req.payload["month"])
    cmd = periods.CloseMonthCommand(
        month=month,
        statements={a: Decimal(v) for a, v in req.payload.get("statements", {}).items()},
        entered_by=req.entered_by,
        approved_by=approver,
    )
    periods.close_month(book, cmd, now=book.clock())
    audit("close_month", target=month, actor=approver, request=req.id, entered_by=req.entered_by)
    return WriteResult(f"close-{month}", book.head_hash, book.seq)


def reopen(book: Book, month: str, reason: str, actor: str) -> None:
    """Reopen a closed month (administrators only; the caller checks the role)."""
    check_text("reason", reason, max_len=300, required=True)
    periods.reopen_month(book, month, reason.strip(), actor, now=book.clock())
    audit("reopen_month", target=month, actor=actor, reason=reason.strip())
    db.session.commit()


# -- history ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodEvent:
    """A close or a reopening, as the ledger records it."""

    kind: str  # "close" | "reopen"
    month: str
    date: dt.date
    entered_by: str
    approved_by: str
    at: str
    reason: str


def history(book: Book) -> list[PeriodEvent]:
    """Every close and reopening in the ledger, newest first."""
    book.refresh()
    events = []
    for entry in book.entries:
        if not isinstance(entry, data.Custom) or entry.type not in (
            "period-close",
            "period-reopen",
        ):
            continue
        if not entry.values:
            continue
        meta = entry.meta or {}
        closing = entry.type == "period-close"
        events.append(
            PeriodEvent(
                kind="close" if closing else "reopen",
                month=str(entry.values[0].value),
                date=entry.date,
                entered_by=str(meta.get("entered-by", "")),
                approved_by=str(meta.get("approved-by", "")),
                at=str(meta.get("closed-at" if closing else "reopened-at", "")),
                reason=str(meta.get("reason", "")),
            )
        )
    events.sort(key=lambda e: (e.at, e.date), reverse=True)
    return events


def reopenings(book: Book) -> list[PeriodEvent]:
    """The reopenings only (shown on the public site), newest first."""
    return [e for e in history(book) if e.kind == "reopen"]
