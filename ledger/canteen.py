"""共享食堂: the canteen's daily sales, its costs, month-end stock, monthly figures and 反哺.

The canteen is an operating unit with its own fund (``canteen``, which may run a deficit). A day's
sales are one entry: each payment channel's asset account against service income by meal class
(posting metadata ``meal-class`` and ``meals``), plus the meal subsidies received for that day.
Costs are charged to ``Expenses:5101-业务活动成本`` with ``cost-kind`` metadata. The monthly
figures are computed from the ledger alone, so bean-query finds the same numbers.

反哺 (the canteen feeding its surplus back to the micro-fund) is a transfer between funds through
net-asset accounts, proposed by the rule in force for the month and written only when approved.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import NoReturn

from beancount.core import data

from ledger import chart
from ledger.book import ZERO, Book, fund_of_posting
from ledger.errors import IdConflictError, RuleError
from ledger.model import ID_PATTERN, MetaValue, NewEntry, Posting, WriteResult
from ledger.money import CENT, format_cny, parse_amount
from ledger.render import check_text

FUND = chart.CANTEEN_FUND
SALES_INCOME = "Income:4301-提供服务收入"
SUBSIDY_INCOME = {
    "government": "Income:4401-政府补助收入:非限定性",
    "charity": "Income:4101-捐赠收入:非限定性",
}
COST_ACCOUNT = "Expenses:5101-业务活动成本"
STOCK = "Assets:1201-存货"
PAYABLE = "Liabilities:2202-应付款项"
WAGES_PAYABLE = "Liabilities:2204-应付工资"
NET_ASSETS = {False: "Equity:3101-非限定性净资产", True: "Equity:3102-限定性净资产"}

MEAL_CLASSES: dict[str, str] = {
    "elder": "长者优惠",
    "standard": "标准",
    "staff": "员工",
    "group": "团餐",
}
COST_KINDS: dict[str, str] = {
    "food": "食材采购",
    "wages": "工资",
    "rent": "房租",
    "utilities": "水电燃气",
    "other": "其他",
}
DAY_KIND = "canteen-day"
COST_KIND = "canteen-cost"
STOCK_KIND = "canteen-stock"
FEEDBACK_KIND = "canteen-feedback"
MAX_MEALS = 100_000
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


# -- commands -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SalesLine:
    """Meals of one class paid through one channel on one day."""

    meal_class: str
    channel: str
    meals: int
    amount: Decimal | str


@dataclass(frozen=True)
class SubsidyLine:
    """A meal subsidy received for the day: ``meals`` × ``per_meal`` from ``source``."""

    source: str
    meals: int
    per_meal: Decimal | str
    meal_class: str = "elder"
    #: government (街道办 …: 政府补助收入) or charity (a charity programme: 捐赠收入).
    source_kind: str = "government"
    #: Where the money arrived; "receivable" when it is due but not yet paid (应收款项).
    channel: str = "bank"


@dataclass(frozen=True)
class CanteenDay:
    """One day's figures of the canteen, entered on one screen or imported from the POS."""

    date: dt.date
    sales: tuple[SalesLine, ...]
    entered_by: str
    subsidies: tuple[SubsidyLine, ...] = ()
    note: str = ""
    source: str = "form"


@dataclass(frozen=True)
class CanteenCost:
    """A cost of the canteen, written only once someone other than the maker approved it."""

    id: str
    date: dt.date
    kind: str
    amount: Decimal | str
    payee: str
    entered_by: str
    approved_by: str = ""
    #: A payment channel (cash / bank / wechat / alipay) or "payable" (not yet paid).
    paid_from: str = "bank"
    #: Food bought into stock (存货) rather than used at once; the month-end count expenses it.
    to_stock: bool = False
    note: str = ""
    source: str = "form"


@dataclass(frozen=True)
class FeedbackRule:
    """The 反哺 rule in force from ``effective_from`` ("YYYY-MM") until the next rule."""

    effective_from: str
    share: Decimal
    reserve: Decimal
    target_fund: str


@dataclass(frozen=True)
class FeedbackCommand:
    """Transfer part of a month's canteen surplus to a fund of the micro-fund."""

    month: str
    amount: Decimal | str
    target_fund: str
    entered_by: str
    approved_by: str = ""


# -- small helpers --------------------------------------------------------------------------------


def _approval(entered_by: str, approved_by: str) -> None:
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


def _check_month(month: str, name: str = "month") -> str:
    if not isinstance(month, str) or not _MONTH.fullmatch(month):
        raise RuleError(name, "月份格式须为 YYYY-MM（bad month）")
    return month


def month_end(month: str) -> dt.date:
    """The last day of a month "YYYY-MM"."""
    year, mon = int(month[:4]), int(month[5:7])
    return dt.date(year, mon, calendar.monthrange(year, mon)[1])


def _month_of(day: dt.date) -> str:
    return day.strftime("%Y-%m")


def _shift(month: str, by: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _ended(book: Book, month: str) -> None:
    if month_end(month) > book.clock().date():
        raise RuleError(
            "month", f"{month} 尚未结束，不能做月末处理（the month has not ended）", "month_open"
        )


def _count(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise RuleError(name, "份数须为整数（meals must be a whole number）")
    if value < 0:
        raise RuleError(name, f"份数不能为负数：{value}（negative count）", "negative")
    if value > MAX_MEALS:
        raise RuleError(name, f"份数 {value} 超过上限（count too large）", "too_large")
    return value


def _money_or_zero(value: object, name: str) -> Decimal:
    """An amount that may be zero (a class not sold that day)."""
    if isinstance(value, str) and value.strip() in ("", "0", "0.0", "0.00"):
        return ZERO
    if isinstance(value, Decimal) and value == 0:
        return ZERO
    return parse_amount(value, field=name)


def _meta(txn: data.Transaction) -> dict[str, object]:
    return dict(txn.meta or {})


def _number(posting: data.Posting) -> Decimal:
    if posting.units is None or posting.units.number is None:
        return ZERO
    return Decimal(posting.units.number)


def _canteen_txns(book: Book, kind: str) -> list[data.Transaction]:
    return [t for t in book.ordered(FUND) if _meta(t).get("kind") == kind]


def _active(book: Book, txns: Iterable[data.Transaction]) -> list[data.Transaction]:
    """The entries among ``txns`` that no reversal has undone."""
    return [t for t in txns if not book.reversed_by(str(_meta(t).get("id", "")))]


# -- daily sales ----------------------------------------------------------------------------------


def day_entries(book: Book, day: dt.date) -> list[data.Transaction]:
    """Every canteen-day entry of ``day`` (reversed ones included)."""
    return [t for t in _canteen_txns(book, DAY_KIND) if t.date == day]


def day_id(book: Book, day: dt.date) -> str:
    """``canteen-YYYY-MM-DD``; after a reversal the re-entered day gets ``-2``, ``-3`` …"""
    base = f"canteen-{day.isoformat()}"
    existing = day_entries(book, day)
    active = _active(book, existing)
    if active:
        return str(_meta(active[0]).get("id", base))
    return base if not existing else f"{base}-{len(existing) + 1}"


def canteen_day_entry(book: Book, cmd: CanteenDay) -> NewEntry:
    """The entry for one day: channels' asset accounts against income by meal class."""
    if not isinstance(cmd.date, dt.date):
        raise RuleError("date", "请填写日期（date is required）", "required")
    check_text("entered_by", cmd.entered_by, max_len=100, required=True)
    check_text("note", cmd.note, max_len=300)
    by_channel: dict[str, Decimal] = defaultdict(Decimal)
    by_class: dict[str, list[Decimal]] = {}  # class -> [amount, meals]
    for i, line in enumerate(cmd.sales):
        where = f"sales[{i}]"
        if line.meal_class not in MEAL_CLASSES:
            raise RuleError(
                f"{where}.meal_class", f"餐别须为 {'/'.join(MEAL_CLASSES)} 之一（unknown class）"
            )
        account = chart.CHANNEL_ACCOUNTS.get(line.channel)
        if account is None:
            raise RuleError(
                f"{where}.channel",
                f"收款渠道须为 {'/'.join(chart.CHANNEL_ACCOUNTS)} 之一（unknown channel）",
            )
        meals = _count(line.meals, f"{where}.meals")
        amount = _money_or_zero(line.amount, f"{where}.amount")
        if amount and not meals:
            raise RuleError(
                f"{where}.meals",
                f"{MEAL_CLASSES[line.meal_class]}有金额 {format_cny(amount)} 但份数为零"
                "（amount without meals）",
                "no_meals",
            )
        if meals and not amount:
            raise RuleError(
                f"{where}.amount",
                f"{MEAL_CLASSES[line.meal_class]}有 {meals} 份但金额为零（meals without amount）",
                "no_amount",
            )
        if not meals:
            continue
        by_channel[line.channel] += amount
        slot = by_class.setdefault(line.meal_class, [ZERO, Decimal(0)])
        slot[0] += amount
        slot[1] += meals
    if not by_class:
        raise RuleError("sales", "当天没有任何销售（no sales for the day）", "required")
    postings: list[Posting] = []
    for channel, amount in by_channel.items():
        postings.append(Posting(chart.CHANNEL_ACCOUNTS[channel], amount, (("channel", channel),)))
    for meal_class in MEAL_CLASSES:
        if meal_class in by_class:
            sold, served = by_class[meal_class]
            postings.append(
                Posting(
                    SALES_INCOME,
                    -sold,
                    (("fund", FUND), ("meal-class", meal_class), ("meals", int(served))),
                )
            )
    postings += _subsidy_postings(cmd.subsidies)
    meta: list[tuple[str, MetaValue]] = [
        ("kind", DAY_KIND),
        ("entered-by", cmd.entered_by),
        ("source", cmd.source),
    ]
    if cmd.note:
        meta.append(("note", cmd.note))
    total = sum((v[0] for v in by_class.values()), ZERO)
    meals_total = int(sum(v[1] for v in by_class.values()))
    entry_id = day_id(book, cmd.date)
    return NewEntry(
        id=entry_id,
        date=cmd.date,
        payee="共享食堂",
        narration=f"共享食堂日营业：{meals_total} 份，{format_cny(total)}",
        postings=tuple(postings),
        tags=frozenset({f"fund-{FUND}", "canteen"}),
        links=frozenset({entry_id}),
        meta=tuple(meta),
    )


def _subsidy_postings(lines: Sequence[SubsidyLine]) -> list[Posting]:
    postings: list[Posting] = []
    for i, line in enumerate(lines):
        where = f"subsidies[{i}]"
        check_text(f"{where}.source", line.source, max_len=100, required=True)
        if line.meal_class not in MEAL_CLASSES:
            raise RuleError(f"{where}.meal_class", "餐别不正确（unknown class）")
        income = SUBSIDY_INCOME.get(line.source_kind)
        if income is None:
            raise RuleError(f"{where}.source_kind", "补贴来源须为 government / charity 之一")
        if line.channel == "receivable":
            asset = "Assets:1122-应收款项"
        elif line.channel in chart.CHANNEL_ACCOUNTS:
            asset = chart.CHANNEL_ACCOUNTS[line.channel]
        else:
            raise RuleError(f"{where}.channel", "到账渠道须为收款渠道或 receivable（应收）")
        meals = _count(line.meals, f"{where}.meals")
        if not meals:
            raise RuleError(f"{where}.meals", "补贴份数须大于零（meals required）", "no_meals")
        per_meal = parse_amount(line.per_meal, field=f"{where}.per_meal")
        amount = (per_meal * meals).quantize(CENT)
        postings.append(Posting(asset, amount, (("channel", line.channel),)))
        postings.append(
            Posting(
                income,
                -amount,
                (
                    ("fund", FUND),
                    ("subsidy-source", line.source),
                    ("meal-class", line.meal_class),
                    ("meals", meals),
                    ("per-meal", per_meal),
                ),
            )
        )
    return postings


def _day_free(cmd_date: dt.date) -> Callable[[Book, NewEntry], None]:
    def check(book: Book, entry: NewEntry) -> None:
        active = [
            t for t in _active(book, day_entries(book, cmd_date)) if _meta(t).get("id") != entry.id
        ]
        if active:
            _day_recorded(cmd_date, str(_meta(active[0]).get("id")))

    return check


def _day_recorded(day: dt.date, entry_id: str) -> NoReturn:
    raise RuleError(
        "date",
        f"{day.isoformat()} 的营业数据已入账（{entry_id}）；如需更正，请先冲销原分录再重新录入"
        "（the day is already recorded; a correction must be a reversal）",
        "day_recorded",
    )


def record_canteen_day(book: Book, cmd: CanteenDay) -> WriteResult:
    """Write one day's sales and subsidies; a day already recorded is refused."""
    entry = canteen_day_entry(book, cmd)
    if book.get(entry.id) is not None:
        _day_recorded(cmd.date, entry.id)
    try:
        return book.write(entry, check=_day_free(cmd.date))
    except IdConflictError:
        _day_recorded(cmd.date, entry.id)


# -- costs ----------------------------------------------------------------------------------------


def canteen_cost_entry(book: Book, cmd: CanteenCost) -> NewEntry:
    """A cost: 业务活动成本 (or stock, for food bought into store) against what paid it."""
    if cmd.kind not in COST_KINDS:
        raise RuleError("kind", f"成本类别须为 {'/'.join(COST_KINDS)} 之一（unknown kind）")
    check_text("payee", cmd.payee, max_len=200, required=True)
    check_text("note", cmd.note, max_len=300)
    amount = parse_amount(cmd.amount)
    if cmd.paid_from == "payable":
        credit = WAGES_PAYABLE if cmd.kind == "wages" else PAYABLE
    else:
        found = chart.CHANNEL_ACCOUNTS.get(cmd.paid_from)
        if found is None:
            raise RuleError(
                "paid_from",
                f"付款方式须为 {'/'.join(chart.CHANNEL_ACCOUNTS)} 或 payable（应付）之一",
            )
        credit = found
    if cmd.to_stock and cmd.kind != "food":
        raise RuleError("to_stock", "只有食材采购可以入库（only food goes into stock）")
    debit = STOCK if cmd.to_stock else COST_ACCOUNT
    meta: list[tuple[str, MetaValue]] = [
        ("kind", COST_KIND),
        ("cost-kind", cmd.kind),
        ("paid-from", cmd.paid_from),
        ("entered-by", cmd.entered_by),
    ]
    if cmd.approved_by:
        meta.append(("approved-by", cmd.approved_by))
    if cmd.note:
        meta.append(("note", cmd.note))
    meta.append(("source", cmd.source))
    what = COST_KINDS[cmd.kind] + ("（入库）" if cmd.to_stock else "")
    return NewEntry(
        id=cmd.id,
        date=cmd.date,
        payee=cmd.payee,
        narration=f"共享食堂{what}" + (f"：{cmd.note}" if cmd.note else ""),
        postings=(
            Posting(debit, amount, (("fund", FUND), ("cost-kind", cmd.kind))),
            Posting(credit, -amount),
        ),
        tags=frozenset({f"fund-{FUND}", "canteen"}),
        links=frozenset({cmd.id}),
        meta=tuple(meta),
    )


def record_canteen_cost(book: Book, cmd: CanteenCost) -> WriteResult:
    """Write an approved canteen cost (refused without an approver other than the maker)."""
    _approval(cmd.entered_by, cmd.approved_by)
    return book.write(canteen_cost_entry(book, cmd))


# -- month-end stock ------------------------------------------------------------------------------


def stock_balance(book: Book, until: dt.date) -> Decimal:
    """The canteen's food stock (存货 of the canteen fund) at the end of ``until``."""
    total = ZERO
    for txn in book.ordered(FUND):
        if txn.date > until:
            break
        for p in txn.postings:
            if p.account == STOCK and fund_of_posting(txn, p) == FUND:
                total += _number(p)
    return total


def closing_stock_entry(
    book: Book, month: str, amount: Decimal | str, *, entered_by: str = ""
) -> NewEntry | None:
    """The adjustment that brings the canteen's stock to the counted amount (None if equal)."""
    _check_month(month)
    counted = _money_or_zero(amount, "amount")
    end = month_end(month)
    before = stock_balance(book, end)
    diff = counted - before
    if not diff:
        return None
    entry_id = f"canteen-stock-{month}"
    cost_meta = (("fund", FUND), ("cost-kind", "food"))
    meta: list[tuple[str, MetaValue]] = [
        ("kind", STOCK_KIND),
        ("month", month),
        ("counted", counted),
        ("previous", before),
    ]
    if entered_by:
        meta.append(("entered-by", entered_by))
    return NewEntry(
        id=entry_id,
        date=end,
        payee="共享食堂",
        narration=(
            f"共享食堂 {month} 月末盘点存货 {format_cny(counted)}"
            f"（账面 {format_cny(before)}，调整 {format_cny(diff)}）"
        ),
        postings=(Posting(STOCK, diff, (("fund", FUND),)), Posting(COST_ACCOUNT, -diff, cost_meta)),
        tags=frozenset({f"fund-{FUND}", "canteen"}),
        links=frozenset({entry_id}),
        meta=tuple(meta),
    )


def record_closing_stock(
    book: Book, month: str, amount: Decimal | str, *, entered_by: str = ""
) -> WriteResult | None:
    """Record the month-end stock count: food bought but unused is moved out of cost into stock.

    Returns None when the count equals the stock already on the books (nothing to write).
    """
    _check_month(month)
    _ended(book, month)
    if book.get(f"canteen-stock-{month}") is not None:
        raise RuleError("month", f"{month} 的月末存货已登记（stock already recorded)", "recorded")
    entry = closing_stock_entry(book, month, amount, entered_by=entered_by)
    if entry is None:
        return None
    return book.write(entry)


# -- monthly figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CanteenMonth:
    """The canteen's figures for one month, computed from the ledger."""

    month: str
    meals: dict[str, int]
    revenue: dict[str, Decimal]
    subsidies: dict[str, Decimal]
    subsidy_meals: dict[str, int]
    other_income: Decimal
    costs: dict[str, Decimal]
    #: Transfers out (反哺) booked in this month, by month fed back.
    fed_back: Decimal = ZERO
    #: Subsidy amounts by the meal class they were paid for.
    subsidies_by_class: dict[str, Decimal] = field(default_factory=dict)
    previous: tuple[CanteenMonth, ...] = field(default=())

    @property
    def total_meals(self) -> int:
        """Meals served, every class."""
        return sum(self.meals.values())

    @property
    def total_revenue(self) -> Decimal:
        """Meal sales."""
        return sum(self.revenue.values(), ZERO)

    @property
    def total_subsidies(self) -> Decimal:
        """Subsidies received for meals."""
        return sum(self.subsidies.values(), ZERO)

    @property
    def income(self) -> Decimal:
        """Every income of the canteen fund in the month."""
        return self.total_revenue + self.total_subsidies + self.other_income

    @property
    def total_costs(self) -> Decimal:
        """Every cost of the canteen fund in the month (after the stock adjustment)."""
        return sum(self.costs.values(), ZERO)

    @property
    def surplus(self) -> Decimal:
        """Income less costs; negative for a loss."""
        return self.income - self.total_costs

    @property
    def cost_per_meal(self) -> Decimal | None:
        """Costs divided by meals served (None when no meals)."""
        if not self.total_meals:
            return None
        return (self.total_costs / self.total_meals).quantize(CENT, ROUND_HALF_UP)

    @property
    def subsidy_per_elder_meal(self) -> Decimal | None:
        """Subsidies for elder meals divided by elder meals served (None when none served)."""
        elder = self.meals.get("elder", 0)
        if not elder:
            return None
        amount = self.subsidies_by_class.get("elder", ZERO)
        return (amount / elder).quantize(CENT, ROUND_HALF_UP)


def _month_figures(book: Book, month: str) -> CanteenMonth:
    meals: dict[str, int] = dict.fromkeys(MEAL_CLASSES, 0)
    revenue: dict[str, Decimal] = dict.fromkeys(MEAL_CLASSES, ZERO)
    subsidies: dict[str, Decimal] = defaultdict(Decimal)
    subsidy_meals: dict[str, int] = defaultdict(int)
    by_class: dict[str, Decimal] = defaultdict(Decimal)
    costs: dict[str, Decimal] = dict.fromkeys(COST_KINDS, ZERO)
    other = fed_back = ZERO
    for txn in book.ordered(FUND):
        if _month_of(txn.date) != month:
            continue
        for p in txn.postings:
            if fund_of_posting(txn, p) != FUND:
                continue
            number = _number(p)
            root = p.account.split(":", 1)[0]
            pmeta = p.meta or {}
            sign = 1 if number < 0 else -1
            count = int(Decimal(str(pmeta.get("meals", 0)))) * sign
            meal_class = str(pmeta.get("meal-class", ""))
            if root == "Income":
                source = pmeta.get("subsidy-source")
                if isinstance(source, str):
                    subsidies[source] -= number
                    subsidy_meals[source] += count
                    by_class[meal_class] -= number
                elif p.account == SALES_INCOME and meal_class in MEAL_CLASSES:
                    revenue[meal_class] -= number
                    meals[meal_class] += count
                else:
                    other -= number
            elif root == "Expenses":
                kind = str(pmeta.get("cost-kind", "other"))
                costs[kind if kind in COST_KINDS else "other"] += number
            elif root == "Equity" and _meta(txn).get("kind") == FEEDBACK_KIND:
                fed_back += number
    return CanteenMonth(
        month=month,
        meals=meals,
        revenue=revenue,
        subsidies=dict(subsidies),
        subsidy_meals=dict(subsidy_meals),
        other_income=other,
        costs=costs,
        fed_back=fed_back,
        subsidies_by_class=dict(by_class),
    )


def canteen_month(book: Book, month: str, *, compare: int = 3) -> CanteenMonth:
    """The canteen's month with the ``compare`` months before it (most recent first)."""
    _check_month(month)
    previous = tuple(_month_figures(book, _shift(month, -i)) for i in range(1, compare + 1))
    current = _month_figures(book, month)
    return CanteenMonth(
        month=current.month,
        meals=current.meals,
        revenue=current.revenue,
        subsidies=current.subsidies,
        subsidy_meals=current.subsidy_meals,
        other_income=current.other_income,
        costs=current.costs,
        fed_back=current.fed_back,
        previous=previous,
        subsidies_by_class=current.subsidies_by_class,
    )


# -- 反哺 -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackProposal:
    """What the rule in force says the canteen should transfer for a month, and why."""

    month: str
    rule: FeedbackRule
    surplus: Decimal
    carried_loss: Decimal
    reserve: Decimal
    base: Decimal
    amount: Decimal
    target_fund: str
    #: The unrecovered loss carried into the next month after this one.
    loss_after: Decimal
    explanation: str


def rule_in_force(rules: Iterable[FeedbackRule], month: str) -> FeedbackRule:
    """The rule with the latest ``effective_from`` not after ``month``."""
    _check_month(month)
    chosen: FeedbackRule | None = None
    for rule in rules:
        _check_rule(rule)
        if rule.effective_from <= month and (
            chosen is None or rule.effective_from >= chosen.effective_from
        ):
            chosen = rule
    if chosen is None:
        raise RuleError("rules", f"{month} 没有生效的反哺规则（no rule in force）", "no_rule")
    return chosen


def _check_rule(rule: FeedbackRule) -> None:
    _check_month(rule.effective_from, "effective_from")
    if not isinstance(rule.share, Decimal) or not Decimal(0) <= rule.share <= Decimal(1):
        raise RuleError("share", "反哺比例须在 0 到 1 之间（share must be between 0 and 1）")
    if not isinstance(rule.reserve, Decimal) or rule.reserve < 0:
        raise RuleError("reserve", "留存金额不能为负数（reserve must not be negative）")
    if not isinstance(rule.target_fund, str) or not rule.target_fund:
        raise RuleError("target_fund", "请指定反哺去向基金（target fund required）", "required")


def feedback_entries(book: Book) -> list[data.Transaction]:
    """The 反哺 transfers not undone by a reversal."""
    return _active(book, _canteen_txns(book, FEEDBACK_KIND))


def _fed_back_months(book: Book) -> set[str]:
    return {str(_meta(t).get("month", "")) for t in feedback_entries(book)}


def _first_month(book: Book) -> str | None:
    txns = book.ordered(FUND)
    return _month_of(txns[0].date) if txns else None


def carried_loss(book: Book, month: str) -> Decimal:
    """The canteen's loss of earlier months not yet recovered by later surpluses.

    Counted from the month after the last 反哺 before ``month`` (a transfer happens only once
    earlier losses are recovered), or from the canteen's first month.
    """
    done = sorted(m for m in _fed_back_months(book) if m < month)
    start = _shift(done[-1], 1) if done else _first_month(book)
    carried = ZERO
    if start is None:
        return carried
    current = start
    while current < month:
        surplus = _month_figures(book, current).surplus
        carried = max(ZERO, carried - surplus)
        current = _shift(current, 1)
    return carried


def propose_feedback(book: Book, month: str, rules: Sequence[FeedbackRule]) -> FeedbackProposal:
    """The 反哺 for ``month`` by the rule in force then: losses first, then the reserve, then share."""
    rule = rule_in_force(rules, month)
    surplus = _month_figures(book, month).surplus
    carried = carried_loss(book, month)
    base = surplus - carried - rule.reserve
    if surplus <= 0:
        amount = ZERO
        why = f"本月亏损 {format_cny(-surplus)}，不反哺；亏损结转下月" if surplus else "本月无盈余"
    elif base <= 0:
        amount = ZERO
        why = (
            f"盈余 {format_cny(surplus)} 弥补以前月份亏损 {format_cny(carried)} 并留存 "
            f"{format_cny(rule.reserve)} 后无余额，不反哺"
        )
    else:
        amount = (rule.share * base).quantize(CENT, ROUND_DOWN)
        why = (
            f"（盈余 {format_cny(surplus)} − 弥补亏损 {format_cny(carried)} − 留存 "
            f"{format_cny(rule.reserve)}）× {rule.share} = {format_cny(amount)}"
        )
    return FeedbackProposal(
        month=month,
        rule=rule,
        surplus=surplus,
        carried_loss=carried,
        reserve=rule.reserve,
        base=base,
        amount=amount,
        target_fund=rule.target_fund,
        loss_after=max(ZERO, carried - surplus),
        explanation=why,
    )


def feedback_id(month: str) -> str:
    """The id of a month's 反哺 transfer."""
    return f"canteen-feedback-{month}"


def feedback_entry(book: Book, cmd: FeedbackCommand) -> NewEntry:
    """The transfer: the canteen's net assets to the target fund's (restricted or not)."""
    month = _check_month(cmd.month)
    amount = parse_amount(cmd.amount)
    target = book.funds.get(cmd.target_fund)
    if target is None or target.slug == FUND:
        raise RuleError("target_fund", f"没有可接收反哺的基金 {cmd.target_fund!r}（bad fund）")
    canteen = book.funds[FUND]
    entry_id = feedback_id(month)
    if not ID_PATTERN.fullmatch(entry_id):
        raise RuleError("month", "月份格式不正确")
    meta: list[tuple[str, MetaValue]] = [
        ("kind", FEEDBACK_KIND),
        ("month", month),
        ("target-fund", target.slug),
        ("entered-by", cmd.entered_by),
    ]
    if cmd.approved_by:
        meta.append(("approved-by", cmd.approved_by))
    meta.append(("source", "canteen"))
    return NewEntry(
        id=entry_id,
        date=month_end(month),
        payee="共享食堂",
        narration=f"共享食堂 {month} 盈余反哺「{target.name}」{format_cny(amount)}",
        postings=(
            Posting(NET_ASSETS[canteen.restricted], amount, (("fund", FUND),)),
            Posting(NET_ASSETS[target.restricted], -amount, (("fund", target.slug),)),
        ),
        tags=frozenset({f"fund-{FUND}", f"fund-{target.slug}", FEEDBACK_KIND}),
        links=frozenset({entry_id}),
        meta=tuple(meta),
    )


def _feedback_check(
    cmd: FeedbackCommand, rules: Sequence[FeedbackRule]
) -> Callable[[Book, NewEntry], None]:
    def check(book: Book, _entry: NewEntry) -> None:
        if cmd.month in _fed_back_months(book):
            raise RuleError(
                "month",
                f"{cmd.month} 的盈余已反哺，不能重复（already fed back）",
                "already_fed_back",
            )
        proposal = propose_feedback(book, cmd.month, rules)
        if cmd.target_fund != proposal.target_fund:
            raise RuleError(
                "target_fund",
                f"{cmd.month} 适用的规则把反哺转入 {proposal.target_fund}，而不是 "
                f"{cmd.target_fund}（not the rule's fund）",
                "wrong_fund",
            )
        amount = parse_amount(cmd.amount)
        if amount != proposal.amount:
            raise RuleError(
                "amount",
                f"按规则 {cmd.month} 应反哺 {format_cny(proposal.amount)}，而不是 "
                f"{format_cny(amount)}：{proposal.explanation}（amount differs from the proposal）",
                "not_proposed",
            )

    return check


def record_feedback(book: Book, cmd: FeedbackCommand, rules: Sequence[FeedbackRule]) -> WriteResult:
    """Write an approved 反哺 transfer equal to the proposal of the rule in force for the month."""
    _approval(cmd.entered_by, cmd.approved_by)
    _check_month(cmd.month)
    _ended(book, cmd.month)
    check = _feedback_check(cmd, rules)
    check(book, feedback_entry(book, cmd))  # refuse early, outside the lock, with the same rules
    return book.write(feedback_entry(book, cmd), check=check)


def total_fed_back(book: Book) -> dict[str, Decimal]:
    """What the canteen has fed back so far (reversed transfers excluded), by target fund."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for txn in feedback_entries(book):
        for p in txn.postings:
            fund = fund_of_posting(txn, p)
            if p.account.startswith("Equity:") and fund and fund != FUND:
                totals[fund] -= _number(p)
    return dict(totals)
