"""The fund statement (基金收支报表) as a PDF, laid out from a finished :class:`FundStatement`.

The figures come from :func:`ledger.queries.fund_statement`, the same function the web page uses,
so this module only arranges them: it never queries the ledger and does no arithmetic on money.
"""

from __future__ import annotations

from typing import Any, ClassVar

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, LongTable, Paragraph, Spacer, Table

from ledger.queries import EntryRow, FundStatement, StatementRow
from reports.base import ReportDocument, amount_para, format_timestamp, para
from reports.escape import escape_markup


def build_fund_statement(statement: FundStatement, *, org_name: str) -> bytes:
    """Render the fund statement for one period as PDF bytes.

    Args:
        statement: the finished view data from :func:`ledger.queries.fund_statement`.
        org_name: the organisation named in the header of every page.

    Returns:
        The PDF document.
    """
    return FundStatementReport(statement, org_name=org_name).render()


class FundStatementReport(ReportDocument):
    """Title and particulars, the funds table, the period's journal, how to check the figures."""

    doc_title: ClassVar[str] = "基金收支报表 Fund Statement"

    #: Fund table: 基金, 性质, then five amount columns sharing the rest of the width.
    fund_name_width: ClassVar[float] = 36 * mm
    fund_kind_width: ClassVar[float] = 16 * mm
    #: Journal table: 日期, 编号, 摘要 (the rest), 基金, 金额.
    journal_date_width: ClassVar[float] = 19 * mm
    journal_id_width: ClassVar[float] = 27 * mm
    journal_fund_width: ClassVar[float] = 32 * mm
    journal_amount_width: ClassVar[float] = 26 * mm
    cell_padding: ClassVar[float] = 3

    def __init__(self, statement: FundStatement, *, org_name: str) -> None:
        super().__init__(
            org_name=org_name,
            generated_at=statement.generated_at,
            head_hash=statement.head_hash,
            head_seq=statement.head_seq,
        )
        self.statement = statement

    @property
    def period_text(self) -> str:
        """``2025-01-01 至 2025-03-31``."""
        return f"{self.statement.start.isoformat()} 至 {self.statement.end.isoformat()}"

    def story(self) -> list[Flowable]:
        """Title, particulars, funds, journal, notes."""
        return [
            *self.title_section(),
            Spacer(1, 5 * mm),
            *self.funds_section(),
            Spacer(1, 6 * mm),
            *self.journal_section(),
            Spacer(1, 6 * mm),
            *self.notes_section(),
        ]

    # -- sections ---------------------------------------------------------------------------

    def title_section(self) -> list[Flowable]:
        """The report title and a small table of particulars (organisation, period, head hash)."""
        s = self.styles
        st = self.statement

        def label(zh: str, en: str) -> Paragraph:
            return Paragraph(f'{zh} <font size="7" color="#666666">{en}</font>', s.meta)

        rows: list[list[Any]] = [
            [
                label("编制单位", "Organisation"),
                para(self.org_name, s.meta),
                label("报表期间", "Period"),
                para(self.period_text, s.meta),
            ],
            [
                label("账本", "Ledger"),
                para(st.title or "—", s.meta),
                label("金额单位", "Currency"),
                para("人民币元 CNY", s.meta),
            ],
            [
                label("生成时间", "Generated"),
                para(format_timestamp(st.generated_at), s.meta),
                label("账本序号", "Head seq"),
                para(str(st.head_seq), s.meta),
            ],
            [label("账本头哈希", "Head hash"), para(st.head_hash, s.mono), "", ""],
        ]
        particulars = self.particulars_table(rows)
        return [
            Paragraph("基金收支报表", s.title),
            Paragraph(f"Fund Statement · {escape_markup(self.period_text)}", s.subtitle),
            Spacer(1, 4 * mm),
            particulars,
        ]

    def funds_section(self) -> list[Flowable]:
        """Each fund's opening balance, income, spending, transfers and closing balance."""
        s = self.styles
        header = [
            self._head("基金", "Fund"),
            self._head("性质", "Type"),
            self._head("期初余额", "Opening", right=True),
            self._head("本期收入", "Income", right=True),
            self._head("本期支出", "Expenses", right=True),
            self._head("转入/转出", "Transfers", right=True),
            self._head("期末余额", "Closing", right=True),
        ]
        body: list[list[Any]] = [self._fund_row(row) for row in self.statement.rows]
        total = self.statement.total
        body.append(
            [
                Paragraph("合计 Total", s.cell_total),
                "",
                *(
                    amount_para(value, s.cell_total_right)
                    for value in (
                        total.opening,
                        total.income,
                        total.spent,
                        total.transfers,
                        total.closing,
                    )
                ),
            ]
        )
        amount_width = (self.frame_width - self.fund_name_width - self.fund_kind_width) / 5
        table = Table(
            [header, *body],
            colWidths=[self.fund_name_width, self.fund_kind_width, *[amount_width] * 5],
            repeatRows=1,
            style=self.table_style(
                [
                    *self._grid_commands(),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("SPAN", (0, -1), (1, -1)),
                    ("BACKGROUND", (0, -1), (-1, -1), self.total_fill),
                    ("LINEABOVE", (0, -1), (-1, -1), 0.9, self.rule_color),
                ]
            ),
        )
        return [Paragraph("一、各基金收支 Funds", s.heading), table]

    def journal_section(self) -> list[Flowable]:
        """The period's entries in date order; the table runs over as many pages as it needs."""
        s = self.styles
        entries = self.statement.entries
        heading = Paragraph(
            f'二、本期分录 Journal <font size="8.5" color="#555555">（共 {len(entries)} 笔 '
            f"entries）</font>",
            s.heading,
        )
        if not entries:
            return [heading, Paragraph("本期无分录。No entries in this period.", s.body)]
        header = [
            self._head("日期", "Date"),
            self._head("编号", "No."),
            self._head("摘要", "Payee / description"),
            self._head("基金", "Fund"),
            self._head("金额", "Amount", right=True),
        ]
        rest = (
            self.frame_width
            - self.journal_date_width
            - self.journal_id_width
            - self.journal_fund_width
            - self.journal_amount_width
        )
        table = LongTable(
            [header, *(self._entry_row(entry) for entry in entries)],
            colWidths=[
                self.journal_date_width,
                self.journal_id_width,
                rest,
                self.journal_fund_width,
                self.journal_amount_width,
            ],
            repeatRows=1,
            # A narration longer than a page must continue on the next page, not stop the build.
            splitInRow=1,
            style=self.table_style(
                [
                    *self._grid_commands(),
                    ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
                    ("VALIGN", (0, 1), (-1, -1), "TOP"),
                    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [None, self.stripe_fill]),
                ]
            ),
        )
        return [heading, table]

    def notes_section(self) -> list[Flowable]:
        """The statement's own notes, how to reproduce the figures, and what the head hash is."""
        s = self.styles
        st = self.statement
        start, end = st.start.isoformat(), st.end.isoformat()
        query = (
            "SELECT root(account, 1) AS part, sum(number) AS total "
            "WHERE account ~ '^(Income|Expenses|Equity):' "
            f"AND date &gt;= {start} AND date &lt;= {end} "
            "AND (meta('fund') = '&lt;slug&gt;' OR (meta('fund') IS NULL "
            "AND 'fund-&lt;slug&gt;' IN tags)) GROUP BY part"
        )
        reproduce = [
            Paragraph(
                "本表数字均可由账本文件（Beancount 格式）复算，"
                "例如某一基金 &lt;slug&gt; 的本期发生额："
                "Figures can be reproduced from the ledger files with bean-query:",
                s.note,
            ),
            Paragraph(f'bean-query &lt;账本文件&gt; "{query}"', s.code),
            Paragraph(
                # ASCII minus: the CJK fonts have no glyph for U+2212.
                "本期收入 = -(Income 合计)，本期支出 = Expenses 合计，转入/转出 = -(Equity 合计)；"
                "期初余额为期初日之前三者之和取反。",
                s.note,
            ),
        ]
        items: list[list[Flowable]] = [[Paragraph(escape_markup(n), s.note)] for n in st.notes]
        items += [
            [
                Paragraph(
                    "性质：“限定”指捐赠人指定用途的限定性基金，只能用于该用途；"
                    "“非限定”可由社区统筹使用。"
                    "Restricted funds may only be spent on the donor's stated purpose.",
                    s.note,
                )
            ],
            [
                Paragraph(
                    "金额为正表示基金余额增加，为负表示减少；“转入/转出”为基金之间的划转"
                    "（Equity 账户）。Positive amounts increase a fund's balance.",
                    s.note,
                )
            ],
            reproduce,
            [
                Paragraph(
                    f"账本头哈希（head hash）是截至生成时最后一笔分录（序号 {st.head_seq}）的 "
                    "SHA-256 链式哈希：每笔分录的哈希都包含前一笔的哈希，修改任何一笔历史分录都会"
                    "改变它。请与公示页面上的哈希比对，或运行 flask ledger verify 校验整条哈希链。"
                    "The head hash seals every entry written before it.",
                    s.note,
                )
            ],
        ]
        table = self.numbered_notes(items)
        return [Paragraph("三、说明 Notes", s.heading), table]

    # -- rows and cells ---------------------------------------------------------------------

    def _head(self, zh: str, en: str, *, right: bool = False) -> Paragraph:
        style = self.styles.cell_head_right if right else self.styles.cell_head
        return Paragraph(f'{zh}<br/><font size="6.5" color="#555555">{en}</font>', style)

    def _fund_row(self, row: StatementRow) -> list[Any]:
        s = self.styles
        return [
            para(row.name, s.cell),
            Paragraph("限定" if row.restricted else "非限定", s.cell_center),
            *(
                amount_para(value, s.cell_right)
                for value in (row.opening, row.income, row.spent, row.transfers, row.closing)
            ),
        ]

    def _entry_row(self, entry: EntryRow) -> list[Any]:
        s = self.styles
        return [
            Paragraph(entry.date.isoformat(), s.cell),
            para(entry.id or "—", s.cell),
            Paragraph(self._description(entry), s.cell),
            Paragraph(self._fund_names(entry), s.cell),
            amount_para(entry.amount, s.cell_right),
        ]

    @staticmethod
    def _description(entry: EntryRow) -> str:
        parts = [escape_markup(t) for t in (entry.payee, entry.narration) if t]
        text = "：".join(parts) or "—"
        if entry.reversed_by:
            text += (
                f'<br/><font color="#8A1F11">已冲销 reversed by '
                f"{escape_markup(entry.reversed_by)}</font>"
            )
        return text

    @staticmethod
    def _fund_names(entry: EntryRow) -> str:
        funds = entry.funds
        if not funds:
            return "—"
        if len(funds) == 2 and funds[0][2] * funds[1][2] < 0:
            source, target = sorted(funds, key=lambda f: f[2])
            return f"{escape_markup(source[1])} →<br/>{escape_markup(target[1])}"
        return "<br/>".join(escape_markup(name) for _, name, _ in funds)

    def _grid_commands(self) -> list[tuple[Any, ...]]:
        pad = self.cell_padding
        return [
            ("GRID", (0, 0), (-1, -1), 0.35, self.grid_color),
            ("BOX", (0, 0), (-1, -1), 0.9, self.rule_color),
            ("BACKGROUND", (0, 0), (-1, 0), self.head_fill),
            ("LINEBELOW", (0, 0), (-1, 0), 0.9, self.rule_color),
            ("LEFTPADDING", (0, 0), (-1, -1), pad),
            ("RIGHTPADDING", (0, 0), (-1, -1), pad),
            ("TOPPADDING", (0, 0), (-1, -1), pad - 0.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), pad),
        ]
