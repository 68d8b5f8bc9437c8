"""The journal and general-ledger PDFs and CSVs of reports/journal.py, and the chunked build
behind them (reports/pdf_stream.py): text, page numbers, fonts, a valid joined file, CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from pdf_helpers import assert_fonts_embedded, page_texts, render_png
from pypdf import PdfReader

from ledger.book import Book
from ledger.financials import Period, parse_period
from ledger.journal import (
    AccountLedger,
    JournalEntry,
    JournalPosting,
    general_ledger,
    journal_view,
)
from ledger.store import LedgerStore
from reports.journal import (
    GENERAL_LEDGER_CSV_HEADER,
    JOURNAL_CSV_HEADER,
    build_general_ledger_pdf,
    build_journal_pdf,
    paginate,
    write_general_ledger_csv,
    write_journal_csv,
)
from reports.pdf_stream import PdfJoiner, PdfJoinError, TextCells, _renumber, _scan_object

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=TZ)
HEAD = "ab" * 32
ORG = "督院街社区微基金"
ZERO = Decimal("0.00")
PAGE = re.compile(r"第 (\d+) 页 / 共 (\d+) 页")


@pytest.fixture(scope="module")
def demo_book(demo_ledger: Path) -> Book:
    return Book(LedgerStore(demo_ledger)).open()


@pytest.fixture(scope="module")
def month(demo_book: Book) -> Period:
    """A month in the middle of the demo year (a few pages of entries)."""
    ordered = demo_book.ordered()
    middle = ordered[len(ordered) // 2].date
    return parse_period(f"{middle.year}-{middle.month:02d}")


def common(book: Book, period: Period) -> dict[str, object]:
    return {
        "org_name": ORG,
        "period": period,
        "generated_at": NOW,
        "head_hash": book.head_hash,
        "head_seq": book.seq,
    }


def journal_pdf(book: Book, period: Period, **kw: object) -> bytes:
    out = io.BytesIO()
    build_journal_pdf(journal_view(book, period), out, **common(book, period), **kw)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.fixture(scope="module")
def month_pdf(demo_book: Book, month: Period) -> bytes:
    return journal_pdf(demo_book, month)


def page_numbers(pdf: bytes) -> list[tuple[int, int]]:
    """The ``第 x 页 / 共 y 页`` of each page, in page order (exactly one per page)."""
    out = []
    for text in page_texts(pdf):
        found = PAGE.findall(text)
        assert len(found) == 1, text[-200:]
        out.append((int(found[0][0]), int(found[0][1])))
    return out


def entry(
    entry_id: str,
    *,
    narration: str = "捐赠：社区微基金",
    payee: str = "张*",
    postings: int = 2,
    amount: str = "100.00",
    day: int = 1,
) -> JournalEntry:
    """A journal entry made by hand (as the view would give it)."""
    value = Decimal(amount)
    legs = []
    for k in range(postings):
        debit = k % 2 == 0
        legs.append(
            JournalPosting(
                account="Assets:1002-银行存款" if debit else "Income:4101-捐赠收入:非限定性",
                account_name="银行存款" if debit else "捐赠收入（非限定性）",
                fund="general",
                debit=value if debit else ZERO,
                credit=ZERO if debit else value,
            )
        )
    return JournalEntry(
        date=dt.date(2026, 3, day),
        seq=day,
        id=entry_id,
        kind="donation",
        flag="*",
        payee=payee,
        narration=narration,
        tags=("donation", "fund-general"),
        links=(entry_id,),
        meta=(("entered-by", "clerk"), ("hash", "cd" * 32)),
        source=f"txns/2026.beancount:{day * 20}",
        postings=tuple(legs),
    )


PERIOD = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def hand_pdf(entries: list[JournalEntry], **kw: object) -> bytes:
    out = io.BytesIO()
    build_journal_pdf(
        entries,
        out,
        org_name=ORG,
        period=PERIOD,
        generated_at=NOW,
        head_hash=HEAD,
        head_seq=99,
        **kw,  # type: ignore[arg-type]
    )
    return out.getvalue()


# -- the journal PDF ----------------------------------------------------------------------------


def test_the_journal_pdf_shows_every_entry_of_the_period(
    demo_book: Book, month: Period, month_pdf: bytes
) -> None:
    text = "".join(page_texts(month_pdf))
    ids = [e.id for e in journal_view(demo_book, month)]
    assert len(ids) > 40
    missing = [i for i in ids if i not in text]
    assert not missing
    assert f"分录 {len(ids):,} 笔" in text
    assert "序时账" in text
    assert month.label in text
    assert ORG in text
    assert demo_book.head_hash in text  # the full head hash in the title block
    assert "生成时间 2026-12-01 09:30 (UTC+08:00)" in text


def test_every_page_says_which_page_of_how_many(month_pdf: bytes) -> None:
    pages = len(PdfReader(io.BytesIO(month_pdf)).pages)
    assert pages >= 3
    assert page_numbers(month_pdf) == [(k, pages) for k in range(1, pages + 1)]
    assert_fonts_embedded(month_pdf)


def test_the_journal_totals_balance_and_equal_the_entries(
    demo_book: Book, month: Period, month_pdf: bytes
) -> None:
    entries = list(journal_view(demo_book, month))
    debit = sum((e.debit for e in entries), ZERO)
    assert debit == sum((e.credit for e in entries), ZERO)
    last = page_texts(month_pdf)[-1]
    assert f"合计（{len(entries):,} 笔分录）" in last
    assert last.count(f"{debit:,.2f}") >= 2


def test_a_chunked_journal_is_one_valid_pdf_with_every_page_once(
    demo_book: Book, month: Period, month_pdf: bytes, tmp_path: Path
) -> None:
    calls: list[tuple[int, int]] = []
    chunked = journal_pdf(
        demo_book, month, chunk_pages=2, progress=lambda d, t: calls.append((d, t))
    )
    reader = PdfReader(io.BytesIO(chunked))
    pages = len(reader.pages)
    assert pages == len(PdfReader(io.BytesIO(month_pdf)).pages)
    # Same pages, same order, none lost or repeated: the text of each page is the same as in the
    # file built on one canvas, and the page numbers run 1..N.
    assert page_texts(chunked) == page_texts(month_pdf)
    assert page_numbers(chunked) == [(k, pages) for k in range(1, pages + 1)]
    assert calls == [(k, pages) for k in range(1, pages + 1)]
    assert_fonts_embedded(chunked)
    assert reader.trailer["/Root"]["/Pages"]["/Count"] == pages
    path = tmp_path / "journal.pdf"
    path.write_bytes(chunked)
    if shutil.which("pdfinfo") is None or shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils is not installed")
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert re.search(rf"^Pages:\s+{pages}$", info.stdout, re.MULTILINE)
    assert "Syntax Error" not in info.stderr
    last = str(pages)
    result = subprocess.run(
        [
            "pdftoppm",
            "-r",
            "30",
            "-png",
            "-f",
            last,
            "-l",
            last,
            "-singlefile",
            str(path),
            str(tmp_path / "last"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Error" not in result.stderr
    assert (tmp_path / "last.png").stat().st_size > 1000


def test_a_journal_can_be_written_to_a_file_path(tmp_path: Path) -> None:
    path = tmp_path / "out.pdf"
    pages = build_journal_pdf(
        [entry("don-1")],
        path,
        org_name=ORG,
        period=PERIOD,
        generated_at=NOW,
        head_hash=HEAD,
        head_seq=None,
    )
    data = path.read_bytes()
    assert pages == 1 == len(PdfReader(io.BytesIO(data)).pages)
    text = page_texts(data)[0]
    assert "序号 seq" not in text
    assert "账本截至 seq" not in text
    assert "don-1" in text


def test_user_text_is_shown_literally_and_long_text_is_cut_with_an_ellipsis() -> None:
    hostile = "<b>x</b> & (a) \\ 1 0 R ) ( =SUM(A1)"
    long = "微创投资助：" + "三号院花台与扶手改造及楼道照明" * 8
    pdf = hand_pdf(
        [
            entry("don-1", narration=hostile, payee="@evil"),
            entry("don-2", narration=long, payee="3号院居民自治小组"),
            entry("don-3", narration="换行\n与\t制表", payee=""),
        ]
    )
    text = "".join(page_texts(pdf))
    assert "<b>x</b> & (a) \\ 1 0 R" in text
    assert "…" in text  # the long narration, cut
    assert long not in text.replace("\n", "")
    assert "换行 与 制表" in text
    assert_fonts_embedded(pdf)


def test_an_entry_longer_than_a_page_runs_on_with_its_particulars_repeated() -> None:
    big = entry("canteen-big", postings=150, narration="食堂月度汇总")
    pdf = hand_pdf([entry("don-1"), big, entry("don-2", day=2)])
    texts = page_texts(pdf)
    assert len(texts) >= 3
    assert sum("canteen-big" in t for t in texts) >= 3  # repeated on each page it continues on
    assert "（续）" in texts[1]
    assert "don-2" in texts[-1]
    assert page_numbers(pdf) == [(k, len(texts)) for k in range(1, len(texts) + 1)]


def test_an_empty_period_gives_one_page_with_zero_totals() -> None:
    pdf = hand_pdf([])
    texts = page_texts(pdf)
    assert len(texts) == 1
    assert "合计（0 笔分录）" in texts[0]
    assert "第 1 页 / 共 1 页" in texts[0]


def test_a_one_shot_iterator_is_refused() -> None:
    def entries() -> Iterator[JournalEntry]:
        yield entry("don-1")

    with pytest.raises(TypeError, match="re-iterable"):
        hand_pdf(entries())  # type: ignore[arg-type]


def test_the_journal_and_general_ledger_first_pages_are_rendered_for_a_person(
    demo_book: Book, month_pdf: bytes
) -> None:
    assert render_png(month_pdf, "journal").stat().st_size > 10_000
    year = parse_period(str(demo_book.ordered()[-1].date.year))
    out = io.BytesIO()
    build_general_ledger_pdf(general_ledger(demo_book, year), out, **common(demo_book, year))  # type: ignore[arg-type]
    assert render_png(out.getvalue(), "general-ledger").stat().st_size > 10_000


# -- the general ledger PDF -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def quarter_gl(demo_book: Book) -> tuple[tuple[AccountLedger, ...], bytes, Period]:
    year = demo_book.ordered()[-1].date.year
    period = parse_period(f"{year}-Q2")
    sections = general_ledger(demo_book, period)
    out = io.BytesIO()
    build_general_ledger_pdf(sections, out, **common(demo_book, period), chunk_pages=3)  # type: ignore[arg-type]
    return sections, out.getvalue(), period


def test_the_general_ledger_pdf_shows_each_account_with_its_balances(
    quarter_gl: tuple[tuple[AccountLedger, ...], bytes, Period],
) -> None:
    sections, pdf, period = quarter_gl
    texts = page_texts(pdf)
    text = "".join(texts)
    assert "总账" in text
    assert period.label in text
    for section in sections:
        assert f"{section.code} {section.name}" in text, section.account
        side = "借" if section.closing > 0 else "贷" if section.closing < 0 else "平"
        assert f"{side} {abs(section.closing):,.2f}" in text.replace("\n", " "), section.account
        for row in section.rows:
            assert row.entry_id in text
    debit = sum((s.debit for s in sections), ZERO)
    assert f"合计（{len(sections)} 个科目）" in texts[-1]
    assert f"{debit:,.2f}" in texts[-1]
    assert page_numbers(pdf) == [(k, len(texts)) for k in range(1, len(texts) + 1)]
    assert any("（续）" in t for t in texts[1:])  # a long account carried over a page
    assert_fonts_embedded(pdf)


# -- CSV ----------------------------------------------------------------------------------------


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_journal_csv_has_a_row_per_posting_and_its_sums_balance(
    demo_book: Book, month: Period
) -> None:
    buffer = io.StringIO(newline="")
    view = journal_view(demo_book, month)
    calls: list[tuple[int, int]] = []
    written = write_journal_csv(buffer, view, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(k, len(view)) for k in range(1, len(view) + 1)]
    rows = read_csv(buffer.getvalue())
    header, body = rows[0], rows[1:]
    assert tuple(header) == JOURNAL_CSV_HEADER
    entries = list(view)
    assert written == len(body) == sum(len(e.postings) for e in entries)
    col = {name: k for k, name in enumerate(header)}
    debit = sum((Decimal(r[col["借方 debit"]]) for r in body), ZERO)
    credit = sum((Decimal(r[col["贷方 credit"]]) for r in body), ZERO)
    assert debit == credit == sum((e.debit for e in entries), ZERO)
    assert {r[col["编号 id"]] for r in body} == {e.id for e in entries}
    first = entries[0]
    row = body[0]
    assert row[col["日期 date"]] == first.date.isoformat()
    assert row[col["凭证号 seq"]] == str(first.seq)
    assert row[col["哈希 hash"]] == first.hash
    assert row[col["科目名称 account name"]] == first.postings[0].account_name
    assert "entered-by=" in row[col["元数据 metadata"]]
    assert "hash=" not in row[col["元数据 metadata"]]


def test_a_formula_in_user_text_is_defused_in_the_csv() -> None:
    buffer = io.StringIO(newline="")
    write_journal_csv(buffer, [entry("don-1", narration='=HYPERLINK("x")', payee="+86 138")])
    body = read_csv(buffer.getvalue())[1:]
    col = {name: k for k, name in enumerate(JOURNAL_CSV_HEADER)}
    assert body[0][col["摘要 narration"]] == '\'=HYPERLINK("x")'
    assert body[0][col["对方 payee"]] == "'+86 138"
    assert body[0][col["借方 debit"]] == "100.00"


def test_the_general_ledger_csv_round_trips_to_the_same_balances(
    quarter_gl: tuple[tuple[AccountLedger, ...], bytes, Period],
) -> None:
    sections, _pdf, _period = quarter_gl
    buffer = io.StringIO(newline="")
    calls: list[tuple[int, int]] = []
    write_general_ledger_csv(buffer, sections, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (len(sections), len(sections))
    rows = read_csv(buffer.getvalue())
    assert tuple(rows[0]) == GENERAL_LEDGER_CSV_HEADER
    by_account: dict[str, list[list[str]]] = {}
    for row in rows[1:]:
        by_account.setdefault(row[0], []).append(row)
    assert list(by_account) == [s.account for s in sections]
    for section in sections:
        lines = by_account[section.account]
        assert lines[0][2].startswith("期初余额")
        assert Decimal(lines[0][11]) == section.opening
        postings = lines[1:-2]
        assert len(postings) == len(section.rows)
        assert sum((Decimal(r[9]) for r in postings), ZERO) == section.debit
        assert sum((Decimal(r[10]) for r in postings), ZERO) == section.credit
        assert lines[-2][2].startswith("本期合计")
        assert Decimal(lines[-2][9]) == section.debit
        assert lines[-1][2].startswith("期末余额")
        assert Decimal(lines[-1][11]) == section.closing


# -- pagination and joining -----------------------------------------------------------------------


def test_pagination_keeps_blocks_together_and_runs_long_ones_on() -> None:
    blocks = [("a", 3), ("b", 4), ("c", 12), ("d", 1)]

    def layout(**kw: int) -> list[list[tuple[str, int, int, bool]]]:
        pages = paginate(blocks, 6, 5, continued_rows=1, **kw)
        return [[(s.item, s.start, s.count, s.continued) for s in page] for page in pages]

    assert layout(min_start=2) == [
        [("a", 0, 3, False)],  # b (4 rows) does not fit in the 3 left: kept together
        [("b", 0, 4, False)],  # c, longer than a page, would start with 1 row: a fresh page
        [("c", 0, 5, False)],
        [("c", 5, 4, True)],  # ...and each further page repeats its heading (1 row)
        [("c", 9, 3, True), ("d", 0, 1, False)],
    ]
    assert layout(min_start=1)[1] == [("b", 0, 4, False), ("c", 0, 1, False)]
    assert list(paginate([], 6, 5)) == [[]]
    with pytest.raises(ValueError, match="too short"):
        list(paginate([("a", 1)], 6, 1, continued_rows=1))


def test_text_is_broken_between_characters_but_not_inside_numbers_or_before_closing_marks() -> None:
    from reports.fonts import register_fonts

    cells = TextCells(register_fonts().regular)
    room = cells.width("共享食堂日营业：319 份，¥3,7", 7)
    lines = cells.lines("共享食堂日营业：319 份，¥3,723.00 · 共享食堂", 7, room, 2)
    assert lines == ["共享食堂日营业：319 份，", "¥3,723.00 · 共享食堂"]
    room = cells.width("捐赠：社区微基金（非限定", 7)
    assert cells.lines("捐赠：社区微基金（非限定）", 7, room, 2)[1].startswith("定）")
    assert cells.fit("x" * 100, 7, 20).endswith("…")
    assert cells.width(cells.fit("x" * 100, 7, 20), 7) <= 20


def test_the_joiner_renumbers_references_but_not_strings() -> None:
    body = b"<< /Title (5 0 R \\) 6 0 R) /Kids [ 5 0 R 6 0 R ] /F2+0 6 0 R /X <3520302052> >>"
    end, skipped = _scan_object(body)
    assert end == len(body)
    out = _renumber(body[:end], skipped, {5: 105, 6: 106})
    assert out == (
        b"<< /Title (5 0 R \\) 6 0 R) /Kids [ 105 0 R 106 0 R ] /F2+0 106 0 R /X <3520302052> >>"
    )
    with pytest.raises(PdfJoinError):
        _renumber(b"<< /A 7 0 R >>", [], {5: 105})


def test_the_joiner_refuses_what_is_not_a_reportlab_pdf() -> None:
    joiner = PdfJoiner(io.BytesIO(), info={"Title": "x"})
    with pytest.raises(PdfJoinError):
        joiner.add(b"%PDF-1.4\nnot really\n%%EOF")
