"""Use cases that write money facts: each builds an entry, lets the Book check it, and appends it.

Services take plain command objects and return :class:`WriteResult`; callers (forms, the API, the
CLI, imports) never build entries themselves, so every path runs the same rules.
"""

from __future__ import annotations

import datetime as dt
import secrets
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
    #: person / organisation / government: for "income by source" on the public site.
    donor_kind: str = "person"
    #: How the donor chose to appear: name / masked / anonymous (``donor_public`` is that form).
    display: str = "masked"
    #: money, or a gift in kind: goods (inventory) or fixed_asset, valued in CNY.
    form: str = "money"
    valuation_basis: str = ""
    valued_by: str = ""
    #: A named project a sponsor supports (corporate sponsorship), inside the fund.
    project: str = ""
    #: The bank / WeChat Pay / Alipay transaction id, so a statement row is never posted twice.
    ext_id: str = ""
    #: The pledge (kept in the database; pledges are not income until paid) this payment fulfils.
    pledge: str = ""
    #: The code printed on the confirmation; drawn at random when empty.
    verify: str = ""


DONOR_KINDS = ("person", "organisation", "government")
DISPLAYS = ("name", "masked", "anonymous")
IN_KIND_ACCOUNTS = {"goods": "Assets:1201-存货", "fixed_asset": "Assets:1501-固定资产"}


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
    check_text("project", cmd.project, max_len=100)
    amount = parse_amount(cmd.amount)
    if cmd.donor_kind not in DONOR_KINDS:
        raise RuleError("donor_kind", f"捐赠人类型须为 {'/'.join(DONOR_KINDS)} 之一")
    if cmd.display not in DISPLAYS:
        raise RuleError("display", f"公开方式须为 {'/'.join(DISPLAYS)} 之一")
    income = chart.DONATION_INCOME[fund.restricted]
    tag = f"fund-{fund.slug}"
    meta: list[tuple[str, MetaValue]] = [
        ("kind", "donation"),
        ("donor", cmd.donor_ref),
        ("donor-kind", cmd.donor_kind),
        ("display", cmd.display),
    ]
    if cmd.form == "money":
        asset = _channel_account(cmd.channel)
        meta.append(("channel", cmd.channel))
    elif cmd.form in IN_KIND_ACCOUNTS:
        asset = IN_KIND_ACCOUNTS[cmd.form]
        check_text("valuation_basis", cmd.valuation_basis, max_len=200, required=True)
        check_text("valued_by", cmd.valued_by, max_len=100, required=True)
        meta += [
            ("channel", "in-kind"),
            ("form", cmd.form),
            ("valuation-basis", cmd.valuation_basis),
            ("valued-by", cmd.valued_by),
        ]
    else:
        raise RuleError("form", "捐赠形式须为 money / goods / fixed_asset 之一（unknown form）")
    for key, value in (("project", cmd.project), ("pledge", cmd.pledge), ("ext-id", cmd.ext_id)):
        if value:
            if key != "project" and not ID_PATTERN.fullmatch(value):
                raise RuleError(
                    key.replace("-", "_"), f"{key} 只能由字母、数字、._- 组成，最长64位"
                )
            meta.append((key, value))
    verify = cmd.verify or secrets.token_hex(4).upper()
    if not verify.isalnum() or not verify.isascii() or len(verify) > 16:
        raise RuleError("verify", "校验码只能由字母和数字组成")
    meta += [("verify", verify), ("entered-by", cmd.entered_by), ("source", cmd.source)]
    if cmd.note:
        meta.append(("note", cmd.note))
    what = "实物捐赠" if cmd.form != "money" else "捐赠"
    narration = f"{what}：{fund.name}" + (f"·{cmd.project}" if cmd.project else "")
    return NewEntry(
        id=cmd.id,
        date=cmd.date,
        payee=cmd.donor_public,
        narration=narration,
        postings=(
            Posting(asset, amount),
            Posting(income, -amount, (("fund", fund.slug),)),
        ),
        tags=frozenset({tag, "donation"}),
        links=frozenset({cmd.id}),
        meta=tuple(meta),
    )


def _unique_ext_id(book: Book, entry: NewEntry) -> None:
    ext_id = next((v for k, v in entry.meta if k == "ext-id"), None)
    if isinstance(ext_id, str) and (found := book.by_ext_id(ext_id)) and found != entry.id:
        raise RuleError(
            "ext_id",
            f"交易号 {ext_id} 已入账为 {found}（this statement row is already recorded）",
            "duplicate",
        )


def record_donation(book: Book, cmd: DonationCommand) -> WriteResult:
    """Write a donation with the next confirmation number (idempotent by ``cmd.id``).

    Returns:
        The write result; ``extra["receipt"]`` is the confirmation number ``YYYY-NNNNNN``.
    """
    return book.write(donation_entry(book, cmd), check=_unique_ext_id, receipt=True)


def check_donation(book: Book, cmd: DonationCommand) -> None:
    """Every rule a donation must pass, without writing (for previews and imports)."""
    book.dry_run(donation_entry(book, cmd), check=_unique_ext_id)


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
