"""A generic tabular PDF (registers, lists): a title, a few lines under it, one long table that
runs over as many pages as it needs with its heading repeated, an optional totals row, and the
ledger head hash that seals the figures.

Also home of :func:`format_amount`, the one way statements and tables print an amount.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar, Literal

from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, LongTable, Paragraph, Spacer

from reports.base import ReportDocument, para
from reports.escape import escape_markup

CENT = Decimal("0.01")

Align = Literal["left", "right", "center"]
#: A column: its heading, its width relative to the others, and how its cells are aligned.
Column = tuple[str, float, Align]
#: What a cell may hold; amounts are Decimal, never float.
TableCell = str | Decimal | dt.date | int | None

_ALIGN = {"left": TA_LEFT, "right": TA_RIGHT, "center": TA_CENTER}


def format_amount(amount: Decimal) -> str:
    """An amount as statements and registers print it: ``1,234.56``, ``-1,234.56``, ``0.00``.

    No currency sign (the page says 单位：元); an ASCII minus, because the embedded CJK fonts
    have no glyph for U+2212.

    Args:
        amount: the amount, a Decimal (a float would carry binary rounding into the books).

    Returns:
        The amount rounded to cents with thousands separators.

    Raises:
        TypeError: ``amount`` is not a Decimal.
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"amounts are Decimal, not {type(amount).__name__}")
    cents = amount.quantize(CENT)
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents):,.2f}"


def cell_text(value: TableCell) -> str:
    """The text of one table cell: amounts formatted, dates ISO, ``None`` empty.

    Raises:
        TypeError: a float (amounts are Decimal) or any other type.
    """
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):  # a bool is an int: say what it means instead of 1/0
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    # A float would carry binary rounding into a money column: refuse it, like anything else.
    raise TypeError(f"a table cell is str, Decimal, date, int or None, not {type(value).__name__}")


def build_table_pdf(
    *,
    title: str,
    subtitle_lines: Sequence[str],
    columns: Sequence[Column],
    rows: Sequence[Sequence[TableCell]],
    totals: Sequence[TableCell] | None = None,
    org_name: str,
    generated_at: dt.datetime,
    head_hash: str,
    head_seq: int | None,
    landscape: bool = False,
) -> bytes:
    """A titled table as PDF bytes: A4, embedded CJK font, header and footer on every page.

    Every piece of text (title, subtitle lines, headings, string cells, the organisation name)
    is shown literally: ``<b>`` stays ``<b>``. Amounts are right-aligned by their column's
    alignment and printed with :func:`format_amount`.

    Args:
        title: the document title, centred at the top and repeated in every page header.
        subtitle_lines: lines under the title (period, filters, counts), centred.
        columns: ``(heading, relative width, align)`` for each column; the widths are shares of
            the page width (``(("日期", 1, "left"), ("金额", 1.5, "right"))``), align is
            ``"left"``, ``"right"`` or ``"center"``.
        rows: the table body; each row has one cell per column, a cell being a ``str``,
            ``Decimal`` (an amount), ``date``, ``int`` or ``None`` (empty).
        totals: an optional last row, printed bold on a light fill (e.g. ``("合计", None,
            Decimal("12.00"))``).
        org_name: the organisation, printed in the header of every page.
        generated_at: when the figures were taken (footer of every page).
        head_hash: the ledger's head hash when the figures were taken (full under the table,
            short in the footer).
        head_seq: the ``seq`` of the ledger's last entry, or ``None`` when unknown.
        landscape: A4 landscape for wide tables.

    Returns:
        The PDF document.

    Raises:
        ValueError: no columns, or a row (or ``totals``) whose length differs from ``columns``.
        TypeError: a cell holds a float.
    """
    if not columns:
        raise ValueError("a table needs at least one column")
    for row in (*rows, *([totals] if totals is not None else [])):
        if len(row) != len(columns):
            raise ValueError(f"a row has {len(row)} cells for {len(columns)} columns")
    report_class = LandscapeTableReport if landscape else TableReport
    return report_class(
        title=title,
        subtitle_lines=subtitle_lines,
        columns=columns,
        rows=rows,
        totals=totals,
        org_name=org_name,
        generated_at=generated_at,
        head_hash=head_hash,
        head_seq=head_seq,
    ).render()


class TableReport(ReportDocument):
    """Title, subtitle lines, one long table with an optional totals row, the head hash."""

    cell_padding: ClassVar[float] = 2.5

    def __init__(
        self,
        *,
        title: str,
        subtitle_lines: Sequence[str],
        columns: Sequence[Column],
        rows: Sequence[Sequence[TableCell]],
        totals: Sequence[TableCell] | None,
        org_name: str,
        generated_at: dt.datetime,
        head_hash: str,
        head_seq: int | None,
    ) -> None:
        super().__init__(
            org_name=org_name, generated_at=generated_at, head_hash=head_hash, head_seq=head_seq
        )
        self.title = title
        self.subtitle_lines = tuple(subtitle_lines)
        self.columns = tuple(columns)
        self.rows = rows
        self.totals = totals
        self.cell_styles = [self._cell_style(align, total=False) for _h, _w, align in columns]
        self.total_styles = [self._cell_style(align, total=True) for _h, _w, align in columns]

    @property
    def doc_title(self) -> str:  # type: ignore[override]  # per document, not per class
        """The title in each page's header and in the PDF's metadata."""
        return self.title

    def story(self) -> list[Flowable]:
        """Title, subtitle lines, the table, the head hash."""
        s = self.styles
        seq = "—" if self.head_seq is None else str(self.head_seq)
        return [
            para(self.title, s.title),
            *(para(line, s.subtitle) for line in self.subtitle_lines),
            Spacer(1, 4 * mm),
            self.table(),
            Spacer(1, 3 * mm),
            Paragraph(
                f"账本头哈希 Head hash（序号 seq {seq}）：{escape_markup(self.head_hash)}", s.mono
            ),
        ]

    def table(self) -> Flowable:
        """The heading row, the rows and the totals row; split across pages as needed."""
        s = self.styles
        header = [
            para(heading, self._cell_style(align, head=True)) for heading, _w, align in self.columns
        ]
        body: list[list[Any]] = [self._row(row, self.cell_styles) for row in self.rows]
        if not body:
            body.append([para("（无记录 no rows）", s.cell), *[""] * (len(header) - 1)])
        if self.totals is not None:
            body.append(self._row(self.totals, self.total_styles))
        total_weight = sum(weight for _h, weight, _a in self.columns) or 1
        widths = [self.content_width * weight / total_weight for _h, weight, _a in self.columns]
        commands: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.35, self.grid_color),
            ("BOX", (0, 0), (-1, -1), 0.9, self.rule_color),
            ("BACKGROUND", (0, 0), (-1, 0), self.head_fill),
            ("LINEBELOW", (0, 0), (-1, 0), 0.9, self.rule_color),
            ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
            ("VALIGN", (0, 1), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), self.cell_padding),
            ("RIGHTPADDING", (0, 0), (-1, -1), self.cell_padding),
            ("TOPPADDING", (0, 0), (-1, -1), self.cell_padding - 0.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), self.cell_padding),
        ]
        last_body = -2 if self.totals is not None else -1
        commands.append(("ROWBACKGROUNDS", (0, 1), (-1, last_body), [None, self.stripe_fill]))
        if not self.rows:
            commands.append(("SPAN", (0, 1), (-1, 1)))
        if self.totals is not None:
            commands += [
                ("BACKGROUND", (0, -1), (-1, -1), self.total_fill),
                ("LINEABOVE", (0, -1), (-1, -1), 0.9, self.rule_color),
            ]
        return LongTable(
            [header, *body],
            colWidths=widths,
            repeatRows=1,
            # A cell longer than a page continues on the next page instead of failing the build.
            splitInRow=1,
            style=self.table_style(commands),
        )

    def _row(self, row: Sequence[TableCell], styles: Sequence[ParagraphStyle]) -> list[Any]:
        return [para(cell_text(cell), style) for cell, style in zip(row, styles, strict=True)]

    def _cell_style(
        self, align: Align, *, total: bool = False, head: bool = False
    ) -> ParagraphStyle:
        """The paragraph style of a body, totals or heading cell, aligned as its column."""
        s = self.styles
        base = s.cell_head if head else s.cell_total if total else s.cell
        if align not in _ALIGN:
            raise ValueError(f"align must be left, right or center, not {align!r}")
        # cell_total and cell_head declare the report's body font size; tables use the smaller.
        size = self.table_font_size
        return ParagraphStyle(
            f"{base.name}-{align}",
            parent=base,
            alignment=_ALIGN[align],
            fontSize=size,
            leading=size * 1.3,
        )


class LandscapeTableReport(TableReport):
    """The same table on A4 landscape, for registers with many columns."""

    pagesize: ClassVar[tuple[float, float]] = landscape(A4)
    margin_left: ClassVar[float] = 12 * mm
    margin_right: ClassVar[float] = 12 * mm
    margin_top: ClassVar[float] = 20 * mm
    margin_bottom: ClassVar[float] = 17 * mm
