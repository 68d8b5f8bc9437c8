"""The journal (序时账) and the general ledger (总账) as PDF and CSV, for ledgers of any length.

The PDFs are built for 100,000 entries and thousands of pages: every row is one line of fixed
height (text too long for its cell is cut with ``…``; the CSV has it in full), so the pages are
counted in a first pass over the entries before any is drawn, and every page can say
``第 x 页 / 共 y 页``. The second pass draws the pages straight onto ReportLab canvases, a chunk
at a time, and :mod:`reports.pdf_stream` joins the chunks into one file, so memory stays the
same however many pages there are. Only view data from :mod:`ledger.journal` comes in: this
module never queries the ledger and does no arithmetic on money beyond adding up the columns.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from ledger.financials import Period, account_code
from ledger.journal import AccountLedger, JournalEntry, LedgerRow
from ledger.money import format_cny
from reports.base import ReportDocument
from reports.csv_out import Cell, write_csv
from reports.pdf_stream import CHUNK_PAGES, Progress, TextCells, write_paged_pdf

ZERO = Decimal("0.00")
T = TypeVar("T")

Output = str | os.PathLike[str] | IO[bytes]


# -- pagination -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slice(Generic[T]):
    """The rows ``start .. start + count`` of one block (an entry, an account) on one page.

    ``continued`` marks a block carried over from an earlier page.
    """

    item: T
    start: int
    count: int
    continued: bool


def paginate(
    blocks: Iterable[tuple[T, int]],
    first: int,
    rest: int,
    *,
    continued_rows: int = 0,
    min_start: int = 1,
) -> Iterator[list[Slice[T]]]:
    """Lay blocks of rows out on pages, a page at a time.

    A block that does not fit in what is left of a page starts a new page if it fits on one
    (kept together); a block longer than a page starts where it is (if at least ``min_start``
    rows are left) and runs on, each page it continues on taking ``continued_rows`` extra rows
    (a repeated heading). Deterministic: the same counts give the same pages, which is what lets
    a first pass count the pages a second pass draws.

    Args:
        blocks: (item, rows) in order.
        first: rows on the first page.
        rest: rows on every later page.
        continued_rows: rows a continued block repeats at the top of each further page.
        min_start: fewest rows a long block may start with at the bottom of a page.

    Yields:
        The slices on each page; at least one page (empty when there are no blocks).
    """
    if rest <= continued_rows + 1 or first < 1:
        raise ValueError("pages too short for their rows")
    page: list[Slice[T]] = []
    room = first
    yielded = False
    for item, rows in blocks:
        if page and rows > room and (rows <= rest or room < min_start):
            yield page
            yielded = True
            page, room = [], rest
        start, continued = 0, False
        while True:
            extra = continued_rows if continued else 0
            if rows - start + extra <= room:
                page.append(Slice(item, start, rows - start, continued))
                room -= rows - start + extra
                break
            take = room - extra
            if take > 0:
                page.append(Slice(item, start, take, continued))
                start += take
                continued = True
            yield page
            yielded = True
            page, room = [], rest
    if page or not yielded:
        yield page


def _amount(value: Decimal) -> str:
    """``1,234.56``; zero is left blank, as in a paper journal."""
    return "" if value == 0 else format_cny(value, symbol=False)


def _balance(value: Decimal) -> tuple[str, str]:
    """The side of a balance (借, 贷 or 平) and its size."""
    if value > 0:
        return "借", format_cny(value, symbol=False)
    if value < 0:
        return "贷", format_cny(-value, symbol=False)
    return "平", "0.00"


def _open(out: Output) -> tuple[IO[bytes], bool]:
    if isinstance(out, str | os.PathLike):
        return open(out, "wb"), True
    return out, False


# -- the shared page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of the table: heading, left edge, width and alignment (``l``, ``r``, ``c``)."""

    heading: str
    x: float
    width: float
    align: str = "l"

    @property
    def right(self) -> float:
        """Its right edge."""
        return self.x + self.width


def _columns(left: float, spec: Sequence[tuple[str, float, str]]) -> tuple[Column, ...]:
    out = []
    x = left
    for heading, width, align in spec:
        out.append(Column(heading, x, width, align))
        x += width
    return tuple(out)


class _StreamedReport(ReportDocument):
    """Fixed-height rows drawn straight on the canvas, under the header and footer of every
    report (organisation, title with the period, generation time, head hash, page x of y)."""

    title_zh: ClassVar[str] = ""
    title_en: ClassVar[str] = ""
    #: Row height and the font sizes of the table (points).
    row: ClassVar[float] = 10.0
    size: ClassVar[float] = 7.0
    meta_size: ClassVar[float] = 6.2
    head_size: ClassVar[float] = 7.2
    #: Height of the column headings and of the title block on the first page.
    head_height: ClassVar[float] = 14.0
    title_height: ClassVar[float] = 58.0
    #: Inner padding of a cell.
    pad: ClassVar[float] = 2.0
    rule_gray: ClassVar[float] = 0.78
    muted_gray: ClassVar[float] = 0.38
    column_spec: ClassVar[tuple[tuple[str, float, str], ...]] = ()

    def __init__(
        self,
        *,
        org_name: str,
        period: Period,
        generated_at: dt.datetime,
        head_hash: str,
        head_seq: int | None,
    ) -> None:
        super().__init__(
            org_name=org_name, generated_at=generated_at, head_hash=head_hash, head_seq=head_seq
        )
        self.period = period
        self.cells = TextCells(self.fonts.regular)
        self.columns = _columns(self.margin_left, self.column_spec)
        height = self.pagesize[1]
        self.top = height - self.margin_top
        self.bottom = self.margin_bottom
        body = self.top - self.bottom - self.head_height
        self.rows_first = int((body - self.title_height) // self.row)
        self.rows_rest = int(body // self.row)
        self._frame: tuple[str, str, str] | None = None

    # -- the frame ------------------------------------------------------------------------------

    @property
    def header_title(self) -> str:
        """``序时账 Journal · 2026-01-01 至 2026-12-31``."""
        return f"{self.title_zh} {self.title_en} · {self.period.label}"

    def draw_frame(self, canvas: Canvas, page: int, total: int) -> None:
        """Header and footer as :class:`ReportDocument` draws them (organisation, title with the
        period; generation time, head hash, ``第 x 页 / 共 y 页``), set with the fast cells."""
        width, height = self.pagesize
        left, right = self.margin_left, width - self.margin_right
        header_y = height - self.margin_top + self.header_gap
        footer_y = self.margin_bottom - self.footer_gap
        gray = self.rule_color.red  # the rule colour is a gray
        canvas.addLiteral(
            f"q {gray:.3f} G 0.6 w {left:.2f} {header_y:.2f} m {right:.2f} {header_y:.2f} l S "
            f"0.4 w {left:.2f} {footer_y:.2f} m {right:.2f} {footer_y:.2f} l S Q"
        )
        if self._frame is None:
            title = self.header_title
            room = right - left - self.cells.width(title, 8.5) - 8 * mm
            self._frame = (title, self.cells.fit(self.org_name, 10, room), self.footer_text())
        title, org, footer = self._frame
        cells = self.cells
        cells.begin(canvas)
        cells.color(self.muted.red)
        cells.right(right, header_y + 2.2 * mm, title, 8.5)
        cells.right(right, footer_y - 4 * mm, f"第 {page} 页 / 共 {total} 页", 7.5)
        cells.color(0)
        cells.left(left, header_y + 2.2 * mm, org, 10)
        cells.left(left, footer_y - 4 * mm, footer, 7.5)
        cells.end()

    def draw_title(self, canvas: Canvas, lines: Sequence[str]) -> None:
        """The first page's title and particulars, in the title block."""
        cells = self.cells
        middle = self.pagesize[0] / 2
        width = self.frame_width
        cells.begin(canvas)
        cells.color(0)
        cells.center(middle, self.top - 17, f"{self.title_zh} {self.title_en}", 15)
        cells.color(self.muted_gray)
        for k, line in enumerate(lines[:4]):
            cells.center(middle, self.top - 30 - 8.6 * k, cells.fit(line, 7, width), 7)
        cells.end()

    def draw_heads(self, canvas: Canvas, top: float) -> float:
        """The column headings below ``top``; returns where the rows start."""
        bottom = top - self.head_height
        canvas.saveState()
        canvas.setFillColor(self.head_fill)
        canvas.setStrokeColor(self.rule_color)
        canvas.setLineWidth(0.5)
        canvas.rect(self.margin_left, bottom, self.frame_width, self.head_height, stroke=0, fill=1)
        canvas.line(self.margin_left, bottom, self.margin_left + self.frame_width, bottom)
        canvas.line(self.margin_left, top, self.margin_left + self.frame_width, top)
        canvas.restoreState()
        cells = self.cells
        cells.begin(canvas)
        cells.color(0)
        y = bottom + 4.6
        for column in self.columns:
            self.put(column, y, column.heading, self.head_size, fitted=True)
        cells.end()
        return bottom

    def put(
        self, column: Column, y: float, text: str, size: float, *, fitted: bool = False
    ) -> None:
        """One cell's text on the baseline ``y``, cut to the column unless already ``fitted``."""
        if not text:
            return
        room = column.width - 2 * self.pad
        shown = text if fitted else self.cells.fit(text, size, room)
        if column.align == "r":
            self.cells.right(column.right - self.pad, y, shown, size)
        elif column.align == "c":
            self.cells.center(column.x + column.width / 2, y, shown, size)
        else:
            self.cells.left(column.x + self.pad, y, shown, size)

    def rules(self, canvas: Canvas, ys: Iterable[float], *, gray: float, width: float) -> None:
        """Horizontal rules across the table at each of ``ys``, as one path."""
        left, right = self.margin_left, self.margin_left + self.frame_width
        ops = [f"{left:.2f} {y:.2f} m {right:.2f} {y:.2f} l" for y in ys]
        if ops:
            canvas.addLiteral(f"q {gray:.2f} G {width:.2f} w\n" + "\n".join(ops) + "\nS Q")

    def start_page(self, canvas: Canvas, page: int, total: int, title: Sequence[str]) -> float:
        """Frame, title (first page) and headings; returns the top of the first row."""
        self.draw_frame(canvas, page, total)
        top = self.top
        if page == 1:
            self.draw_title(canvas, title)
            top -= self.title_height
        return self.draw_heads(canvas, top)

    def info(self) -> dict[str, str]:
        """The PDF's document information."""
        return {
            "Title": f"{self.org_name} {self.title_zh} {self.period.label}".strip(),
            "Author": self.org_name,
            "Subject": f"{self.title_zh} {self.title_en}",
            "Creator": "community-fund-ledger",
            "Producer": "ReportLab, joined by reports.pdf_stream",
        }

    def write(
        self,
        out: Output,
        total: int,
        draw: Callable[[Canvas, int], None],
        *,
        chunk_pages: int,
        progress: Progress | None,
    ) -> int:
        """Draw the pages into ``out`` (a path or a binary stream)."""
        stream, owned = _open(out)
        try:
            return write_paged_pdf(
                stream,
                total,
                draw,
                pagesize=self.pagesize,
                font=self.fonts.regular,
                info=self.info(),
                chunk_pages=chunk_pages,
                progress=progress,
            )
        finally:
            if owned:
                stream.close()


def _reiterable(items: Iterable[Any], what: str) -> None:
    if iter(items) is items:
        raise TypeError(
            f"{what} must be re-iterable (a list, or the view from ledger.journal): "
            "the pages are counted in a first pass and drawn in a second"
        )


class _PagesChanged(RuntimeError):
    """The second pass did not see what the first pass counted."""

    def __init__(self) -> None:
        super().__init__(
            "the entries changed between counting and drawing the pages; "
            "pass a snapshot (ledger.journal.journal_view)"
        )


# -- the journal ------------------------------------------------------------------------------


class JournalReport(_StreamedReport):
    """序时账: every entry of the period, its postings and a line of its metadata."""

    doc_title: ClassVar[str] = "序时账 Journal"
    title_zh: ClassVar[str] = "序时账"
    title_en: ClassVar[str] = "Journal"
    #: 日期, 凭证号 (seq), 编号, 摘要, 科目, 基金, 借方, 贷方: 178 mm, the width of the frame.
    column_spec: ClassVar[tuple[tuple[str, float, str], ...]] = (
        ("日期", 42.5, "l"),
        ("凭证号", 26.0, "r"),
        ("编号", 99.5, "l"),
        ("摘要", 91.5, "l"),
        ("科目", 108.0, "l"),
        ("基金", 38.0, "l"),
        ("借方", 49.5, "r"),
        ("贷方", 49.5, "r"),
    )

    def title_lines(self, count: int) -> list[str]:
        """The particulars under the first page's title."""
        seq = f" · 账本截至 seq {self.head_seq}" if self.head_seq is not None else ""
        return [
            f"期间 {self.period.label} · 分录 {count:,} 笔{seq}",
            f"账本头哈希 {self.head_hash}",
            "按日期与 seq 排序；每笔分录的最后一行为其元数据、在账本文件中的位置与哈希前 12 位。",
            "过长的文字以 … 截断，完整内容见 CSV 导出。",
        ]

    def build(
        self,
        entries: Iterable[JournalEntry],
        out: Output,
        *,
        chunk_pages: int,
        progress: Progress | None,
    ) -> int:
        """Count the pages, then draw them."""
        sums: list[Any] = [0, ZERO, ZERO]

        def shapes() -> Iterator[tuple[None, int]]:
            # The first pass needs only each entry's row count, and the totals for the end.
            for postings, debit, credit in _shapes(entries):
                sums[0] += 1
                sums[1] += debit
                sums[2] += credit
                yield None, max(postings, 1) + 1

        total = sum(1 for _ in paginate(self._blocks(shapes()), *self._capacity()))
        pages = paginate(self._blocks(_with_rows(entries)), *self._capacity())
        title = self.title_lines(sums[0])
        totals = (sums[0], sums[1], sums[2])

        def draw(canvas: Canvas, number: int) -> None:
            try:
                slices = next(pages)
            except StopIteration:
                raise _PagesChanged() from None
            self.draw_sheet(canvas, number, total, slices, title, totals)

        written = self.write(out, total, draw, chunk_pages=chunk_pages, progress=progress)
        if next(pages, None) is not None:
            raise _PagesChanged()
        return written

    def _capacity(self) -> tuple[int, int]:
        return self.rows_first, self.rows_rest

    @staticmethod
    def _blocks(
        items: Iterable[tuple[JournalEntry | None, int]],
    ) -> Iterator[tuple[JournalEntry | str | None, int]]:
        """Entries (rows: postings and a metadata line), then the totals (a gap, one row)."""
        yield from items
        yield "totals", 2

    def draw_sheet(
        self,
        canvas: Canvas,
        number: int,
        total: int,
        slices: list[Slice[JournalEntry | str | None]],
        title: Sequence[str],
        totals: tuple[int, Decimal, Decimal],
    ) -> None:
        """One page: frame, headings, then the rows of its slices."""
        y = self.start_page(canvas, number, total, title)
        cells = self.cells
        separators: list[float] = []
        strong: list[float] = []
        cells.begin(canvas)
        for piece in slices:
            if isinstance(piece.item, JournalEntry):
                y = self._entry(y, piece.item, piece.start, piece.count, piece.continued)
                separators.append(y)
            else:  # the totals, after a blank row
                y -= self.row
                strong.append(y)
                y -= self.row
                self._totals(y, *totals)
        cells.end()
        if separators and not strong and separators[-1] <= self.bottom + 0.5:
            separators.pop()  # the page's last rule would sit on the footer's margin
        self.rules(canvas, separators, gray=self.rule_gray, width=0.3)
        self.rules(canvas, strong, gray=0.3, width=0.6)

    def _entry(self, top: float, entry: JournalEntry, start: int, count: int, cont: bool) -> float:
        """Rows ``start .. start + count`` of an entry below ``top``; returns the new bottom."""
        cells = self.cells
        date, seq, ident, summary, account, fund, debit, credit = self.columns
        postings = entry.postings
        n = len(postings)
        lines = cells.lines(_summary(entry), self.size, summary.width - 2 * self.pad, max(n, 1))
        y = top
        for k in range(start, start + count):
            y -= self.row
            base = y + 2.8
            if k == start and (k == 0 or cont):
                cells.color(0 if k == 0 else self.muted_gray)
                self.put(date, base, entry.date.isoformat(), self.size)
                self.put(seq, base, "" if entry.seq is None else str(entry.seq), self.size)
                self.put(ident, base, entry.id, self.size)
            if k < n:
                cells.color(0)
                if k < len(lines):
                    self.put(summary, base, lines[k], self.size, fitted=True)
                elif k == start and cont:
                    self.put(summary, base, "（续）", self.size)
                posting = postings[k]
                self.put(account, base, _account(posting.account, posting.account_name), self.size)
                self.put(fund, base, posting.fund, self.size)
                self.put(debit, base, _amount(posting.debit), self.size)
                self.put(credit, base, _amount(posting.credit), self.size)
            else:
                self._meta_line(base, entry)
        return y

    def _meta_line(self, y: float, entry: JournalEntry) -> None:
        """The entry's metadata under its postings, from the 编号 column to the right edge; its
        place in the files and its hash at the right."""
        cells = self.cells
        size = self.meta_size
        left = self.columns[2].x + self.pad
        right = self.columns[-1].right - self.pad
        where = "  ".join(p for p in (entry.source, _short(entry.hash)) if p)
        room = right - left - (cells.width(where, size) + 8 if where else 0)
        cells.color(self.muted_gray)
        cells.left(left, y, cells.fit(_meta_text(entry), size, room), size)
        cells.right(right, y, where, size)

    def _totals(self, y: float, count: int, debit: Decimal, credit: Decimal) -> None:
        base = y + 2.8
        cells = self.cells
        cells.color(0)
        self.put(self.columns[3], base, f"合计（{count:,} 笔分录）", self.size)
        self.put(self.columns[-2], base, format_cny(debit, symbol=False), self.size)
        self.put(self.columns[-1], base, format_cny(credit, symbol=False), self.size)


@runtime_checkable
class _Shaped(Protocol):
    def shapes(self) -> Iterator[tuple[int, Decimal, Decimal]]: ...


def _shapes(entries: Iterable[JournalEntry]) -> Iterator[tuple[int, Decimal, Decimal]]:
    """(postings, debits, credits) per entry; from the view directly when it can tell."""
    if isinstance(entries, _Shaped):
        yield from entries.shapes()
        return
    for entry in entries:
        yield len(entry.postings), entry.debit, entry.credit


def _with_rows(entries: Iterable[JournalEntry]) -> Iterator[tuple[JournalEntry, int]]:
    for entry in entries:
        yield entry, _rows(entry)


def _rows(entry: JournalEntry) -> int:
    """An entry's rows: one per posting (at least one) and its metadata line."""
    return max(len(entry.postings), 1) + 1


def _summary(entry: JournalEntry) -> str:
    """摘要: the narration, then the payee."""
    return _summary_text(entry.narration, entry.payee)


def _summary_text(narration: str, payee: str) -> str:
    if narration and payee:
        return f"{narration} · {payee}"
    return narration or payee


def _account(account: str, name: str) -> str:
    code = account_code(account)
    if not name:
        return account
    return f"{code} {name}" if code else name


def _short(digest: str) -> str:
    return f"#{digest[:12]}" if digest else ""


def _meta_text(entry: JournalEntry) -> str:
    """kind, metadata pairs (not the hash), tags and links other than the entry's own id."""
    parts = [entry.kind] if entry.kind else []
    parts += [f"{k}={v}" for k, v in entry.meta if k != "hash"]
    parts += [f"#{t}" for t in entry.tags]
    parts += [f"^{link}" for link in entry.links if link != entry.id]
    if entry.flag and entry.flag != "*":
        parts.insert(0, f"flag={entry.flag}")
    return "  ".join(parts)


def build_journal_pdf(
    entries: Iterable[JournalEntry],
    out: Output,
    *,
    org_name: str,
    period: Period,
    generated_at: dt.datetime,
    head_hash: str,
    head_seq: int | None,
    progress: Progress | None = None,
    chunk_pages: int = CHUNK_PAGES,
) -> int:
    """Write the journal of a period as a PDF.

    Args:
        entries: the journal, re-iterable: ``ledger.journal.journal_view(book, period)`` (a
            snapshot) or a list. It is read twice: to count the pages, then to draw them.
        out: a file path, or a binary stream to write to.
        org_name: the organisation, in every page's header.
        period: the period, in the header and the title.
        generated_at: when, in the footer.
        head_hash: the ledger's head hash, in the footer and the title.
        head_seq: the ledger's last seq, in the footer and the title.
        progress: called with (pages drawn, total pages) after every page.
        chunk_pages: pages drawn on one canvas before it is saved and joined.

    Returns:
        The number of pages.

    Raises:
        TypeError: ``entries`` is a one-shot iterator.
    """
    _reiterable(entries, "entries")
    report = JournalReport(
        org_name=org_name,
        period=period,
        generated_at=generated_at,
        head_hash=head_hash,
        head_seq=head_seq,
    )
    return report.build(entries, out, chunk_pages=chunk_pages, progress=progress)


# -- the general ledger -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Totals:
    accounts: int
    debit: Decimal
    credit: Decimal


class GeneralLedgerReport(_StreamedReport):
    """总账: per account, the opening balance, each posting with the running balance, the
    period's totals and the closing balance."""

    doc_title: ClassVar[str] = "总账 General ledger"
    title_zh: ClassVar[str] = "总账"
    title_en: ClassVar[str] = "General ledger"
    #: 日期, 凭证号, 编号, 摘要, 基金, 借方, 贷方, 方向, 余额: 178 mm.
    column_spec: ClassVar[tuple[tuple[str, float, str], ...]] = (
        ("日期", 42.5, "l"),
        ("凭证号", 26.0, "r"),
        ("编号", 99.5, "l"),
        ("摘要", 110.5, "l"),
        ("基金", 38.0, "l"),
        ("借方", 53.0, "r"),
        ("贷方", 53.0, "r"),
        ("借或贷", 26.0, "c"),
        ("余额", 56.0, "r"),
    )
    #: Rows of an account besides its postings: heading, 期初余额, 本期合计, 期末余额, a gap.
    frame_rows: ClassVar[int] = 5

    def title_lines(self, totals: _Totals) -> list[str]:
        """The particulars under the first page's title."""
        seq = f" · 账本截至 seq {self.head_seq}" if self.head_seq is not None else ""
        return [
            f"期间 {self.period.label} · 科目 {totals.accounts} 个{seq}",
            f"账本头哈希 {self.head_hash}",
            "口径同科目余额表：期间起始年度之前各年度的收入与费用已按基金性质结转入 3101/3102 净资产。",
            "过长的摘要以 … 截断，完整内容见 CSV 导出。",
        ]

    def build(
        self,
        sections: Sequence[AccountLedger],
        out: Output,
        *,
        chunk_pages: int,
        progress: Progress | None,
    ) -> int:
        """Count the pages, then draw them."""
        totals = _Totals(
            len(sections),
            sum((s.debit for s in sections), ZERO),
            sum((s.credit for s in sections), ZERO),
        )
        layout = {"continued_rows": 1, "min_start": 4}
        total = sum(1 for _ in paginate(self._blocks(sections), *self._capacity(), **layout))
        pages = paginate(self._blocks(sections), *self._capacity(), **layout)
        title = self.title_lines(totals)
        state: dict[str, Any] = {"section": None, "rows": iter(())}

        def draw(canvas: Canvas, number: int) -> None:
            try:
                slices = next(pages)
            except StopIteration:
                raise _PagesChanged() from None
            self.draw_sheet(canvas, number, total, slices, title, totals, state)

        written = self.write(out, total, draw, chunk_pages=chunk_pages, progress=progress)
        if next(pages, None) is not None:
            raise _PagesChanged()
        return written

    def _capacity(self) -> tuple[int, int]:
        return self.rows_first, self.rows_rest

    def _blocks(
        self, sections: Sequence[AccountLedger]
    ) -> Iterator[tuple[AccountLedger | str, int]]:
        for section in sections:
            yield section, len(section.rows) + self.frame_rows
        yield "totals", 1

    def draw_sheet(
        self,
        canvas: Canvas,
        number: int,
        total: int,
        slices: list[Slice[AccountLedger | str]],
        title: Sequence[str],
        totals: _Totals,
        state: dict[str, Any],
    ) -> None:
        """One page: frame, headings, then the rows of its slices."""
        y = self.start_page(canvas, number, total, title)
        thin: list[float] = []
        strong: list[float] = []
        bands: list[float] = []
        self.cells.begin(canvas)
        for piece in slices:
            item = piece.item
            if isinstance(item, AccountLedger):
                if state["section"] is not item:
                    state["section"], state["rows"] = item, iter(item.rows)
                if piece.continued:
                    y -= self.row
                    bands.append(y)
                    self._heading(y, item, continued=True)
                y = self._section(
                    y, item, piece.start, piece.count, state["rows"], thin, strong, bands
                )
            else:
                strong.append(y)
                y -= self.row
                self._grand_total(y, totals)
        self._bands(canvas, bands)  # before the text object, so the text is painted over them
        self.cells.end()
        self.rules(canvas, thin, gray=self.rule_gray, width=0.3)
        self.rules(canvas, strong, gray=0.3, width=0.6)

    def _bands(self, canvas: Canvas, bands: list[float]) -> None:
        """A light fill behind each account heading."""
        if not bands:
            return
        left, width = self.margin_left, self.frame_width
        ops = [f"{left:.2f} {y:.2f} {width:.2f} {self.row:.2f} re" for y in bands]
        canvas.addLiteral("q 0.94 0.95 0.97 rg\n" + "\n".join(ops) + "\nf Q")

    def _section(
        self,
        top: float,
        section: AccountLedger,
        start: int,
        count: int,
        rows: Iterator[LedgerRow],
        thin: list[float],
        strong: list[float],
        bands: list[float],
    ) -> float:
        n = len(section.rows)
        y = top
        for k in range(start, start + count):
            y -= self.row
            base = y + 2.8
            if k == 0:
                bands.append(y)
                self._heading(y, section, continued=False)
            elif k == 1:
                self._balance_row(base, "期初余额", section.opening)
                thin.append(y)
            elif k < n + 2:
                self._posting(base, next(rows))
            elif k == n + 2:
                thin.append(y + self.row)
                self._totals_row(base, section)
            elif k == n + 3:
                self._balance_row(base, "期末余额", section.closing)
                strong.append(y)
            # k == n + 4: the gap before the next account
        return y

    def _heading(self, y: float, section: AccountLedger, *, continued: bool) -> None:
        cells = self.cells
        base = y + 2.8
        name = f"{section.code} {section.name}".strip() + ("（续）" if continued else "")
        cells.color(0)
        left = self.margin_left + self.pad
        cells.left(left, base, cells.fit(name, 8, self.frame_width * 0.5), 8)
        cells.color(self.muted_gray)
        right = self.margin_left + self.frame_width - self.pad
        room = self.frame_width * 0.45
        cells.right(right, base, cells.fit(section.account, self.meta_size, room), self.meta_size)

    def _balance_row(self, base: float, label: str, value: Decimal) -> None:
        side, amount = _balance(value)
        self.cells.color(0)
        self.put(self.columns[3], base, label, self.size)
        self.put(self.columns[7], base, side, self.size)
        self.put(self.columns[8], base, amount, self.size)

    def _totals_row(self, base: float, section: AccountLedger) -> None:
        self.cells.color(0)
        self.put(self.columns[3], base, f"本期合计（{len(section.rows):,} 笔）", self.size)
        self.put(self.columns[5], base, format_cny(section.debit, symbol=False), self.size)
        self.put(self.columns[6], base, format_cny(section.credit, symbol=False), self.size)

    def _posting(self, base: float, row: LedgerRow) -> None:
        date, seq, ident, summary, fund, debit, credit, side, balance = self.columns
        self.cells.color(0)
        self.put(date, base, row.date.isoformat(), self.size)
        self.put(seq, base, "" if row.seq is None else str(row.seq), self.size)
        self.put(ident, base, row.entry_id, self.size)
        self.put(summary, base, _summary_text(row.narration, row.payee), self.size)
        self.put(fund, base, row.fund, self.size)
        self.put(debit, base, _amount(row.debit), self.size)
        self.put(credit, base, _amount(row.credit), self.size)
        shown_side, amount = _balance(row.balance)
        self.put(side, base, shown_side, self.size)
        self.put(balance, base, amount, self.size)

    def _grand_total(self, y: float, totals: _Totals) -> None:
        base = y + 2.8
        self.cells.color(0)
        self.put(self.columns[3], base, f"合计（{totals.accounts} 个科目）", self.size)
        self.put(self.columns[5], base, format_cny(totals.debit, symbol=False), self.size)
        self.put(self.columns[6], base, format_cny(totals.credit, symbol=False), self.size)


def build_general_ledger_pdf(
    sections: Sequence[AccountLedger],
    out: Output,
    *,
    org_name: str,
    period: Period,
    generated_at: dt.datetime,
    head_hash: str,
    head_seq: int | None,
    progress: Progress | None = None,
    chunk_pages: int = CHUNK_PAGES,
) -> int:
    """Write the general ledger of a period as a PDF.

    Args:
        sections: ``ledger.journal.general_ledger(book, period)``: the accounts in the chart's
            order (their rows are read twice: to count the pages, then to draw them).
        out: a file path, or a binary stream to write to.
        org_name: the organisation, in every page's header.
        period: the period, in the header and the title.
        generated_at: when, in the footer.
        head_hash: the ledger's head hash, in the footer and the title.
        head_seq: the ledger's last seq, in the footer and the title.
        progress: called with (pages drawn, total pages) after every page.
        chunk_pages: pages drawn on one canvas before it is saved and joined.

    Returns:
        The number of pages.
    """
    report = GeneralLedgerReport(
        org_name=org_name,
        period=period,
        generated_at=generated_at,
        head_hash=head_hash,
        head_seq=head_seq,
    )
    return report.build(tuple(sections), out, chunk_pages=chunk_pages, progress=progress)


# -- CSV ----------------------------------------------------------------------------------------

JOURNAL_CSV_HEADER = (
    "日期 date",
    "凭证号 seq",
    "编号 id",
    "类型 kind",
    "对方 payee",
    "摘要 narration",
    "标签 tags",
    "链接 links",
    "元数据 metadata",
    "位置 source",
    "哈希 hash",
    "科目 account",
    "科目名称 account name",
    "基金 fund",
    "借方 debit",
    "贷方 credit",
    "分录行元数据 posting metadata",
)

GENERAL_LEDGER_CSV_HEADER = (
    "科目 account",
    "科目名称 account name",
    "行 row",
    "日期 date",
    "凭证号 seq",
    "编号 id",
    "对方 payee",
    "摘要 narration",
    "基金 fund",
    "借方 debit",
    "贷方 credit",
    "余额 balance",
)


def _pairs(pairs: Iterable[tuple[str, str]]) -> str:
    return "; ".join(f"{k}={v}" for k, v in pairs)


def journal_csv_rows(
    entries: Iterable[JournalEntry], progress: Progress | None = None
) -> Iterator[list[Cell]]:
    """One row per posting, each with its entry's particulars (see :data:`JOURNAL_CSV_HEADER`).

    ``progress`` is called with (entries done, entries in all) after each entry, if the entries
    are sized (a list, or the view).
    """
    total = len(entries) if isinstance(entries, Sized) else 0
    for done, entry in enumerate(entries, 1):
        common: list[Cell] = [
            entry.date,
            entry.seq,
            entry.id,
            entry.kind,
            entry.payee,
            entry.narration,
            " ".join(f"#{t}" for t in entry.tags),
            " ".join(f"^{link}" for link in entry.links),
            _pairs((k, v) for k, v in entry.meta if k != "hash"),
            entry.source,
            entry.hash,
        ]
        for posting in entry.postings:
            yield [
                *common,
                posting.account,
                posting.account_name,
                posting.fund,
                posting.debit,
                posting.credit,
                _pairs(posting.meta),
            ]
        if progress is not None:
            progress(done, max(total, done))


def write_journal_csv(
    fh: IO[str], entries: Iterable[JournalEntry], *, progress: Progress | None = None
) -> int:
    """Write the journal as CSV to a text stream (opened with ``newline=""``; a file opened
    with ``encoding="utf-8-sig"`` gets the byte-order mark Excel wants). Streams; returns the
    rows written. ``progress(entries done, entries in all)`` after each entry."""
    return write_csv(fh, JOURNAL_CSV_HEADER, journal_csv_rows(entries, progress))


def general_ledger_csv_rows(
    sections: Sequence[AccountLedger], progress: Progress | None = None
) -> Iterator[list[Cell]]:
    """Per account: 期初余额, each posting, 本期合计, 期末余额 (balances debit positive).

    ``progress`` is called with (accounts done, accounts in all) after each account.
    """
    for done, s in enumerate(sections, 1):
        head: list[Cell] = [s.account, s.name]
        yield [*head, "期初余额 opening", None, None, None, None, None, None, None, None, s.opening]
        for row in s.rows:
            yield [
                *head,
                "",
                row.date,
                row.seq,
                row.entry_id,
                row.payee,
                row.narration,
                row.fund,
                row.debit,
                row.credit,
                row.balance,
            ]
        yield [*head, "本期合计 total", None, None, None, None, None, None, s.debit, s.credit, None]
        yield [*head, "期末余额 closing", None, None, None, None, None, None, None, None, s.closing]
        if progress is not None:
            progress(done, len(sections))


def write_general_ledger_csv(
    fh: IO[str], sections: Sequence[AccountLedger], *, progress: Progress | None = None
) -> int:
    """Write the general ledger as CSV to a text stream (see :func:`write_journal_csv`);
    ``progress(accounts done, accounts in all)`` after each account."""
    return write_csv(fh, GENERAL_LEDGER_CSV_HEADER, general_ledger_csv_rows(sections, progress))


__all__ = [
    "GENERAL_LEDGER_CSV_HEADER",
    "JOURNAL_CSV_HEADER",
    "build_general_ledger_pdf",
    "build_journal_pdf",
    "write_general_ledger_csv",
    "write_journal_csv",
]
