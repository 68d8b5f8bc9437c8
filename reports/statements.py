"""The statements of 《民间非营利组织会计制度》 (资产负债表, 业务活动表, 现金流量表, 科目余额表) as PDF
and CSV, laid out from a finished :class:`ledger.financials.Statement`; and the fund statement
as CSV.

The figures come from :func:`ledger.financials.build_statement`, the same function the web page
and the trace use, so this module only arranges them: it never queries the ledger and does no
arithmetic on money.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, LongTable, Paragraph, Spacer, Table

from ledger.financials import Line, Statement
from ledger.queries import FundStatement, StatementRow
from reports.base import ReportDocument, para
from reports.csv_out import Cell, csv_bytes
from reports.escape import escape_markup
from reports.table_report import format_amount

__all__ = [
    "StatementReport",
    "build_statement_pdf",
    "format_amount",
    "fund_statement_csv",
    "statement_csv",
]

#: The group heading over a pair of 借方/贷方 columns of the trial balance.
_PAIR_HEADINGS = {"期初": "期初余额", "本期": "本期发生额", "期末": "期末余额"}

#: What the signature row asks for, in the order of the standard forms.
SIGNATURES = ("单位负责人：", "会计机构负责人：", "制表人：")


def build_statement_pdf(statement: Statement, *, org_name: str) -> bytes:
    """Render one statement as PDF bytes in the layout of the standard forms.

    Args:
        statement: a finished statement from :func:`ledger.financials.build_statement`.
        org_name: the reporting organisation (编制单位), printed literally.

    Returns:
        The PDF document (A4 portrait; the trial balance in a smaller type to fit six amount
        columns).
    """
    report_class = _REPORTS.get(statement.kind, StatementReport)
    return report_class(statement, org_name=org_name).render()


def statement_csv(statement: Statement) -> bytes:
    """The statement as CSV: ``行次, 项目, <one column per figure>``, a row per line.

    Section headings have empty figures; amounts are written to the cent.
    """
    header = ["行次", "项目", *statement.columns]
    width = len(statement.columns)

    def rows() -> Iterator[list[Cell]]:
        for line in statement.lines:
            figures: list[Cell] = list(line.values) if line.values else [None] * width
            yield [line.row, line.label, *figures]

    return csv_bytes(header, rows())


FUND_CSV_HEADER = (
    "基金代码",
    "基金",
    "性质",
    "期初余额",
    "本期收入",
    "本期支出",
    "转入/转出",
    "期末余额",
)


def fund_statement_csv(fund_statement: FundStatement) -> bytes:
    """The fund statement as CSV: each fund's opening balance, income, spending, transfers and
    closing balance, then the 合计 row."""

    def row(r: StatementRow, kind: str) -> list[Cell]:
        return [r.slug, r.name, kind, r.opening, r.income, r.spent, r.transfers, r.closing]

    rows = [row(r, "限定性" if r.restricted else "非限定性") for r in fund_statement.rows]
    total = fund_statement.total
    rows.append(
        ["", "合计", "", total.opening, total.income, total.spent, total.transfers, total.closing]
    )
    return csv_bytes(FUND_CSV_HEADER, rows)


class StatementReport(ReportDocument):
    """Title block, the statement table, head hash, notes and the signature row.

    One layout serves every statement: columns 项目 | 行次 | one per figure. A statement
    without line numbers (the trial balance) drops the 行次 column; pairs of 借方/贷方 columns
    get a group heading above them, as in a paper 科目余额表; and a two-sided report (the
    balance sheet) sets its second top-level section beside the first, as the printed 会民非01表
    does, so that it fits one page.
    """

    doc_title: ClassVar[str] = "财务报表 Financial statement"
    table_font_size: ClassVar[float] = 8.2
    #: Amount columns are at most this wide; the 项目 column takes the rest.
    max_amount_width: ClassVar[float] = 40 * mm
    row_number_width: ClassVar[float] = 11 * mm
    indent_step: ClassVar[float] = 3.5 * mm
    pad_x: ClassVar[float] = 3
    pad_top: ClassVar[float] = 1.6
    pad_bottom: ClassVar[float] = 2.2
    #: Set the second top-level section beside the first (资产 | 负债和净资产).
    two_sided: ClassVar[bool] = False

    def __init__(self, statement: Statement, *, org_name: str) -> None:
        super().__init__(
            org_name=org_name,
            generated_at=statement.generated_at,
            head_hash=statement.head_hash,
            head_seq=statement.head_seq,
        )
        self.statement = statement
        self.show_rows = any(line.row is not None for line in statement.lines)
        self.pairs = _pair_headings(statement.columns)
        self.side_labels, self.sides = self._split_sides()
        size = self.table_font_size
        cell = {"fontSize": size, "leading": size * 1.25}
        s = self.styles
        self.head_style = ParagraphStyle("st_head", parent=s.cell_head, **cell)
        self.head_right = ParagraphStyle("st_head_r", parent=self.head_style, alignment=TA_RIGHT)
        self.head_center = ParagraphStyle("st_head_c", parent=self.head_style, alignment=TA_CENTER)
        self.label_style = ParagraphStyle("st_label", parent=s.cell, **cell)
        self.label_strong = ParagraphStyle("st_label_b", parent=s.cell_total, **cell)
        self.amount_style = ParagraphStyle(
            "st_amount", parent=self.label_style, alignment=TA_RIGHT, wordWrap=None
        )
        self.amount_strong = ParagraphStyle(
            "st_amount_b", parent=self.label_strong, alignment=TA_RIGHT, wordWrap=None
        )
        self.row_style = ParagraphStyle("st_row", parent=self.label_style, alignment=TA_CENTER)

    @property
    def period_text(self) -> str:
        """``期初 2026-01-01 / 期末 2026-12-31`` for a balance sheet, else ``… 至 …``."""
        period = self.statement.period
        if self.statement.kind == "balance_sheet":
            return f"期初 {period.start.isoformat()} / 期末 {period.end.isoformat()}"
        return period.label

    @property
    def side_width(self) -> int:
        """Table columns of one side: 项目, 行次 (if any), the figures."""
        return 1 + int(self.show_rows) + len(self.statement.columns)

    def story(self) -> list[Flowable]:
        """Title block, table, head hash, notes, signatures."""
        return [
            *self.title_block(),
            Spacer(1, 1.5 * mm),
            self.table(),
            Spacer(1, 2.5 * mm),
            *self.seal(),
            *self.notes(),
            Spacer(1, 7 * mm),
            self.signatures(),
        ]

    # -- sections ---------------------------------------------------------------------------

    def title_block(self) -> list[Flowable]:
        """Title, English title, and the line 编制单位 · period · form code and 单位：元."""
        s = self.styles
        st = self.statement
        right = ParagraphStyle("head_right", parent=s.meta, alignment=TA_RIGHT)
        center = ParagraphStyle("head_center", parent=s.meta, alignment=TA_CENTER)
        width = self.content_width
        rows: list[list[Any]] = []
        if st.form:  # 会民非01表 above 单位：元; the trial balance has no form code
            rows.append(["", "", para(st.form, right)])
        rows.append(
            [
                para(f"编制单位：{self.org_name}", s.meta),
                para(self.period_text, center),
                Paragraph("单位：元", right),
            ]
        )
        particulars = Table(
            rows,
            colWidths=[width * 0.42, width * 0.38, width * 0.20],
            style=self.table_style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2),
                ]
            ),
        )
        return [
            para(st.title, s.title),
            para(st.title_en, s.subtitle),
            Spacer(1, 1 * mm),
            particulars,
        ]

    def table(self) -> Flowable:
        """The statement: heading rows, then one row per line; long ones continue overleaf."""
        heading = self._heading_rows()
        first = len(heading)
        width = self.side_width
        body: list[list[Any]] = []
        commands = [*self._grid_commands(first), *self._heading_spans(first)]
        padded = _padded_sides(self.sides)
        for n, lines in enumerate(zip(*padded, strict=True), start=first):
            row: list[Any] = []
            for side, line in enumerate(lines):
                row += self._line_cells(line)
                left, right = side * width, side * width + width - 1
                if line is not None and line.kind in ("subtotal", "total"):
                    commands.append(("BACKGROUND", (left, n), (right, n), self.total_fill))
                if line is not None and line.kind == "total":
                    commands.append(("LINEABOVE", (left, n), (right, n), 0.8, self.rule_color))
            body.append(row)
        if len(self.sides) == 2:
            commands.append(("LINEAFTER", (width - 1, 0), (width - 1, -1), 0.9, self.rule_color))
        return LongTable(
            [*heading, *body],
            colWidths=self._widths() * len(self.sides),
            repeatRows=first,
            style=self.table_style(commands),
        )

    def seal(self) -> list[Flowable]:
        """The full head hash and seq: which state of the books these figures are."""
        st = self.statement
        return [
            Paragraph(
                f"账本头哈希 Head hash（序号 seq {st.head_seq}）：{escape_markup(st.head_hash)}",
                self.styles.mono,
            )
        ]

    def notes(self) -> list[Flowable]:
        """The statement's notes as 注：1. 2. …"""
        s = self.styles
        notes = self.statement.notes
        if not notes:
            return []
        rows = [
            [
                Paragraph("注：" if n == 1 else "", s.note),
                Paragraph(f"{n}.", s.note),
                para(text, s.note),
            ]
            for n, text in enumerate(notes, start=1)
        ]
        table = Table(
            rows,
            colWidths=[8 * mm, 5 * mm, self.content_width - 13 * mm],
            style=self.table_style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 0.5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ]
            ),
        )
        return [Spacer(1, 1.5 * mm), table]

    def signatures(self) -> Flowable:
        """单位负责人：　会计机构负责人：　制表人： with room to sign."""
        s = self.styles
        width = self.content_width
        return Table(
            [[Paragraph(text, s.body) for text in SIGNATURES]],
            colWidths=[width / 3] * 3,
            style=self.table_style(
                [
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ]
            ),
        )

    # -- the table's parts ------------------------------------------------------------------

    def _split_sides(self) -> tuple[list[str], list[list[Line]]]:
        """The heading and lines of each side: one side, or two when the report is two-sided,
        split at the second top-level section, whose label heads the second side."""
        lines = list(self.statement.lines)
        tops = [n for n, line in enumerate(lines) if line.kind == "section" and line.indent == 0]
        if not self.two_sided or len(tops) < 2 or tops[0] != 0:
            return ["项目"], [lines]
        split = tops[1]
        return [lines[0].label, lines[split].label], [lines[1:split], lines[split + 1 :]]

    def _widths(self) -> list[float]:
        """The widths of one side's columns: amounts as wide as the widest figure needs (at
        least a seven-digit one) and as the labels leave room for; the 项目 column the rest."""
        font, size = self.fonts.regular, self.table_font_size
        lines = [line for side in self.sides for line in side]
        n = len(self.statement.columns)
        room = self.content_width / len(self.sides)
        row_number = self.row_number_width if self.show_rows else 0
        if len(self.sides) == 2:
            row_number = min(row_number, 7.5 * mm)
        pads = 2 * self.pad_x + 2
        figures = [format_amount(v) for line in lines for v in line.values] + ["000,000.00"]
        amount_needed = max(stringWidth(f, font, size) for f in figures) + pads
        label_needed = (
            max(
                stringWidth(line.label, font, size) + line.indent * self.indent_step
                for line in lines
            )
            + pads
            + 4 * mm  # air between the longest label and its column's edge
        )
        share = (room - row_number - label_needed) / n
        amount = max(amount_needed, min(self.max_amount_width, share))
        label = room - row_number - n * amount
        return [label, *([row_number] if self.show_rows else []), *[amount] * n]

    def _heading_rows(self) -> list[list[Any]]:
        columns = self.statement.columns
        top: list[Any] = []
        bottom: list[Any] = []
        for label in self.side_labels:
            lead = [para(label, self.head_style)]
            if self.show_rows:
                lead.append(Paragraph("行次", self.head_center))
            if not self.pairs:
                top += [*lead, *(para(c, self.head_right) for c in columns)]
                continue
            top += lead
            bottom += ["" for _ in lead]
            for group in self.pairs:
                top += [para(group, self.head_center), ""]
            bottom += [para(column[-2:], self.head_center) for column in columns]
        return [top, bottom] if self.pairs else [top]

    def _heading_spans(self, rows: int) -> list[tuple[Any, ...]]:
        if rows == 1:
            return []
        spans: list[tuple[Any, ...]] = [
            ("BACKGROUND", (0, 1), (-1, 1), self.head_fill),
            ("LINEBELOW", (0, 1), (-1, 1), 0.9, self.rule_color),
        ]
        lead = 1 + int(self.show_rows)
        for side in range(len(self.sides)):
            start = side * self.side_width
            spans += [("SPAN", (start + c, 0), (start + c, 1)) for c in range(lead)]
            spans += [
                ("SPAN", (start + lead + 2 * k, 0), (start + lead + 2 * k + 1, 0))
                for k in range(len(self.pairs))
            ]
        return spans

    def _line_cells(self, line: Line | None) -> list[Any]:
        if line is None:  # a blank row that lines the two sides' totals up
            return [""] * self.side_width
        strong = line.kind != "item"
        label_style = self.label_strong if strong else self.label_style
        if line.indent:
            label_style = ParagraphStyle(
                f"{label_style.name}-{line.indent}",
                parent=label_style,
                leftIndent=line.indent * self.indent_step,
            )
        cells: list[Any] = [para(line.label, label_style)]
        if self.show_rows:
            cells.append(Paragraph("" if line.row is None else str(line.row), self.row_style))
        if line.kind == "section":
            return cells + [""] * len(self.statement.columns)
        style = self.amount_strong if strong else self.amount_style
        return cells + [Paragraph(format_amount(v), style) for v in line.values]

    def _grid_commands(self, heading_rows: int) -> list[tuple[Any, ...]]:
        return [
            ("GRID", (0, 0), (-1, -1), 0.35, self.grid_color),
            ("BOX", (0, 0), (-1, -1), 0.9, self.rule_color),
            ("BACKGROUND", (0, 0), (-1, heading_rows - 1), self.head_fill),
            ("LINEBELOW", (0, heading_rows - 1), (-1, heading_rows - 1), 0.9, self.rule_color),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            # Empty cells are strings in the table's own font size: keep every row as high.
            ("FONTSIZE", (0, 0), (-1, -1), self.table_font_size),
            ("LEADING", (0, 0), (-1, -1), self.table_font_size * 1.25),
            ("LEFTPADDING", (0, 0), (-1, -1), self.pad_x),
            ("RIGHTPADDING", (0, 0), (-1, -1), self.pad_x),
            ("TOPPADDING", (0, 0), (-1, -1), self.pad_top),
            ("BOTTOMPADDING", (0, 0), (-1, -1), self.pad_bottom),
        ]


def _padded_sides(sides: list[list[Line]]) -> list[list[Line | None]]:
    """Both sides as long as the longer one; blank rows go before a shorter side's last line
    (its grand total), so that 资产总计 and 负债和净资产总计 share the bottom row."""
    longest = max(len(side) for side in sides)
    padded: list[list[Line | None]] = []
    for side in sides:
        blanks: list[Line | None] = [None] * (longest - len(side))
        padded.append([*side[:-1], *blanks, *side[-1:]] if side else blanks)
    return padded


def _pair_headings(columns: Sequence[str]) -> tuple[str, ...]:
    """The group headings when the columns come in 借方/贷方 pairs (``期初借方, 期初贷方 …``)."""
    if not columns or len(columns) % 2:
        return ()
    groups = []
    for debit, credit in zip(columns[::2], columns[1::2], strict=True):
        prefix = debit[:-2]
        if not (debit.endswith("借方") and credit == prefix + "贷方" and prefix):
            return ()
        groups.append(_PAIR_HEADINGS.get(prefix, prefix))
    return tuple(groups)


class BalanceSheetReport(StatementReport):
    """资产负债表 (会民非01表)."""

    doc_title: ClassVar[str] = "资产负债表 Statement of financial position"
    two_sided: ClassVar[bool] = True
    table_font_size: ClassVar[float] = 7.8
    pad_x: ClassVar[float] = 2.5
    indent_step: ClassVar[float] = 2.5 * mm


class ActivitiesReport(StatementReport):
    """业务活动表 (会民非02表)."""

    doc_title: ClassVar[str] = "业务活动表 Statement of activities"


class CashFlowReport(StatementReport):
    """现金流量表 (会民非03表)."""

    doc_title: ClassVar[str] = "现金流量表 Cash-flow statement"
    max_amount_width: ClassVar[float] = 45 * mm
    table_font_size: ClassVar[float] = 7.8
    pad_top: ClassVar[float] = 1.1
    pad_bottom: ClassVar[float] = 1.7


class TrialBalanceReport(StatementReport):
    """科目余额表: six amount columns fit A4 portrait in a smaller type."""

    doc_title: ClassVar[str] = "科目余额表 Trial balance"
    table_font_size: ClassVar[float] = 7.2
    margin_left: ClassVar[float] = 12 * mm
    margin_right: ClassVar[float] = 12 * mm
    pad_x: ClassVar[float] = 2.2
    pad_top: ClassVar[float] = 1.2
    pad_bottom: ClassVar[float] = 1.8


_REPORTS: dict[str, type[StatementReport]] = {
    "balance_sheet": BalanceSheetReport,
    "activities": ActivitiesReport,
    "cash_flow": CashFlowReport,
    "trial_balance": TrialBalanceReport,
}
