"""The donation confirmation (捐赠确认书) as a one-page A4 PDF, from a finished :class:`ReceiptView`.

The confirmation shows the donor only as they chose to appear (``view.donor_public`` — the view
carries no other name), the amount in figures and in Chinese capitals, the fund, a verification
code with a QR code to the public verification page, and the ledger's head hash. It says plainly
that it is not the official 公益事业捐赠票据, which only the host charity issues, and whether that
receipt has been issued. A voided confirmation keeps its number and carries a large 作废 mark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepInFrame, Paragraph, Spacer, Table

from ledger.disclosure import ReceiptView
from ledger.money import format_cny, to_chinese_capital
from reports.base import FRAME_PADDING, ReportDocument, format_timestamp, para
from reports.escape import escape_markup
from reports.qr import qr_flowable

#: Confirmations are dated in China Standard Time when no generation time is given.
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")

#: How each form of gift (``ReceiptView.form``) is named on the confirmation.
FORM_LABELS: dict[str, str] = {
    "money": "货币资金 Money",
    "goods": "实物（物资）In kind — goods",
    "fixed_asset": "实物（固定资产）In kind — fixed asset",
}

#: The keys of ``official`` and how they are labelled.
OFFICIAL_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("code", "票据代码", "Code"),
    ("number", "票据号码", "No."),
    ("check_code", "校验码", "Check code"),
    ("issued_on", "开票日期", "Issued on"),
)

VOID_RED = colors.HexColor("#B3261E")
NOTICE_BROWN = "#7A3E00"


def build_receipt(
    view: ReceiptView,
    *,
    org_name: str,
    verify_url: str,
    host_charity: str = "",
    official: Mapping[str, str] | None = None,
    generated_at: dt.datetime | None = None,
) -> bytes:
    """Render one donation confirmation as a one-page A4 PDF.

    Args:
        view: the confirmation from :func:`ledger.disclosure.receipt_record`.
        org_name: the organisation that confirms the gift (header and signature block).
        verify_url: the public verification URL with number and code, encoded in the QR code.
        host_charity: the charity that issues the official 公益事业捐赠票据 (e.g. 成都市慈善总会).
        official: the official receipt once issued: ``code``, ``number``, ``check_code``,
            ``issued_on``; None when it has not been issued.
        generated_at: when the confirmation is printed (now, in China Standard Time, if None).

    Returns:
        The PDF document.
    """
    return ReceiptReport(
        view,
        org_name=org_name,
        verify_url=verify_url,
        host_charity=host_charity,
        official=official,
        generated_at=generated_at or dt.datetime.now(CHINA_TZ),
    ).render()


class ReceiptReport(ReportDocument):
    """Title and number, the gift, verification with QR, the official-receipt notice, signature."""

    doc_title: ClassVar[str] = "捐赠确认书 Donation Confirmation"
    label_width: ClassVar[float] = 44 * mm
    qr_size_mm: ClassVar[float] = 34

    def __init__(
        self,
        view: ReceiptView,
        *,
        org_name: str,
        verify_url: str,
        host_charity: str,
        official: Mapping[str, str] | None,
        generated_at: dt.datetime,
    ) -> None:
        super().__init__(org_name=org_name, generated_at=generated_at, head_hash=view.head_hash)
        self.view = view
        self.verify_url = verify_url
        self.host_charity = host_charity.strip()
        self.official = dict(official) if official else None
        self.extra = self._extra_styles()

    def _extra_styles(self) -> dict[str, ParagraphStyle]:
        s = self.styles
        bold = self.fonts.bold
        return {
            "title": ParagraphStyle("r_title", parent=s.title, fontSize=22, leading=28),
            "number": ParagraphStyle("r_number", parent=s.body, fontSize=10.5, leading=14),
            "number_right": ParagraphStyle(
                "r_number_right", parent=s.body, fontSize=10.5, leading=14, alignment=TA_RIGHT
            ),
            "label": ParagraphStyle("r_label", parent=s.body, fontSize=9.5, leading=13),
            "value": ParagraphStyle("r_value", parent=s.body, fontSize=10.5, leading=14.5),
            "amount": ParagraphStyle(
                "r_amount", parent=s.body, fontName=bold, fontSize=15, leading=19
            ),
            "capital": ParagraphStyle(
                "r_capital", parent=s.body, fontName=bold, fontSize=12, leading=16
            ),
            "code": ParagraphStyle("r_code", parent=s.body, fontName=bold, fontSize=16, leading=20),
            "void": ParagraphStyle(
                "r_void",
                parent=s.body,
                fontName=bold,
                fontSize=12,
                leading=16,
                alignment=TA_CENTER,
                textColor=VOID_RED,
            ),
            "sign": ParagraphStyle(
                "r_sign", parent=s.body, fontSize=10, leading=16, alignment=TA_RIGHT
            ),
        }

    def footer_text(self) -> str:
        """Generation time, confirmation number and short head hash."""
        return f"确认书编号 No. {self.view.number}　·　{super().footer_text()}"

    def story(self) -> list[Flowable]:
        """The whole confirmation on one page, shrunk to fit should long text make it taller."""
        height = self.pagesize[1] - self.margin_top - self.margin_bottom - 2 * FRAME_PADDING
        return [KeepInFrame(self.content_width, height, self.content(), mode="shrink")]

    def content(self) -> list[Flowable]:
        """The confirmation's flowables, top to bottom."""
        return [
            *self.title_section(),
            Spacer(1, 3 * mm),
            *self.gift_section(),
            Spacer(1, 4 * mm),
            *self.verify_section(),
            Spacer(1, 3 * mm),
            *self.official_section(),
            Spacer(1, 4 * mm),
            self.signature_block(),
        ]

    # -- sections ---------------------------------------------------------------------------

    def title_section(self) -> list[Flowable]:
        """Title, number and date, the void banner if any, and the sentence of thanks."""
        s, x, v = self.styles, self.extra, self.view
        number_row = Table(
            [
                [
                    Paragraph(
                        f'编号 <font size="8" color="#555555">No.</font> '
                        f'<font name="{self.fonts.bold}" size="13">{escape_markup(v.number)}</font>',
                        x["number"],
                    ),
                    Paragraph(
                        f'捐赠日期 <font size="8" color="#555555">Date</font> {v.date.isoformat()}',
                        x["number_right"],
                    ),
                ]
            ],
            colWidths=[self.content_width / 2] * 2,
            style=self.table_style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("LINEBELOW", (0, 0), (-1, -1), 1.2, colors.black),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ]
            ),
        )
        out: list[Flowable] = [
            Paragraph("捐赠确认书", x["title"]),
            Paragraph("Donation Confirmation", s.subtitle),
            Spacer(1, 3 * mm),
            number_row,
        ]
        if v.void:
            out += [Spacer(1, 3 * mm), self._void_banner()]
        donor = escape_markup(self.donor_text)
        out += [
            Spacer(1, 3 * mm),
            Paragraph(
                f"兹确认收到 {donor} 的捐赠如下，谨致谢忱！",
                x["value"],
            ),
            Paragraph("We gratefully confirm receipt of the donation described below.", s.note),
        ]
        return out

    def gift_section(self) -> list[Flowable]:
        """Donor, amount in figures and capitals, form, valuation, fund, purpose, project, entry."""
        s, x, v = self.styles, self.extra, self.view
        rows: list[list[Any]] = [
            [self._label("捐赠人", "Donor"), para(self.donor_text, x["value"])],
            [
                self._label("金额（小写）", "Amount"),
                Paragraph(escape_markup(format_cny(v.amount)), x["amount"]),
            ],
            [
                self._label("金额（大写）", "In words"),
                Paragraph(f"人民币 {self._capital()}", x["capital"]),
            ],
            [
                self._label("捐赠形式", "Form"),
                para(FORM_LABELS.get(v.form, v.form or "—"), x["value"]),
            ],
        ]
        if v.form != "money" or v.valuation_basis:
            rows.append(
                [
                    self._label("估值依据", "Valuation basis"),
                    Paragraph(
                        f"{escape_markup(v.valuation_basis or '—')}"
                        '<br/><font size="8" color="#555555">实物捐赠按上述依据以人民币估值入账。'
                        "Gifts in kind are booked at this CNY valuation.</font>",
                        x["value"],
                    ),
                ]
            )
        kind = "限定性基金 Restricted" if v.restricted else "非限定性基金 Unrestricted"
        rows += [
            [
                self._label("受赠基金", "Fund"),
                Paragraph(
                    f'{escape_markup(v.fund_name or "—")}　<font size="8.5" color="#555555">'
                    f"{kind}</font>",
                    x["value"],
                ),
            ],
            [self._label("基金用途", "Purpose"), para(v.fund_purpose or "—", x["value"])],
        ]
        if v.project:
            rows.append([self._label("资助项目", "Project"), para(v.project, x["value"])])
        entry = escape_markup(v.entry_id or "—")
        if v.entry_hash:
            entry += (
                f'<br/><font size="7.5" color="#555555">分录哈希 Entry hash '
                f"{escape_markup(v.entry_hash)}</font>"
            )
        rows.append([self._label("账本分录", "Ledger entry"), Paragraph(entry, s.mono)])
        table = Table(
            rows,
            colWidths=[self.label_width, self.content_width - self.label_width],
            style=self.table_style(
                [
                    ("BOX", (0, 0), (-1, -1), 1, colors.black),
                    ("INNERGRID", (0, 0), (-1, -1), 0.4, self.grid_color),
                    ("BACKGROUND", (0, 0), (0, -1), self.head_fill),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 6),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ]
            ),
        )
        return [table]

    def verify_section(self) -> list[Flowable]:
        """The verification code, the URL and its QR code, and the ledger head hash."""
        s, x, v = self.styles, self.extra, self.view
        qr = qr_flowable(self.verify_url, self.qr_size_mm)
        text: list[Flowable] = [
            Paragraph("真伪核验与善款去向 Verify this confirmation", s.heading),
            Paragraph(
                f'验证码 <font size="8" color="#555555">Verification code</font>　'
                f'<font name="{self.fonts.bold}" size="16">{escape_markup(v.verify or "—")}</font>',
                x["value"],
            ),
            Spacer(1, 2 * mm),
            Paragraph(
                "用手机扫描右侧二维码，或打开下列网址并输入编号与验证码，即可核验本确认书的真伪，"
                "并查看该基金此后的每一笔支出——您的善款用在了哪里。",
                s.body,
            ),
            Paragraph(
                "Scan the QR code or open the link to check that this confirmation is genuine "
                "and to see every payment the fund has made since.",
                s.note,
            ),
            Spacer(1, 1.5 * mm),
            para(self.verify_url, s.mono),
            Spacer(1, 2 * mm),
            Paragraph(
                f'账本头哈希 <font size="7" color="#555555">Ledger head hash</font><br/>'
                f"{escape_markup(v.head_hash)}",
                s.mono,
            ),
        ]
        side = qr.width + 4 * mm
        table = Table(
            [[text, [qr, Paragraph("扫码核验 Scan to verify", s.cell_center)]]],
            colWidths=[self.content_width - side, side],
            style=self.table_style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (0, 0), 0),
                    ("RIGHTPADDING", (0, 0), (0, 0), 4 * mm),
                    ("LEFTPADDING", (1, 0), (1, 0), 2 * mm),
                    ("RIGHTPADDING", (1, 0), (1, 0), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                ]
            ),
        )
        return [table]

    def official_section(self) -> list[Flowable]:
        """This is not the official fiscal receipt; who issues that one, and whether it has been."""
        s = self.styles
        charity = escape_markup(self.host_charity) if self.host_charity else "托管慈善组织"
        charity_en = "the host charity"
        statement = [
            Paragraph(
                f'<font color="{NOTICE_BROWN}">重要提示：本确认书不是公益事业捐赠票据。</font>'
                f"本确认书仅证明社区微基金已收到并入账上述捐赠，不能替代公益事业捐赠票据用于税前扣除"
                f"或报销。公益事业捐赠票据只能由{charity}开具。",
                s.body,
            ),
            Paragraph(
                "This confirmation is NOT the official donation receipt (公益事业捐赠票据) and "
                f"cannot be used for tax deduction; only {charity_en}"
                f"{' (' + charity + ')' if self.host_charity else ''} issues official receipts.",
                s.note,
            ),
            Spacer(1, 2 * mm),
        ]
        if self.official:
            cells = [
                Paragraph(
                    f'{zh} <font size="7" color="#555555">{en}</font><br/>'
                    f"{escape_markup(self.official.get(key, '') or '—')}",
                    s.meta,
                )
                for key, zh, en in OFFICIAL_FIELDS
            ]
            inner = self.content_width - 16
            numbers = Table(
                [cells],
                colWidths=[inner * 0.24, inner * 0.3, inner * 0.22, inner * 0.24],
                style=self.table_style(
                    [
                        ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("TOPPADDING", (0, 0), (-1, -1), 1),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                ),
            )
            status: list[Flowable] = [
                Paragraph(
                    '<font color="#1B5E20">公益事业捐赠票据已开具。</font>'
                    f"{charity}已就本笔捐赠开具公益事业捐赠票据："
                    "Official receipt issued:",
                    s.body,
                ),
                numbers,
            ]
        else:
            status = [
                Paragraph(
                    f'<font color="{NOTICE_BROWN}">公益事业捐赠票据尚未开具。</font>'
                    "开具后，可在核验页面查看票据代码与号码。"
                    "Official receipt not yet issued; once issued, its numbers appear on the "
                    "verification page.",
                    s.body,
                )
            ]
        box = Table(
            [[[*statement, *status]]],
            colWidths=[self.content_width],
            style=self.table_style(
                [
                    ("BOX", (0, 0), (-1, -1), 1.2, colors.HexColor("#8A5A00")),
                    ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#FFF8E6")),
                    ("LEFTPADDING", (0, 0), (-1, -1), 8),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                    ("TOPPADDING", (0, 0), (-1, -1), 6),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
                ]
            ),
        )
        return [Paragraph("公益事业捐赠票据 Official receipt", s.heading), box]

    def signature_block(self) -> Flowable:
        """The confirming organisation and the time printed, with room for a seal at the right."""
        s, x = self.styles, self.extra
        left = [
            Paragraph(f"确认单位 Confirmed by：{escape_markup(self.org_name)}", s.body),
            Paragraph(f"出具时间 Issued：{format_timestamp(self.generated_at)}", s.body),
        ]
        seal = Paragraph('（盖章 <font size="8">Seal</font>）', x["sign"])
        return Table(
            [[left, seal]],
            colWidths=[self.content_width - 40 * mm, 40 * mm],
            style=self.table_style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("LINEABOVE", (0, 0), (-1, 0), 0.6, self.rule_color),
                    ("TOPPADDING", (0, 0), (-1, -1), 4),
                ]
            ),
        )

    # -- helpers ----------------------------------------------------------------------------

    @property
    def donor_text(self) -> str:
        """The donor as they chose to appear; 匿名 when the view has no name."""
        return self.view.donor_public.strip() or "匿名"

    def _capital(self) -> str:
        amount = self.view.amount
        return to_chinese_capital(-amount if amount < 0 else amount)

    def _label(self, zh: str, en: str) -> Paragraph:
        return Paragraph(f'{zh} <font size="7.5" color="#555555">{en}</font>', self.extra["label"])

    def _void_banner(self) -> Flowable:
        v = self.view
        reversed_by = escape_markup(v.voided_by or "—")
        return Table(
            [
                [
                    Paragraph(
                        f"本确认书已作废 VOID　·　冲销分录 Reversed by {reversed_by}",
                        self.extra["void"],
                    )
                ]
            ],
            colWidths=[self.content_width],
            style=self.table_style(
                [
                    ("BOX", (0, 0), (-1, -1), 1.5, VOID_RED),
                    ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#FDECEA")),
                    ("TOPPADDING", (0, 0), (-1, -1), 5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ]
            ),
        )

    def draw_page(self, canvas: Any, doc: Any) -> None:
        """The header and footer; on a void confirmation, a large 作废 VOID stamp across it."""
        super().draw_page(canvas, doc)
        if not self.view.void:
            return
        width, height = self.pagesize
        canvas.saveState()
        canvas.translate(width / 2, height / 2 + 20 * mm)
        canvas.rotate(28)
        canvas.setStrokeColor(VOID_RED)
        canvas.setFillColor(VOID_RED)
        canvas.setStrokeAlpha(0.55)
        canvas.setFillAlpha(0.45)
        canvas.setLineWidth(4)
        box_w, box_h = 150 * mm, 52 * mm
        canvas.roundRect(-box_w / 2, -box_h / 2, box_w, box_h, 6 * mm, stroke=1, fill=0)
        canvas.setFont(self.fonts.bold, 84)
        canvas.drawCentredString(0, -4 * mm, "作废")
        canvas.setFont(self.fonts.bold, 26)
        canvas.drawCentredString(0, -19 * mm, "VOID")
        canvas.restoreState()
