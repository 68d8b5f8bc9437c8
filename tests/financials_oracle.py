"""The statements of 《民间非营利组织会计制度》 recomputed from bean-query rows alone, to check
``ledger.financials`` (and the PDFs and CSVs made from it) against the public tools.

Nothing here imports the ``ledger`` package. The postings come from one bean-query over the
files; each account's statement line comes from its ``open`` metadata (``open_meta``) and each
fund's class from its ``custom "fund"`` declaration, read with beancount's own loader. The forms
(which item lines each subtotal adds) are written out again below from the published forms
会民非01表, 02表 and 03表, so a wrong formula in the app shows up as a difference.

The rules, as an auditor would apply them by hand:

* a posting belongs to the fund in its ``fund`` metadata, else to the entry's only ``#fund-…``
  tag; restricted funds are declared ``"restricted"``; a posting without a fund is restricted
  when its account names 限定性 (and not 非限定性);
* balance sheet: assets and liabilities by their account's line; net assets by class are minus
  the Income, Expenses and Equity postings of that class (期初: before the first day);
* activities: income by line and class, all costs unrestricted, restricted costs and Equity
  moves between the classes form the release line;
* cash flow (direct method): cash is every account whose line is 货币资金; in an entry that
  moves cash, every other posting says why (Equity postings that net to zero say nothing);
* trial balance: balances and movements by account, with income and expenses of years before
  the period's first year carried to 3101/3102 by class.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from os import PathLike
from pathlib import Path

from beancount import loader
from beancount.core import data
from beanquery_helpers import bean_query, connect

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
CASH = "货币资金"
UNRESTRICTED_EQUITY = "Equity:3101-非限定性净资产"
RESTRICTED_EQUITY = "Equity:3102-限定性净资产"

Figures = dict[str, tuple[Decimal, ...]]


@dataclass(frozen=True)
class Row:
    """One posting as bean-query returns it."""

    entry: str  # bean-query's hash of the entry: groups the postings of one entry
    entry_id: str  # the entry's ``id`` metadata
    date: dt.date
    account: str
    number: Decimal
    line: str  # the account's statement line (after the ``·``)
    fund: str | None
    grant: bool
    cost_kind: str | None

    @property
    def root(self) -> str:
        """``Assets``, ``Income`` …"""
        return self.account.split(":", 1)[0]


# -- the forms, written out again ---------------------------------------------------------------

CURRENT_ASSETS = (
    "货币资金",
    "短期投资",
    "应收款项",
    "预付账款",
    "存货",
    "待摊费用",
    "一年内到期的长期债权投资",
    "其他流动资产",
)
LONG_INVESTMENTS = ("长期股权投资", "长期债权投资")
FIXED_ASSETS = ("固定资产", "在建工程", "文物文化资产", "固定资产清理")
CURRENT_LIABILITIES = (
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
LONG_LIABILITIES = ("长期借款", "长期应付款", "其他长期负债")
ASSET_ITEMS = (*CURRENT_ASSETS, *LONG_INVESTMENTS, *FIXED_ASSETS, "无形资产", "受托代理资产")
LIABILITY_ITEMS = (*CURRENT_LIABILITIES, *LONG_LIABILITIES, "受托代理负债")
NET_ASSET_ITEMS = (
    "非限定性净资产",
    "非限定性净资产·已承诺资助",
    "限定性净资产",
    "限定性净资产·已承诺资助",
)

#: Subtotal -> (part, sign) in the order they are computed.
BALANCE_SHEET_TOTALS: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = (
    ("流动资产合计", tuple((k, 1) for k in CURRENT_ASSETS)),
    ("长期投资合计", tuple((k, 1) for k in LONG_INVESTMENTS)),
    ("固定资产合计", tuple((k, 1) for k in FIXED_ASSETS)),
    (
        "资产总计",
        tuple(
            (k, 1)
            for k in ("流动资产合计", "长期投资合计", "固定资产合计", "无形资产", "受托代理资产")
        ),
    ),
    ("流动负债合计", tuple((k, 1) for k in CURRENT_LIABILITIES)),
    ("长期负债合计", tuple((k, 1) for k in LONG_LIABILITIES)),
    ("负债合计", (("流动负债合计", 1), ("长期负债合计", 1), ("受托代理负债", 1))),
    ("净资产合计", (("非限定性净资产", 1), ("限定性净资产", 1))),
    ("负债和净资产总计", (("负债合计", 1), ("净资产合计", 1))),
)

INCOME_ITEMS = (
    "捐赠收入",
    "会费收入",
    "提供服务收入",
    "商品销售收入",
    "政府补助收入",
    "投资收益",
    "其他收入",
)
EXPENSE_ITEMS = ("业务活动成本", "管理费用", "筹资费用", "其他费用")
RELEASE = "限定性净资产转为非限定性净资产"
ACTIVITIES_TOTALS: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = (
    ("收入合计", tuple((k, 1) for k in INCOME_ITEMS)),
    ("费用合计", tuple((k, 1) for k in EXPENSE_ITEMS)),
    ("净资产变动额", (("收入合计", 1), ("费用合计", -1), (RELEASE, 1))),
)

OP_IN = (
    "接受捐赠收到的现金",
    "收取会费收到的现金",
    "提供服务收到的现金",
    "销售商品收到的现金",
    "政府补助收到的现金",
    "收到的其他与业务活动有关的现金",
)
OP_OUT = (
    "提供捐赠或者资助支付的现金",
    "支付给员工以及为员工支付的现金",
    "购买商品、接受服务支付的现金",
    "支付的其他与业务活动有关的现金",
)
INV_IN = (
    "收回投资所收到的现金",
    "取得投资收益所收到的现金",
    "处置固定资产、无形资产和其他长期资产所收回的现金",
    "收到的其他与投资活动有关的现金",
)
INV_OUT = (
    "购建固定资产、无形资产和其他长期资产所支付的现金",
    "对外投资所支付的现金",
    "支付的其他与投资活动有关的现金",
)
FIN_IN = ("借款所收到的现金", "收到的其他与筹资活动有关的现金")
FIN_OUT = ("偿还借款所支付的现金", "偿付利息所支付的现金", "支付的其他与筹资活动有关的现金")
INFLOWS = frozenset((*OP_IN, *INV_IN, *FIN_IN))
OPENING_CASH = "期初现金及现金等价物余额"
CLOSING_CASH = "期末现金及现金等价物余额"
CASH_FLOW_ITEMS = (
    *OP_IN,
    *OP_OUT,
    *INV_IN,
    *INV_OUT,
    *FIN_IN,
    *FIN_OUT,
    "汇率变动对现金的影响额",
    OPENING_CASH,
    CLOSING_CASH,
)


def _net(prefix: str) -> tuple[str, tuple[tuple[str, int], ...]]:
    return (
        f"{prefix}活动产生的现金流量净额",
        ((f"{prefix}活动现金流入小计", 1), (f"{prefix}活动现金流出小计", -1)),
    )


CASH_FLOW_TOTALS: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = (
    ("业务活动现金流入小计", tuple((k, 1) for k in OP_IN)),
    ("业务活动现金流出小计", tuple((k, 1) for k in OP_OUT)),
    _net("业务"),
    ("投资活动现金流入小计", tuple((k, 1) for k in INV_IN)),
    ("投资活动现金流出小计", tuple((k, 1) for k in INV_OUT)),
    _net("投资"),
    ("筹资活动现金流入小计", tuple((k, 1) for k in FIN_IN)),
    ("筹资活动现金流出小计", tuple((k, 1) for k in FIN_OUT)),
    _net("筹资"),
    (
        "现金及现金等价物净增加额",
        (
            ("业务活动产生的现金流量净额", 1),
            ("投资活动产生的现金流量净额", 1),
            ("筹资活动产生的现金流量净额", 1),
            ("汇率变动对现金的影响额", 1),
        ),
    ),
)

#: 行次 of the standard forms (会民非01表, 02表, 03表), for the lines that carry one.
ROWS: dict[str, dict[str, int]] = {
    "balance_sheet": {
        "货币资金": 1,
        "短期投资": 2,
        "应收款项": 3,
        "预付账款": 4,
        "存货": 8,
        "待摊费用": 9,
        "一年内到期的长期债权投资": 15,
        "其他流动资产": 18,
        "流动资产合计": 20,
        "长期股权投资": 21,
        "长期债权投资": 24,
        "长期投资合计": 30,
        "固定资产": 31,
        "在建工程": 34,
        "文物文化资产": 35,
        "固定资产清理": 38,
        "固定资产合计": 40,
        "无形资产": 41,
        "受托代理资产": 51,
        "资产总计": 60,
        "短期借款": 61,
        "应付款项": 62,
        "应付工资": 63,
        "应交税金": 65,
        "预收账款": 66,
        "预提费用": 71,
        "预计负债": 72,
        "一年内到期的长期负债": 74,
        "其他流动负债": 78,
        "流动负债合计": 80,
        "长期借款": 81,
        "长期应付款": 84,
        "其他长期负债": 88,
        "长期负债合计": 90,
        "受托代理负债": 91,
        "负债合计": 100,
        "非限定性净资产": 101,
        "限定性净资产": 105,
        "净资产合计": 110,
        "负债和净资产总计": 120,
    },
    "activities": {
        "捐赠收入": 1,
        "会费收入": 2,
        "提供服务收入": 3,
        "商品销售收入": 4,
        "政府补助收入": 5,
        "投资收益": 6,
        "其他收入": 9,
        "收入合计": 11,
        "业务活动成本": 12,
        "管理费用": 21,
        "筹资费用": 24,
        "其他费用": 28,
        "费用合计": 35,
        RELEASE: 40,
        "净资产变动额": 45,
    },
    "cash_flow": {
        "接受捐赠收到的现金": 1,
        "收取会费收到的现金": 2,
        "提供服务收到的现金": 3,
        "销售商品收到的现金": 4,
        "政府补助收到的现金": 5,
        "收到的其他与业务活动有关的现金": 8,
        "业务活动现金流入小计": 13,
        "提供捐赠或者资助支付的现金": 14,
        "支付给员工以及为员工支付的现金": 15,
        "购买商品、接受服务支付的现金": 16,
        "支付的其他与业务活动有关的现金": 19,
        "业务活动现金流出小计": 23,
        "业务活动产生的现金流量净额": 24,
        "收回投资所收到的现金": 25,
        "取得投资收益所收到的现金": 26,
        "处置固定资产、无形资产和其他长期资产所收回的现金": 27,
        "收到的其他与投资活动有关的现金": 30,
        "投资活动现金流入小计": 34,
        "购建固定资产、无形资产和其他长期资产所支付的现金": 35,
        "对外投资所支付的现金": 36,
        "支付的其他与投资活动有关的现金": 39,
        "投资活动现金流出小计": 43,
        "投资活动产生的现金流量净额": 44,
        "借款所收到的现金": 45,
        "收到的其他与筹资活动有关的现金": 48,
        "筹资活动现金流入小计": 50,
        "偿还借款所支付的现金": 51,
        "偿付利息所支付的现金": 52,
        "支付的其他与筹资活动有关的现金": 55,
        "筹资活动现金流出小计": 58,
        "筹资活动产生的现金流量净额": 59,
        "汇率变动对现金的影响额": 60,
        "现金及现金等价物净增加额": 61,
    },
    "trial_balance": {},
}

LONG_TERM_ASSET_LINES = frozenset(
    ("固定资产", "在建工程", "文物文化资产", "无形资产", "固定资产清理")
)
INVESTMENT_LINES = frozenset(
    ("短期投资", "长期股权投资", "长期债权投资", "一年内到期的长期债权投资")
)
LOAN_LINES = frozenset(("短期借款", "长期借款", "一年内到期的长期负债"))
INCOME_CASH_LINES = {
    "捐赠收入": "接受捐赠收到的现金",
    "会费收入": "收取会费收到的现金",
    "提供服务收入": "提供服务收到的现金",
    "预收账款": "提供服务收到的现金",  # meals paid in advance are service income received early
    "商品销售收入": "销售商品收到的现金",
    "政府补助收入": "政府补助收到的现金",
    "投资收益": "取得投资收益所收到的现金",
}


def _reason(row: Row) -> tuple[str, str]:
    """(line if cash came in, line if cash went out) for the other side of a cash entry."""
    if row.line in INCOME_CASH_LINES:
        line = INCOME_CASH_LINES[row.line]
        return line, line
    if row.grant and (row.root == "Expenses" or row.account.startswith("Assets:1141")):
        return "提供捐赠或者资助支付的现金", "提供捐赠或者资助支付的现金"
    if row.line == "应付工资" or (row.root == "Expenses" and row.cost_kind == "wages"):
        return "支付给员工以及为员工支付的现金", "支付给员工以及为员工支付的现金"
    if row.line in LONG_TERM_ASSET_LINES:
        return (
            "处置固定资产、无形资产和其他长期资产所收回的现金",
            "购建固定资产、无形资产和其他长期资产所支付的现金",
        )
    if row.line in INVESTMENT_LINES:
        return "收回投资所收到的现金", "对外投资所支付的现金"
    if row.line in LOAN_LINES:
        return "借款所收到的现金", "偿还借款所支付的现金"
    if row.root == "Income":
        return "收到的其他与业务活动有关的现金", "收到的其他与业务活动有关的现金"
    if row.root == "Expenses" or row.line in ("存货", "预付账款"):
        return "购买商品、接受服务支付的现金", "购买商品、接受服务支付的现金"
    return "收到的其他与业务活动有关的现金", "支付的其他与业务活动有关的现金"


def _with_totals(
    items: dict[str, list[Decimal]],
    names: Iterable[str],
    totals: Iterable[tuple[str, tuple[tuple[str, int], ...]]],
    width: int,
) -> Figures:
    out: dict[str, list[Decimal]] = {name: list(items.get(name, [ZERO] * width)) for name in names}
    for name, parts in totals:
        out[name] = [sum((sign * out[part][c] for part, sign in parts), ZERO) for c in range(width)]
    return {k: tuple(v.quantize(CENT) for v in values) for k, values in out.items()}


# -- the oracle ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """An ``open`` directive's account with the metadata the statements read."""

    name: str
    display: str
    line: str


class Oracle:
    """The statements of one ledger folder, computed from bean-query rows."""

    def __init__(self, folder: str | PathLike[str]) -> None:
        main = Path(folder) / "main.beancount"
        #: The bean-query connection, for tests that ask the files directly.
        self.conn = conn = connect(main)
        self.accounts = {
            name: Account(name, str(display or name), _after_dot(statement))
            for name, display, statement in bean_query(
                conn,
                "SELECT account, open_meta(account, 'name'), open_meta(account, 'statement') "
                "FROM #accounts",
            )
        }
        self.rows = tuple(
            Row(
                entry=str(entry),
                entry_id=str(entry_id or ""),
                date=date,
                account=account,
                number=Decimal(number),
                line=_after_dot(statement),
                fund=_fund(fund, tags),
                grant=grant is not None,
                cost_kind=None if cost_kind is None else str(cost_kind),
            )
            for entry, entry_id, date, account, number, statement, fund, tags, grant, cost_kind in (
                bean_query(
                    conn,
                    "SELECT id, entry_meta('id'), date, account, number, "
                    "open_meta(account, 'statement'), meta('fund'), tags, "
                    "entry_meta('grant'), any_meta('cost-kind')",
                )
            )
        )
        self.entry_ids = frozenset(r.entry_id for r in self.rows if r.entry_id)
        self.restricted = _fund_classes(main)
        self.first = min(r.date for r in self.rows)
        self.last = max(r.date for r in self.rows)

    # -- what a posting is ---------------------------------------------------------------------

    def is_restricted(self, row: Row) -> bool:
        """Whether a posting belongs to 限定性 net assets."""
        if row.fund is not None and row.fund in self.restricted:
            return self.restricted[row.fund]
        return "限定性" in row.account and "非限定性" not in row.account

    def _entries(self) -> Iterator[list[Row]]:
        groups: dict[str, list[Row]] = defaultdict(list)
        for row in self.rows:
            groups[row.entry].append(row)
        yield from groups.values()

    # -- statements ----------------------------------------------------------------------------

    def balance_sheet(self, start: dt.date, end: dt.date) -> Figures:
        """期初数 and 期末数 of every line of 会民非01表."""
        items: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for row in self.rows:
            if row.date > end:
                continue
            adds: list[tuple[str, Decimal]] = []
            if row.root == "Assets":
                adds.append((row.line if row.line in ASSET_ITEMS else "其他流动资产", row.number))
            elif row.root == "Liabilities":
                line = row.line if row.line in LIABILITY_ITEMS else "其他流动负债"
                adds.append((line, -row.number))
            else:
                key = "限定性净资产" if self.is_restricted(row) else "非限定性净资产"
                adds.append((key, -row.number))
                if row.root == "Equity" and row.account.endswith(":已承诺资助"):
                    adds.append((f"{key}·已承诺资助", -row.number))
            for key, amount in adds:
                if row.date < start:
                    items[key][0] += amount
                items[key][1] += amount
        names = (*ASSET_ITEMS, *LIABILITY_ITEMS, *NET_ASSET_ITEMS)
        return _with_totals(items, names, BALANCE_SHEET_TOTALS, 2)

    def activities(self, start: dt.date, end: dt.date) -> Figures:
        """非限定性, 限定性 and 合计 of every line of 会民非02表."""
        items: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
        for row in self.rows:
            if not start <= row.date <= end or row.root not in ("Income", "Expenses", "Equity"):
                continue
            column = 1 if self.is_restricted(row) else 0
            if row.root == "Income":
                key = row.line if row.line in INCOME_ITEMS else "其他收入"
                items[key][column] -= row.number
                items[key][2] -= row.number
            elif row.root == "Expenses":
                key = row.line if row.line in EXPENSE_ITEMS else "其他费用"
                items[key][0] += row.number  # every cost is shown unrestricted …
                items[key][2] += row.number
                if column == 1:  # … and restricted money spent is released to it
                    items[RELEASE][1] -= row.number
                    items[RELEASE][0] += row.number
            else:
                items[RELEASE][column] -= row.number
                items[RELEASE][2] -= row.number
        names = (*INCOME_ITEMS, *EXPENSE_ITEMS, RELEASE)
        return _with_totals(items, names, ACTIVITIES_TOTALS, 3)

    def cash_accounts(self) -> frozenset[str]:
        """Accounts whose line is 货币资金."""
        return frozenset(a for a, info in self.accounts.items() if info.line == CASH)

    def cash_flow(self, start: dt.date, end: dt.date) -> Figures:
        """本期金额 of every line of 会民非03表 (direct method), with opening and closing cash."""
        cash = self.cash_accounts()
        items: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO])
        for postings in self._entries():
            date = postings[0].date
            if date > end or not any(p.account in cash for p in postings):
                continue
            equity_net = sum((p.number for p in postings if p.root == "Equity"), ZERO)
            for row in postings:
                if row.account in cash:
                    if date < start:
                        items[OPENING_CASH][0] += row.number
                    items[CLOSING_CASH][0] += row.number
                    continue
                if date < start or (row.root == "Equity" and equity_net == 0):
                    continue
                received = -row.number
                line_in, line_out = _reason(row)
                line = line_in if received >= 0 else line_out
                items[line][0] += received if line in INFLOWS else -received
        return _with_totals(items, CASH_FLOW_ITEMS, CASH_FLOW_TOTALS, 1)

    def trial_balance_account(self, row: Row, start: dt.date) -> str:
        """Where a posting is shown: results of years before ``start``'s year go to net assets."""
        if row.root in ("Income", "Expenses") and row.date.year < start.year:
            return RESTRICTED_EQUITY if self.is_restricted(row) else UNRESTRICTED_EQUITY
        return row.account

    def trial_balance(self, start: dt.date, end: dt.date) -> Figures:
        """期初/本期/期末 借方 and 贷方 of every account, and the 合计 line."""
        parts: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO] * 4)
        for row in self.rows:
            if row.date > end:
                continue
            account = self.trial_balance_account(row, start)
            if row.date < start:
                parts[account][0] += row.number
            elif row.number >= 0:
                parts[account][1] += row.number
            else:
                parts[account][2] -= row.number
            parts[account][3] += row.number
        out: Figures = {}
        for account in set(parts) | set(self.accounts):
            opening, debit, credit, closing = parts.get(account, [ZERO] * 4)
            values = (*_sides(opening), debit, credit, *_sides(closing))
            out[account] = tuple(v.quantize(CENT) for v in values)
        out["合计"] = tuple(
            sum((v[c] for v in out.values()), ZERO).quantize(CENT) for c in range(6)
        )
        return out

    def statement(self, kind: str, start: dt.date, end: dt.date) -> Figures:
        """One of the four statements by its kind name."""
        build = {
            "balance_sheet": self.balance_sheet,
            "activities": self.activities,
            "cash_flow": self.cash_flow,
            "trial_balance": self.trial_balance,
        }[kind]
        return build(start, end)

    def trial_balance_label(self, account: str) -> str:
        """``1002 银行存款``: the code that leads the account's name, and its display name."""
        code = account.split(":")[1].split("-", 1)[0] if ":" in account else ""
        info = self.accounts.get(account)
        display = info.display if info is not None else account
        return f"{code} {display}".strip() if code.isdigit() else display

    # -- the demo periods ----------------------------------------------------------------------

    def demo_periods(self) -> dict[str, str]:
        """Periods of the demo data to test, as the text ``parse_period`` reads.

        The demo ends yesterday and covers a year, so the periods are taken from its span: the
        calendar year of its last day, that year's first quarter, one month in the middle, a
        range across the year change and the whole span.
        """
        year = self.last.year
        middle = self.first + (self.last - self.first) / 2
        return {
            "year": f"{year}",
            "quarter": f"{year}-Q1",
            "month": f"{middle.year}-{middle.month:02d}",
            "year-change": f"{year - 1}-12-15..{year}-01-31",
            "whole": f"{self.first.isoformat()}..{self.last.isoformat()}",
        }


def _after_dot(statement: object) -> str:
    text = "" if statement is None else str(statement)
    return text.split("·", 1)[1] if "·" in text else ""


def _fund(meta_fund: object, tags: Iterable[str] | None) -> str | None:
    if isinstance(meta_fund, str):
        return meta_fund
    funds = [t[len("fund-") :] for t in (tags or ()) if t.startswith("fund-")]
    return funds[0] if len(funds) == 1 else None


def _sides(balance: Decimal) -> tuple[Decimal, Decimal]:
    """A balance on the debit side (positive) or the credit side."""
    return (balance, ZERO) if balance >= 0 else (ZERO, -balance)


def _fund_classes(main: Path) -> dict[str, bool]:
    """slug -> restricted, from the ``custom "fund" slug name class`` directives."""
    loader.initialize(use_cache=False)  # no pickle cache beside a ledger we only read
    entries, errors, _options = loader.load_file(str(main))
    if errors:
        raise AssertionError(f"the ledger does not load cleanly: {errors[:3]}")
    classes: dict[str, bool] = {}
    for entry in entries:
        if isinstance(entry, data.Custom) and entry.type == "fund":
            slug, _name, kind = (v.value for v in entry.values[:3])
            classes[str(slug)] = kind == "restricted"
    return classes


def format_amount(amount: Decimal) -> str:
    """An amount as the statements print it: ``-1,234.56`` (written here again, not imported)."""
    q = amount.quantize(CENT)
    return f"{'-' if q < 0 else ''}{abs(q):,.2f}"
