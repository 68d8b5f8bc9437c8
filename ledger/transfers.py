"""Moves between the fund's own money accounts (资金划转): WeChat Pay and Alipay balances withdrawn
to the bank, cash paid in at the bank, cash drawn for petty spending.

No fund's balance changes and nothing is income or spending, so the entry carries no fund; it is
still money leaving an account, so it is written only with a second person's approval, and it
may not take out more than the account holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from ledger import chart
from ledger.book import Book
from ledger.errors import RuleError
from ledger.model import MetaValue, NewEntry, Posting, WriteResult
from ledger.money import format_cny, parse_amount
from ledger.render import check_text


@dataclass(frozen=True)
class TransferCommand:
    """Money moved from one of the fund's accounts to another."""

    id: str
    date: dt.date
    amount: Decimal
    from_channel: str
    to_channel: str
    entered_by: str
    approved_by: str = ""
    note: str = ""
    request: str = ""
    source: str = "form"


def _account(channel: str, field: str) -> str:
    account = chart.CHANNEL_ACCOUNTS.get(channel)
    if account is None:
        raise RuleError(
            field, f"账户须为 {'/'.join(chart.CHANNEL_ACCOUNTS)} 之一（unknown account）"
        )
    return account


def transfer_entry(book: Book, cmd: TransferCommand) -> NewEntry:
    """The entry: the receiving account debited, the paying account credited.

    Raises:
        RuleError: unknown account (``from_channel`` / ``to_channel``), the same account on both
            sides, a bad amount or a bad note.
    """
    source = _account(cmd.from_channel, "from_channel")
    target = _account(cmd.to_channel, "to_channel")
    if source == target:
        raise RuleError("to_channel", "转出和转入不能是同一个账户（same account on both sides）")
    amount = parse_amount(cmd.amount)
    check_text("note", cmd.note, max_len=300)
    meta: list[tuple[str, MetaValue]] = [
        ("kind", "transfer"),
        ("entered-by", cmd.entered_by),
    ]
    if cmd.approved_by:
        meta.append(("approved-by", cmd.approved_by))
    if cmd.request:
        meta.append(("request", cmd.request))
    if cmd.note:
        meta.append(("note", cmd.note))
    meta.append(("source", cmd.source))
    names = chart.CHANNEL_NAMES
    return NewEntry(
        id=cmd.id,
        date=cmd.date,
        payee="",
        narration=f"资金划转：{names[cmd.from_channel]} → {names[cmd.to_channel]}",
        postings=(Posting(target, amount), Posting(source, -amount)),
        tags=frozenset({"transfer"}),
        links=frozenset({cmd.id}),
        meta=tuple(meta),
    )


def _covered(book: Book, entry: NewEntry) -> None:
    """The paying account holds the amount (run under the writers' lock, so two transfers
    cannot both take the same money)."""
    paying = next(p for p in entry.postings if p.amount < 0)
    held = book.account_balance(paying.account)
    if held < -paying.amount:
        name = book.accounts[paying.account].display if paying.account in book.accounts else ""
        raise RuleError(
            "amount",
            f"{name or paying.account}余额只有 {format_cny(held)}，"
            f"不能转出 {format_cny(-paying.amount)}（more than the account holds）",
            "insufficient_balance",
        )


def check_transfer_request(book: Book, cmd: TransferCommand) -> None:
    """Everything but approval, checked when the transfer is asked for."""
    book.dry_run(transfer_entry(book, cmd), check=_covered)


def record_transfer(book: Book, cmd: TransferCommand) -> WriteResult:
    """Write an approved transfer (refused without an approver other than the maker)."""
    if not cmd.approved_by:
        raise RuleError(
            "approved_by", "资金划转须经审批后才能入账（approval required）", "approval_required"
        )
    if cmd.approved_by == cmd.entered_by:
        raise RuleError(
            "approved_by",
            "录入人不能审批自己录入的划转（maker cannot approve own request）",
            "same_person",
        )
    return book.write(transfer_entry(book, cmd), check=_covered)
