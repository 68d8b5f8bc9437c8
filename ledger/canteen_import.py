"""Import a point-of-sale daily summary (CSV) into canteen days: all rows checked, then all days
written, or none.

The file has one row per day, meal class and payment channel::

    日期,餐别,支付方式,份数,金额
    2026-03-02,长者优惠,微信,120,960.00

Meal classes are 长者优惠 / 标准 / 员工 / 团餐 (or elder / standard / staff / group); channels 现金,
微信, 支付宝, 银行 (or cash / wechat / alipay / bank). UTF-8 or GBK.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from ledger import canteen
from ledger.book import Book
from ledger.errors import RuleError
from ledger.statements import Problem, StatementError, decode, parse_date, statement_amount

COLUMNS = {
    "date": ("日期", "营业日期", "date"),
    "meal_class": ("餐别", "餐类", "meal_class"),
    "channel": ("支付方式", "收款方式", "channel"),
    "meals": ("份数", "数量", "meals"),
    "amount": ("金额", "金额(元)", "金额（元）", "amount"),
}
CLASSES = {
    **{v: k for k, v in canteen.MEAL_CLASSES.items()},
    **{k: k for k in canteen.MEAL_CLASSES},
}
CHANNELS = {
    "现金": "cash",
    "微信": "wechat",
    "微信支付": "wechat",
    "支付宝": "alipay",
    "银行": "bank",
    "银行转账": "bank",
    "cash": "cash",
    "wechat": "wechat",
    "alipay": "alipay",
    "bank": "bank",
}
MAX_ROWS = 5000


@dataclass(frozen=True)
class ImportedDay:
    """One day of the file, and what became of it."""

    date: dt.date
    meals: int
    amount: Decimal
    status: str  # new | recorded | posted
    entry_id: str = ""


def parse_pos_summary(raw: bytes) -> dict[dt.date, list[canteen.SalesLine]]:
    """The sales lines of each day in the file.

    Raises:
        StatementError: naming the row and column of every fault (field ``file``).
    """
    text, _encoding = decode(raw)
    reader = csv.reader(io.StringIO(text))
    rows = [r for r in reader if any(c.strip() for c in r)]
    if not rows:
        raise StatementError([Problem(0, "", "文件为空（empty file）")])
    header = [c.strip() for c in rows[0]]
    where: dict[str, int] = {}
    for key, names in COLUMNS.items():
        found = next((i for i, h in enumerate(header) if h in names), None)
        if found is None:
            raise StatementError([Problem(1, names[0], f"缺少「{names[0]}」列（missing column）")])
        where[key] = found
    if len(rows) - 1 > MAX_ROWS:
        raise StatementError([Problem(0, "", f"超过 {MAX_ROWS} 行（too many rows）")])
    days: dict[dt.date, list[canteen.SalesLine]] = defaultdict(list)
    seen: set[tuple[dt.date, str, str]] = set()
    problems: list[Problem] = []
    for line_no, row in enumerate(rows[1:], start=2):
        cells = {k: (row[i].strip() if i < len(row) else "") for k, i in where.items()}
        try:
            day = parse_date(cells["date"])
        except (ValueError, RuleError):
            problems.append(Problem(line_no, "日期", f"日期无法识别：{cells['date'][:20]!r}"))
            continue
        meal_class = CLASSES.get(cells["meal_class"])
        channel = CHANNELS.get(cells["channel"])
        if meal_class is None:
            problems.append(Problem(line_no, "餐别", f"未知餐别：{cells['meal_class'][:20]!r}"))
            continue
        if channel is None:
            problems.append(
                Problem(line_no, "支付方式", f"未知支付方式：{cells['channel'][:20]!r}")
            )
            continue
        if not cells["meals"].isascii() or not cells["meals"].isdigit():
            problems.append(Problem(line_no, "份数", f"份数须为非负整数：{cells['meals'][:20]!r}"))
            continue
        try:
            amount = statement_amount(cells["amount"])
        except RuleError as exc:
            problems.append(Problem(line_no, "金额", exc.message))
            continue
        row_key = (day, meal_class, channel)
        if row_key in seen:
            problems.append(
                Problem(line_no, "餐别", "同一天同一餐别和支付方式出现了两次（duplicate row）")
            )
            continue
        seen.add(row_key)
        days[day].append(canteen.SalesLine(meal_class, channel, int(cells["meals"]), amount))
    if problems:
        raise StatementError(problems[:20])
    return dict(days)


def import_canteen_sales(book: Book, raw: bytes, *, actor: str, post: bool) -> list[ImportedDay]:
    """Preview (``post=False``) or write every day of a POS summary, all or nothing.

    A day already recorded is listed as such and, when posting, refuses the whole file (a
    correction is a reversal, then a new entry). Every day is checked against the ledger's rules
    before the first is written.
    """
    days = parse_pos_summary(raw)
    preview = []
    commands = []
    for day, lines in sorted(days.items()):
        meals = sum(line.meals for line in lines)
        amount = sum((Decimal(line.amount) for line in lines), Decimal("0.00"))
        if canteen.day_entries(book, day):
            preview.append(ImportedDay(day, meals, amount, "recorded"))
            continue
        cmd = canteen.CanteenDay(date=day, sales=tuple(lines), entered_by=actor, source="import")
        book.dry_run(canteen.canteen_day_entry(book, cmd))
        preview.append(ImportedDay(day, meals, amount, "new"))
        commands.append(cmd)
    if not post:
        return preview
    recorded = [d for d in preview if d.status == "recorded"]
    if recorded:
        raise RuleError(
            "file",
            f"{recorded[0].date.isoformat()} 已录入，文件未导入；更正须先冲销该日分录"
            "（a day in the file is already recorded: nothing was posted）",
            "day_recorded",
        )
    done = []
    for cmd, planned in zip(commands, preview, strict=True):
        result = canteen.record_canteen_day(book, cmd)
        done.append(ImportedDay(planned.date, planned.meals, planned.amount, "posted", result.id))
    return done
