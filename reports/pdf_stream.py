"""Long PDFs in bounded memory: pages drawn in chunks on separate ReportLab canvases and joined by
a streaming merger, and a fast way to set many single-line text cells.

A ReportLab canvas keeps every page of a document in memory until it is saved, so a journal of
several thousand pages would grow with its length. :func:`write_paged_pdf` instead draws
``chunk_pages`` pages on one canvas, saves it to bytes, and hands them to a :class:`PdfJoiner`,
which copies the chunk's objects to the output with new numbers and keeps only an offset per
object. The chunks' page trees hang under one top ``/Pages`` node (a page tree may be nested), so
the result is one ordinary PDF. Each chunk embeds its own subset of the CJK font.

:class:`TextCells` sets text by writing the PDF text operators itself (one text object a page,
positions as precomputed strings), about five times faster than ``Canvas.drawString``; ReportLab
still owns fonts, subsets and the file structure.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import hashlib
import re
from array import array
from collections.abc import Callable, Iterator
from itertools import accumulate
from typing import IO, Any

from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

#: Pages drawn on one canvas before it is saved and joined: bounds the memory a build holds.
CHUNK_PAGES = 100

Progress = Callable[[int, int], None]


class PdfJoinError(ValueError):
    """A chunk is not a PDF of the shape ReportLab writes (the joiner refuses to guess)."""


# -- joining ----------------------------------------------------------------------------------

_XREF_HEAD = re.compile(rb"xref\s+(\d+)\s+(\d+)\s+")
_XREF_LINE = re.compile(rb"(\d{10}) (\d{5}) ([nf])")
_TRAILER_REF = re.compile(rb"/(Root|Info)\s+(\d+)\s+(\d+)\s+R")
_OBJ_HEAD = re.compile(rb"(\d+)\s+(\d+)\s+obj\s*")
_PAGES_REF = re.compile(rb"/Pages\s+(\d+)\s+0\s+R")
_COUNT = re.compile(rb"/Count\s+(\d+)")
#: An indirect reference ``12 0 R`` that is not part of a name (``/F2+0``) or a real number.
_REF = re.compile(rb"(?<![\w.+\-/#])(\d+)\s+(\d+)\s+R(?![\w])")
_DELIMS = re.compile(rb"[()<>%\[\]]")
_IN_STRING = re.compile(rb"[()\\]")


def _skip_literal(body: bytes, start: int) -> int:
    """The index just after the literal string ``(...)`` opening at ``start``."""
    depth = 0
    i = start
    while True:
        m = _IN_STRING.search(body, i)
        if m is None:
            raise PdfJoinError("unterminated string")
        j = m.start()
        c = body[j]
        if c == 0x5C:  # backslash: the next byte is escaped
            i = j + 2
            continue
        depth += 1 if c == 0x28 else -1
        i = j + 1
        if depth == 0:
            return i


def _scan_object(body: bytes) -> tuple[int, list[tuple[int, int]]]:
    """Where the leading dictionary or array of an object ends, and the spans of its strings and
    comments (which must not be renumbered)."""
    depth = 0
    i = 0
    skipped: list[tuple[int, int]] = []
    while True:
        m = _DELIMS.search(body, i)
        if m is None:
            if depth:
                raise PdfJoinError("unbalanced dictionary")
            return len(body), skipped
        j = m.start()
        c = body[j : j + 1]
        if c == b"(":
            end = _skip_literal(body, j)
            skipped.append((j, end))
            i = end
            continue
        if c == b"%":
            end = body.find(b"\n", j)
            end = len(body) if end < 0 else end
            skipped.append((j, end))
            i = end
            continue
        if body.startswith(b"<<", j) or c == b"[":
            depth += 1
            i = j + (2 if c == b"<" else 1)
            continue
        if body.startswith(b">>", j) or c == b"]":
            depth -= 1
            i = j + (2 if c == b">" else 1)
            if depth < 0:
                raise PdfJoinError("unbalanced dictionary")
            if depth == 0:
                return i, skipped
            continue
        if c == b"<":  # a hex string
            end = body.find(b">", j)
            if end < 0:
                raise PdfJoinError("unterminated hex string")
            skipped.append((j, end + 1))
            i = end + 1
            continue
        raise PdfJoinError("stray '>'")


def _renumber(part: bytes, skipped: list[tuple[int, int]], mapping: dict[int, int]) -> bytes:
    """``part`` with every indirect reference outside strings and comments renumbered."""

    def swap(m: re.Match[bytes]) -> bytes:
        old = int(m.group(1))
        if old not in mapping:
            raise PdfJoinError(f"reference to an object the chunk does not hold: {old}")
        return b"%d 0 R" % mapping[old]

    out = []
    at = 0
    for start, end in skipped:
        out.append(_REF.sub(swap, part[at:start]))
        out.append(part[start:end])
        at = end
    out.append(_REF.sub(swap, part[at:]))
    return b"".join(out)


def _objects(pdf: bytes) -> tuple[dict[int, tuple[int, int]], int, int | None]:
    """The extents of every object of a one-section PDF, and its Root and Info numbers."""
    at = pdf.rfind(b"startxref")
    if at < 0:
        raise PdfJoinError("no startxref")
    xref_at = int(pdf[at + 9 :].split(None, 1)[0])
    head = _XREF_HEAD.match(pdf, xref_at)
    if head is None:
        raise PdfJoinError("no cross-reference table (a compressed xref stream?)")
    first, count = int(head.group(1)), int(head.group(2))
    offsets: list[tuple[int, int]] = []
    pos = head.end()
    for n in range(first, first + count):
        line = _XREF_LINE.match(pdf, pos)
        if line is None:
            raise PdfJoinError("bad cross-reference line")
        if line.group(3) == b"n":
            offsets.append((int(line.group(1)), n))
        pos = pdf.index(b"\n", line.end()) + 1
    trailer = pdf[pos:at]
    refs = {m.group(1): int(m.group(2)) for m in _TRAILER_REF.finditer(trailer)}
    if b"Root" not in refs:
        raise PdfJoinError("no /Root in the trailer")
    offsets.sort()
    extents: dict[int, tuple[int, int]] = {}
    for k, (offset, num) in enumerate(offsets):
        end = offsets[k + 1][0] if k + 1 < len(offsets) else xref_at
        extents[num] = (offset, end)
    return extents, refs[b"Root"], refs.get(b"Info")


def _body(pdf: bytes, num: int, extent: tuple[int, int]) -> bytes:
    """What lies between ``N 0 obj`` and ``endobj``."""
    start, end = extent
    head = _OBJ_HEAD.match(pdf, start)
    if head is None or int(head.group(1)) != num:
        raise PdfJoinError(f"object {num} is not where the cross-reference says")
    stop = pdf.rfind(b"endobj", head.end(), end)
    if stop < 0:
        raise PdfJoinError(f"object {num} has no endobj")
    return pdf[head.end() : stop]


def _pdf_text(text: str) -> bytes:
    """A PDF text string for the document information: UTF-16BE with a byte-order mark, as hex."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


class PdfJoiner:
    """Writes one PDF to a binary stream from chunk PDFs added in order, holding only an offset
    per object and the number of each chunk's page tree.

    Objects 1, 2 and 3 are the catalog, the top page-tree node and the document information;
    they are written last, when the page count is known.
    """

    _CATALOG, _PAGES, _INFO = 1, 2, 3

    def __init__(self, out: IO[bytes], *, info: dict[str, str]) -> None:
        self._out = out
        self._pos = 0
        self._offsets = array("q", [0, 0, 0, 0])  # index = object number; 0 is the free head
        self._kids: list[int] = []
        self.pages = 0
        self._info = info
        self._digest = hashlib.md5(usedforsecurity=False)
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._pos += len(data)

    def _begin_object(self, num: int) -> None:
        if num == len(self._offsets):
            self._offsets.append(self._pos)
        else:
            self._offsets[num] = self._pos
        self._write(b"%d 0 obj\n" % num)

    def add(self, pdf: bytes) -> int:
        """Copy every page of a chunk (a PDF as ReportLab writes it); returns its page count."""
        extents, root, info = _objects(pdf)
        catalog = _body(pdf, root, extents[root])
        pages_ref = _PAGES_REF.search(catalog)
        if pages_ref is None:
            raise PdfJoinError("the catalog has no /Pages")
        tree = int(pages_ref.group(1))
        # The chunk's own catalog and information are replaced by the joined file's.
        kept = [n for n in sorted(extents) if n not in (root, info)]
        base = len(self._offsets)
        mapping = {old: base + k for k, old in enumerate(kept)}
        count = 0
        for old in kept:
            body = _body(pdf, old, extents[old])
            end, skipped = _scan_object(body)
            head = _renumber(body[:end], skipped, mapping)
            if old == tree:
                found = _COUNT.search(body[:end])
                if found is None or not head.startswith(b"<<"):
                    raise PdfJoinError("the page tree has no /Count")
                count = int(found.group(1))
                head = b"<< /Parent %d 0 R" % self._PAGES + head[2:]
            self._begin_object(mapping[old])
            self._write(head)
            self._write(body[end:])  # a stream's data, copied as it is
            self._write(b"endobj\n")
        self._kids.append(mapping[tree])
        self.pages += count
        self._digest.update(b"%d:%d;" % (count, len(pdf)))
        return count

    def close(self) -> None:
        """Write the catalog, the top page tree, the information, the cross-reference table."""
        self._begin_object(self._CATALOG)
        self._write(
            b"<< /Type /Catalog /Pages %d 0 R /PageMode /UseNone >>\nendobj\n" % self._PAGES
        )
        self._begin_object(self._PAGES)
        kids = b" ".join(b"%d 0 R" % k for k in self._kids)
        self._write(b"<< /Type /Pages /Count %d /Kids [ %s ] >>\nendobj\n" % (self.pages, kids))
        self._begin_object(self._INFO)
        fields = b" ".join(
            b"/%s %s" % (k.encode("ascii"), _pdf_text(v)) for k, v in self._info.items()
        )
        self._write(b"<< %s >>\nendobj\n" % fields)
        xref_at = self._pos
        size = len(self._offsets)
        lines = [b"xref\n0 %d\n0000000000 65535 f \n" % size]
        lines += [b"%010d 00000 n \n" % offset for offset in self._offsets[1:]]
        self._write(b"".join(lines))
        self._digest.update(b"%d" % size)
        doc_id = self._digest.hexdigest().encode("ascii")
        self._write(
            b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s><%s>] >>\n"
            b"startxref\n%d\n%%%%EOF\n" % (size, self._CATALOG, self._INFO, doc_id, doc_id, xref_at)
        )


# -- drawing --------------------------------------------------------------------------------


@contextlib.contextmanager
def _binary_streams() -> Iterator[None]:
    """Page streams compressed without the ASCII85 layer ReportLab adds by default.

    ASCII85 only makes the file 7-bit clean, costs time on every page and a quarter more bytes.
    The setting is global; another report saved at the same moment merely also gets binary
    streams, which are just as valid.
    """
    before = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = before


def _pdf_date(moment: dt.datetime) -> str:
    return moment.strftime("D:%Y%m%d%H%M%S")


def write_paged_pdf(
    out: IO[bytes],
    total: int,
    draw: Callable[[Canvas, int], None],
    *,
    pagesize: tuple[float, float],
    font: str,
    info: dict[str, str],
    chunk_pages: int = CHUNK_PAGES,
    progress: Progress | None = None,
) -> int:
    """Draw ``total`` pages in order and write them as one PDF, in memory bounded by a chunk.

    Args:
        out: a binary stream to write the PDF to (need not be seekable).
        total: how many pages will be drawn (the caller paginated first).
        draw: draws page ``n`` (1-based) on the canvas; called once per page, in order.
        pagesize: the page size in points.
        font: the registered font every canvas starts with (so no page declares Helvetica).
        info: the document information (``Title``, ``Author`` …).
        chunk_pages: pages per canvas.
        progress: called with (pages done, total) after every page.

    Returns:
        The number of pages written.
    """
    if total < 1:
        raise ValueError("a PDF needs at least one page")
    if chunk_pages < 1:
        raise ValueError("chunk_pages must be at least 1")
    joiner = PdfJoiner(out, info=info)
    done = 0
    with _binary_streams():
        while done < total:
            canvas = Canvas(
                None,
                pagesize=pagesize,
                pageCompression=1,
                initialFontName=font,
                invariant=1,  # no time stamps in the chunk: the joined file's ID is reproducible
            )
            for _ in range(min(chunk_pages, total - done)):
                done += 1
                draw(canvas, done)
                canvas.showPage()
                if progress is not None:
                    progress(done, total)
            joiner.add(canvas.getpdfdata())
            del canvas
    joiner.close()
    if joiner.pages != total:  # pragma: no cover - a chunk lost or gained a page
        raise PdfJoinError(f"joined {joiner.pages} pages, expected {total}")
    return total


# -- text cells -----------------------------------------------------------------------------

#: Bytes of a subset-encoded string as they may stand in a PDF literal string.
_ESCAPE = {c: f"\\{c:03o}" for c in (*range(32), *range(127, 256))}
_ESCAPE.update({ord("("): "\\(", ord(")"): "\\)", ord("\\"): "\\\\"})
#: C0 controls and DEL have no glyph: shown as a space.
_CONTROLS = dict.fromkeys((*range(32), 127), " ")
_ELLIPSIS = "…"
#: Punctuation that must not begin a line (Chinese line-breaking rules, 避头点).
_CLOSERS = frozenset("）」』】》〉，。、；：！？,.;:!?)]}")
#: ... and that must not end one (避尾点).
_OPENERS = frozenset("（「『【《〈([{¥￥$")
#: Characters of a Latin word or a number, kept on one line when the line has room before them.
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789,.-_'%")
#: Fitted and encoded texts remembered (dates, amounts, account names repeat on every page),
#: up to this many of each, if no longer than :data:`_CACHED_TEXT` characters.
_TEXT_CACHE = 10_000
_CACHED_TEXT = 40


def _num(value: float) -> str:
    """A coordinate as PDF wants it: two decimals, no exponent."""
    return "%.2f" % value  # noqa: UP031 - the fastest of the ways, and this runs per cell


class _Widths(dict[str, float]):
    """Character -> advance width at size 1000, filled from the font on first use."""

    def __init__(self, font: Any) -> None:
        super().__init__()
        self._font = font

    def __missing__(self, ch: str) -> float:
        width: float = self._font.stringWidth(ch, 1000)
        self[ch] = width
        return width


class TextCells:
    """Single-line text cells set with raw PDF text operators in one text object per page.

    Use :meth:`begin` on a new page, then :meth:`left`/:meth:`right`/:meth:`center` for each
    cell, then :meth:`end`. Widths come from the font's own metrics, cached per character; the
    encoded form of each text is cached per canvas (each canvas has its own font subsets).
    """

    def __init__(self, font_name: str) -> None:
        self.font_name = font_name
        self._font: Any = pdfmetrics.getFont(font_name)
        self._widths = _Widths(self._font)
        self._ell = self._widths[_ELLIPSIS]
        self._fitted: dict[tuple[str, float, float], str] = {}
        self._ops: list[str] = []
        self._canvas: Any = None
        self._doc: Any = None
        self._names: dict[int, str] = {}
        self._encoded: dict[str, list[tuple[int, str]]] = {}
        self._assignments: dict[int, int] | None = None
        self._state: tuple[int, float] = (-1, 0.0)
        self._color = ""

    # -- measuring ----------------------------------------------------------------------------

    def width(self, text: str, size: float) -> float:
        """The width of ``text`` in points at ``size``."""
        return sum(map(self._widths.__getitem__, text)) * size / 1000

    def fit(self, text: str, size: float, room: float) -> str:
        """``text`` on one line, cut with ``…`` to fit ``room`` points."""
        if len(text) > _CACHED_TEXT:  # long texts (metadata lines) hardly ever come again
            return self.lines(text, size, room, 1)[0]
        key = (text, size, room)
        fitted = self._fitted.get(key)
        if fitted is None:
            fitted = self.lines(text, size, room, 1)[0]
            if len(self._fitted) >= _TEXT_CACHE:
                self._fitted.clear()  # crude, but it keeps the memory bounded
            self._fitted[key] = fitted
        return fitted

    def lines(self, text: str, size: float, room: float, count: int) -> list[str]:
        """``text`` broken into at most ``count`` lines of ``room`` points (between any two
        characters, as Chinese text breaks), the last cut with ``…`` if text is left over."""
        text = clean(text)
        if not text:
            return [""]
        # Cumulative widths and bisection: the per-character work runs in C.
        ends = list(accumulate(map(self._widths.__getitem__, text)))
        limit = room * 1000 / size
        out: list[str] = []
        start, offset = 0, 0.0
        while True:
            if ends[-1] - offset <= limit:
                out.append(text[start:])
                return out
            if len(out) == count - 1:
                cut = bisect.bisect_right(ends, offset + limit - self._ell, lo=start)
                out.append(text[start:cut] + _ELLIPSIS)
                return out
            cut = _break(text, start, bisect.bisect_right(ends, offset + limit, lo=start))
            out.append(text[start:cut])
            start, offset = cut, ends[cut - 1]

    # -- drawing ------------------------------------------------------------------------------

    def begin(self, canvas: Any) -> None:
        """Start a page's text object."""
        if canvas is not self._canvas:
            self._canvas = canvas
            self._doc = canvas._doc  # the document ReportLab assigns font subsets to
            self._names = {}
            self._encoded = {}
            self._assignments = None
        self._ops = ["BT"]
        self._state = (-1, 0.0)
        self._color = ""

    def color(self, gray: float) -> None:
        """Fill colour of the text that follows (0 black … 1 white)."""
        op = f"{gray:.2f} g"
        if op != self._color:
            self._ops.append(op)
            self._color = op

    def left(self, x: float, y: float, text: str, size: float) -> None:
        """Set ``text`` (already fitted) with its left end at ``x`` on the baseline ``y``."""
        if text:
            self._put(f"1 0 0 1 {_num(x)} {_num(y)} Tm", text, size)

    def right(self, x: float, y: float, text: str, size: float) -> None:
        """Set ``text`` with its right end at ``x``."""
        if text:
            self._put(f"1 0 0 1 {_num(x - self.width(text, size))} {_num(y)} Tm", text, size)

    def center(self, x: float, y: float, text: str, size: float) -> None:
        """Set ``text`` centred on ``x``."""
        if text:
            self._put(f"1 0 0 1 {_num(x - self.width(text, size) / 2)} {_num(y)} Tm", text, size)

    def _encode(self, text: str) -> list[tuple[int, str]]:
        """``text`` as (font subset, escaped bytes) pieces, from the cache when it can be."""
        pieces = self._encoded.get(text)
        if pieces is not None:
            return pieces
        codes: list[int] | None = None
        if self._assignments is not None:
            try:  # every character already has a code in this document: no need to ask
                codes = list(map(self._assignments.__getitem__, map(ord, text)))
            except KeyError:
                codes = None
        if codes and (codes[0] >> 8) == (max(codes) >> 8) == (min(codes) >> 8):
            subset = codes[0] >> 8
            raw = bytes(codes) if subset == 0 else bytes(c & 0xFF for c in codes)
            split: list[tuple[int, bytes]] = [(subset, raw)]
        else:
            split = self._font.splitString(text, self._doc)
            if self._assignments is None:
                # ReportLab's own map of characters to codes in this document, read (never
                # written) for the fast path above; without it every text is split by ReportLab.
                state = getattr(self._font, "state", {}).get(self._doc)
                self._assignments = getattr(state, "assignments", None)
        pieces = [(subset, raw.decode("latin-1").translate(_ESCAPE)) for subset, raw in split]
        if len(text) <= _CACHED_TEXT and len(self._encoded) < _TEXT_CACHE:
            self._encoded[text] = pieces
        return pieces

    def _put(self, at: str, text: str, size: float) -> None:
        ops = self._ops
        ops.append(at)
        for subset, escaped in self._encode(text):
            if (subset, size) != self._state:
                name = self._names.get(subset)
                if name is None:
                    name = self._names[subset] = self._font.getSubsetInternalName(subset, self._doc)
                ops.append(f"{name} {size:.2f} Tf")
                self._state = (subset, size)
            ops.append(f"({escaped}) Tj")

    def end(self) -> None:
        """Close the page's text object and add it to the page."""
        self._ops.append("ET")
        self._canvas.addLiteral("\n".join(self._ops))
        self._ops = []


def _break(text: str, start: int, cut: int) -> int:
    """Where to end a line that may hold ``text[start:cut]``: not inside a Latin word or a
    number (``3,723.00``), not before a closing mark (避头点), not after an opening one (避尾点);
    but always after at least one character."""
    if cut <= start:  # a character wider than the line: it goes alone
        return start + 1
    if cut >= len(text):
        return cut
    best = cut
    if text[cut - 1] in _WORD and text[cut] in _WORD:
        word = cut - 1
        while word > start and text[word - 1] in _WORD:
            word -= 1
        if word > start:
            best = word
    if text[best] in _CLOSERS and best - start > 1:
        best -= 1
    while best - start > 1 and text[best - 1] in _OPENERS:
        best -= 1
    return best


def clean(text: str) -> str:
    """Text for a single line: newlines and other control characters become spaces."""
    return text.translate(_CONTROLS)
