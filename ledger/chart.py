"""The default chart of accounts of 《民间非营利组织会计制度》 and the funds of a community micro-fund.

Every ``open`` directive carries its Chinese display name and the statement line it feeds, so the
ledger describes itself to an auditor who opens it in Fava or bean-query without this program.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledger.model import Fund


@dataclass(frozen=True)
class AccountSpec:
    """One account of the default chart."""

    name: str
    display: str
    statement: str
    name_en: str


# Statement lines: "<statement>·<line>"; 资产负债表 = statement of financial position,
# 业务活动表 = statement of activities. Codes follow the standard chart of the system.
DEFAULT_ACCOUNTS: tuple[AccountSpec, ...] = (
    AccountSpec("Assets:1001-库存现金", "库存现金", "资产负债表·货币资金", "Cash on hand"),
    AccountSpec("Assets:1002-银行存款", "银行存款", "资产负债表·货币资金", "Bank deposits"),
    AccountSpec(
        "Assets:1009-其他货币资金:微信支付",
        "其他货币资金—微信支付",
        "资产负债表·货币资金",
        "WeChat Pay balance",
    ),
    AccountSpec(
        "Assets:1009-其他货币资金:支付宝",
        "其他货币资金—支付宝",
        "资产负债表·货币资金",
        "Alipay balance",
    ),
    AccountSpec("Assets:1122-应收款项", "应收款项", "资产负债表·应收款项", "Receivables"),
    AccountSpec("Assets:1141-预付账款", "预付账款", "资产负债表·预付账款", "Prepayments"),
    AccountSpec("Assets:1201-存货", "存货", "资产负债表·存货", "Inventory"),
    AccountSpec("Assets:1501-固定资产", "固定资产", "资产负债表·固定资产", "Fixed assets"),
    AccountSpec("Liabilities:2202-应付款项", "应付款项", "资产负债表·应付款项", "Payables"),
    AccountSpec("Liabilities:2204-应付工资", "应付工资", "资产负债表·应付工资", "Wages payable"),
    AccountSpec("Liabilities:2206-应交税金", "应交税金", "资产负债表·应交税金", "Taxes payable"),
    AccountSpec(
        "Liabilities:2203-预收账款", "预收账款", "资产负债表·预收账款", "Advances received"
    ),
    AccountSpec(
        "Equity:3101-非限定性净资产",
        "非限定性净资产",
        "资产负债表·非限定性净资产",
        "Unrestricted net assets",
    ),
    AccountSpec(
        "Equity:3102-限定性净资产",
        "限定性净资产",
        "资产负债表·限定性净资产",
        "Restricted net assets",
    ),
    # Amounts of net assets committed to awarded micro-grants (designated, not yet spent): a
    # reclassification inside each kind of net assets, so a fund's balance is unchanged by an
    # award while its uncommitted balance falls.
    AccountSpec(
        "Equity:3101-非限定性净资产:已承诺资助",
        "非限定性净资产—已承诺资助",
        "资产负债表·非限定性净资产",
        "Unrestricted net assets committed to grants",
    ),
    AccountSpec(
        "Equity:3102-限定性净资产:已承诺资助",
        "限定性净资产—已承诺资助",
        "资产负债表·限定性净资产",
        "Restricted net assets committed to grants",
    ),
    AccountSpec(
        "Income:4101-捐赠收入:非限定性",
        "捐赠收入（非限定性）",
        "业务活动表·捐赠收入",
        "Donations, unrestricted",
    ),
    AccountSpec(
        "Income:4101-捐赠收入:限定性",
        "捐赠收入（限定性）",
        "业务活动表·捐赠收入",
        "Donations, restricted",
    ),
    AccountSpec(
        "Income:4301-提供服务收入", "提供服务收入", "业务活动表·提供服务收入", "Service revenue"
    ),
    AccountSpec(
        "Income:4401-政府补助收入:非限定性",
        "政府补助收入（非限定性）",
        "业务活动表·政府补助收入",
        "Government grants, unrestricted",
    ),
    AccountSpec(
        "Income:4401-政府补助收入:限定性",
        "政府补助收入（限定性）",
        "业务活动表·政府补助收入",
        "Government grants, restricted",
    ),
    AccountSpec(
        "Income:4501-商品销售收入", "商品销售收入", "业务活动表·商品销售收入", "Sales of goods"
    ),
    AccountSpec("Income:4601-投资收益", "投资收益", "业务活动表·投资收益", "Investment income"),
    AccountSpec("Income:4901-其他收入", "其他收入", "业务活动表·其他收入", "Other income"),
    AccountSpec(
        "Expenses:5101-业务活动成本",
        "业务活动成本",
        "业务活动表·业务活动成本",
        "Programme costs",
    ),
    AccountSpec("Expenses:5201-管理费用", "管理费用", "业务活动表·管理费用", "Administration"),
    AccountSpec("Expenses:5301-筹资费用", "筹资费用", "业务活动表·筹资费用", "Fundraising"),
    AccountSpec("Expenses:5401-其他费用", "其他费用", "业务活动表·其他费用", "Other expenses"),
)

#: Where money arrives or leaves, by the channel a person picks on a form.
CHANNEL_ACCOUNTS: dict[str, str] = {
    "cash": "Assets:1001-库存现金",
    "bank": "Assets:1002-银行存款",
    "wechat": "Assets:1009-其他货币资金:微信支付",
    "alipay": "Assets:1009-其他货币资金:支付宝",
}
CHANNEL_NAMES: dict[str, str] = {
    "cash": "现金",
    "bank": "银行转账",
    "wechat": "微信支付",
    "alipay": "支付宝",
}

#: Expense lines an outflow may be charged to (the four cost lines of the statement of activities).
EXPENSE_ACCOUNTS: dict[str, str] = {
    "programme": "Expenses:5101-业务活动成本",
    "admin": "Expenses:5201-管理费用",
    "fundraising": "Expenses:5301-筹资费用",
    "other": "Expenses:5401-其他费用",
}
EXPENSE_NAMES: dict[str, str] = {
    "programme": "业务活动成本",
    "admin": "管理费用",
    "fundraising": "筹资费用",
    "other": "其他费用",
}

DONATION_INCOME = {
    False: "Income:4101-捐赠收入:非限定性",
    True: "Income:4101-捐赠收入:限定性",
}

GENERAL_FUND = "general"
CANTEEN_FUND = "canteen"

DEFAULT_FUNDS: tuple[Fund, ...] = (
    Fund(
        GENERAL_FUND,
        "社区微基金（非限定）",
        restricted=False,
        purpose="社区公益服务、微创投项目及其他经议事会决定的用途",
        name_en="General micro-fund",
    ),
    Fund(
        CANTEEN_FUND,
        "共享食堂",
        restricted=False,
        may_overdraw=True,
        purpose="社区共享食堂（社会企业）的经营核算，盈余按规则反哺微基金",
        name_en="Shared canteen",
    ),
)
DEMO_RESTRICTED_FUNDS: tuple[Fund, ...] = (
    Fund(
        "zhulaocan",
        "助老餐",
        restricted=True,
        purpose="为70岁以上老人、独居及困难老人提供低偿助餐",
        name_en="Meals for elders",
    ),
    Fund(
        "meiyuanzi",
        "美院子",
        restricted=True,
        purpose="老旧院落微更新：危旧设施整治、小花园、适老化改造",
        name_en="Courtyard renewal",
    ),
)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_main(title: str) -> str:
    """The text of ``main.beancount``: options and the includes, nothing else."""
    return (
        "; 社区微基金账本 — main file. Open this file in Fava, bean-check or bean-query.\n"
        "; Entries are appended by the application to txns/YYYY.beancount; edit with care.\n"
        f'option "title" {_q(title)}\n'
        'option "operating_currency" "CNY"\n'
        'option "booking_method" "STRICT"\n'
        'option "name_assets" "Assets"\n'
        '\n2000-01-01 custom "fava-option" "language" "zh"\n'
        '\ninclude "accounts.beancount"\n'
        'include "txns/*.beancount"\n'
    )


def render_accounts(opened: dt.date, funds: tuple[Fund, ...]) -> str:
    """The text of ``accounts.beancount``: every account and every fund, declared with metadata."""
    lines = ["; Chart of accounts (《民间非营利组织会计制度》) and funds.", ""]
    lines.append(f"{opened.isoformat()} commodity CNY")
    lines.append('  name: "人民币"')
    lines.append("")
    lines += [render_open(spec, opened) for spec in DEFAULT_ACCOUNTS]
    lines.append("")
    for fund in funds:
        lines.append(render_fund(fund, opened))
    return "\n".join(lines) + "\n"


def render_open(spec: AccountSpec, opened: dt.date) -> str:
    """One ``open`` directive with the account's names and statement line."""
    return "\n".join(
        [
            f"{opened.isoformat()} open {spec.name} CNY",
            f"  name: {_q(spec.display)}",
            f"  name-en: {_q(spec.name_en)}",
            f"  statement: {_q(spec.statement)}",
        ]
    )


def missing_opens(accounts_text: str, opened: dt.date) -> str:
    """``open`` directives for default accounts an older accounts file lacks (empty if none)."""
    missing = [s for s in DEFAULT_ACCOUNTS if f" open {s.name} " not in accounts_text]
    if not missing:
        return ""
    head = "\n; Accounts added by a later version of the default chart.\n"
    return head + "\n".join(render_open(s, opened) for s in missing) + "\n"


def render_fund(fund: Fund, opened: dt.date) -> str:
    """A ``custom "fund"`` directive declaring one fund."""
    kind = "restricted" if fund.restricted else "unrestricted"
    out = [f'{opened.isoformat()} custom "fund" {_q(fund.slug)} {_q(fund.name)} {_q(kind)}']
    out.append(f"  purpose: {_q(fund.purpose)}")
    if fund.name_en:
        out.append(f"  name-en: {_q(fund.name_en)}")
    if fund.may_overdraw:
        out.append("  may-overdraw: TRUE")
    return "\n".join(out) + "\n"
