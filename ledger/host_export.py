"""A period's movements summarised in the host charity's chart of accounts, for its own books.

A community fund is usually a 专项基金 inside a host charity: the money sits in the host's bank
account and the host books the fund's movements in its own chart, with the special fund as a
项目 (project) auxiliary. This module maps each of our accounts to a host account code by the
longest matching account prefix, and adds up the period's postings by host code and fund as debit
and credit totals (a 科目汇总表). Every account used in the period must map; debits equal credits.

The mapping is plain data (prefix → (code, name)); the app keeps it as an organisation setting and
edits it as CSV lines ``our account prefix,host code,host name`` parsed by :func:`parse_mapping`.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ledger.book import ZERO, Book, fund_of_posting
from ledger.errors import RuleError
from ledger.financials import Period

HostMapping = Mapping[str, tuple[str, str]]

#: Our accounts (or account prefixes) in the standard codes and names of 《民间非营利组织会计制度》.
#: Donations and government grants keep their restricted / unrestricted split as detail codes
#: (4101-01 and 4101-02 style, written 410101 / 410102), which is how most hosts' books keep them.
DEFAULT_MAPPING: dict[str, tuple[str, str]] = {
    "Assets:1001-库存现金": ("1001", "库存现金"),
    "Assets:1002-银行存款": ("1002", "银行存款"),
    "Assets:1009-其他货币资金": ("1009", "其他货币资金"),
    "Assets:1122-应收款项": ("1122", "应收款项"),
    "Assets:1141-预付账款": ("1141", "预付账款"),
    "Assets:1201-存货": ("1201", "存货"),
    "Assets:1501-固定资产": ("1501", "固定资产"),
    "Liabilities:2202-应付款项": ("2202", "应付款项"),
    "Liabilities:2203-预收账款": ("2203", "预收账款"),
    "Liabilities:2204-应付工资": ("2204", "应付工资"),
    "Liabilities:2206-应交税金": ("2206", "应交税金"),
    "Equity:3101-非限定性净资产": ("3101", "非限定性净资产"),
    "Equity:3102-限定性净资产": ("3102", "限定性净资产"),
    "Income:4101-捐赠收入:非限定性": ("410101", "捐赠收入—非限定性收入"),
    "Income:4101-捐赠收入:限定性": ("410102", "捐赠收入—限定性收入"),
    "Income:4301-提供服务收入": ("4301", "提供服务收入"),
    "Income:4401-政府补助收入:非限定性": ("440101", "政府补助收入—非限定性收入"),
    "Income:4401-政府补助收入:限定性": ("440102", "政府补助收入—限定性收入"),
    "Income:4501-商品销售收入": ("4501", "商品销售收入"),
    "Income:4601-投资收益": ("4601", "投资收益"),
    "Income:4901-其他收入": ("4901", "其他收入"),
    "Expenses:5101-业务活动成本": ("5101", "业务活动成本"),
    "Expenses:5201-管理费用": ("5201", "管理费用"),
    "Expenses:5301-筹资费用": ("5301", "筹资费用"),
    "Expenses:5401-其他费用": ("5401", "其他费用"),
}

#: A host account code: four digits, then detail levels of digits, optionally separated by
#: ``.`` or ``-`` (``1002``, ``410102``, ``4101.02``, ``5101-01-03``).
CODE = re.compile(r"[0-9]{4}(?:[.-]?[0-9]{1,4}){0,4}")
MAX_NAME = 60
_ROOTS = ("Assets", "Liabilities", "Equity", "Income", "Expenses")
#: Control, bidi and line-separator characters: never in a name that reaches the host's books.
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")

CSV_HEADER = (
    "科目编码 host code",
    "科目名称 host account",
    "项目（专项基金）project",
    "基金 fund",
    "基金编号 fund id",
    "借方金额 debit",
    "贷方金额 credit",
    "过账笔数 postings",
)


class MappingError(RuleError):
    """The mapping text has faults; each problem names its line. Nothing was saved."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("mapping", "；".join(problems), "invalid_mapping")
        self.problems = list(problems)


@dataclass(frozen=True)
class HostRow:
    """One line of the summary: a host account, for one of our funds."""

    code: str
    name: str
    project: str
    fund: str
    fund_name: str
    debit: Decimal
    credit: Decimal
    postings: int


@dataclass(frozen=True)
class HostExport:
    """The period's movements in the host's chart, ready for a page and a CSV."""

    period: Period
    special_fund: str
    rows: tuple[HostRow, ...]
    debit_total: Decimal
    credit_total: Decimal
    entries: int

    @property
    def balanced(self) -> bool:
        """Whether total debits equal total credits (they always should)."""
        return self.debit_total == self.credit_total

    def csv_rows(self) -> list[list[str | Decimal | int]]:
        """The rows for :data:`CSV_HEADER`, then a total line."""
        rows: list[list[str | Decimal | int]] = [
            [r.code, r.name, r.project, r.fund_name, r.fund, r.debit, r.credit, r.postings]
            for r in self.rows
        ]
        rows.append(
            [
                "合计 total",
                "",
                "",
                "",
                "",
                self.debit_total,
                self.credit_total,
                sum(r.postings for r in self.rows),
            ]
        )
        return rows


def host_account(mapping: HostMapping, account: str) -> tuple[str, str] | None:
    """The host (code, name) of one of our accounts: the longest mapped prefix wins.

    A prefix matches whole account components only: ``Assets:1002`` does not match
    ``Assets:1002-银行存款``, ``Income:4101-捐赠收入`` matches ``Income:4101-捐赠收入:限定性``.
    """
    best: str | None = None
    for prefix in mapping:
        if (account == prefix or account.startswith(prefix + ":")) and (
            best is None or len(prefix) > len(best)
        ):
            best = prefix
    return None if best is None else mapping[best]


def summarise(
    book: Book, period: Period, mapping: HostMapping, *, special_fund: str = ""
) -> HostExport:
    """Add up the period's postings by host account code and fund.

    Args:
        book: the Book; every transaction dated inside ``period`` counts.
        period: the days to summarise, both ends included.
        mapping: our account prefix → (host code, host name).
        special_fund: the 专项基金's name as the host knows it (the 项目 column); the ledger's
            title when empty.

    Returns:
        Rows sorted by host code, then fund; debits are positive postings, credits negative ones
        (both shown positive).

    Raises:
        RuleError: (field ``mapping``) naming every account used in the period that no prefix
            maps, or two prefixes giving one code two names. Nothing is summarised then.
    """
    project = special_fund.strip() or book.title
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    counts: dict[tuple[str, str], int] = defaultdict(int)
    names: dict[str, set[str]] = defaultdict(set)
    unmapped: set[str] = set()
    entries = 0
    for txn in book.transactions():
        if not period.start <= txn.date <= period.end:
            continue
        entries += 1
        for posting in txn.postings:
            if posting.units is None or posting.units.number is None:
                continue
            host = host_account(mapping, posting.account)
            if host is None:
                unmapped.add(posting.account)
                continue
            code, name = host
            names[code].add(name)
            key = (code, fund_of_posting(txn, posting) or "")
            number = posting.units.number
            sums[key][0 if number > 0 else 1] += abs(number)
            counts[key] += 1
    if unmapped:
        raise RuleError(
            "mapping",
            "以下科目没有对应的主办机构科目，请先补充映射："
            + "、".join(sorted(unmapped))
            + "（unmapped accounts: add them to the host mapping）",
            "unmapped",
        )
    clashes = sorted(code for code, n in names.items() if len(n) > 1)
    if clashes:
        raise RuleError(
            "mapping",
            "同一科目编码对应了不同的名称："
            + "、".join(f"{c}（{'／'.join(sorted(names[c]))}）" for c in clashes)
            + "（one host code, several names）",
            "code_clash",
        )
    rows = tuple(
        HostRow(
            code=code,
            name=next(iter(names[code])),
            project=project,
            fund=fund,
            fund_name=book.funds[fund].name if fund in book.funds else fund or "（未分基金）",
            debit=debit,
            credit=credit,
            postings=counts[(code, fund)],
        )
        for (code, fund), (debit, credit) in sorted(sums.items())
    )
    return HostExport(
        period=period,
        special_fund=project,
        rows=rows,
        debit_total=sum((r.debit for r in rows), ZERO),
        credit_total=sum((r.credit for r in rows), ZERO),
        entries=entries,
    )


# -- the mapping as text ----------------------------------------------------------------------


def mapping_to_setting(mapping: HostMapping) -> list[list[str]]:
    """The mapping as JSON-able data for the settings table, sorted by prefix."""
    return [[prefix, code, name] for prefix, (code, name) in sorted(mapping.items())]


def mapping_from_setting(value: object) -> dict[str, tuple[str, str]]:
    """The mapping from the settings table; the default when nothing usable is stored."""
    if not isinstance(value, list) or not value:
        return dict(DEFAULT_MAPPING)
    out: dict[str, tuple[str, str]] = {}
    for item in value:
        if isinstance(item, list) and len(item) == 3 and all(isinstance(x, str) for x in item):
            out[item[0]] = (item[1], item[2])
    return out or dict(DEFAULT_MAPPING)


def render_mapping(mapping: HostMapping) -> str:
    """The mapping as the CSV lines an administrator edits, one prefix a line, sorted."""
    lines = []
    for prefix, (code, name) in sorted(mapping.items()):
        cells = [prefix, code, name]
        lines.append(",".join(_csv_cell(c) for c in cells))
    return "\n".join(lines) + "\n"


def _csv_cell(text: str) -> str:
    if any(ch in text for ch in ',"'):
        return '"' + text.replace('"', '""') + '"'
    return text


def parse_mapping(text: str, accounts: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Read the mapping an administrator typed, refusing it whole if any line is wrong.

    Each non-blank line is ``our account prefix,host code,host name`` (CSV: quote a name that
    holds a comma); lines starting with ``#`` are comments.

    Args:
        text: the lines as typed.
        accounts: the ledger's opened accounts; every prefix must name at least one of them.

    Returns:
        prefix → (code, name).

    Raises:
        MappingError: listing every faulty line (line number and what is wrong): a wrong number
            of cells, a prefix that is not an opened account or a prefix of one, an empty or
            ill-formed code, an empty or too long name, a prefix given twice, one code given two
            names; and an empty mapping.
    """
    opened = list(accounts)
    problems: list[str] = []
    out: dict[str, tuple[str, str]] = {}
    first_line: dict[str, int] = {}
    code_names: dict[str, tuple[str, int]] = {}
    for number, cells in _rows(text):
        where = f"第 {number} 行（line {number}）"
        if len(cells) != 3:
            problems.append(
                f"{where}：应为“本账科目前缀,主办机构科目编码,科目名称”三项，实为 {len(cells)} 项"
                "（expected: account prefix,host code,host name）"
            )
            continue
        prefix, code, name = (c.strip() for c in cells)
        fault = _prefix_fault(prefix, opened) or _code_fault(code) or _name_fault(name)
        if fault:
            problems.append(f"{where}：{fault}")
            continue
        if prefix in first_line:
            problems.append(
                f"{where}：科目前缀 {prefix} 与第 {first_line[prefix]} 行重复"
                "（duplicate account prefix）"
            )
            continue
        seen = code_names.get(code)
        if seen is not None and seen[0] != name:
            problems.append(
                f"{where}：科目编码 {code} 在第 {seen[1]} 行名为“{seen[0]}”，此处为“{name}”"
                "（one host code, two names）"
            )
            continue
        first_line[prefix] = number
        code_names.setdefault(code, (name, number))
        out[prefix] = (code, name)
    if not problems and not out:
        problems.append("映射为空：请至少填写一行（the mapping is empty）")
    if problems:
        raise MappingError(problems)
    return out


def _rows(text: str) -> list[tuple[int, list[str]]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        rows.append((number, next(csv.reader([line]))))
    return rows


def _prefix_fault(prefix: str, opened: list[str]) -> str:
    if not prefix:
        return "请填写本账科目前缀（account prefix is required）"
    if prefix.split(":", 1)[0] not in _ROOTS:
        return (
            f"科目前缀 {prefix[:60]} 须以 Assets、Liabilities、Equity、Income 或 Expenses 开头"
            "（unknown account prefix）"
        )
    if not any(a == prefix or a.startswith(prefix + ":") for a in opened):
        return (
            f"账本中没有已开设的科目 {prefix[:60]} 或以它开头的科目"
            "（unknown or unopened account prefix）"
        )
    return ""


def _code_fault(code: str) -> str:
    if not code:
        return "请填写主办机构科目编码（host code is required）"
    if not CODE.fullmatch(code):
        return (
            f"科目编码 {code[:30]!r} 格式不正确，应为 4 位数字开头的编码，如 1002、410102、4101.02"
            "（ill-formed host code）"
        )
    return ""


def _name_fault(name: str) -> str:
    if not name:
        return "请填写主办机构科目名称（host account name is required）"
    if len(name) > MAX_NAME:
        return f"科目名称过长（最多 {MAX_NAME} 字）（host account name too long）"
    if _BAD_CHARS.search(name):
        return "科目名称含有控制字符或方向控制字符（control characters in name）"
    return ""
