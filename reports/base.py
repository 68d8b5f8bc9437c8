"""The base of every PDF report: A4 layout, the embedded CJK font, styles, header, footer, bytes.

A report subclasses :class:`ReportDocument`, sets ``doc_title`` and builds its ``story()`` from
finished view data; the base draws the organisation header and the footer with the page count,
generation time and ledger head hash on every page.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from ledger.money import format_cny
from reports.escape import escape_markup
from reports.fonts import CJKFont, register_fonts

#: Characters of the head hash printed in the footer; the body carries the full hash.
SHORT_HASH = 12

#: The padding ReportLab's default Frame keeps inside the margins, on every side.
FRAME_PADDING = 6.0

PageCountDrawer = Callable[[Any, int, int], None]


def para(text: str, style: ParagraphStyle) -> Paragraph:
    """A Paragraph showing user ``text`` literally (``<``, ``&`` are not read as markup)."""
    return Paragraph(escape_markup(text), style)


def amount_para(amount: Decimal, style: ParagraphStyle) -> Paragraph:
    """A table cell for an amount, formatted ``¥1,234.56`` in a (right-aligned) ``style``."""
    return Paragraph(escape_markup(format_cny(amount)), style)


def fit_text(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut short with ``…`` so that it fits ``width`` points (header lines do not wrap)."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def format_timestamp(moment: dt.datetime) -> str:
    """``2025-03-31 18:05 (UTC+08:00)``; naive times are printed without a zone."""
    text = moment.strftime("%Y-%m-%d %H:%M")
    offset = moment.utcoffset()
    if offset is None:
        return text
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{text} (UTC{sign}{hours:02d}:{mins:02d})"


@dataclass(frozen=True)
class Styles:
    """The paragraph styles a report uses, all in the embedded CJK font."""

    title: ParagraphStyle
    subtitle: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    meta: ParagraphStyle
    note: ParagraphStyle
    cell: ParagraphStyle
    cell_center: ParagraphStyle
    cell_right: ParagraphStyle
    cell_head: ParagraphStyle
    cell_head_right: ParagraphStyle
    cell_total: ParagraphStyle
    cell_total_right: ParagraphStyle
    mono: ParagraphStyle
    code: ParagraphStyle


class _NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab ships no type information
    """A canvas that holds every page until the end, so each can say how many pages there are."""

    def __init__(self, *args: Any, draw_page_count: PageCountDrawer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._draw_page_count = draw_page_count
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # ReportLab's camelCase name, overridden
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._draw_page_count(self, number, total)
            super().showPage()
        super().save()


class ReportDocument:
    """One PDF report: layout constants, fonts and styles, page decorations, output as bytes.

    Subclasses set :attr:`doc_title` and implement :meth:`story`.
    """

    pagesize: ClassVar[tuple[float, float]] = A4
    margin_left: ClassVar[float] = 16 * mm
    margin_right: ClassVar[float] = 16 * mm
    margin_top: ClassVar[float] = 24 * mm
    margin_bottom: ClassVar[float] = 20 * mm
    #: Distance of the header rule above the frame and of the footer rule below it.
    header_gap: ClassVar[float] = 5 * mm
    footer_gap: ClassVar[float] = 6 * mm
    font_size: ClassVar[float] = 9
    table_font_size: ClassVar[float] = 8.5
    rule_color: ClassVar[colors.Color] = colors.HexColor("#6B6B6B")
    grid_color: ClassVar[colors.Color] = colors.HexColor("#B4B4B4")
    head_fill: ClassVar[colors.Color] = colors.HexColor("#E8ECF1")
    total_fill: ClassVar[colors.Color] = colors.HexColor("#F3F3F3")
    stripe_fill: ClassVar[colors.Color] = colors.HexColor("#FAFAFA")
    muted: ClassVar[colors.Color] = colors.HexColor("#555555")

    doc_title: ClassVar[str] = ""

    def __init__(
        self,
        *,
        org_name: str,
        generated_at: dt.datetime,
        head_hash: str,
        head_seq: int | None = None,
    ) -> None:
        self.org_name = org_name
        self.generated_at = generated_at
        self.head_hash = head_hash
        self.head_seq = head_seq
        self.fonts: CJKFont = register_fonts()
        self.styles = self.make_styles()

    @property
    def frame_width(self) -> float:
        """The usable width between the margins."""
        return self.pagesize[0] - self.margin_left - self.margin_right  # points, not money

    @property
    def content_width(self) -> float:
        """The width inside SimpleDocTemplate's frame, which pads each side by 6 pt.

        A table this wide lines up with the paragraphs above and below it.
        """
        return self.frame_width - 2 * FRAME_PADDING

    def make_styles(self) -> Styles:
        """The paragraph styles, in the registered CJK font."""
        regular, bold = self.fonts.regular, self.fonts.bold
        size, tsize = self.font_size, self.table_font_size

        def style(name: str, **kw: Any) -> ParagraphStyle:
            base: dict[str, Any] = {
                "fontName": regular,
                "fontSize": size,
                "leading": size * 1.45,
                # Break between any two CJK characters; Latin words still break at spaces.
                "wordWrap": "CJK",
            }
            base.update(kw)
            return ParagraphStyle(name, **base)

        cell = style("cell", fontSize=tsize, leading=tsize * 1.3)
        cell_head = style("cell_head", parent=cell, fontName=bold, textColor=colors.black)
        cell_total = style("cell_total", parent=cell, fontName=bold)
        return Styles(
            title=style("title", fontName=bold, fontSize=17, leading=22, alignment=TA_CENTER),
            subtitle=style(
                "subtitle", fontSize=9.5, leading=13, alignment=TA_CENTER, textColor=self.muted
            ),
            heading=style(
                "heading",
                fontName=bold,
                fontSize=11.5,
                leading=15,
                spaceBefore=4,
                spaceAfter=4,
                keepWithNext=1,
            ),
            body=style("body"),
            meta=style("meta", fontSize=8.5, leading=12),
            note=style("note", fontSize=8, leading=11.5, textColor=colors.HexColor("#333333")),
            cell=cell,
            cell_center=style("cell_center", parent=cell, alignment=TA_CENTER),
            cell_right=style("cell_right", parent=cell, alignment=TA_RIGHT),
            cell_head=cell_head,
            cell_head_right=style("cell_head_right", parent=cell_head, alignment=TA_RIGHT),
            cell_total=cell_total,
            cell_total_right=style("cell_total_right", parent=cell_total, alignment=TA_RIGHT),
            mono=style("mono", fontSize=8, leading=11, alignment=TA_LEFT),
            code=style(
                "code",
                fontSize=7,
                leading=9.5,
                leftIndent=4 * mm,
                spaceBefore=2,
                spaceAfter=2,
                backColor=colors.HexColor("#F4F4F4"),
                borderPadding=(2, 3, 2, 3),
                textColor=colors.HexColor("#222222"),
            ),
        )

    def table_style(self, commands: list[tuple[Any, ...]]) -> TableStyle:
        """A TableStyle whose cells default to the embedded font.

        A Table's cells otherwise default to Helvetica, which would be declared on the page
        (and left to the viewer) even when every cell holds a Paragraph in the CJK font.
        """
        return TableStyle([("FONTNAME", (0, 0), (-1, -1), self.fonts.regular), *commands])

    def particulars_table(self, rows: list[list[Any]]) -> Table:
        """The particulars under a title: label / value pairs in two columns between two rules;
        the last row (the head hash, which is long) spans the three cells after its label."""
        width = self.frame_width
        return Table(
            rows,
            colWidths=[30 * mm, width / 2 - 30 * mm, 28 * mm, width / 2 - 28 * mm],
            style=self.table_style(
                [
                    ("SPAN", (1, -1), (3, -1)),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                    ("LINEABOVE", (0, 0), (-1, 0), 0.8, self.rule_color),
                    ("LINEBELOW", (0, -1), (-1, -1), 0.8, self.rule_color),
                    ("TOPPADDING", (0, 0), (-1, 0), 4),
                    ("BOTTOMPADDING", (0, -1), (-1, -1), 4),
                ]
            ),
        )

    def numbered_notes(self, items: list[list[Flowable]]) -> Table:
        """A numbered list (1. 2. …) whose items may hold several flowables, aligned as a table."""
        number = self.styles.note
        return Table(
            [[Paragraph(f"{n}.", number), item] for n, item in enumerate(items, start=1)],
            colWidths=[6 * mm, self.frame_width - 6 * mm],
            style=self.table_style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 1),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            ),
        )

    def story(self) -> list[Flowable]:
        """The report's flowables, top to bottom."""
        raise NotImplementedError

    def render(self) -> bytes:
        """Lay the story out on A4 pages and return the PDF."""
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=self.pagesize,
            leftMargin=self.margin_left,
            rightMargin=self.margin_right,
            topMargin=self.margin_top,
            bottomMargin=self.margin_bottom,
            title=f"{self.org_name} {self.doc_title}".strip(),
            author=self.org_name,
            subject=self.doc_title,
            creator="community-fund-ledger",
            # Otherwise every page declares Helvetica: a font that is not embedded.
            initialFontName=self.fonts.regular,
        )
        doc.build(
            self.story(),
            onFirstPage=self.draw_page,
            onLaterPages=self.draw_page,
            canvasmaker=self._make_canvas,
        )
        return buffer.getvalue()

    def _make_canvas(self, *args: Any, **kwargs: Any) -> _NumberedCanvas:
        return _NumberedCanvas(*args, draw_page_count=self.draw_page_count, **kwargs)

    def draw_page(self, canvas: Any, doc: Any) -> None:
        """Header (organisation, report title) and footer (time, head hash) of every page."""
        width, height = self.pagesize
        left, right = self.margin_left, width - self.margin_right
        header_y = height - self.margin_top + self.header_gap
        footer_y = self.margin_bottom - self.footer_gap
        canvas.saveState()
        canvas.setStrokeColor(self.rule_color)
        canvas.setLineWidth(0.6)
        canvas.line(left, header_y, right, header_y)
        canvas.setFont(self.fonts.regular, 8.5)
        canvas.setFillColor(self.muted)
        canvas.drawRightString(right, header_y + 2.2 * mm, self.doc_title)
        title_width = stringWidth(self.doc_title, self.fonts.regular, 8.5)
        room = right - left - title_width - 8 * mm
        canvas.setFont(self.fonts.bold, 10)
        canvas.setFillColor(colors.black)
        canvas.drawString(
            left, header_y + 2.2 * mm, fit_text(self.org_name, self.fonts.bold, 10, room)
        )

        canvas.setLineWidth(0.4)
        canvas.line(left, footer_y, right, footer_y)
        canvas.setFont(self.fonts.regular, 7.5)
        canvas.drawString(left, footer_y - 4 * mm, self.footer_text())
        canvas.restoreState()

    def footer_text(self) -> str:
        """The footer line: generation time, short head hash and (when known) the head's seq."""
        text = (
            f"生成时间 {format_timestamp(self.generated_at)}　·　"
            f"账本头哈希 {self.head_hash[:SHORT_HASH]}…"
        )
        if self.head_seq is not None:
            text += f"　·　序号 seq {self.head_seq}"
        return text

    def draw_page_count(self, canvas: Any, page: int, total: int) -> None:
        """``第 x 页 / 共 y 页`` at the right of the footer, once the total is known."""
        width = self.pagesize[0]
        canvas.saveState()
        canvas.setFont(self.fonts.regular, 7.5)
        canvas.setFillColor(self.muted)
        canvas.drawRightString(
            width - self.margin_right,
            self.margin_bottom - self.footer_gap - 4 * mm,
            f"第 {page} 页 / 共 {total} 页",
        )
        canvas.restoreState()
