"""微创投 micro-grants in the ledger: award (a commitment), tranches, expense reports, close-out.

The accounting: an award reclassifies net assets of the fund into ``…:已承诺资助`` (committed), so
the fund's balance stays the same while its uncommitted balance falls. A tranche paid to the
grantee group is an advance (``Assets:1141-预付账款``), still the fund's money. An accepted expense
report turns advance into programme cost and releases that much commitment. The close-out takes
back unspent cash and releases what is left of the commitment. Every entry carries ``grant`` and
the link ``^grant-<id>``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ledger import chart
from ledger.book import ZERO, Book
from ledger.errors import RuleError
from ledger.model import ID_PATTERN, Fund, MetaValue, NewEntry, Posting, WriteResult
from ledger.money import format_cny, parse_amount
from ledger.render import check_text

ADVANCE = "Assets:1141-预付账款"
NET_ASSETS = {False: "Equity:3101-非限定性净资产", True: "Equity:3102-限定性净资产"}
KINDS = ("grant-award", "grant-disbursement", "grant-expense", "grant-close")
#: Which posting of each kind of grant entry carries its amount, and with which sign.
_COUNTED: dict[str, tuple[Callable[[str], bool], int]] = {
    "grant-award": (lambda account: account.endswith(":已承诺资助"), -1),
    "grant-disbursement": (lambda account: account == ADVANCE, 1),
    "grant-expense": (lambda account: account.startswith("Expenses:"), 1),
    "grant-close": (lambda account: account == ADVANCE, -1),
}


@dataclass(frozen=True)
class GrantTotals:
    """What the ledger says of one grant."""

    grant: str
    fund: str
    grantee: str
    awarded: Decimal
    disbursed: Decimal
    reported: Decimal
    returned: Decimal
    released: Decimal
    tranches: int
    closed: bool

    @property
    def outstanding(self) -> Decimal:
        """Paid to the grantee and not yet reported as spent nor returned."""
        return self.disbursed - self.reported - self.returned

    @property
    def undisbursed(self) -> Decimal:
        """Awarded but not yet paid."""
        return self.awarded - self.disbursed


def grant_totals(book: Book, grant: str, *, until: dt.date | None = None) -> GrantTotals | None:
    """Sum a grant's entries (those dated up to ``until`` when given, for a register as at a
    day); None if the ledger has no award for it by then."""
    entries = [t for t in book.grant_entries(grant) if until is None or t.date <= until]
    award = next((t for t in entries if (t.meta or {}).get("kind") == "grant-award"), None)
    if award is None:
        return None
    amounts = dict.fromkeys(KINDS, ZERO)
    released = ZERO
    tranches = 0
    for txn in entries:
        kind = str((txn.meta or {}).get("kind", ""))
        for p in txn.postings:
            number = p.units.number if p.units is not None and p.units.number is not None else ZERO
            sign = _COUNTED.get(kind, (None, 0))
            if sign[0] is not None and sign[0](p.account):
                amounts[kind] += sign[1] * number
            if kind in ("grant-expense", "grant-close") and p.account.endswith(":已承诺资助"):
                released += number
        tranches += kind == "grant-disbursement"
    meta = award.meta or {}
    return GrantTotals(
        grant=grant,
        fund=str(meta.get("fund", "")),
        grantee=award.payee or "",
        awarded=amounts["grant-award"],
        disbursed=amounts["grant-disbursement"],
        reported=amounts["grant-expense"],
        returned=amounts["grant-close"],
        released=released,
        tranches=tranches,
        closed=any((t.meta or {}).get("kind") == "grant-close" for t in entries),
    )


def uncommitted_balance(book: Book, fund: str) -> Decimal:
    """What a fund can still promise: its balance less what awarded grants have committed."""
    return book.fund_balance(fund) - book.committed(fund)


# -- commands -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwardCommand:
    """Award a grant: commit part of a fund to a grantee group's project."""

    id: str
    grant: str
    date: dt.date
    amount: Decimal | str
    fund: str
    grantee: str
    project: str
    entered_by: str
    approved_by: str = ""
    call: str = ""


@dataclass(frozen=True)
class DisbursementCommand:
    """Pay one tranche of an award to the grantee group."""

    id: str
    grant: str
    date: dt.date
    amount: Decimal | str
    entered_by: str
    approved_by: str
    paid_from: str = "bank"


@dataclass(frozen=True)
class ExpenseReportCommand:
    """Accept what the grantee reports spent, with receipts."""

    id: str
    grant: str
    date: dt.date
    amount: Decimal | str
    summary: str
    receipts: int
    entered_by: str
    approved_by: str = ""
    line: str = "programme"


@dataclass(frozen=True)
class CloseCommand:
    """Close a grant: unspent cash returned, what is left of the commitment released."""

    id: str
    grant: str
    date: dt.date
    returned: Decimal | str
    leftover: str
    entered_by: str
    approved_by: str = ""
    returned_to: str = "bank"


def _grant_id(grant: str) -> str:
    if not ID_PATTERN.fullmatch(grant) or len(grant) > 58:
        raise RuleError("grant", "项目编号只能由字母、数字、._- 组成（bad grant id）")
    return grant


def _approved(entered_by: str, approved_by: str) -> None:
    if not approved_by:
        raise RuleError(
            "approved_by", "须经审批后才能入账（approval required）", "approval_required"
        )
    if approved_by == entered_by:
        raise RuleError(
            "approved_by",
            "录入人不能审批自己录入的款项（maker cannot approve own request）",
            "same_person",
        )


def _open_grant(book: Book, grant: str) -> GrantTotals:
    totals = grant_totals(book, _grant_id(grant))
    if totals is None:
        raise RuleError(
            "grant", f"项目 {grant} 尚未获得资助（no award for this grant）", "not_awarded"
        )
    if totals.closed:
        raise RuleError("grant", f"项目 {grant} 已结项（the grant is closed）", "closed")
    return totals


def _at_most(
    grant: str,
    amount: Decimal | str,
    limit: Callable[[GrantTotals], Decimal],
    message: str,
    code: str,
) -> Callable[[Book, NewEntry], None]:
    """A check, run under the write lock, that ``amount`` is within ``limit`` of the grant."""

    def check(book: Book, _entry: NewEntry) -> None:
        totals = _open_grant(book, grant)
        value, most = parse_amount(amount), limit(totals)
        if value > most:
            text = message.format(amount=format_cny(value), limit=format_cny(most))
            raise RuleError("amount", text, code)

    return check


def _entry(
    cmd_id: str,
    grant: str,
    date: dt.date,
    payee: str,
    narration: str,
    kind: str,
    postings: tuple[Posting, ...],
    meta: list[tuple[str, MetaValue]],
    fund: str,
) -> NewEntry:
    return NewEntry(
        id=cmd_id,
        date=date,
        payee=payee,
        narration=narration,
        postings=postings,
        tags=frozenset({f"fund-{fund}", "grant"}),
        links=frozenset({cmd_id, f"grant-{grant}"}),
        meta=(("kind", kind), ("grant", grant), *meta),
    )


def _commit_postings(fund: Fund, amount: Decimal) -> tuple[Posting, Posting]:
    """Net assets of the fund into (positive ``amount``) or out of (negative) ``已承诺资助``."""
    main = NET_ASSETS[fund.restricted]
    tag = (("fund", fund.slug),)
    return Posting(main, amount, tag), Posting(main + ":已承诺资助", -amount, tag)


def award_entry(book: Book, cmd: AwardCommand) -> NewEntry:
    """The award: a reclassification of the fund's net assets into committed."""
    grant = _grant_id(cmd.grant)
    fund = book.funds.get(cmd.fund)
    if fund is None:
        raise RuleError("fund", f"没有名为 {cmd.fund} 的基金（unknown fund）", "unknown_fund")
    amount = parse_amount(cmd.amount)
    check_text("grantee", cmd.grantee, max_len=100, required=True)
    check_text("project", cmd.project, max_len=200, required=True)
    meta: list[tuple[str, MetaValue]] = [("fund", fund.slug)]
    if cmd.call:
        meta.append(("call", cmd.call))
    meta += [("entered-by", cmd.entered_by), ("approved-by", cmd.approved_by), ("source", "grant")]
    return _entry(
        cmd.id,
        grant,
        cmd.date,
        cmd.grantee,
        f"微创投资助：{cmd.project}",
        "grant-award",
        _commit_postings(fund, amount),
        meta,
        fund.slug,
    )


def award_grant(book: Book, cmd: AwardCommand) -> WriteResult:
    """Write an award, refused beyond the fund's uncommitted balance or for a grant awarded before."""
    _approved(cmd.entered_by, cmd.approved_by)
    entry = award_entry(book, cmd)

    def check(b: Book, e: NewEntry) -> None:
        existing = grant_totals(b, cmd.grant)
        if existing is not None:
            raise RuleError(
                "grant", f"项目 {cmd.grant} 已获资助（already awarded）", "already_awarded"
            )
        free = uncommitted_balance(b, cmd.fund)
        amount = parse_amount(cmd.amount)
        if amount > free:
            raise RuleError(
                "amount",
                f"基金「{b.funds[cmd.fund].name}」可承诺余额 {format_cny(free)}，不足以资助 "
                f"{format_cny(amount)}（above the fund's uncommitted balance）",
                "over_committed",
            )

    return book.write(entry, check=check)


def disbursement_entry(book: Book, cmd: DisbursementCommand) -> NewEntry:
    """A tranche: the fund's cash becomes an advance held by the grantee."""
    totals = _open_grant(book, cmd.grant)
    amount = parse_amount(cmd.amount)
    account = chart.CHANNEL_ACCOUNTS.get(cmd.paid_from)
    if account is None:
        raise RuleError("paid_from", "付款渠道须为 cash / bank / wechat / alipay 之一")
    tranche = totals.tranches + 1
    meta: list[tuple[str, MetaValue]] = [
        ("tranche", tranche),
        ("entered-by", cmd.entered_by),
        ("approved-by", cmd.approved_by),
        ("source", "grant"),
    ]
    return _entry(
        cmd.id,
        cmd.grant,
        cmd.date,
        totals.grantee,
        f"微创投第 {tranche} 期拨款",
        "grant-disbursement",
        (Posting(ADVANCE, amount, (("fund", totals.fund),)), Posting(account, -amount)),
        meta,
        totals.fund,
    )


def disburse(book: Book, cmd: DisbursementCommand) -> WriteResult:
    """Pay a tranche: approved by someone else, never beyond what remains of the award."""
    _approved(cmd.entered_by, cmd.approved_by)
    check = _at_most(
        cmd.grant,
        cmd.amount,
        lambda t: t.undisbursed,
        "拨款 {amount} 超过资助尚未拨付的 {limit}（above what remains of the award）",
        "over_award",
    )
    return book.write(disbursement_entry(book, cmd), check=check)


def expense_report_entry(book: Book, cmd: ExpenseReportCommand) -> NewEntry:
    """Accepted spending: advance becomes programme cost; that much commitment is released."""
    totals = _open_grant(book, cmd.grant)
    amount = parse_amount(cmd.amount)
    check_text("summary", cmd.summary, max_len=300, required=True)
    if cmd.receipts < 0 or cmd.receipts > 10000:
        raise RuleError("receipts", "票据张数不正确")
    expense = chart.EXPENSE_ACCOUNTS.get(cmd.line)
    if expense is None:
        raise RuleError("line", "费用类别须为 programme / admin / fundraising / other 之一")
    fund = book.funds[totals.fund]
    release = _commit_postings(fund, -amount)
    meta: list[tuple[str, MetaValue]] = [
        ("receipts", cmd.receipts),
        ("entered-by", cmd.entered_by),
        ("approved-by", cmd.approved_by),
        ("source", "grant"),
    ]
    return _entry(
        cmd.id,
        cmd.grant,
        cmd.date,
        totals.grantee,
        f"微创投支出报告：{cmd.summary}",
        "grant-expense",
        (
            Posting(expense, amount, (("fund", fund.slug),)),
            Posting(ADVANCE, -amount, (("fund", fund.slug),)),
            *release,
        ),
        meta,
        fund.slug,
    )


def accept_expense_report(book: Book, cmd: ExpenseReportCommand) -> WriteResult:
    """Accept an expense report, never more than the grantee holds of what was paid."""
    _approved(cmd.entered_by, cmd.approved_by)
    check = _at_most(
        cmd.grant,
        cmd.amount,
        lambda t: t.outstanding,
        "报告支出 {amount} 超过已拨付未报告的 {limit}（more than was disbursed）",
        "over_disbursed",
    )
    return book.write(expense_report_entry(book, cmd), check=check)


def close_entry(book: Book, cmd: CloseCommand) -> NewEntry:
    """The close-out: unspent cash back, the rest of the commitment released."""
    totals = _open_grant(book, cmd.grant)
    returned = (
        ZERO
        if str(cmd.returned).strip() in ("", "0", "0.00")
        else parse_amount(cmd.returned, field="returned")
    )
    check_text("leftover", cmd.leftover, max_len=300, required=True)
    account = chart.CHANNEL_ACCOUNTS.get(cmd.returned_to)
    if account is None:
        raise RuleError("returned_to", "退回渠道须为 cash / bank / wechat / alipay 之一")
    fund = book.funds[totals.fund]
    postings: list[Posting] = []
    if returned:
        postings += [
            Posting(account, returned),
            Posting(ADVANCE, -returned, (("fund", fund.slug),)),
        ]
    remaining = totals.awarded - totals.reported
    if remaining:
        postings += list(_commit_postings(fund, -remaining))
    if not postings:
        raise RuleError("grant", "没有需要结项处理的款项（nothing to close）")
    meta: list[tuple[str, MetaValue]] = [
        ("returned", returned),
        ("leftover", cmd.leftover),
        ("entered-by", cmd.entered_by),
        ("approved-by", cmd.approved_by),
        ("source", "grant"),
    ]
    return _entry(
        cmd.id,
        cmd.grant,
        cmd.date,
        totals.grantee,
        f"微创投结项：退回结余 {format_cny(returned)}",
        "grant-close",
        tuple(postings),
        meta,
        fund.slug,
    )


def close_grant(book: Book, cmd: CloseCommand) -> WriteResult:
    """Close a grant only when every yuan paid is reported spent or returned."""
    _approved(cmd.entered_by, cmd.approved_by)
    entry = close_entry(book, cmd)

    def check(b: Book, e: NewEntry) -> None:
        totals = _open_grant(b, cmd.grant)
        returned = next((v for k, v in e.meta if k == "returned"), ZERO)
        assert isinstance(returned, Decimal)
        if returned != totals.outstanding:
            raise RuleError(
                "returned",
                f"已拨付 {format_cny(totals.disbursed)}，已报告支出 {format_cny(totals.reported)}，"
                f"应退回 {format_cny(totals.outstanding)}，而不是 {format_cny(returned)}"
                "（money left unaccounted for）",
                "unaccounted",
            )

    return book.write(entry, check=check)
