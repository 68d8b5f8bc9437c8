"""The registers an auditor samples (donations, grants, canteen months, approvals, period closes
and reopenings), built from the ledger alone so the page, the CSV and the PDF show the same rows.

Each register is a function of the Book and a :class:`~ledger.financials.Period` that returns
frozen dataclass rows (``donation_rows`` …) and a :class:`Register`: the rows as cells under
:class:`Column` definitions, a totals row, a summary table where one helps (donations by fund),
a few facts for the heading and notes on how to recompute the figures with ``bean-query``.

What only the app's database knows (a grant call's title, a resident group's name, when an
approval was requested and the approver's note, the host charity's official receipt number) is
passed in by the caller as plain mappings; this module never imports Flask or the database.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from beancount.core import data

from ledger import canteen, chart, grants
from ledger.book import TZ, ZERO, Book, fund_of_posting
from ledger.financials import Period
from ledger.money import format_cny

Cell = str | Decimal | int | dt.date | dt.datetime | bool | None

#: Kinds of entry whose service writes them only with a second person's approval.
APPROVAL_KINDS: dict[str, str] = {
    "expense": "支出",
    "transfer": "资金划转",
    "reversal": "冲销",
    "grant-award": "微创投资助",
    "grant-disbursement": "微创投拨款",
    "grant-expense": "微创投支出报告",
    "grant-close": "微创投结项",
    "canteen-cost": "食堂成本",
    "canteen-feedback": "食堂反哺",
}
#: Labels of the other kinds an approval register may meet.
OTHER_KINDS: dict[str, str] = {
    "donation": "捐赠",
    "canteen-day": "食堂日营业",
    "canteen-stock": "食堂月末存货",
    "period-close": "结账",
}
DONOR_KINDS = {"person": "个人", "organisation": "单位", "government": "政府"}
CHANNELS = {**chart.CHANNEL_NAMES, "in-kind": "实物"}
FORMS = {"money": "货币资金", "goods": "实物（存货）", "fixed_asset": "实物（固定资产）"}
CASH_ACCOUNTS = frozenset(chart.CHANNEL_ACCOUNTS.values())

VALID, VOIDED, REVERSAL = "有效", "已冲销", "冲销"
SAME_PERSON = "录入人自行审批（entered and approved by the same person）"
NO_APPROVER = "支出未经审批（outflow without an approver）"
OTHER_DECIDER = "审批人与审批记录不符（approver differs from the request record）"


# -- the shape every register shares ------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a register, the same on the page, in the CSV and in the PDF.

    Attributes:
        key: the attribute of the row dataclass that fills it.
        zh: the Chinese heading.
        en: the English heading.
        kind: ``text``, ``amount`` (Decimal, right-aligned), ``count`` (int, right-aligned),
            ``date``, ``datetime``, ``month``, ``entry`` (an entry id, a link on the page) or
            ``bool``.
        width: relative width in the PDF.
    """

    key: str
    zh: str
    en: str
    kind: str = "text"
    width: float = 1.0

    @property
    def heading(self) -> str:
        """``日期 Date``: the CSV header cell."""
        return f"{self.zh} {self.en}"

    @property
    def numeric(self) -> bool:
        """Whether the column is a figure (right-aligned, totalled)."""
        return self.kind in ("amount", "count")


@dataclass(frozen=True)
class Table:
    """Rows of cells under columns, with an optional totals row and a mark per row.

    ``marks`` says why a row stands out (``reversed``, ``reversal``, ``flagged``) or is empty.
    """

    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    total: tuple[Cell, ...] | None = None
    marks: tuple[str, ...] = ()

    def mark(self, index: int) -> str:
        """The mark of row ``index`` (``""`` if none)."""
        return self.marks[index] if index < len(self.marks) else ""


@dataclass(frozen=True)
class Register:
    """One register for one period, ready for a page, a CSV file or a PDF."""

    name: str
    title: str
    title_en: str
    period: Period | None
    table: Table
    records: tuple[Any, ...]
    facts: tuple[tuple[str, str], ...] = ()
    summary_title: str = ""
    summary: Table | None = None
    notes: tuple[str, ...] = ()

    @property
    def period_label(self) -> str:
        """The period as printed, or 全部 (all) when the register covers the whole ledger."""
        return self.period.label if self.period is not None else "全部期间 all periods"


def cells(row: object, columns: Sequence[Column]) -> tuple[Cell, ...]:
    """A row dataclass as the cells of ``columns``."""
    return tuple(cast(Cell, getattr(row, c.key)) for c in columns)


def totals_row(columns: Sequence[Column], rows: Sequence[object], label: str) -> tuple[Cell, ...]:
    """Every numeric column summed over ``rows``; ``label`` in the first text column."""
    out: list[Cell] = []
    labelled = False
    for column in columns:
        if column.kind == "amount":
            out.append(sum((cast(Decimal, getattr(r, column.key)) for r in rows), ZERO))
        elif column.kind == "count":
            out.append(sum(int(getattr(r, column.key) or 0) for r in rows))
        elif not labelled and column.kind in ("text", "entry", "date", "month"):
            out.append(label)
            labelled = True
        else:
            out.append(None)
    return tuple(out)


def _table(
    columns: tuple[Column, ...],
    rows: Sequence[object],
    *,
    total: str = "",
    mark: Callable[[Any], str] | None = None,
) -> Table:
    return Table(
        columns=columns,
        rows=tuple(cells(r, columns) for r in rows),
        total=totals_row(columns, rows, total) if total else None,
        marks=tuple(mark(r) for r in rows) if mark is not None else (),
    )


# -- small readers ------------------------------------------------------------------------------


def _meta_str(meta: Mapping[str, Any] | None, key: str) -> str:
    value = (meta or {}).get(key)
    return "" if value is None else str(value)


def _number(posting: data.Posting) -> Decimal:
    units = posting.units
    if units is None or units.number is None:
        return ZERO
    return Decimal(units.number)


def _in(period: Period | None, day: dt.date) -> bool:
    return period is None or period.start <= day <= period.end


def _fund_name(book: Book, slug: str) -> str:
    fund = book.funds.get(slug)
    return fund.name if fund is not None else slug


def _timestamp(text: str) -> dt.datetime | None:
    """An ``entered-at`` style ISO timestamp, in China time; None when absent or unreadable."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(TZ) if moment.tzinfo is not None else moment.replace(tzinfo=TZ)


def _debits(txn: data.Transaction) -> Decimal:
    """The size of an entry: the sum of its debit postings."""
    return sum((n for p in txn.postings if (n := _number(p)) > 0), ZERO)


def _funds_text(book: Book, txn: data.Transaction) -> str:
    slugs: list[str] = []
    for p in txn.postings:
        slug = fund_of_posting(txn, p)
        if slug and slug not in slugs:
            slugs.append(slug)
    return "、".join(_fund_name(book, s) for s in slugs)


# -- donations ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DonationRow:
    """One donation, or one reversal of a donation, as the register shows it.

    ``amount`` is the donation income the entry books (negative for a reversal); ``linked`` is
    the reversing entry of a voided donation, or the donation a reversal undoes, and
    ``linked_on`` the date of that reversal.
    """

    date: dt.date
    entry_id: str
    receipt: str
    donor: str
    donor_id: str
    donor_kind: str
    fund: str
    fund_slug: str
    channel: str
    form: str
    valuation_basis: str
    amount: Decimal
    status: str
    linked: str
    linked_on: dt.date | None
    official: str = ""

    @property
    def is_reversal(self) -> bool:
        """Whether this row is the reversing entry itself."""
        return self.status == REVERSAL


DONATION_COLUMNS: tuple[Column, ...] = (
    Column("date", "日期", "Date", "date", 2.0),
    Column("entry_id", "分录编号", "Entry", "entry", 2.6),
    Column("receipt", "确认书编号", "Confirmation", "text", 2.1),
    Column("donor", "捐赠人（公开名）", "Donor (public)", "text", 2.0),
    Column("donor_id", "捐赠人编号", "Donor id", "text", 2.2),
    Column("donor_kind", "类型", "Kind", "text", 1.0),
    Column("fund", "基金", "Fund", "text", 2.0),
    Column("channel", "渠道", "Channel", "text", 1.4),
    Column("form", "形式", "Form", "text", 1.6),
    Column("valuation_basis", "估值依据", "Valuation basis", "text", 2.4),
    Column("amount", "金额", "Amount", "amount", 2.0),
    Column("status", "状态", "Status", "text", 1.1),
    Column("linked", "冲销关联分录", "Reversal link", "entry", 2.6),
    Column("linked_on", "冲销日期", "Reversed on", "date", 2.0),
    Column("official", "公益事业捐赠票据", "Official receipt", "text", 1.9),
)


@dataclass(frozen=True)
class DonationFundTotal:
    """One fund's donations in the period: how many, received, reversed and net."""

    fund: str
    fund_slug: str
    count: int
    received: Decimal
    reversals: int
    reversed: Decimal
    voided: int

    @property
    def net(self) -> Decimal:
        """Received less reversed: the fund's donation income of the period."""
        return self.received + self.reversed


DONATION_FUND_COLUMNS: tuple[Column, ...] = (
    Column("fund", "基金", "Fund", "text", 3.0),
    Column("count", "捐赠笔数", "Donations", "count", 1.4),
    Column("received", "收到捐赠", "Received", "amount", 2.0),
    Column("reversals", "冲销笔数", "Reversals", "count", 1.4),
    Column("reversed", "冲销金额", "Reversed", "amount", 2.0),
    Column("net", "净额", "Net", "amount", 2.0),
    Column("voided", "其中已作废", "Voided since", "count", 1.4),
)


def _income(txn: data.Transaction) -> tuple[Decimal, str]:
    """The donation income an entry books (credits positive) and the fund it goes to."""
    amount, fund = ZERO, ""
    for p in txn.postings:
        if p.account.startswith("Income:"):
            amount -= _number(p)
            fund = fund or (fund_of_posting(txn, p) or "")
    return amount, fund


def _donation_row(
    book: Book, txn: data.Transaction, original: data.Transaction, official: Mapping[str, str]
) -> DonationRow:
    """A row for ``txn``: the donation itself (``original is txn``) or a reversal of it."""
    meta, source = txn.meta or {}, original.meta or {}
    amount, slug = _income(txn)
    entry_id = _meta_str(meta, "id")
    receipt = _meta_str(source, "receipt")
    if original is txn:
        reversal_id = book.reversed_by(entry_id) or ""
        reversal = book.get(reversal_id) if reversal_id else None
        status = VOIDED if reversal is not None else VALID
        linked, linked_on = reversal_id if reversal is not None else "", None
        if reversal is not None:
            linked_on = reversal.date
    else:
        status, linked, linked_on = REVERSAL, _meta_str(source, "id"), txn.date
    channel = _meta_str(source, "channel")
    form = _meta_str(source, "form") or ("money" if channel != "in-kind" else "goods")
    kind = _meta_str(source, "donor-kind")
    return DonationRow(
        date=txn.date,
        entry_id=entry_id,
        receipt=receipt,
        donor=txn.payee or original.payee or "",
        donor_id=_meta_str(source, "donor"),
        donor_kind=DONOR_KINDS.get(kind, kind),
        fund=_fund_name(book, slug),
        fund_slug=slug,
        channel=CHANNELS.get(channel, channel),
        form=FORMS.get(form, form),
        valuation_basis=_meta_str(source, "valuation-basis"),
        amount=amount,
        status=status,
        linked=linked,
        linked_on=linked_on,
        official=official.get(receipt, "") if receipt else "",
    )


def donation_rows(
    book: Book, period: Period | None, *, official: Mapping[str, str] | None = None
) -> list[DonationRow]:
    """Every donation dated in ``period`` and every reversal of a donation dated in it.

    Args:
        book: the ledger.
        period: the days to cover (None: the whole ledger).
        official: confirmation number -> the host charity's official receipt (票据代码-号码),
            kept in the app's database.

    Returns:
        Rows in date order, then by order of writing.
    """
    rows = []
    for txn in book.ordered():
        if not _in(period, txn.date):
            continue
        meta = txn.meta or {}
        kind = meta.get("kind")
        if kind == "donation":
            rows.append(_donation_row(book, txn, txn, official or {}))
        elif kind == "reversal":
            original = book.get(_meta_str(meta, "reverses"))
            if original is not None and (original.meta or {}).get("kind") == "donation":
                rows.append(_donation_row(book, txn, original, official or {}))
    return rows


def donation_totals(book: Book, rows: Iterable[DonationRow]) -> list[DonationFundTotal]:
    """The rows summed by fund, in the order the ledger declares its funds."""
    sums: dict[str, list[Any]] = {}
    for row in rows:
        acc = sums.setdefault(row.fund_slug, [0, ZERO, 0, ZERO, 0])
        if row.is_reversal:
            acc[2] += 1
            acc[3] += row.amount
        else:
            acc[0] += 1
            acc[1] += row.amount
            acc[4] += row.status == VOIDED
    order = {slug: i for i, slug in enumerate(book.funds)}
    return [
        DonationFundTotal(_fund_name(book, slug), slug, a[0], a[1], a[2], a[3], a[4])
        for slug, a in sorted(sums.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    ]


def donation_register(
    book: Book, period: Period | None, *, official: Mapping[str, str] | None = None
) -> Register:
    """The donations register (捐赠登记簿) of ``period``."""
    rows = donation_rows(book, period, official=official)
    by_fund = donation_totals(book, rows)
    donations = [r for r in rows if not r.is_reversal]
    net = sum((r.amount for r in rows), ZERO)
    where = _bql_dates(period)
    return Register(
        name="donations",
        title="捐赠登记簿",
        title_en="Donations register",
        period=period,
        table=_table(DONATION_COLUMNS, rows, total="合计 Total", mark=_donation_mark),
        records=tuple(rows),
        facts=(
            ("捐赠笔数 Donations", str(len(donations))),
            ("已作废 Voided", str(sum(r.status == VOIDED for r in donations))),
            ("冲销分录 Reversals", str(len(rows) - len(donations))),
            ("捐赠收入净额 Net donation income", format_cny(net)),
        ),
        summary_title="按基金汇总 Totals by fund",
        summary=_table(DONATION_FUND_COLUMNS, by_fund, total="合计 Total"),
        notes=(
            "金额为分录记入捐赠收入（Income:4101）的数额；冲销分录为负数，记在冲销当天的期间。"
            "Amounts are the donation income each entry books; a reversal is negative and "
            "falls in the period of its own date.",
            "状态：有效 = 未被冲销；已冲销 = 捐赠已由“冲销关联分录”冲销（确认书编号作废）；"
            "冲销 = 冲销分录本身。",
            "复核 Recompute: bean-query main.beancount \"SELECT entry_meta('receipt'), date, "
            f"payee, number WHERE entry_meta('kind') = 'donation' AND account ~ '^Income'{where}\"",
        ),
    )


def _donation_mark(row: DonationRow) -> str:
    if row.is_reversal:
        return "reversal"
    return "reversed" if row.status == VOIDED else ""


# -- grants ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantRow:
    """One micro-grant as at the end of the period: figures from the ledger, names from the app.

    The fields of :class:`reports.grant_register.GrantRegisterRow` are all here, under the same
    names, so the grant register PDF is built from these rows.
    """

    grant: str
    call: str
    group: str
    fund: str
    fund_slug: str
    awarded: Decimal
    disbursed: Decimal
    reported: Decimal
    returned: Decimal
    outstanding: Decimal
    tranches: int
    status: str
    award_entry: str
    awarded_on: dt.date | None = None
    last_disbursed_on: dt.date | None = None
    closed_on: dt.date | None = None


GRANT_COLUMNS: tuple[Column, ...] = (
    Column("grant", "项目编号", "Grant", "text", 1.6),
    Column("call", "征集", "Call", "text", 2.2),
    Column("group", "申请团体", "Group", "text", 2.6),
    Column("fund", "基金", "Fund", "text", 1.8),
    Column("awarded", "资助金额", "Awarded", "amount", 1.8),
    Column("disbursed", "已拨付", "Disbursed", "amount", 1.8),
    Column("reported", "已报告支出", "Reported spent", "amount", 1.8),
    Column("returned", "退回", "Returned", "amount", 1.6),
    Column("outstanding", "待报告", "Outstanding", "amount", 1.6),
    Column("tranches", "拨款期数", "Tranches", "count", 1.0),
    Column("status", "状态", "Status", "text", 1.1),
    Column("awarded_on", "资助日", "Awarded on", "date", 1.9),
    Column("last_disbursed_on", "最近拨款日", "Last paid", "date", 1.9),
    Column("closed_on", "结项日", "Closed on", "date", 1.9),
    Column("award_entry", "资助分录", "Award entry", "entry", 2.4),
)


def _grant_row(
    book: Book,
    grant: str,
    entries: Sequence[data.Transaction],
    totals: grants.GrantTotals,
    calls: Mapping[str, str],
    groups: Mapping[str, str],
) -> GrantRow:
    def dates(kind: str) -> list[dt.date]:
        return [t.date for t in entries if (t.meta or {}).get("kind") == kind]

    award = next((t for t in entries if (t.meta or {}).get("kind") == "grant-award"), None)
    award_meta = award.meta if award is not None else {}
    status = "已结项" if totals.closed else "执行中" if totals.disbursed else "待拨款"
    return GrantRow(
        grant=grant,
        call=calls.get(grant) or _meta_str(award_meta, "call"),
        group=groups.get(grant) or totals.grantee,
        fund=_fund_name(book, totals.fund),
        fund_slug=totals.fund,
        awarded=totals.awarded,
        disbursed=totals.disbursed,
        reported=totals.reported,
        returned=totals.returned,
        outstanding=totals.outstanding,
        tranches=totals.tranches,
        status=status,
        award_entry=_meta_str(award_meta, "id"),
        awarded_on=min(dates("grant-award"), default=None),
        last_disbursed_on=max(dates("grant-disbursement"), default=None),
        closed_on=max(dates("grant-close"), default=None),
    )


def grant_rows(
    book: Book,
    period: Period | None,
    *,
    calls: Mapping[str, str] | None = None,
    groups: Mapping[str, str] | None = None,
) -> list[GrantRow]:
    """Every grant open during ``period``, with its figures as at the period's end.

    A grant is listed when it was awarded by the end of the period and was not closed before it
    began (a grant closed earlier has nothing left to audit in this period).

    Args:
        book: the ledger.
        period: the days to cover (None: every grant, as the ledger stands).
        calls: grant id -> the call's title (from the app's database); else the award's ``call``.
        groups: grant id -> the applicant group's name; else the award's payee.

    Returns:
        Rows by award date, then grant id.
    """
    rows = []
    until = None if period is None else period.end
    for grant in book.grant_ids():
        totals = grants.grant_totals(book, grant, until=until)
        if totals is None:
            continue
        entries = [t for t in book.grant_entries(grant) if until is None or t.date <= until]
        closed = [t.date for t in entries if (t.meta or {}).get("kind") == "grant-close"]
        if period is not None and closed and max(closed) < period.start:
            continue
        rows.append(_grant_row(book, grant, entries, totals, calls or {}, groups or {}))
    rows.sort(key=lambda r: (r.awarded_on or dt.date.min, r.grant))
    return rows


def grant_register(
    book: Book,
    period: Period | None,
    *,
    calls: Mapping[str, str] | None = None,
    groups: Mapping[str, str] | None = None,
) -> Register:
    """The micro-grant register (微创投项目台账) of ``period``."""
    rows = grant_rows(book, period, calls=calls, groups=groups)
    as_at = f"截至 {period.end.isoformat()} as at" if period is not None else "截至目前 to date"
    return Register(
        name="grants",
        title="微创投项目台账",
        title_en="Micro-grant register",
        period=period,
        table=_table(GRANT_COLUMNS, rows, total="合计 Total"),
        records=tuple(rows),
        facts=(
            ("项目 Grants", str(len(rows))),
            ("已结项 Closed", str(sum(r.closed_on is not None for r in rows))),
            ("金额 Figures", as_at),
        ),
        notes=(
            "列出期末前已获资助、且未在期初前结项的项目；金额为截至期末的累计数。"
            "Grants awarded by the period's end and not closed before it began; figures are "
            "cumulative to the period's end.",
            "待报告 = 已拨付 - 已报告支出 - 退回（Assets:1141-预付账款 中项目组尚未报账的预付款）。",
            '复核 Recompute: bean-query main.beancount "SELECT sum(number) WHERE '
            "'grant-<项目编号>' IN links AND account ~ '^Expenses'\" （已报告支出 reported）",
        ),
    )


# -- canteen months -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CanteenMonthRow:
    """One month of the shared canteen: meals, sales, subsidies, costs, surplus, 反哺, closed."""

    month: str
    meals_elder: int
    meals_standard: int
    meals_staff: int
    meals_group: int
    meals: int
    sales: Decimal
    subsidies: Decimal
    other_income: Decimal
    costs: Decimal
    surplus: Decimal
    fed_back: Decimal
    feedback_entry: str
    closed: bool


CANTEEN_COLUMNS: tuple[Column, ...] = (
    Column("month", "月份", "Month", "month", 1.3),
    Column("meals_elder", "长者优惠餐", "Elder meals", "count", 1.2),
    Column("meals_standard", "标准餐", "Standard", "count", 1.1),
    Column("meals_staff", "员工餐", "Staff", "count", 1.0),
    Column("meals_group", "团餐", "Group", "count", 1.0),
    Column("meals", "合计份数", "Meals", "count", 1.1),
    Column("sales", "餐费收入", "Sales", "amount", 1.8),
    Column("subsidies", "餐费补贴", "Subsidies", "amount", 1.7),
    Column("other_income", "其他收入", "Other income", "amount", 1.5),
    Column("costs", "成本合计", "Costs", "amount", 1.8),
    Column("surplus", "盈余", "Surplus", "amount", 1.7),
    Column("fed_back", "反哺", "Fed back", "amount", 1.6),
    Column("feedback_entry", "反哺分录", "Transfer entry", "entry", 2.4),
    Column("closed", "已结账", "Closed", "bool", 0.9),
)


def canteen_rows(book: Book, period: Period | None) -> list[CanteenMonthRow]:
    """Each month of ``period`` in which the canteen has entries (whole months: a period that
    starts or ends inside a month still shows that month's full figures).

    Figures come from :func:`ledger.canteen.canteen_month`, the month report's own numbers.
    """
    active = sorted({t.date.strftime("%Y-%m") for t in book.ordered(canteen.FUND)})
    if period is not None:
        first, last = period.start.strftime("%Y-%m"), period.end.strftime("%Y-%m")
        active = [m for m in active if first <= m <= last]
    rows = []
    for month in active:
        figures = canteen.canteen_month(book, month, compare=0)
        transfer = book.get(canteen.feedback_id(month))
        rows.append(
            CanteenMonthRow(
                month=month,
                meals_elder=figures.meals.get("elder", 0),
                meals_standard=figures.meals.get("standard", 0),
                meals_staff=figures.meals.get("staff", 0),
                meals_group=figures.meals.get("group", 0),
                meals=figures.total_meals,
                sales=figures.total_revenue,
                subsidies=figures.total_subsidies,
                other_income=figures.other_income,
                costs=figures.total_costs,
                surplus=figures.surplus,
                fed_back=figures.fed_back,
                feedback_entry=_meta_str(transfer.meta, "id") if transfer is not None else "",
                closed=month in book.closed_months,
            )
        )
    return rows


def canteen_register(book: Book, period: Period | None) -> Register:
    """The canteen's months (共享食堂月度登记簿) of ``period``."""
    rows = canteen_rows(book, period)
    return Register(
        name="canteen",
        title="共享食堂月度登记簿",
        title_en="Shared canteen by month",
        period=period,
        table=_table(CANTEEN_COLUMNS, rows, total="合计 Total"),
        records=tuple(rows),
        facts=(
            ("月份 Months", str(len(rows))),
            ("已结账 Closed", str(sum(r.closed for r in rows))),
            ("盈余合计 Surplus", format_cny(sum((r.surplus for r in rows), ZERO))),
            ("反哺合计 Fed back", format_cny(sum((r.fed_back for r in rows), ZERO))),
        ),
        notes=(
            "数字取自共享食堂基金（canteen）的分录，与食堂月报相同；盈余 = 餐费收入 + 补贴 + "
            "其他收入 - 成本。Figures of the canteen fund, as in the canteen's month report.",
            "反哺为当月记账的、由食堂净资产转入微基金的金额。Fed back: the 反哺 transfer booked "
            "in the month.",
            '复核 Recompute: bean-query main.beancount "SELECT sum(number) WHERE account = '
            "'Income:4301-提供服务收入' AND year = 2026 AND month = 3\" （餐费收入取负数 "
            "sales, negated）",
        ),
    )


# -- approvals ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestInfo:
    """What the app's database knows of an approval: the request behind an entry.

    Times are in China time (the caller converts the database's UTC).
    """

    request_id: str
    requested_at: dt.datetime | None
    decided_at: dt.datetime | None
    decided_by: str
    note: str = ""


@dataclass(frozen=True)
class ApprovalRow:
    """One entry that needed or carries a second person's approval, and anything wrong with it."""

    date: dt.date
    entry_id: str
    kind: str
    summary: str
    fund: str
    amount: Decimal | None
    entered_by: str
    entered_at: dt.datetime | None
    approved_by: str
    request_id: str
    requested_at: dt.datetime | None
    decided_at: dt.datetime | None
    decision_note: str
    flag: str

    @property
    def flagged(self) -> bool:
        """Whether the row breaks the maker–checker rule (or disagrees with its request)."""
        return bool(self.flag)


APPROVAL_COLUMNS: tuple[Column, ...] = (
    Column("date", "日期", "Date", "date", 2.0),
    Column("entry_id", "分录编号", "Entry", "entry", 2.5),
    Column("kind", "类型", "Kind", "text", 1.5),
    Column("summary", "摘要", "Summary", "text", 3.2),
    Column("fund", "基金", "Fund", "text", 1.7),
    Column("amount", "金额", "Amount", "amount", 1.7),
    Column("entered_by", "录入人", "Entered by", "text", 1.5),
    Column("entered_at", "录入时间", "Entered at", "datetime", 1.9),
    Column("approved_by", "审批人", "Approved by", "text", 1.5),
    Column("request_id", "申请编号", "Request", "text", 2.2),
    Column("requested_at", "申请时间", "Requested at", "datetime", 1.9),
    Column("decided_at", "审批时间", "Decided at", "datetime", 1.9),
    Column("decision_note", "审批意见", "Decision note", "text", 1.8),
    Column("flag", "异常", "Exception", "text", 2.2),
)


def is_outflow(txn: data.Transaction) -> bool:
    """Whether an entry must carry an approval: a kind its service writes only once approved,
    or any entry that pays money out of a cash, bank or payment account."""
    kind = _meta_str(txn.meta, "kind")
    if kind in APPROVAL_KINDS:
        return True
    return any(p.account in CASH_ACCOUNTS and _number(p) < 0 for p in txn.postings)


def _flag(entered_by: str, approved_by: str, needs: bool, info: RequestInfo | None) -> str:
    if not approved_by:
        return NO_APPROVER if needs else ""
    if approved_by == entered_by:
        return SAME_PERSON
    if info is not None and info.decided_by and info.decided_by != approved_by:
        return OTHER_DECIDER
    return ""


def _approval_txn(
    book: Book, txn: data.Transaction, requests: Mapping[str, RequestInfo]
) -> ApprovalRow | None:
    meta = txn.meta or {}
    approved_by = _meta_str(meta, "approved-by")
    needs = is_outflow(txn)
    if not approved_by and not needs:
        return None
    entry_id = _meta_str(meta, "id")
    info = requests.get(entry_id) or requests.get(_meta_str(meta, "request"))
    entered_by = _meta_str(meta, "entered-by")
    kind = _meta_str(meta, "kind")
    return ApprovalRow(
        date=txn.date,
        entry_id=entry_id,
        kind=APPROVAL_KINDS.get(kind) or OTHER_KINDS.get(kind) or kind or "—",
        summary=" ".join(x for x in (txn.payee, txn.narration) if x),
        fund=_funds_text(book, txn),
        amount=_debits(txn),
        entered_by=entered_by,
        entered_at=_timestamp(_meta_str(meta, "entered-at")),
        approved_by=approved_by,
        request_id=info.request_id if info else "",
        requested_at=info.requested_at if info else None,
        decided_at=info.decided_at if info else None,
        decision_note=info.note if info else "",
        flag=_flag(entered_by, approved_by, needs, info),
    )


def _approval_close(close: data.Custom, requests: Mapping[str, RequestInfo]) -> ApprovalRow:
    meta = close.meta or {}
    month = str(close.values[0].value)
    info = requests.get(f"close-{month}")
    entered_by, approved_by = _meta_str(meta, "entered-by"), _meta_str(meta, "approved-by")
    return ApprovalRow(
        date=close.date,
        entry_id="",
        kind=OTHER_KINDS["period-close"],
        summary=f"结账 {month}",
        fund="",
        amount=None,
        entered_by=entered_by,
        entered_at=_timestamp(_meta_str(meta, "closed-at")),
        approved_by=approved_by,
        request_id=info.request_id if info else "",
        requested_at=info.requested_at if info else None,
        decided_at=info.decided_at if info else None,
        decision_note=info.note if info else "",
        # A close always needs a second person (ledger.periods.close_month).
        flag=_flag(entered_by, approved_by, True, info),
    )


def approval_rows(
    book: Book, period: Period | None, *, requests: Mapping[str, RequestInfo] | None = None
) -> list[ApprovalRow]:
    """Every entry dated in ``period`` that carries ``approved-by`` or pays money out, and every
    month close written in it, flagged where the maker approved their own entry, an outflow has
    no approver, or the approver differs from the request's record.

    Args:
        book: the ledger.
        period: the days to cover (None: the whole ledger).
        requests: entry id (or the entry's ``request`` metadata; ``close-YYYY-MM`` for a month
            close) -> the approval request in the app's database.
    """
    known = requests or {}
    rows = []
    for txn in book.ordered():
        if _in(period, txn.date) and (row := _approval_txn(book, txn, known)) is not None:
            rows.append(row)
    for entry in book.entries:
        if (
            isinstance(entry, data.Custom)
            and entry.type == "period-close"
            and entry.values
            and _in(period, entry.date)
        ):
            rows.append(_approval_close(entry, known))
    rows.sort(key=lambda r: r.date)
    return rows


def approval_register(
    book: Book, period: Period | None, *, requests: Mapping[str, RequestInfo] | None = None
) -> Register:
    """The approvals register (审批登记簿) of ``period``."""
    rows = approval_rows(book, period, requests=requests)
    flagged = [r for r in rows if r.flagged]
    return Register(
        name="approvals",
        title="审批登记簿",
        title_en="Approvals register",
        period=period,
        table=_table(APPROVAL_COLUMNS, rows, mark=lambda r: "flagged" if r.flagged else ""),
        records=tuple(rows),
        facts=(
            ("经审批事项 Approvals", str(len(rows))),
            ("异常 Exceptions", str(len(flagged))),
        ),
        notes=(
            "列出期间内带有 approved-by 的分录、所有付出资金的分录和结账。录入人与审批人相同、"
            "付款未经审批，或审批人与审批记录不符的，在“异常”栏标出。Every entry carrying "
            "approved-by, every entry paying money out, and every month close; exceptions "
            "are flagged.",
            "金额为分录借方合计。申请时间、审批时间与审批意见取自应用数据库的审批记录。"
            "Amount: the entry's debits. Request times and notes come from the app's records.",
            '复核 Recompute: bean-query main.beancount "SELECT DISTINCT date, '
            "entry_meta('id'), entry_meta('entered-by'), entry_meta('approved-by') WHERE "
            "entry_meta('approved-by') IS NOT NULL\"",
        ),
    )


# -- period closes and reopenings -----------------------------------------------------------------


@dataclass(frozen=True)
class PeriodEventRow:
    """A month close or a reopening, with the balance assertions the close wrote."""

    event: str
    month: str
    date: dt.date
    entered_by: str
    approved_by: str
    at: dt.datetime | None
    reason: str
    cash: Decimal | None
    bank: Decimal | None
    wechat: Decimal | None
    alipay: Decimal | None
    state: str


PERIOD_COLUMNS: tuple[Column, ...] = (
    Column("month", "月份", "Month", "month", 1.3),
    Column("event", "事项", "Event", "text", 1.3),
    Column("date", "指令日期", "Dated", "date", 1.9),
    Column("entered_by", "申请人", "Entered by", "text", 1.5),
    Column("approved_by", "批准人", "Approved by", "text", 1.5),
    Column("at", "操作时间", "At", "datetime", 2.0),
    Column("reason", "原因", "Reason", "text", 2.8),
    Column("cash", "库存现金", "Cash", "amount", 1.8),
    Column("bank", "银行存款", "Bank", "amount", 1.9),
    Column("wechat", "微信支付", "WeChat Pay", "amount", 1.8),
    Column("alipay", "支付宝", "Alipay", "amount", 1.8),
    Column("state", "目前状态", "Now", "text", 1.3),
)


def period_rows(book: Book, period: Period | None) -> list[PeriodEventRow]:
    """Every ``period-close`` and ``period-reopen`` of a month inside ``period``.

    A close's balance assertions are the ``balance`` directives on the cash, bank and payment
    accounts dated the close's own day (the first of the next month): ledger.periods writes them
    together, and two assertions of one account on one day must agree for bean-check to pass.
    """
    balances: dict[dt.date, dict[str, Decimal]] = defaultdict(dict)
    events: list[data.Custom] = []
    for entry in book.entries:
        if isinstance(entry, data.Balance) and entry.account in CASH_ACCOUNTS:
            number = entry.amount.number
            if number is not None:
                balances[entry.date][entry.account] = Decimal(number)
        elif (
            isinstance(entry, data.Custom)
            and entry.type in ("period-close", "period-reopen")
            and entry.values
        ):
            events.append(entry)
    first = period.start.strftime("%Y-%m") if period is not None else ""
    last = period.end.strftime("%Y-%m") if period is not None else "9999-99"
    rows = []
    for entry in events:
        month = str(entry.values[0].value)
        if not first <= month <= last:
            continue
        meta = entry.meta or {}
        closing = entry.type == "period-close"
        asserted = balances.get(entry.date, {}) if closing else {}
        rows.append(
            PeriodEventRow(
                event="结账" if closing else "重新打开",
                month=month,
                date=entry.date,
                entered_by=_meta_str(meta, "entered-by"),
                approved_by=_meta_str(meta, "approved-by"),
                at=_timestamp(_meta_str(meta, "closed-at" if closing else "reopened-at")),
                reason=_meta_str(meta, "reason"),
                state="已结账" if month in book.closed_months else "未结账",
                **{
                    channel: asserted.get(account)
                    for channel, account in chart.CHANNEL_ACCOUNTS.items()
                },
            )
        )
    rows.sort(key=lambda r: (r.month, r.at or dt.datetime.min.replace(tzinfo=TZ), r.date))
    return rows


def period_register(book: Book, period: Period | None) -> Register:
    """The register of month closes and reopenings (结账与重新打开登记簿) of ``period``."""
    rows = period_rows(book, period)
    closes = [r for r in rows if r.event == "结账"]
    return Register(
        name="closes",
        title="结账与重新打开登记簿",
        title_en="Period closes and reopenings",
        period=period,
        table=_table(PERIOD_COLUMNS, rows, mark=lambda r: "" if r.event == "结账" else "reopen"),
        records=tuple(rows),
        facts=(
            ("结账 Closes", str(len(closes))),
            ("重新打开 Reopenings", str(len(rows) - len(closes))),
            (
                "目前已结账月份 Months closed now",
                str(len({r.month for r in closes} & set(book.closed_months))),
            ),
        ),
        notes=(
            '结账在次月 1 日写入现金、银行和支付账户的 balance 断言及 custom "period-close" '
            '指令；重新打开写入 custom "period-reopen" 并记录原因，断言保留。A close writes '
            "balance assertions dated the first of the next month; a reopening keeps them.",
            "复核 Recompute: bean-query main.beancount \"SELECT date, meta('entered-by'), "
            "meta('approved-by'), meta('closed-at'), meta('reopened-at'), meta('reason') FROM "
            "entries WHERE type = 'custom' AND (meta('closed-at') IS NOT NULL OR "
            "meta('reopened-at') IS NOT NULL)\"；bean-check 校验全部余额断言 (checks every assertion).",
        ),
    )


# -- the catalogue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterInfo:
    """A register's name in URLs, its titles and what it lists."""

    name: str
    title: str
    title_en: str
    description: str


REGISTERS: dict[str, RegisterInfo] = {
    info.name: info
    for info in (
        RegisterInfo(
            "donations",
            "捐赠登记簿",
            "Donations",
            "每笔捐赠：确认书编号、捐赠人（公开名与编号）、基金、渠道、实物估值、作废状态；按基金汇总。",
        ),
        RegisterInfo(
            "grants",
            "微创投项目台账",
            "Micro-grants",
            "每个资助项目：资助、拨付、报告支出、退回、待报告金额，拨款期数与日期。",
        ),
        RegisterInfo(
            "canteen",
            "共享食堂月度登记簿",
            "Canteen months",
            "每月份数、餐费收入、补贴、成本、盈余、反哺与是否已结账。",
        ),
        RegisterInfo(
            "approvals",
            "审批登记簿",
            "Approvals",
            "每笔须经审批的分录和结账：谁录入、谁审批、何时；标出自行审批和未经审批的付款。",
        ),
        RegisterInfo(
            "closes",
            "结账与重新打开登记簿",
            "Period closes",
            "每次月度结账（含写入的余额断言）和重新打开（含原因）。",
        ),
    )
}


def _bql_dates(period: Period | None) -> str:
    if period is None:
        return ""
    return f" AND date >= {period.start.isoformat()} AND date <= {period.end.isoformat()}"
