"""The rules every entry must pass before it is written; each failure names its field."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from beancount.core import data

from ledger.errors import RuleError
from ledger.model import ID_PATTERN, NewEntry
from ledger.money import CENT, MAX_AMOUNT, format_cny
from ledger.render import check_text

if TYPE_CHECKING:
    from ledger.book import Book

_FUND_ROOTS = ("Income", "Expenses", "Equity")


def check_id(entry_id: str, field: str = "id") -> str:
    """Ids are idempotency keys and Beancount links: 1–64 of ``A-Z a-z 0-9 . _ -``."""
    if not isinstance(entry_id, str) or not ID_PATTERN.fullmatch(entry_id):
        raise RuleError(field, "编号只能由字母、数字、点、下划线和连字符组成，最长64位（bad id）")
    return entry_id


def check_date(book: Book, day: dt.date, *, today: dt.date, field: str = "date") -> None:
    """Not after today, and not in a closed month."""
    if day > today:
        raise RuleError(
            field, f"日期 {day.isoformat()} 晚于今天（date is in the future）", "future"
        )
    if book.is_closed(day):
        raise RuleError(
            field,
            f"{day.strftime('%Y年%m月')}已结账，不能再记入该月的分录；请在未结账的月份做更正分录"
            "（the period is closed）",
            "period_closed",
        )


def posting_fund(entry: NewEntry, meta: tuple[tuple[str, Any], ...]) -> str | None:
    """The fund of a posting of a new entry: its ``fund`` metadata, else the entry's fund tag."""
    for key, value in meta:
        if key == "fund" and isinstance(value, str):
            return value
    tags = [t[5:] for t in entry.tags if t.startswith("fund-")]
    return tags[0] if len(tags) == 1 else None


def fund_deltas(entry: NewEntry) -> dict[str, Decimal]:
    """How much each fund's balance changes by this entry (negative: the fund is spent)."""
    deltas: dict[str, Decimal] = defaultdict(Decimal)
    for p in entry.postings:
        if p.account.split(":", 1)[0] in _FUND_ROOTS:
            fund = posting_fund(entry, p.meta)
            if fund:
                deltas[fund] -= p.amount
    return deltas


def check_entry(book: Book, entry: NewEntry, *, today: dt.date) -> None:
    """The rules common to every entry the app writes.

    Balanced; accounts open on the date; amounts in cents within bounds; every income, expense
    and net-asset posting in exactly one known, open fund; no fund that holds donated money spent
    below zero; date not in the future nor in a closed month; text safe to write.
    """
    check_id(entry.id)
    check_text("payee", entry.payee, max_len=200)
    check_text("narration", entry.narration, max_len=500)
    for key, value in entry.meta:
        if isinstance(value, str):
            check_text(key, value, max_len=500)
    check_date(book, entry.date, today=today)
    if len(entry.postings) < 2:
        raise RuleError("postings", "一笔分录至少需要两个过账（at least two postings）")
    total = Decimal(0)
    for p in entry.postings:
        reconciled = book.asserted.get(p.account)
        if reconciled is not None and entry.date < reconciled:
            raise RuleError(
                "date",
                f"{p.account} 已按对账单核对至 {reconciled.isoformat()}，不能再记入此前的收付；"
                "请在未结账月份以冲销或更正分录处理（the account is reconciled to that date）",
                "reconciled",
            )
        info = book.accounts.get(p.account)
        if info is None or info.opened > entry.date or (info.closed and info.closed <= entry.date):
            raise RuleError(
                "account",
                f"科目 {p.account} 在 {entry.date.isoformat()} 未开立或已关闭"
                "（account not open on that date）",
                "account_closed",
            )
        if p.amount == 0 or p.amount != p.amount.quantize(CENT) or abs(p.amount) > MAX_AMOUNT:
            raise RuleError("amount", f"过账金额 {p.amount} 不是有效的金额（bad posting amount）")
        for key, value in p.meta:
            if isinstance(value, str):
                check_text(key, value, max_len=200)
        total += p.amount
        if p.account.split(":", 1)[0] in _FUND_ROOTS:
            _check_fund(book, entry, posting_fund(entry, p.meta))
    if total != 0:
        raise RuleError("postings", f"借贷不平衡，差额 {total}（the entry does not balance）")
    for fund, delta in fund_deltas(entry).items():
        fund_info = book.funds[fund]
        if delta >= 0 or fund_info.may_overdraw:
            continue
        balance = book.fund_balance(fund)
        # A back-dated spend must also leave every later month-end balance at or above zero.
        lowest, month = book.fund_lowest_balance_from(fund, entry.date.strftime("%Y-%m"))
        if min(balance, lowest) + delta < 0:
            when = "" if lowest >= balance else f"（{month} 月末仅余 {format_cny(lowest)}）"
            raise RuleError(
                "amount",
                f"基金「{fund_info.name}」余额 {format_cny(balance)}{when}，不足以支出 "
                f"{format_cny(-delta)}（fund {fund} would be overdrawn）",
                "fund_overdrawn",
            )


def _check_fund(book: Book, entry: NewEntry, fund: str | None) -> None:
    if fund is None:
        raise RuleError("fund", "收入、费用和净资产的每个过账都须属于一个基金（fund missing）")
    info = book.funds.get(fund)
    if info is None:
        raise RuleError("fund", f"没有名为 {fund} 的基金（unknown fund）", "unknown_fund")
    if info.opened > entry.date:
        raise RuleError(
            "fund", f"基金「{info.name}」在 {entry.date.isoformat()} 尚未设立（fund not open）"
        )


#: Metadata that may differ between two tries of the same request: who and when, by which path,
#: and what the store adds. Everything else (donor, note, channel, fund …) must match.
_VOLATILE_META = frozenset(
    {
        "id",
        "seq",
        "hash",
        "entered-at",
        "entered-by",
        "approved-by",
        "source",
        "filename",
        "lineno",
        # Given when the entry is written (the confirmation number) or drawn at random per try.
        "receipt",
        "verify",
    }
)


def _meta_key(items: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(
        sorted(
            (
                (k, Decimal(v) if isinstance(v, int) and not isinstance(v, bool) else v)
                for k, v in items
                if k not in _VOLATILE_META and not k.startswith("__")
            ),
            key=lambda kv: kv[0],
        )
    )


def fingerprint_new(entry: NewEntry) -> tuple[Any, ...]:
    """What must match for a repeated id to count as the same request."""
    return (
        entry.date,
        entry.payee,
        entry.narration,
        frozenset(entry.tags),
        frozenset(entry.links),
        _meta_key(entry.meta),
        tuple(sorted((p.account, p.amount, _meta_key(p.meta)) for p in entry.postings)),
    )


def fingerprint_parsed(txn: data.Transaction) -> tuple[Any, ...]:
    """The same fingerprint, of an entry already in the ledger."""
    return (
        txn.date,
        txn.payee or "",
        txn.narration or "",
        frozenset(txn.tags or ()),
        frozenset(txn.links or ()),
        _meta_key((txn.meta or {}).items()),
        tuple(
            sorted(
                (p.account, p.units.number, _meta_key((p.meta or {}).items()))
                for p in txn.postings
                if p.units is not None
            )
        ),
    )
