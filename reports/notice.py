"""The periodic public notice (收支公示) as a PDF for the notice board, from a :class:`NoticeView`.

It shows the same figures as the public site for one month or quarter: each fund's opening
balance, income, spending, transfers and closing balance, every donation (donors exactly as the
view names them, i.e. as they chose to appear), every payment, the totals, the ledger head hash
and a QR code back to the site. Like the fund statement it only arranges finished figures.
"""

from __future__ import annotations

from typing import Any, ClassVar

from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    LongTable,
    Paragraph,
    Spacer,
    Table,
)

from ledger.disclosure import NoticeView
from ledger.money import format_cny
from ledger.queries import EntryRow
from reports.base import FRAME_PADDING, amount_para, format_timestamp, para
from reports.escape import escape_markup
from reports.fund_statement import FundStatementReport
from reports.qr import qr_flowable


def build_notice(view: NoticeView, *, org_name: str, period_label: str, site_url: str) -> bytes:
    """Render the public notice of one period as PDF bytes.

    Args:
        view: the finished view data from :func:`ledger.disclosure.notice_view`.
        org_name: the organisation named in the header of every page.
        period_label: how the period is called in the title, e.g. ``2026年3月`` or ``2026年第一季度``.
        site_url: the public disclosure site, encoded in the QR code.

    Returns:
        The PDF document.
    """
    return NoticeReport(
        view, org_name=org_name, period_label=period_label, site_url=site_url
    ).render()


class NoticeReport(FundStatementReport):
    """Title and summary with QR, the funds table, donations, spending, verification and contact.

    The funds table and the table cells are the fund statement's, so both documents print the
    same figures the same way.
    """

    doc_title: ClassVar[str] = "收支公示 Public Notice"
    qr_size_mm: ClassVar[float] = 30
    #: Donations table: 日期, 编号, 捐赠人 (the rest), 基金, 金额.
    date_width: ClassVar[float] = 20 * mm
    id_width: ClassVar[float] = 28 * mm
    fund_width: ClassVar[float] = 34 * mm
    amount_width: ClassVar[float] = 27 * mm
    #: Spending table: 收款方 and 用途 share what the others leave, payee taking this part.
    payee_share: ClassVar[float] = 0.38

    def __init__(
        self, view: NoticeView, *, org_name: str, period_label: str, site_url: str
    ) -> None:
        super().__init__(view.statement, org_name=org_name)
        self.view = view
        self.period_label = period_label
        self.site_url = site_url

    @property
    def frame_width(self) -> float:  # the inherited funds table lines up with the paragraphs
        return super().frame_width - 2 * FRAME_PADDING

    def story(self) -> list[Flowable]:
        """Title, summary, funds, donations, spending, how to check and whom to ask."""
        return [
            *self.notice_title(),
            Spacer(1, 4 * mm),
            self.summary(),
            Spacer(1, 5 * mm),
            *self.funds_section(),
            Spacer(1, 5 * mm),
            *self.donations_section(),
            Spacer(1, 5 * mm),
            *self.expenses_section(),
            Spacer(1, 5 * mm),
            *self.closing_section(),
        ]

    # -- sections ---------------------------------------------------------------------------

    def notice_title(self) -> list[Flowable]:
        """``社区微基金收支公示（period）``, the dates, and who publishes it."""
        s = self.styles
        title = ParagraphStyle("n_title", parent=s.title, fontSize=19, leading=25)
        return [
            Paragraph(f"社区微基金收支公示（{escape_markup(self.period_label)}）", title),
            Paragraph(
                f"Public notice of income and spending · {escape_markup(self.period_text)}",
                s.subtitle,
            ),
            Spacer(1, 3 * mm),
            Paragraph(
                f"为接受居民和捐赠人监督，{escape_markup(self.org_name)}现将 "
                f"{escape_markup(self.period_text)} 的收支情况公示如下。金额单位：人民币元。",
                s.body,
            ),
        ]

    def summary(self) -> Flowable:
        """The period's totals in large figures, with the QR code to the site beside them."""
        s, total = self.styles, self.statement.total
        label = ParagraphStyle("n_sum_label", parent=s.meta, alignment=TA_CENTER)
        items = (
            ("期初余额", "Opening", total.opening),
            ("本期收入", "Income", total.income),
            ("本期支出", "Spending", total.spent),
            ("期末余额", "Closing", total.closing),
        )
        qr = qr_flowable(self.site_url, self.qr_size_mm)
        qr_cell = [qr, Paragraph("扫码查看明细<br/>Scan for details", s.cell_center)]
        side = qr.width + 4 * mm
        figure_width = (self.frame_width - side) / len(items)
        texts = [format_cny(a) for *_, a in items]
        # One size for all four figures, as large as the widest allows on one line.
        widest = max(stringWidth(t, self.fonts.bold, 1) for t in texts)
        size = min(14.0, (figure_width - 12) / widest)
        figure = ParagraphStyle(
            "n_sum_figure",
            parent=s.body,
            fontName=self.fonts.bold,
            fontSize=size,
            leading=size * 1.3,
            alignment=TA_CENTER,
        )
        labels = [
            Paragraph(f'{zh}<br/><font size="7" color="#555555">{en}</font>', label)
            for zh, en, _ in items
        ]
        figures = [Paragraph(escape_markup(t), figure) for t in texts]
        return Table(
            [[*labels, qr_cell], [*figures, ""]],
            colWidths=[figure_width] * len(items) + [side],
            style=self.table_style(
                [
                    ("SPAN", (-1, 0), (-1, 1)),
                    ("BOX", (0, 0), (-2, -1), 1, self.rule_color),
                    ("LINEBEFORE", (1, 0), (-2, -1), 0.4, self.grid_color),
                    ("BACKGROUND", (0, 0), (-2, 0), self.head_fill),
                    ("VALIGN", (0, 0), (-2, -1), "MIDDLE"),
                    ("VALIGN", (-1, 0), (-1, -1), "TOP"),
                    ("ALIGN", (-1, 0), (-1, -1), "RIGHT"),
                    ("TOPPADDING", (0, 0), (-2, -1), 5),
                    ("BOTTOMPADDING", (0, 0), (-2, -1), 6),
                    ("LEFTPADDING", (-1, 0), (-1, -1), 4 * mm),
                    ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
                    ("TOPPADDING", (-1, 0), (-1, -1), 0),
                ]
            ),
        )

    def donations_section(self) -> list[Flowable]:
        """Every donation of the period, the donor as the view names them."""
        s, v = self.styles, self.view
        heading = self._section_heading(
            "二、本期捐赠 Donations", len(v.donations), v.donations_total
        )
        if not v.donations:
            return [*heading, Paragraph("本期没有收到捐赠。No donations in this period.", s.body)]
        rest = (
            self.frame_width - self.date_width - self.id_width - self.fund_width - self.amount_width
        )
        rows = [
            [
                Paragraph(e.date.isoformat(), s.cell),
                para(e.receipt or e.id or "—", s.cell),
                Paragraph(self._with_reversal(escape_markup(e.payee or "匿名"), e), s.cell),
                Paragraph(self._fund_names(e), s.cell),
                amount_para(e.amount, s.cell_right),
            ]
            for e in v.donations
        ]
        header = [
            self._head("日期", "Date"),
            self._head("编号", "No."),
            self._head("捐赠人", "Donor (as they chose to appear)"),
            self._head("基金", "Fund"),
            self._head("金额", "Amount", right=True),
        ]
        widths = [self.date_width, self.id_width, rest, self.fund_width, self.amount_width]
        return [*heading, self._list_table(header, rows, v.donations_total, widths)]

    def expenses_section(self) -> list[Flowable]:
        """Every payment of the period: to whom, for what, from which fund, how much."""
        s, v = self.styles, self.view
        heading = self._section_heading("三、本期支出 Spending", len(v.expenses), v.expenses_total)
        if not v.expenses:
            return [*heading, Paragraph("本期没有支出。No spending in this period.", s.body)]
        rest = self.frame_width - self.date_width - self.fund_width - self.amount_width
        payee_width = rest * self.payee_share
        rows = [
            [
                Paragraph(e.date.isoformat(), s.cell),
                para(e.payee or "—", s.cell),
                Paragraph(self._with_reversal(escape_markup(e.narration or "—"), e), s.cell),
                Paragraph(self._fund_names(e), s.cell),
                # Spending is listed as a positive sum, as expenses_total is.
                amount_para(-e.amount, s.cell_right),
            ]
            for e in v.expenses
        ]
        header = [
            self._head("日期", "Date"),
            self._head("收款方", "Payee"),
            self._head("用途", "Purpose"),
            self._head("基金", "Fund"),
            self._head("金额", "Amount", right=True),
        ]
        widths = [
            self.date_width,
            payee_width,
            rest - payee_width,
            self.fund_width,
            self.amount_width,
        ]
        return [*heading, self._list_table(header, rows, v.expenses_total, widths)]

    def closing_section(self) -> list[Flowable]:
        """The head hash and seq, the site and its QR code, and whom to ask."""
        s, st = self.styles, self.statement
        text: list[Flowable] = [
            Paragraph("四、核验与监督 Verification and questions", s.heading),
            Paragraph(
                f"本公示依据账本生成于 {escape_markup(format_timestamp(st.generated_at))}。"
                f"账本截至序号 {st.head_seq} 的头哈希（head hash）为：",
                s.body,
            ),
            para(st.head_hash, s.mono),
            Spacer(1, 1.5 * mm),
            Paragraph(
                "每笔分录的哈希都包含前一笔的哈希，任何历史分录被改动，头哈希都会改变。"
                "可扫描右侧二维码或访问以下网址，与网站公布的头哈希比对，并查看每个基金的逐笔明细；"
                "捐赠人可凭确认书编号和验证码核验自己的捐赠及其去向。",
                s.body,
            ),
            Paragraph(
                "Compare the head hash with the one on the site; donors can verify their "
                "confirmation and see where the money went.",
                s.note,
            ),
            para(self.site_url, s.mono),
            Spacer(1, 2 * mm),
            Paragraph(
                '<font color="#7A3E00">如有疑问请向社区议事会或监事反映。</font>'
                "Questions or objections: please contact the community council or the "
                "supervisor.",
                s.body,
            ),
        ]
        notes = [Paragraph(escape_markup(n), s.note) for n in st.notes]
        qr = qr_flowable(self.site_url, self.qr_size_mm)
        side = qr.width + 4 * mm
        table = Table(
            [[[*text, *notes], [qr, Paragraph("公示网站 Site", s.cell_center)]]],
            colWidths=[self.frame_width - side, side],
            style=self.table_style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (0, 0), 4 * mm),
                    ("LEFTPADDING", (1, 0), (1, 0), 4 * mm),
                    ("RIGHTPADDING", (1, 0), (1, 0), 0),
                    ("TOPPADDING", (1, 0), (1, 0), 8 * mm),
                ]
            ),
        )
        return [KeepTogether([table])]

    # -- helpers ----------------------------------------------------------------------------

    def _section_heading(self, title: str, count: int, total: Any) -> list[Flowable]:
        # Not keepWithNext: that would push a whole list that fits one page off a half-full page.
        # The list splits instead, and the heading is never left alone at a page's foot.
        style = ParagraphStyle("n_list_heading", parent=self.styles.heading, keepWithNext=0)
        return [
            CondPageBreak(30 * mm),
            Paragraph(
                f'{title} <font size="8.5" color="#555555">（共 {count} 笔，合计 '
                f"{escape_markup(format_cny(total))}）</font>",
                style,
            ),
        ]

    def _list_table(
        self, header: list[Any], rows: list[list[Any]], total: Any, widths: list[float]
    ) -> LongTable:
        s = self.styles
        total_row = [
            Paragraph(f"合计 Total（{len(rows)} 笔）", s.cell_total),
            "",
            "",
            "",
            amount_para(total, s.cell_total_right),
        ]
        return LongTable(
            [header, *rows, total_row],
            colWidths=widths,
            repeatRows=1,
            splitInRow=1,
            style=self.table_style(
                [
                    *self._grid_commands(),
                    ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
                    ("VALIGN", (0, 1), (-1, -1), "TOP"),
                    ("ROWBACKGROUNDS", (0, 1), (-1, -2), [None, self.stripe_fill]),
                    ("SPAN", (0, -1), (3, -1)),
                    ("BACKGROUND", (0, -1), (-1, -1), self.total_fill),
                    ("LINEABOVE", (0, -1), (-1, -1), 0.9, self.rule_color),
                ]
            ),
        )

    @staticmethod
    def _with_reversal(markup: str, entry: EntryRow) -> str:
        if not entry.reversed_by:
            return markup
        return (
            f'{markup}<br/><font color="#8A1F11">已冲销 reversed by '
            f"{escape_markup(entry.reversed_by)}</font>"
        )
