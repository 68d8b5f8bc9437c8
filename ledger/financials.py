"""The statements of 《民间非营利组织会计制度》 from the ledger: balance sheet, statement of
activities, cash-flow statement (direct method) and trial balance, with the postings behind every
figure.

Each statement is defined by what each posting *contributes* to its lines: a posting feeds a line
of a column with some amount (:func:`contributions`). A statement adds the contributions up; a
subtotal is a formula over other lines; and :func:`trace` lists the postings behind any line, so
the figure on the screen and the entries an auditor drills down to cannot disagree. The rules, in
the terms an auditor checks them with ``bean-query``:

* **Fund class.** A posting belongs to a fund (its ``fund`` metadata, else the entry's
  ``#fund-…`` tag); the fund's declaration says whether it is restricted (限定性). A posting with
  no fund is restricted when its account names 限定性 (and not 非限定性).
* **Balance sheet** (会民非01表), at the day before the period (期初) and at its end (期末): assets
  and liabilities by the ``statement`` line their account's ``open`` declares; 非限定性净资产 and
  限定性净资产 are minus the sum of every Income, Expenses and Equity posting of that class.
* **Statement of activities** (会民非02表): income by line and class; every expense in the
  非限定性 column (the system puts all costs there); spending of a restricted fund, and net
  assets moved between the classes, make the line 限定性净资产转为非限定性净资产.
* **Cash flow** (会民非03表): cash is every account whose line is 货币资金; in an entry that moves
  cash, each other posting says why the cash moved (:data:`CASH_FLOW_RULES`). Moves between cash
  accounts are not flows.
* **Trial balance**: every account's opening balance, debits and credits of the period and closing
  balance. Income and expenses of years before the period's first year are carried into
  3101/3102 net assets by class, as the year-end closing (结转) does in a paper ledger.

All amounts are Decimal; the ledger's amounts have cents, and so does every figure here.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from beancount.core import data

from ledger.book import ZERO, Book, fund_of_posting
from ledger.chain import seq_of
from ledger.errors import RuleError

CASH_LINE = "货币资金"
UNRESTRICTED_EQUITY = "Equity:3101-非限定性净资产"
RESTRICTED_EQUITY = "Equity:3102-限定性净资产"
COMMITTED = ":已承诺资助"

KINDS = ("balance_sheet", "activities", "cash_flow", "trial_balance")
KIND_NAMES = {
    "balance_sheet": "资产负债表",
    "activities": "业务活动表",
    "cash_flow": "现金流量表",
    "trial_balance": "科目余额表（试算平衡表）",
}


# -- periods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A span of days, both ends included."""

    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        """``2026-01-01 至 2026-03-31``."""
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"

    @property
    def slug(self) -> str:
        """For file names: ``2026-01-01_2026-03-31``."""
        return f"{self.start.isoformat()}_{self.end.isoformat()}"


_YEAR = re.compile(r"(\d{4})")
_QUARTER = re.compile(r"(\d{4})-?Q([1-4])", re.IGNORECASE)
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\s*(?:\.\.|~|至|/)\s*(\d{4}-\d{2}-\d{2})")


def parse_period(text: str) -> Period:
    """A period from ``2026``, ``2026-Q1``, ``2026-03`` or ``2026-01-01..2026-03-31``.

    Raises:
        RuleError: (field ``period``) anything else, a day that does not exist, or an end before
            the start.
    """
    value = (text or "").strip()
    try:
        if m := _YEAR.fullmatch(value):
            year = int(m.group(1))
            return _checked(dt.date(year, 1, 1), dt.date(year, 12, 31))
        if m := _QUARTER.fullmatch(value):
            year, quarter = int(m.group(1)), int(m.group(2))
            first = 3 * quarter - 2
            last = first + 2
            return _checked(
                dt.date(year, first, 1),
                dt.date(year, last, calendar.monthrange(year, last)[1]),
            )
        if m := _MONTH.fullmatch(value):
            year, month = int(m.group(1)), int(m.group(2))
            return _checked(
                dt.date(year, month, 1),
                dt.date(year, month, calendar.monthrange(year, month)[1]),
            )
        if m := _RANGE.fullmatch(value):
            return _checked(dt.date.fromisoformat(m.group(1)), dt.date.fromisoformat(m.group(2)))
    except ValueError as exc:
        raise RuleError("period", f"期间中的日期不存在：{value[:40]!r}（no such day）") from exc
    raise RuleError(
        "period",
        f"期间格式不正确：{value[:40]!r}；请写 2026、2026-Q1、2026-03 或 "
        "2026-01-01..2026-03-31（unknown period）",
    )


def _checked(start: dt.date, end: dt.date) -> Period:
    if end < start:
        raise RuleError("period", "截止日期早于起始日期（end before start）")
    if start.year < 2000 or end.year > 2999:
        raise RuleError("period", "期间须在 2000 至 2999 年之间（period out of range）")
    return Period(start, end)


# -- what a posting is ----------------------------------------------------------------------


def statement_line(book: Book, account: str) -> str:
    """The line an account feeds (``货币资金``), from its ``open`` metadata ``statement``."""
    info = book.accounts.get(account)
    text = info.statement_line if info is not None else ""
    return text.split("·", 1)[1] if "·" in text else ""


def is_restricted(book: Book, txn: data.Transaction, posting: data.Posting) -> bool:
    """Whether a posting belongs to restricted (限定性) net assets."""
    fund = fund_of_posting(txn, posting)
    if fund and fund in book.funds:
        return book.funds[fund].restricted
    return "限定性" in posting.account and "非限定性" not in posting.account


def cash_accounts(book: Book) -> frozenset[str]:
    """Every account whose statement line is 货币资金."""
    return frozenset(a for a in book.accounts if statement_line(book, a) == CASH_LINE)


def _number(posting: data.Posting) -> Decimal | None:
    units = posting.units
    if units is None or units.number is None:
        return None
    return Decimal(units.number)


def _root(account: str) -> str:
    return account.split(":", 1)[0]


def account_code(account: str) -> str:
    """The standard code that leads an account's second component (``1002``), or ``""``."""
    parts = account.split(":")
    m = re.match(r"(\d{3,6})", parts[1]) if len(parts) > 1 else None
    return m.group(1) if m else ""


def account_sort_key(account: str) -> tuple[int, str, str]:
    """Accounts in the order of the chart: by code (1xxx assets … 5xxx expenses), then name."""
    code = account_code(account)
    return (int(code) if code else 99999, code, account)


# -- statement structure --------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of a statement.

    Attributes:
        key: the line's name in this statement (stable; what :func:`trace` takes).
        label: as printed (may carry ``其中：`` or an indent).
        row: the 行次 of the standard form, if it has one.
        kind: ``section`` (a heading without figures), ``item``, ``subtotal`` or ``total``.
        values: one figure per column of the statement (empty for sections).
        indent: levels of indentation when printed.
    """

    key: str
    label: str
    row: int | None
    kind: str
    values: tuple[Decimal, ...] = ()
    indent: int = 0


@dataclass(frozen=True)
class Statement:
    """A finished statement, ready for a page, a PDF or a CSV (no arithmetic left to do)."""

    kind: str
    title: str
    title_en: str
    form: str
    period: Period
    columns: tuple[str, ...]
    lines: tuple[Line, ...]
    ledger_title: str
    head_hash: str
    head_seq: int
    generated_at: dt.datetime
    notes: tuple[str, ...] = ()
    #: For the trial balance: the account behind each line key.
    accounts: dict[str, str] = field(default_factory=dict)

    def line(self, key: str) -> Line:
        """The line named ``key``."""
        for line in self.lines:
            if line.key == key:
                return line
        raise KeyError(key)

    def value(self, key: str, column: int = 0) -> Decimal:
        """One figure."""
        return self.line(key).values[column]


@dataclass(frozen=True)
class _Spec:
    """A line of a form: items take contributions; subtotals add other lines (signed)."""

    key: str
    row: int | None = None
    kind: str = "item"
    indent: int = 0
    label: str = ""
    formula: tuple[tuple[str, int], ...] = ()


def _item(key: str, row: int | None, indent: int = 1, label: str = "") -> _Spec:
    return _Spec(key, row, "item", indent, label)


def _section(key: str, indent: int = 0) -> _Spec:
    return _Spec(key, None, "section", indent)


def _sum(
    key: str, row: int | None, parts: Iterable[str], kind: str = "subtotal", **kw: object
) -> _Spec:
    return _Spec(key, row, kind, formula=tuple((p, 1) for p in parts), **kw)  # type: ignore[arg-type]


def _formula(
    key: str,
    row: int | None,
    parts: Iterable[tuple[str, int]],
    kind: str = "total",
    label: str = "",
) -> _Spec:
    return _Spec(key, row, kind, label=label, formula=tuple(parts))


# -- 资产负债表 (会民非01表) -------------------------------------------------------------------

_CURRENT_ASSETS = (
    "货币资金",
    "短期投资",
    "应收款项",
    "预付账款",
    "存货",
    "待摊费用",
    "一年内到期的长期债权投资",
    "其他流动资产",
)
_LONG_INVESTMENTS = ("长期股权投资", "长期债权投资")
_FIXED = ("固定资产", "在建工程", "文物文化资产", "固定资产清理")
_CURRENT_LIABILITIES = (
    "短期借款",
    "应付款项",
    "应付工资",
    "应交税金",
    "预收账款",
    "预提费用",
    "预计负债",
    "一年内到期的长期负债",
    "其他流动负债",
)
_LONG_LIABILITIES = ("长期借款", "长期应付款", "其他长期负债")
_ASSET_LINES = frozenset(
    (*_CURRENT_ASSETS, *_LONG_INVESTMENTS, *_FIXED, "无形资产", "受托代理资产")
)
_LIABILITY_LINES = frozenset((*_CURRENT_LIABILITIES, *_LONG_LIABILITIES, "受托代理负债"))

BALANCE_SHEET: tuple[_Spec, ...] = (
    _section("资产"),
    _section("流动资产", 1),
    _item("货币资金", 1, 2),
    _item("短期投资", 2, 2),
    _item("应收款项", 3, 2),
    _item("预付账款", 4, 2),
    _item("存货", 8, 2),
    _item("待摊费用", 9, 2),
    _item("一年内到期的长期债权投资", 15, 2),
    _item("其他流动资产", 18, 2),
    _sum("流动资产合计", 20, _CURRENT_ASSETS, indent=1),
    _section("长期投资", 1),
    _item("长期股权投资", 21, 2),
    _item("长期债权投资", 24, 2),
    _sum("长期投资合计", 30, _LONG_INVESTMENTS, indent=1),
    _Spec("固定资产·类", None, "section", 1, "固定资产"),
    _item("固定资产", 31, 2, "固定资产（原价减累计折旧）"),
    _item("在建工程", 34, 2),
    _item("文物文化资产", 35, 2),
    _item("固定资产清理", 38, 2),
    _sum("固定资产合计", 40, _FIXED, indent=1),
    _item("无形资产", 41, 1),
    _item("受托代理资产", 51, 1),
    _sum(
        "资产总计",
        60,
        ("流动资产合计", "长期投资合计", "固定资产合计", "无形资产", "受托代理资产"),
        kind="total",
    ),
    _section("负债和净资产"),
    _section("流动负债", 1),
    _item("短期借款", 61, 2),
    _item("应付款项", 62, 2),
    _item("应付工资", 63, 2),
    _item("应交税金", 65, 2),
    _item("预收账款", 66, 2),
    _item("预提费用", 71, 2),
    _item("预计负债", 72, 2),
    _item("一年内到期的长期负债", 74, 2),
    _item("其他流动负债", 78, 2),
    _sum("流动负债合计", 80, _CURRENT_LIABILITIES, indent=1),
    _section("长期负债", 1),
    _item("长期借款", 81, 2),
    _item("长期应付款", 84, 2),
    _item("其他长期负债", 88, 2),
    _sum("长期负债合计", 90, _LONG_LIABILITIES, indent=1),
    _item("受托代理负债", 91, 1),
    _sum("负债合计", 100, ("流动负债合计", "长期负债合计", "受托代理负债"), kind="total"),
    _section("净资产"),
    _item("非限定性净资产", 101, 1),
    _item("非限定性净资产·已承诺资助", None, 2, "其中：已承诺微创投资助"),
    _item("限定性净资产", 105, 1),
    _item("限定性净资产·已承诺资助", None, 2, "其中：已承诺微创投资助"),
    _sum("净资产合计", 110, ("非限定性净资产", "限定性净资产"), kind="total"),
    _sum("负债和净资产总计", 120, ("负债合计", "净资产合计"), kind="total"),
)


def _balance_sheet_contributions(
    book: Book, txn: data.Transaction, posting: data.Posting, period: Period
) -> Iterator[tuple[str, int, Decimal]]:
    number = _number(posting)
    if number is None or txn.date > period.end:
        return
    columns = (0, 1) if txn.date < period.start else (1,)
    root = _root(posting.account)
    keys: list[tuple[str, Decimal]] = []
    if root == "Assets":
        line = statement_line(book, posting.account)
        keys.append((line if line in _ASSET_LINES else "其他流动资产", number))
    elif root == "Liabilities":
        line = statement_line(book, posting.account)
        keys.append((line if line in _LIABILITY_LINES else "其他流动负债", -number))
    elif root in ("Income", "Expenses", "Equity"):
        key = "限定性净资产" if is_restricted(book, txn, posting) else "非限定性净资产"
        keys.append((key, -number))
        if root == "Equity" and posting.account.endswith(COMMITTED):
            keys.append((f"{key}·已承诺资助", -number))
    for key, amount in keys:
        for column in columns:
            yield key, column, amount


# -- 业务活动表 (会民非02表) -------------------------------------------------------------------

_INCOME_LINES = (
    "捐赠收入",
    "会费收入",
    "提供服务收入",
    "商品销售收入",
    "政府补助收入",
    "投资收益",
    "其他收入",
)
_EXPENSE_LINES = ("业务活动成本", "管理费用", "筹资费用", "其他费用")
RELEASE = "限定性净资产转为非限定性净资产"

ACTIVITIES: tuple[_Spec, ...] = (
    _section("一、收入"),
    _item("捐赠收入", 1, 1, "其中：捐赠收入"),
    _item("会费收入", 2, 1),
    _item("提供服务收入", 3, 1),
    _item("商品销售收入", 4, 1),
    _item("政府补助收入", 5, 1),
    _item("投资收益", 6, 1),
    _item("其他收入", 9, 1),
    _sum("收入合计", 11, _INCOME_LINES),
    _section("二、费用"),
    _item("业务活动成本", 12, 1, "（一）业务活动成本"),
    _item("管理费用", 21, 1, "（二）管理费用"),
    _item("筹资费用", 24, 1, "（三）筹资费用"),
    _item("其他费用", 28, 1, "（四）其他费用"),
    _sum("费用合计", 35, _EXPENSE_LINES),
    _item(RELEASE, 40, 0, "三、限定性净资产转为非限定性净资产"),
    _formula(
        "净资产变动额",
        45,
        (("收入合计", 1), ("费用合计", -1), (RELEASE, 1)),
        label="四、净资产变动额",
    ),
)


def _activities_contributions(
    book: Book, txn: data.Transaction, posting: data.Posting, period: Period
) -> Iterator[tuple[str, int, Decimal]]:
    number = _number(posting)
    if number is None or not period.start <= txn.date <= period.end:
        return
    root = _root(posting.account)
    restricted = is_restricted(book, txn, posting)
    column = 1 if restricted else 0
    if root == "Income":
        line = statement_line(book, posting.account)
        key = line if line in _INCOME_LINES else "其他收入"
        yield key, column, -number
        yield key, 2, -number
    elif root == "Expenses":
        line = statement_line(book, posting.account)
        key = line if line in _EXPENSE_LINES else "其他费用"
        yield key, 0, number
        yield key, 2, number
        if restricted:  # restricted money spent: that much restriction is released
            yield RELEASE, 1, -number
            yield RELEASE, 0, number
    elif root == "Equity":
        yield RELEASE, column, -number
        yield RELEASE, 2, -number


# -- 现金流量表 (会民非03表) -------------------------------------------------------------------

_OP_IN = (
    "接受捐赠收到的现金",
    "收取会费收到的现金",
    "提供服务收到的现金",
    "销售商品收到的现金",
    "政府补助收到的现金",
    "收到的其他与业务活动有关的现金",
)
_OP_OUT = (
    "提供捐赠或者资助支付的现金",
    "支付给员工以及为员工支付的现金",
    "购买商品、接受服务支付的现金",
    "支付的其他与业务活动有关的现金",
)
_INV_IN = (
    "收回投资所收到的现金",
    "取得投资收益所收到的现金",
    "处置固定资产、无形资产和其他长期资产所收回的现金",
    "收到的其他与投资活动有关的现金",
)
_INV_OUT = (
    "购建固定资产、无形资产和其他长期资产所支付的现金",
    "对外投资所支付的现金",
    "支付的其他与投资活动有关的现金",
)
_FIN_IN = ("借款所收到的现金", "收到的其他与筹资活动有关的现金")
_FIN_OUT = ("偿还借款所支付的现金", "偿付利息所支付的现金", "支付的其他与筹资活动有关的现金")
INFLOW_LINES = frozenset((*_OP_IN, *_INV_IN, *_FIN_IN))
OPENING_CASH = "期初现金及现金等价物余额"
CLOSING_CASH = "期末现金及现金等价物余额"

CASH_FLOW: tuple[_Spec, ...] = (
    _section("一、业务活动产生的现金流量"),
    _item("接受捐赠收到的现金", 1),
    _item("收取会费收到的现金", 2),
    _item("提供服务收到的现金", 3),
    _item("销售商品收到的现金", 4),
    _item("政府补助收到的现金", 5),
    _item("收到的其他与业务活动有关的现金", 8),
    _sum("业务活动现金流入小计", 13, _OP_IN, label="现金流入小计"),
    _item("提供捐赠或者资助支付的现金", 14),
    _item("支付给员工以及为员工支付的现金", 15),
    _item("购买商品、接受服务支付的现金", 16),
    _item("支付的其他与业务活动有关的现金", 19),
    _sum("业务活动现金流出小计", 23, _OP_OUT, label="现金流出小计"),
    _formula(
        "业务活动产生的现金流量净额",
        24,
        (("业务活动现金流入小计", 1), ("业务活动现金流出小计", -1)),
    ),
    _section("二、投资活动产生的现金流量"),
    _item("收回投资所收到的现金", 25),
    _item("取得投资收益所收到的现金", 26),
    _item("处置固定资产、无形资产和其他长期资产所收回的现金", 27),
    _item("收到的其他与投资活动有关的现金", 30),
    _sum("投资活动现金流入小计", 34, _INV_IN, label="现金流入小计"),
    _item("购建固定资产、无形资产和其他长期资产所支付的现金", 35),
    _item("对外投资所支付的现金", 36),
    _item("支付的其他与投资活动有关的现金", 39),
    _sum("投资活动现金流出小计", 43, _INV_OUT, label="现金流出小计"),
    _formula(
        "投资活动产生的现金流量净额",
        44,
        (("投资活动现金流入小计", 1), ("投资活动现金流出小计", -1)),
    ),
    _section("三、筹资活动产生的现金流量"),
    _item("借款所收到的现金", 45),
    _item("收到的其他与筹资活动有关的现金", 48),
    _sum("筹资活动现金流入小计", 50, _FIN_IN, label="现金流入小计"),
    _item("偿还借款所支付的现金", 51),
    _item("偿付利息所支付的现金", 52),
    _item("支付的其他与筹资活动有关的现金", 55),
    _sum("筹资活动现金流出小计", 58, _FIN_OUT, label="现金流出小计"),
    _formula(
        "筹资活动产生的现金流量净额",
        59,
        (("筹资活动现金流入小计", 1), ("筹资活动现金流出小计", -1)),
    ),
    _item("汇率变动对现金的影响额", 60, 0, "四、汇率变动对现金的影响额"),
    _formula(
        "现金及现金等价物净增加额",
        61,
        (
            ("业务活动产生的现金流量净额", 1),
            ("投资活动产生的现金流量净额", 1),
            ("筹资活动产生的现金流量净额", 1),
            ("汇率变动对现金的影响额", 1),
        ),
        label="五、现金及现金等价物净增加额",
    ),
    _section("补充资料：现金余额"),
    _item(OPENING_CASH, None),
    _item(CLOSING_CASH, None),
)

#: Why cash moved, from the other posting of the entry: (test, line for money in, line for money
#: out). The first rule that matches decides; "in" lines take cash received (minus the posting),
#: "out" lines cash paid (the posting). Order matters: grants before other advances and costs.
CashRule = tuple[str, Callable[[data.Transaction, data.Posting, str], bool], str, str]


def _is_grant(txn: data.Transaction, posting: data.Posting, line: str) -> bool:
    meta = txn.meta or {}
    return "grant" in meta and posting.account.startswith(("Expenses:", "Assets:1141"))


def _is_wages(txn: data.Transaction, posting: data.Posting, line: str) -> bool:
    kind = (posting.meta or {}).get("cost-kind") or (txn.meta or {}).get("cost-kind")
    return line == "应付工资" or (posting.account.startswith("Expenses:") and kind == "wages")


def _line_is(*names: str) -> Callable[[data.Transaction, data.Posting, str], bool]:
    return lambda _txn, _posting, line: line in names


def _root_is(root: str) -> Callable[[data.Transaction, data.Posting, str], bool]:
    return lambda _txn, posting, _line: _root(posting.account) == root


CASH_FLOW_RULES: tuple[CashRule, ...] = (
    ("捐赠", _line_is("捐赠收入"), "接受捐赠收到的现金", "接受捐赠收到的现金"),
    ("会费", _line_is("会费收入"), "收取会费收到的现金", "收取会费收到的现金"),
    (
        "提供服务",
        _line_is("提供服务收入", "预收账款"),
        "提供服务收到的现金",
        "提供服务收到的现金",
    ),
    ("商品销售", _line_is("商品销售收入"), "销售商品收到的现金", "销售商品收到的现金"),
    ("政府补助", _line_is("政府补助收入"), "政府补助收到的现金", "政府补助收到的现金"),
    ("投资收益", _line_is("投资收益"), "取得投资收益所收到的现金", "取得投资收益所收到的现金"),
    (
        "资助",
        _is_grant,
        "提供捐赠或者资助支付的现金",
        "提供捐赠或者资助支付的现金",
    ),
    ("工资", _is_wages, "支付给员工以及为员工支付的现金", "支付给员工以及为员工支付的现金"),
    (
        "长期资产",
        _line_is("固定资产", "在建工程", "文物文化资产", "无形资产", "固定资产清理"),
        "处置固定资产、无形资产和其他长期资产所收回的现金",
        "购建固定资产、无形资产和其他长期资产所支付的现金",
    ),
    (
        "投资",
        _line_is("短期投资", "长期股权投资", "长期债权投资", "一年内到期的长期债权投资"),
        "收回投资所收到的现金",
        "对外投资所支付的现金",
    ),
    (
        "借款",
        _line_is("短期借款", "长期借款", "一年内到期的长期负债"),
        "借款所收到的现金",
        "偿还借款所支付的现金",
    ),
    (
        "其他收入",
        _root_is("Income"),
        "收到的其他与业务活动有关的现金",
        "收到的其他与业务活动有关的现金",
    ),
    (
        "商品与服务",
        lambda _t, p, line: p.account.startswith("Expenses:") or line in ("存货", "预付账款"),
        "购买商品、接受服务支付的现金",
        "购买商品、接受服务支付的现金",
    ),
    (
        "其他",
        lambda _t, _p, _l: True,
        "收到的其他与业务活动有关的现金",
        "支付的其他与业务活动有关的现金",
    ),
)


def cash_flow_line(book: Book, txn: data.Transaction, posting: data.Posting) -> tuple[str, Decimal]:
    """The cash-flow line a non-cash posting of a cash-moving entry feeds, and the amount it
    adds to that line (cash received for an inflow line, cash paid for an outflow line)."""
    number = _number(posting) or ZERO
    line = statement_line(book, posting.account)
    received = -number  # the cash side of this posting
    for _name, test, in_line, out_line in CASH_FLOW_RULES:
        if test(txn, posting, line):
            target = out_line if received < 0 else in_line
            return target, received if target in INFLOW_LINES else -received
    raise AssertionError("the last rule matches everything")  # pragma: no cover


def _cash_flow_contributions_txn(
    book: Book, txn: data.Transaction, period: Period, cash: frozenset[str]
) -> Iterator[tuple[data.Posting, str, int, Decimal]]:
    if txn.date > period.end:
        return
    moves_cash = any(p.account in cash for p in txn.postings)
    if not moves_cash:
        return
    # Net assets moved inside a cash entry (a grant's commitment released as its money comes
    # back) usually cancel out; only what is left over, if anything, is a reason for cash.
    equity = [p for p in txn.postings if _root(p.account) == "Equity"]
    equity_net = sum((_number(p) or ZERO for p in equity), ZERO)
    for posting in txn.postings:
        number = _number(posting)
        if number is None or (equity_net == 0 and posting in equity):
            continue
        if posting.account in cash:
            if txn.date < period.start:
                yield posting, OPENING_CASH, 0, number
            yield posting, CLOSING_CASH, 0, number
        elif txn.date >= period.start:
            key, amount = cash_flow_line(book, txn, posting)
            yield posting, key, 0, amount


# -- building ------------------------------------------------------------------------------

Contribution = tuple[data.Transaction, data.Posting, str, int, Decimal]


def _dated(book: Book, start: dt.date | None, end: dt.date) -> list[data.Transaction]:
    """The transactions dated ``start`` (or the first) to ``end``, from the Book's date order:
    a statement of one year in a ledger of many reads only what it needs."""
    ordered = book.ordered()
    lo = 0 if start is None else bisect.bisect_left(ordered, start, key=lambda t: t.date)
    hi = bisect.bisect_right(ordered, end, key=lambda t: t.date)
    return ordered[lo:hi]


def _contributions(book: Book, kind: str, period: Period) -> Iterator[Contribution]:
    """Every (entry, posting, line, column, amount) a statement adds up."""
    if kind == "cash_flow":
        cash = cash_accounts(book)
        for txn in _dated(book, None, period.end):
            for posting, key, column, amount in _cash_flow_contributions_txn(
                book, txn, period, cash
            ):
                yield txn, posting, key, column, amount
        return
    if kind == "balance_sheet":
        feed, txns = _balance_sheet_contributions, _dated(book, None, period.end)
    else:
        feed, txns = _activities_contributions, _dated(book, period.start, period.end)
    for txn in txns:
        for posting in txn.postings:
            for key, column, amount in feed(book, txn, posting, period):
                yield txn, posting, key, column, amount


_FORMS: dict[str, tuple[tuple[_Spec, ...], tuple[str, ...], str, str, str]] = {
    "balance_sheet": (
        BALANCE_SHEET,
        ("期初数", "期末数"),
        "资产负债表",
        "Statement of financial position",
        "会民非01表",
    ),
    "activities": (
        ACTIVITIES,
        ("非限定性", "限定性", "合计"),
        "业务活动表",
        "Statement of activities",
        "会民非02表",
    ),
    "cash_flow": (
        CASH_FLOW,
        ("本期金额",),
        "现金流量表",
        "Cash-flow statement (direct method)",
        "会民非03表",
    ),
}


def _expand(specs: Sequence[_Spec], key: str) -> dict[str, int]:
    """The item lines behind a line, with the sign each enters it."""
    by_key = {s.key: s for s in specs}
    spec = by_key[key]
    if not spec.formula:
        return {key: 1}
    out: dict[str, int] = defaultdict(int)
    for part, sign in spec.formula:
        for item, inner in _expand(specs, part).items():
            out[item] += sign * inner
    return dict(out)


def build_statement(
    book: Book, kind: str, period: Period, *, now: dt.datetime | None = None
) -> Statement:
    """One of ``balance_sheet``, ``activities``, ``cash_flow`` or ``trial_balance``."""
    if kind == "trial_balance":
        return trial_balance(book, period, now=now)
    if kind not in _FORMS:
        raise RuleError("type", f"报表类型须为 {'/'.join(KINDS)} 之一（unknown statement）")
    book.refresh()
    specs, columns, title, title_en, form = _FORMS[kind]
    totals: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for _txn, _posting, key, column, amount in _contributions(book, kind, period):
        totals[(key, column)] += amount
    lines = []
    for spec in specs:
        if spec.kind == "section":
            values: tuple[Decimal, ...] = ()
        else:
            parts = _expand(specs, spec.key)
            values = tuple(
                sum((sign * totals[(item, c)] for item, sign in parts.items()), ZERO).quantize(
                    Decimal("0.01")
                )
                for c in range(len(columns))
            )
        lines.append(
            Line(spec.key, spec.label or spec.key, spec.row, spec.kind, values, spec.indent)
        )
    return Statement(
        kind=kind,
        title=title,
        title_en=title_en,
        form=form,
        period=period,
        columns=columns,
        lines=tuple(lines),
        ledger_title=book.title,
        head_hash=book.head_hash,
        head_seq=book.seq,
        generated_at=now or book.clock(),
        notes=_NOTES[kind],
    )


_NOTES: dict[str, tuple[str, ...]] = {
    "balance_sheet": (
        "期初数为期间起始日前一日的余额，期末数为截止日的余额。",
        '净资产按基金性质（账本中 custom "fund" 的声明）归入非限定性或限定性；'
        "其中已承诺微创投资助为已决定资助、尚未支出的部分。",
    ),
    "activities": (
        "费用全部列入非限定性栏；限定性基金的支出按相同金额自限定性净资产转为非限定性净资产，"
        "基金之间在两类净资产间的划转亦列入此行。",
    ),
    "cash_flow": (
        "直接法：现金为账户行为「货币资金」的各账户；现金账户之间的划转不是现金流量。",
        "每笔涉及现金的分录，按其另一方的科目（及 cost-kind、grant 元数据）归入各行。",
    ),
    "trial_balance": (
        "期间起始年度之前各年度的收入与费用已按基金性质结转入 3101/3102 净资产（期初余额）。",
    ),
}


# -- trial balance -------------------------------------------------------------------------

TB_COLUMNS = ("期初借方", "期初贷方", "本期借方", "本期贷方", "期末借方", "期末贷方")


def trial_balance_account(
    book: Book, txn: data.Transaction, posting: data.Posting, period: Period
) -> str:
    """The account a posting is shown under: results of earlier years go to net assets."""
    if _root(posting.account) in ("Income", "Expenses") and txn.date < dt.date(
        period.start.year, 1, 1
    ):
        return RESTRICTED_EQUITY if is_restricted(book, txn, posting) else UNRESTRICTED_EQUITY
    return posting.account


def _tb_contributions(
    book: Book, period: Period
) -> Iterator[tuple[data.Transaction, data.Posting, str, str, Decimal]]:
    """(entry, posting, account shown, part, amount); part is opening, debit, credit or closing."""
    for txn in _dated(book, None, period.end):
        for posting in txn.postings:
            number = _number(posting)
            if number is None:
                continue
            account = trial_balance_account(book, txn, posting, period)
            if txn.date < period.start:
                yield txn, posting, account, "opening", number
            elif number >= 0:
                yield txn, posting, account, "debit", number
            else:
                yield txn, posting, account, "credit", -number
            yield txn, posting, account, "closing", number


def _split(balance: Decimal) -> tuple[Decimal, Decimal]:
    return (balance, ZERO) if balance >= 0 else (ZERO, -balance)


def trial_balance(book: Book, period: Period, *, now: dt.datetime | None = None) -> Statement:
    """Every account's opening balance, the period's debits and credits, and closing balance."""
    book.refresh()
    parts: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for _txn, _posting, account, part, amount in _tb_contributions(book, period):
        parts[account][part] += amount
    accounts = sorted(set(parts) | set(book.accounts), key=account_sort_key)
    lines = []
    names: dict[str, str] = {}
    sums = [ZERO] * 6
    for account in accounts:
        p = parts.get(account, {})
        values: tuple[Decimal, ...] = (
            *_split(p.get("opening", ZERO)),
            p.get("debit", ZERO),
            p.get("credit", ZERO),
            *_split(p.get("closing", ZERO)),
        )
        if not any(values) and account not in book.accounts:
            continue
        values = tuple(v.quantize(Decimal("0.01")) for v in values)
        sums = [s + v for s, v in zip(sums, values, strict=True)]
        info = book.accounts.get(account)
        label = f"{account_code(account)} {info.display}" if info else account
        lines.append(Line(account, label.strip(), None, "item", values))
        names[account] = account
    lines.append(Line("合计", "合计", None, "total", tuple(sums)))
    return Statement(
        kind="trial_balance",
        title="科目余额表（试算平衡表）",
        title_en="Trial balance",
        form="",
        period=period,
        columns=TB_COLUMNS,
        lines=tuple(lines),
        ledger_title=book.title,
        head_hash=book.head_hash,
        head_seq=book.seq,
        generated_at=now or book.clock(),
        notes=_NOTES["trial_balance"],
        accounts=names,
    )


# -- trace ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceRow:
    """One posting behind a figure, with what it adds to the figure."""

    entry_id: str
    seq: int | None
    date: dt.date
    payee: str
    narration: str
    kind: str
    account: str
    fund: str
    amount: Decimal


@dataclass(frozen=True)
class Trace:
    """The postings behind one figure; their amounts add up to it."""

    kind: str
    key: str
    label: str
    column: int
    column_label: str
    period: Period
    total: Decimal
    rows: tuple[TraceRow, ...]


def trace_row(txn: data.Transaction, posting: data.Posting, amount: Decimal) -> TraceRow:
    """One posting behind a figure, with what it adds to the figure."""
    meta = txn.meta or {}
    return TraceRow(
        entry_id=str(meta.get("id", "")),
        seq=seq_of(txn),
        date=txn.date,
        payee=txn.payee or "",
        narration=txn.narration or "",
        kind=str(meta.get("kind", "")),
        account=posting.account,
        fund=fund_of_posting(txn, posting) or "",
        amount=amount,
    )


_TB_PARTS = ("opening", "opening", "debit", "credit", "closing", "closing")


def trace(book: Book, kind: str, key: str, column: int, period: Period) -> Trace:
    """The postings behind one figure of a statement.

    Raises:
        RuleError: an unknown statement, line or column (fields ``type``, ``line``, ``column``).
    """
    statement = build_statement(book, kind, period)
    try:
        line = statement.line(key)
    except KeyError:
        raise RuleError("line", f"报表中没有「{key[:40]}」这一行（unknown line）") from None
    if line.kind == "section" or not 0 <= column < len(statement.columns):
        raise RuleError("column", "该行没有这一栏数字（no such figure）")
    rows: list[TraceRow] = []
    total = line.values[column]
    column_label = statement.columns[column]
    if kind == "trial_balance":
        wanted = _TB_PARTS[column]
        if key == "合计" and wanted in ("opening", "closing"):
            raise RuleError(
                "column", "合计行的余额栏不是某些分录之和，请从各科目追溯（no such figure）"
            )
        if wanted in ("opening", "closing"):
            # A balance is shown on the debit or the credit side; traced, it is one signed sum.
            first = 0 if wanted == "opening" else 4
            total = line.values[first] - line.values[first + 1]
            column_label = "期初余额" if wanted == "opening" else "期末余额"
            column_label += "（借方为正，贷方为负）"
        for txn, posting, account, part, amount in _tb_contributions(book, period):
            if part == wanted and (key == "合计" or account == key):
                rows.append(trace_row(txn, posting, amount))
    else:
        specs = _FORMS[kind][0]
        signs = _expand(specs, key)
        for txn, posting, item, col, amount in _contributions(book, kind, period):
            if col == column and item in signs:
                rows.append(trace_row(txn, posting, signs[item] * amount))
    rows.sort(key=lambda r: (r.date, r.seq or 0))
    return Trace(
        kind=kind,
        key=key,
        label=line.label,
        column=column,
        column_label=column_label,
        period=period,
        total=total,
        rows=tuple(rows),
    )
