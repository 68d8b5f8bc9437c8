"""Use cases that write money facts: each builds an entry, lets the Book check it, and appends it.

Services take plain command objects and return :class:`WriteResult`; callers (forms, the API, the
CLI, imports) never build entries themselves, so every path runs the same rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from ledger import chart
from ledger.book import Book
from ledger.errors import EntryNotFoundError, RuleError
from ledger.model import ID_PATTERN, Fund, MetaValue, NewEntry, Posting, WriteResult
from ledger.money import format_cny, parse_amount
from ledger.render import check_text


@dataclass(frozen=True)
class DonationCommand:
    """A donation received. ``donor_public`` is the name as the donor chose to appear."""

    id: str
    date: dt.date
    amount: Decimal
    fund: str
    channel: str
    donor_ref: str
    donor_public: str
    entered_by: str
    note: str = ""
    source: str = "form"


@dataclass(frozen=True)
class ExpenseCommand:
    """Money paid out of a fund; written only once someone other than the maker approved it."""

    id: str
    date: dt.date
    amount: Decimal
    fund: str
    payee: str
    purpose: str
    entered_by: str
    approved_by: str = ""
    line: str = "programme"
    paid_from: str = "bank"
    request: str = ""
    source: str = "form"


@dataclass(frozen=True)
class ReversalCommand:
    """A correction: an entry that undoes an earlier one, linked to it, with a reason."""

    id: str
    date: dt.date
    original_id: str
    reason: str
    entered_by: str
    approved_by: str = ""
    source: str = "form"


def _fund(book: Book, slug: str) -> Fund:
    info = book.funds.get(slug)
    if info is None:
        raise RuleError("fund", f"没有名为 {slug!r} 的基金（unknown fund）", "unknown_fund")
    return info


def _channel_account(channel: str, field: str = "channel") -> str:
    account = chart.CHANNEL_ACCOUNTS.get(channel)
    if account is None:
        raise RuleError(
            field, f"收付渠道须为 {'/'.join(chart.CHANNEL_ACCOUNTS)} 之一（unknown channel）"
        )
    return account


def _approval(entered_by: str, approved_by: str) -> None:
    if not approved_by:
        raise RuleError(
            "approved_by", "支出须经审批后才能入账（approval required）", "approval_required"
        )
    if approved_by == entered_by:
        raise RuleError(
            "approved_by",
            "录入人不能审批自己录入的支出（maker cannot approve own request）",
            "same_person",
        )


# -- donations ----------------------------------------------------------------------------------


def donation_entry(book: Book, cmd: DonationCommand) -> NewEntry:
    """The entry for a donation: the channel's asset account against donation income."""
    fund = _fund(book, cmd.fund)
    if not ID_PATTERN.fullmatch(cmd.donor_ref):
        raise RuleError("donor", "捐赠人编号无效（bad donor reference）")
    check_text("donor", cmd.donor_public, max_len=100, required=True)
    check_text("note", cmd.note, max_len=300)
    amount = parse_amount(cmd.amount)
    income = chart.DONATION_INCOME[fund.restricted]
    tag = f"fund-{fund.slug}"
    meta: list[tuple[str, MetaValue]] = [
        ("kind", "donation"),
        ("donor", cmd.donor_ref),
        ("channel", cmd.channel),
        ("entered-by", cmd.entered_by),
        ("source", cmd.source),
    ]
    if cmd.note:
        meta.append(("note", cmd.note))
    return NewEntry(
        id=cmd.id,
        date=cmd.date,
        payee=cmd.donor_public,
        narration=f"捐赠：{fund.name}",
        postings=(
            Posting(_channel_account(cmd.channel), amount),
            Posting(income, -amount, (("fund", fund.slug),)),
        ),
        tags=frozenset({tag, "donation"}),
        links=frozenset({cmd.id}),
        meta=tuple(meta),
    )


def record_donation(book: Book, cmd: DonationCommand) -> WriteResult:
    """Write a donation to the ledger (idempotent by ``cmd.id``)."""
    return book.write(donation_entry(book, cmd))


# -- expenses -----------------------------------------------------------------------------------


def expense_entry(book: Book, cmd: ExpenseCommand) -> NewEntry:
    """The entry for an expense: the cost line against the account paid from."""
    fund = _fund(book, cmd.fund)
    check_text("payee", cmd.payee, max_len=200, required=True)
    check_text("purpose", cmd.purpose, max_len=300, required=True)
    expense = chart.EXPENSE_ACCOUNTS.get(cmd.line)
    if expense is None:
        raise RuleError(
            "line", f"费用类别须为 {'/'.join(chart.EXPENSE_ACCOUNTS)} 之一（unknown line）"
        )
    amount = parse_amount(cmd.amount)
    meta: list[tuple[str, MetaValue]] = [("kind", "expense"), ("entered-by", cmd.entered_by)]
    if cmd.approved_by:
        meta.append(("approved-by", cmd.approved_by))
    if cmd.request:
        meta.append(("request", cmd.request))
    meta.append(("source", cmd.source))
    return NewEntry(
        id=cmd.id,
        date=cmd.date,
        payee=cmd.payee,
        narration=cmd.purpose,
        postings=(
            Posting(expense, amount, (("fund", fund.slug),)),
            Posting(_channel_account(cmd.paid_from, "paid_from"), -amount),
        ),
        tags=frozenset({f"fund-{fund.slug}", "expense"}),
        links=frozenset({cmd.id}),
        meta=tuple(meta),
    )


def check_expense_request(book: Book, cmd: ExpenseCommand) -> None:
    """Everything but approval, checked when the request is made so it fails early and clearly."""
    book.dry_run(expense_entry(book, cmd))


def record_expense(book: Book, cmd: ExpenseCommand) -> WriteResult:
    """Write an approved expense (refused without an approver other than the maker)."""
    _approval(cmd.entered_by, cmd.approved_by)
    return book.write(expense_entry(book, cmd))


# -- reversals ----------------------------------------------------------------------------------


def reversal_entry(book: Book, cmd: ReversalCommand) -> NewEntry:
    """The entry that undoes ``cmd.original_id``: the same postings with opposite signs."""
    check_text("reason", cmd.reason, max_len=300, required=True)
    original = book.get(cmd.original_id)
    if original is None:
        raise EntryNotFoundError(cmd.original_id)
    meta = original.meta or {}
    if meta.get("reverses"):
        raise RuleError("original_id", "冲销分录不能再被冲销（a reversal cannot be reversed）")
    done = book.reversed_by(cmd.original_id)
    if done and done != cmd.id:
        raise RuleError(
            "original_id",
            f"分录 {cmd.original_id} 已由 {done} 冲销（already reversed）",
            "already_reversed",
        )
    postings = []
    for p in original.postings:
        if p.units is None or p.units.number is None:
            raise RuleError("original_id", "原分录含有未定金额的过账，无法自动冲销")
        pmeta = tuple((k, v) for k, v in (p.meta or {}).items() if k not in ("filename", "lineno"))
        postings.append(Posting(p.account, -p.units.number, pmeta))
    total = sum((p.amount for p in postings if p.amount > 0), Decimal(0))
    new_meta: list[tuple[str, MetaValue]] = [
        ("kind", "reversal"),
        ("reverses", cmd.original_id),
        ("reason", cmd.reason),
        ("entered-by", cmd.entered_by),
    ]
    if cmd.approved_by:
        new_meta.append(("approved-by", cmd.approved_by))
    new_meta.append(("source", cmd.source))
    tags = {t for t in (original.tags or ()) if t.startswith("fund-")} | {"reversal"}
    return NewEntry(
        id=cmd.id,
        date=cmd.date,
        payee=original.payee or "",
        narration=f"冲销 {cmd.original_id}（{format_cny(total)}）：{cmd.reason}",
        postings=tuple(postings),
        tags=frozenset(tags),
        links=frozenset({cmd.id, cmd.original_id}),
        meta=tuple(new_meta),
    )


def _reversal_field(exc: RuleError) -> RuleError:
    """A reversal has no amount of its own: a refusal about money points at the original entry."""
    if exc.field == "amount":
        return RuleError("original_id", exc.message, exc.code)
    return exc


def check_reversal_request(book: Book, cmd: ReversalCommand) -> None:
    """Everything but approval, for a reversal request awaiting an approver."""
    try:
        book.dry_run(reversal_entry(book, cmd))
    except RuleError as exc:
        raise _reversal_field(exc) from exc


def record_reversal(book: Book, cmd: ReversalCommand) -> WriteResult:
    """Write an approved reversal."""
    _approval(cmd.entered_by, cmd.approved_by)
    try:
        return book.write(reversal_entry(book, cmd))
    except RuleError as exc:
        raise _reversal_field(exc) from exc
