"""Read the CSV statements that WeChat Pay, Alipay and Chinese banks export, for batch entry.

Three layouts are understood, detected from the header row (or named by the caller):

- ``wechat``: 微信支付账单明细 — some lines about the bill, then the table
  ``交易时间, 交易类型, 交易对方, 商品, 收/支, 金额(元), 支付方式, 当前状态, 交易单号, 商户单号, 备注``
  with amounts like ``¥200.00``. UTF-8, usually with a byte-order mark.
- ``alipay``: 支付宝交易明细 — the app's export (``交易时间, 交易分类, 交易对方, 对方账号, 商品说明,
  收/支, 金额, 收/付款方式, 交易状态, 交易订单号, 商家订单号, 备注``) and the older web export
  (``交易号, 商家订单号, 交易创建时间, …, 交易对方, 商品名称, 金额（元）, 收/支, 交易状态, …``,
  cells padded with spaces). Usually GBK.
- ``bank``: a bank account's 交易明细 with separate columns for money in and out
  (``交易日期, [交易时间], 收入金额|贷方金额, 支出金额|借方金额, 对方户名, [对方账号],
  [摘要|用途], 流水号|交易流水号``). Often GBK.

Everything here is a pure function of the file's bytes: nothing is written and nothing is looked up.
Only incoming, completed rows are donation candidates (:attr:`StatementRow.candidate`); outgoing,
neutral, refunded or failed rows are listed with the reason they are skipped.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ledger.errors import RuleError
from ledger.model import ID_PATTERN
from ledger.money import parse_amount

Format = Literal["wechat", "alipay", "bank"]
Direction = Literal["in", "out", "neutral"]

FORMATS: tuple[Format, ...] = ("wechat", "alipay", "bank")
FORMAT_NAMES: dict[str, str] = {
    "wechat": "微信支付账单",
    "alipay": "支付宝账单",
    "bank": "银行流水",
}
#: The ledger channel each format's money arrives through (see ``ledger.chart.CHANNEL_ACCOUNTS``).
CHANNELS: dict[str, str] = {"wechat": "wechat", "alipay": "alipay", "bank": "bank"}

#: A statement longer than this is refused: split it by month.
MAX_ROWS = 5000
#: The largest file read (a 5000-row export is about 1.5 MB).
MAX_BYTES = 4 * 1024 * 1024
#: The header row must be within this many lines of the top.
_HEADER_SEARCH = 60
#: At most this many problems are reported for one file.
_MAX_PROBLEMS = 20


# -- results and errors ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementRow:
    """One transaction of a statement.

    Attributes:
        line_no: the row number in the file as a spreadsheet shows it (1 = the first line).
        ext_id: the transaction id of the payment platform or bank, in the ledger's id alphabet
            (ids with other characters or longer than 64 are replaced by a stable digest).
        date: the transaction date (China time, as exported).
        amount: the amount in CNY, positive.
        counterparty: who paid (incoming) or was paid (outgoing), as the statement names them.
        memo: the goods / remark / summary text of the row (never written to the ledger: it may
            carry personal data).
        direction: ``in`` (money received), ``out`` (paid) or ``neutral`` (e.g. a withdrawal).
        channel: ``wechat``, ``alipay`` or ``bank``.
        state: the row's status text (``已存入零钱``, ``交易成功`` …), empty for banks.
        skip_reason: why the row is not a donation candidate (empty when it is one).
        raw_id: the transaction id exactly as exported.
    """

    line_no: int
    ext_id: str
    date: dt.date
    amount: Decimal
    counterparty: str
    memo: str
    direction: Direction
    channel: str
    state: str = ""
    skip_reason: str = ""
    raw_id: str = ""

    @property
    def candidate(self) -> bool:
        """Incoming money that completed: a donation may be recorded from it."""
        return self.direction == "in" and not self.skip_reason


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: the row (0 for the file as a whole), the column and why."""

    line_no: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"第 {self.line_no} 行" if self.line_no else ""
        if self.column:
            where += f"「{self.column}」列"
        return f"{where}：{self.message}" if where else self.message


class StatementError(RuleError):
    """The file cannot be imported; nothing from it may be posted.

    ``problems`` lists every fault found (up to 20), each naming its row and column; the message is
    the first of them, with a count of the rest.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        first = str(self.problems[0]) if self.problems else "文件无法读取"
        more = len(self.problems) - 1
        message = first + (f"（另有 {more} 处错误）" if more > 0 else "")
        super().__init__("file", message, "bad_statement")


@dataclass(frozen=True)
class Statement:
    """A parsed statement: its format, the header's row number and every transaction row."""

    format: Format
    header_line: int
    rows: tuple[StatementRow, ...]
    encoding: str

    @property
    def channel(self) -> str:
        return CHANNELS[self.format]

    @property
    def candidates(self) -> tuple[StatementRow, ...]:
        return tuple(r for r in self.rows if r.candidate)


# -- column layouts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    key: str
    names: tuple[str, ...]
    required: bool = True


@dataclass(frozen=True)
class _Layout:
    format: Format
    columns: tuple[_Column, ...]

    def known(self) -> set[str]:
        return {_norm(n) for c in self.columns for n in c.names}


_LAYOUTS: dict[Format, _Layout] = {
    "wechat": _Layout(
        "wechat",
        (
            _Column("time", ("交易时间",)),
            _Column("type", ("交易类型",), required=False),
            _Column("party", ("交易对方",)),
            _Column("goods", ("商品",), required=False),
            _Column("dir", ("收/支",)),
            _Column("amount", ("金额(元)",)),
            _Column("method", ("支付方式",), required=False),
            _Column("state", ("当前状态",), required=False),
            _Column("id", ("交易单号",)),
            _Column("merchant_id", ("商户单号",), required=False),
            _Column("note", ("备注",), required=False),
        ),
    ),
    "alipay": _Layout(
        "alipay",
        (
            _Column("id", ("交易订单号", "交易号")),
            _Column("time", ("交易创建时间", "交易时间", "付款时间")),
            _Column("party", ("交易对方", "对方")),
            _Column("party_account", ("对方账号",), required=False),
            _Column("goods", ("商品说明", "商品名称"), required=False),
            _Column("amount", ("金额(元)", "金额")),
            _Column("dir", ("收/支",)),
            _Column("state", ("交易状态",), required=False),
            _Column("category", ("交易分类", "类型"), required=False),
            _Column("merchant_id", ("商家订单号",), required=False),
            _Column("method", ("收/付款方式",), required=False),
            _Column("note", ("备注",), required=False),
        ),
    ),
    "bank": _Layout(
        "bank",
        (
            _Column("date", ("交易日期", "记账日期")),
            _Column("time", ("交易时间",), required=False),
            _Column("credit", ("收入金额", "贷方金额", "贷方发生额", "收入")),
            _Column("debit", ("支出金额", "借方金额", "借方发生额", "支出")),
            _Column("party", ("对方户名", "对方账户名称", "对方名称", "对方账户名")),
            _Column("party_account", ("对方账号", "对方账户"), required=False),
            _Column("memo", ("摘要", "用途", "附言", "交易附言", "备注"), required=False),
            _Column("id", ("流水号", "交易流水号", "交易流水", "流水编号")),
        ),
    ),
}


def _norm(name: str) -> str:
    """A header cell as compared: no spaces or BOM, ASCII parentheses and slashes."""
    text = name.replace("\ufeff", "").replace("（", "(").replace("）", ")").replace("／", "/")
    return re.sub(r"\s+", "", text)


# -- decoding -------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode(raw: bytes) -> tuple[str, str]:
    """The text of a statement file and the encoding it was read in.

    UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark (Excel's "Unicode
    text") and GB18030 (a superset of GBK and GB2312, what Chinese banks and Alipay write).

    Raises:
        StatementError: empty, too large, or not a text file.
    """
    if len(raw) > MAX_BYTES:
        raise StatementError(
            [Problem(0, "", f"文件过大（超过 {MAX_BYTES // (1024 * 1024)} MB），请按月分开导出")]
        )
    if not raw.strip():
        raise StatementError([Problem(0, "", "文件是空的（the file is empty）")])
    text: str | None = None
    encoding = ""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text, encoding = raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            text = None
    elif b"\x00" not in raw:
        for candidate in ("utf-8-sig", "gb18030"):
            try:
                text, encoding = raw.decode(candidate), candidate
                break
            except UnicodeDecodeError:
                continue
    if text is None or _CONTROL.search(text):
        raise StatementError(
            [
                Problem(
                    0,
                    "",
                    "这不是 CSV 文本文件（可能是 Excel 的 .xls/.xlsx 或其他二进制文件）；"
                    "请在导出时选择 CSV，或用 Excel「另存为」CSV（not a CSV text file）",
                )
            ]
        )
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise StatementError([Problem(0, "", "文件是空的（the file is empty）")])
    return text, encoding


def _records(text: str) -> list[list[str]]:
    """The file's rows, comma- or tab-separated, each cell stripped of padding and tabs."""
    sample = "\n".join(text.splitlines()[:_HEADER_SEARCH])
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    try:
        rows = list(csv.reader(text.splitlines(), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise StatementError([Problem(0, "", f"CSV 格式错误：{exc}")]) from exc
    return [[cell.strip().strip("\t").strip() for cell in row] for row in rows]


# -- header ---------------------------------------------------------------------------------------


def _find_header(records: list[list[str]], fmt: str) -> tuple[_Layout, int, dict[str, int]]:
    """The layout, the header's index in ``records`` and each column key's position."""
    if fmt not in ("auto", *FORMATS):
        raise RuleError("format", "格式须为 auto / wechat / alipay / bank 之一（unknown format）")
    layouts = [layout for name, layout in _LAYOUTS.items() if fmt in ("auto", name)]
    for index, row in enumerate(records[:_HEADER_SEARCH]):
        cells = {_norm(c) for c in row if c}
        scored = sorted(
            ((len(cells & layout.known()), i, layout) for i, layout in enumerate(layouts)),
            key=lambda t: (-t[0], t[1]),
        )
        score, _, layout = scored[0]
        if score < 3:
            continue
        positions: dict[str, int] = {}
        normalised = [_norm(c) for c in row]
        missing: list[Problem] = []
        for column in layout.columns:
            found = next(
                (normalised.index(n) for n in map(_norm, column.names) if n in normalised), None
            )
            if found is not None:
                positions[column.key] = found
            elif column.required:
                also = "」「".join(column.names[1:])
                missing.append(
                    Problem(
                        index + 1,
                        column.names[0],
                        f"{FORMAT_NAMES[layout.format]}的表头缺少此列"
                        + (f"（也可名为「{also}」）" if also else "")
                        + "（missing column）",
                    )
                )
        if missing:
            raise StatementError(missing)
        return layout, index, positions
    wanted = "、".join(FORMAT_NAMES[f] for f in FORMATS) if fmt == "auto" else FORMAT_NAMES[fmt]
    raise StatementError(
        [
            Problem(
                0,
                "",
                f"在前 {_HEADER_SEARCH} 行中找不到{wanted}的表头（no recognised header）；"
                "请上传平台导出的原始 CSV 文件，不要改动列名",
            )
        ]
    )


# -- cells ----------------------------------------------------------------------------------------

_DATE = re.compile(
    r"(?P<y>\d{4})(?:[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?|(?P<m2>\d{2})(?P<d2>\d{2}))"
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2})?)?"
)
_EMPTY_AMOUNTS = {"", "-", "--", "/", "0", "0.0", "0.00", "¥0.00", "￥0.00"}


def parse_date(text: str) -> dt.date:
    """``2024-01-05``, ``2024/1/5 10:00``, ``20240105``, ``2024年1月5日`` (an optional time is
    ignored).

    Raises:
        ValueError: anything else, or a day that does not exist.
    """
    match = _DATE.fullmatch(text.strip())
    if match is None or int(match.group("y")) < 2000:
        raise ValueError(f"bad date: {text!r}")
    month = match.group("m") or match.group("m2")
    day = match.group("d") or match.group("d2")
    try:
        return dt.date(int(match.group("y")), int(month), int(day))
    except ValueError as exc:
        raise ValueError(f"bad date: {text!r}") from exc


def statement_amount(text: str, *, field: str = "amount") -> Decimal:
    """An exported amount: ``¥200.00``, ``￥1,200.50``, ``200``, with an optional ``+``.

    The currency sign and padding go; everything else is the ledger's strict parser
    (:func:`ledger.money.parse_amount`): no exponents, NaN, minus signs or third decimals.
    """
    cleaned = text.strip().lstrip("¥￥").strip()
    if cleaned.startswith("+"):
        cleaned = cleaned[1:]
    return parse_amount(cleaned, field=field)


def safe_ext_id(raw: str) -> str:
    """A transaction id usable as ledger metadata and in an entry id.

    Ids already in the ledger's alphabet (letters, digits, ``._-``, at most 64, which is what
    WeChat Pay, Alipay and banks issue) are kept as they are; any other is replaced by a stable
    digest so the same row always gives the same id.
    """
    if ID_PATTERN.fullmatch(raw):
        return raw
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]
    return f"x-{digest}"


def _skip_reason(fmt: Format, direction: Direction, state: str, kind: str) -> str:
    if direction == "out":
        return "支出（outgoing）"
    if direction == "neutral":
        return "不计收支（neutral）"
    if "退款" in kind:
        return f"交易类型为「{kind}」（refund）"
    if any(word in state for word in ("退款", "退还", "已退回", "失败", "关闭", "撤销")):
        return f"交易状态为「{state}」"
    if fmt == "alipay" and state and "成功" not in state and "已收入" not in state:
        return f"交易状态为「{state}」（not completed）"
    return ""


def _direction(text: str) -> Direction | None:
    value = text.strip()
    if value in ("收入", "收", "已收入"):
        return "in"
    if value in ("支出", "支", "已支出"):
        return "out"
    if value in ("", "/", "不计收支", "其他", "中性交易"):
        return "neutral"
    return None


# -- rows -----------------------------------------------------------------------------------------


def _is_footer(cells: list[str]) -> bool:
    first = next((c for c in cells if c), "")
    return first.startswith("---")


def _is_summary(cells: list[str], id_cell: str) -> bool:
    first = next((c for c in cells if c), "")
    return not id_cell and first.startswith(("合计", "总计", "共", "本页合计", "导出时间"))


def _row(
    layout: _Layout, header: list[str], pos: dict[str, int], cells: list[str], line_no: int
) -> tuple[StatementRow | None, list[Problem]]:
    """One data row, or the problems that keep it from being read."""
    fmt = layout.format

    def cell(key: str) -> str:
        i = pos.get(key)
        return cells[i] if i is not None and i < len(cells) else ""

    def col(key: str) -> str:
        return header[pos[key]] if key in pos else key

    problems: list[Problem] = []
    raw_id = cell("id")
    if not raw_id or raw_id == "/":
        problems.append(Problem(line_no, col("id"), "缺少交易号（missing transaction id）"))
    date_key = "date" if fmt == "bank" else "time"
    day: dt.date | None = None
    try:
        day = parse_date(cell(date_key))
    except ValueError:
        problems.append(
            Problem(
                line_no,
                col(date_key),
                f"日期格式不正确：{cell(date_key)[:30]!r}；应为 2024-01-05 或 2024/1/5 这样的日期"
                "（bad date）",
            )
        )
    amount: Decimal | None = None
    direction: Direction | None
    if fmt == "bank":
        credit, debit = cell("credit"), cell("debit")
        has_credit = credit.replace(" ", "") not in _EMPTY_AMOUNTS
        has_debit = debit.replace(" ", "") not in _EMPTY_AMOUNTS
        if has_credit and has_debit:
            problems.append(
                Problem(
                    line_no,
                    col("credit"),
                    f"同一行既有收入又有支出（「{col('debit')}」列也有金额），无法判断方向",
                )
            )
            direction = None
        elif not has_credit and not has_debit:
            problems.append(Problem(line_no, col("credit"), "收入和支出金额都为空（no amount）"))
            direction = None
        else:
            key = "credit" if has_credit else "debit"
            direction = "in" if has_credit else "out"
            try:
                amount = statement_amount(cell(key), field=col(key))
            except RuleError as exc:
                problems.append(Problem(line_no, col(key), exc.message))
    else:
        direction = _direction(cell("dir"))
        if direction is None:
            problems.append(
                Problem(
                    line_no,
                    col("dir"),
                    f"应为「收入」「支出」或「/」，而不是 {cell('dir')[:20]!r}",
                )
            )
        try:
            amount = statement_amount(cell("amount"), field=col("amount"))
        except RuleError as exc:
            problems.append(Problem(line_no, col("amount"), exc.message))
    if problems or day is None or amount is None or direction is None:
        return None, problems
    party = cell("party")
    if party == "/":
        party = ""
    memo_parts = [cell(k) for k in ("goods", "memo", "note") if cell(k) and cell(k) != "/"]
    state = cell("state")
    return (
        StatementRow(
            line_no=line_no,
            ext_id=safe_ext_id(raw_id),
            date=day,
            amount=amount,
            counterparty=party,
            memo="；".join(memo_parts),
            direction=direction,
            channel=CHANNELS[fmt],
            state=state,
            skip_reason=_skip_reason(fmt, direction, state, cell("type") or cell("category")),
            raw_id=raw_id,
        ),
        [],
    )


def parse_statement(raw: bytes, fmt: str = "auto") -> Statement:
    """Read a statement export.

    Args:
        raw: the file's bytes, as uploaded.
        fmt: ``auto`` (detect from the header), ``wechat``, ``alipay`` or ``bank``.

    Returns:
        The statement with every transaction row (incoming, outgoing and neutral).

    Raises:
        StatementError: the file is empty, binary, too large, has no recognised header, lacks a
            required column, or has a row with a bad date, amount or direction, a missing or
            repeated transaction id; or more than :data:`MAX_ROWS` rows. Each problem names the
            row and the column.
        RuleError: ``fmt`` is not one of the above (field ``format``).
    """
    text, encoding = decode(raw)
    records = _records(text)
    layout, header_index, pos = _find_header(records, fmt)
    header = records[header_index]
    rows: list[StatementRow] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    count = 0
    for index in range(header_index + 1, len(records)):
        cells = records[index]
        line_no = index + 1
        if not any(cells):
            continue
        if _is_footer(cells):
            break
        id_cell = cells[pos["id"]] if pos["id"] < len(cells) else ""
        if _is_summary(cells, id_cell):
            continue
        count += 1
        if count > MAX_ROWS:
            raise StatementError(
                [Problem(line_no, "", f"超过 {MAX_ROWS} 行交易，请按月分开导出（too many rows）")]
            )
        row, found = _row(layout, header, pos, cells, line_no)
        problems += found
        if row is not None:
            first = seen.get(row.ext_id)
            if first is not None:
                problems.append(
                    Problem(
                        line_no,
                        header[pos["id"]],
                        f"交易号 {row.raw_id} 与第 {first} 行重复（duplicate transaction id）",
                    )
                )
            else:
                seen[row.ext_id] = line_no
                rows.append(row)
        if len(problems) >= _MAX_PROBLEMS:
            break
    if problems:
        raise StatementError(problems[:_MAX_PROBLEMS])
    if not rows:
        raise StatementError(
            [Problem(header_index + 1, "", "表头下面没有任何交易（the statement has no rows）")]
        )
    return Statement(layout.format, header_index + 1, tuple(rows), encoding)


# -- donors -----------------------------------------------------------------------------------------

_GOVERNMENT = (
    "街道办事处",
    "人民政府",
    "民政局",
    "财政局",
    "居民委员会",
    "村民委员会",
    "社区居委会",
)
_ORGANISATION = (
    "公司",
    "有限",
    "集团",
    "商行",
    "商店",
    "超市",
    "餐厅",
    "饭店",
    "酒店",
    "药房",
    "工作室",
    "合作社",
    "协会",
    "基金会",
    "学校",
    "医院",
    "银行",
    "事务所",
    "中心",
)


def guess_donor_kind(name: str) -> str:
    """``government``, ``organisation`` or ``person`` from a counterparty's name (for new donors
    only; an administrator can correct it in the donor registry)."""
    if any(word in name for word in _GOVERNMENT):
        return "government"
    if any(word in name for word in _ORGANISATION):
        return "organisation"
    return "person"


def import_entry_id(ext_id: str) -> str:
    """The ledger entry id of the donation recorded from a statement row: ``imp-<ext_id>``,
    with long ids shortened by a digest so two rows never share one."""
    entry_id = f"imp-{ext_id}"
    if len(entry_id) <= 64:
        return entry_id
    digest = hashlib.sha256(ext_id.encode("utf-8")).hexdigest()[:16]
    return f"imp-{ext_id[:43]}-{digest}"
