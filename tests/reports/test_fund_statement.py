"""The fund statement PDF: its text, its embedded font, its page count and how its pages look."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from pdf_helpers import assert_fonts_embedded, fonts_of, page_texts, render_png

from ledger.money import format_cny
from ledger.queries import EntryRow, FundStatement, StatementRow
from reports.fund_statement import build_fund_statement

HEAD_HASH = "9f2c4e7a1b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f"
TZ = dt.timezone(dt.timedelta(hours=8))
ORG = "清河社区互助微基金"
HOSTILE = "<b>x</b> & <script>"


def statement_row(
    slug: str,
    name: str,
    *,
    restricted: bool,
    opening: str,
    income: str,
    spent: str,
    transfers: str,
) -> StatementRow:
    o, i, s, t = (Decimal(v) for v in (opening, income, spent, transfers))
    return StatementRow(slug, name, restricted, o, i, s, t, o + i - s + t)


def total_of(rows: list[StatementRow]) -> StatementRow:
    def total(attr: str) -> Decimal:
        return sum((getattr(r, attr) for r in rows), Decimal("0.00"))

    return StatementRow(
        "",
        "合计",
        False,
        total("opening"),
        total("income"),
        total("spent"),
        total("transfers"),
        total("closing"),
    )


FUND_ROWS = [
    statement_row(
        "general",
        "社区微基金",
        restricted=False,
        opening="12500.00",
        income="3234.56",
        spent="1800.40",
        transfers="-500.00",
    ),
    statement_row(
        "canteen",
        "长者食堂",
        restricted=False,
        opening="-320.00",
        income="8800.00",
        spent="9120.75",
        transfers="500.00",
    ),
    statement_row(
        "school",
        "助学金 <A&B>",
        restricted=True,
        opening="1234567.89",
        income="0.00",
        spent="2000.00",
        transfers="0.00",
    ),
]


def entry(n: int, day: dt.date, **kw: Any) -> EntryRow:
    defaults: dict[str, Any] = {
        "id": f"2025-Q1-{n:04d}",
        "date": day,
        "kind": "donation",
        "payee": f"捐赠人{n}",
        "narration": "月度捐赠",
        "funds": (("general", "社区微基金", Decimal("100.00")),),
        "amount": Decimal("100.00"),
    }
    defaults.update(kw)
    return EntryRow(**defaults)


def make_statement(entries: tuple[EntryRow, ...] | None = None) -> FundStatement:
    if entries is None:
        entries = (
            entry(1, dt.date(2025, 1, 3), payee=HOSTILE, narration="买菜 & 油盐"),
            entry(
                2,
                dt.date(2025, 1, 9),
                payee="张*",
                narration="匿名捐赠",
                amount=Decimal("1234.56"),
                funds=(("general", "社区微基金", Decimal("1234.56")),),
            ),
            entry(
                3,
                dt.date(2025, 2, 1),
                kind="transfer",
                payee="",
                narration="食堂补贴划转",
                funds=(
                    ("canteen", "长者食堂", Decimal("500.00")),
                    ("general", "社区微基金", Decimal("-500.00")),
                ),
                amount=Decimal("500.00"),
            ),
            entry(
                4,
                dt.date(2025, 3, 15),
                kind="expense",
                payee="菜市场",
                narration="食材",
                funds=(("canteen", "长者食堂", Decimal("-9120.75")),),
                amount=Decimal("-9120.75"),
                reversed_by="2025-Q1-0005",
            ),
        )
    return FundStatement(
        title="Qinghe community ledger",
        start=dt.date(2025, 1, 1),
        end=dt.date(2025, 3, 31),
        rows=tuple(FUND_ROWS),
        total=total_of(FUND_ROWS),
        entries=entries,
        head_hash=HEAD_HASH,
        head_seq=4321,
        generated_at=dt.datetime(2025, 4, 1, 9, 30, tzinfo=TZ),
        notes=("本表经理事会 <审核> & 公示。",),
    )


def many_entries(count: int) -> tuple[EntryRow, ...]:
    start = dt.date(2025, 1, 1)
    rows = []
    for n in range(1, count + 1):
        amount = Decimal(n * 37 % 5000) + Decimal("0.25")
        sign = -1 if n % 3 == 0 else 1
        rows.append(
            entry(
                n,
                start + dt.timedelta(days=n * 90 // count),
                payee=f"收款方{n} <{n}>",
                narration="日常开支，含较长的说明文字以检验换行是否正常" if n % 7 == 0 else "捐赠",
                amount=sign * amount,
                funds=(
                    (
                        "canteen" if sign < 0 else "general",
                        "长者食堂" if sign < 0 else "社区微基金",
                        sign * amount,
                    ),
                ),
            )
        )
    return tuple(rows)


@pytest.fixture(scope="module")
def small_pdf() -> bytes:
    return build_fund_statement(make_statement(), org_name=ORG)


@pytest.fixture(scope="module")
def long_pdf() -> bytes:
    return build_fund_statement(make_statement(many_entries(500)), org_name=ORG)


def test_the_statement_is_a_pdf(small_pdf: bytes) -> None:
    assert small_pdf.startswith(b"%PDF-")


def test_title_org_funds_and_head_hash_appear_in_the_text(small_pdf: bytes) -> None:
    text = "\n".join(page_texts(small_pdf))
    for expected in (
        "基金收支报表",
        ORG,
        "社区微基金",
        "长者食堂",
        "助学金 <A&B>",
        "限定",
        "非限定",
        "合计",
        "2025-01-01 至 2025-03-31",
        HEAD_HASH,
        "4321",
        "2025-04-01 09:30 (UTC+08:00)",
        "bean-query",
    ):
        assert expected in text, expected


def test_every_fund_figure_appears_formatted_as_yuan(small_pdf: bytes) -> None:
    text = "\n".join(page_texts(small_pdf))
    rows = [*FUND_ROWS, total_of(FUND_ROWS)]
    for row in rows:
        for value in (row.opening, row.income, row.spent, row.transfers, row.closing):
            assert format_cny(value) in text, format_cny(value)
    assert "¥1,234,567.89" in text
    assert "-¥9,120.75" in text


def test_hostile_user_text_is_shown_literally_not_read_as_markup(small_pdf: bytes) -> None:
    text = "\n".join(page_texts(small_pdf))
    assert HOSTILE in text
    assert "买菜 & 油盐" in text
    assert "张*" in text
    assert "本表经理事会 <审核> & 公示。" in text


def test_transfers_and_reversals_are_labelled_in_the_journal(small_pdf: bytes) -> None:
    text = "\n".join(page_texts(small_pdf))
    assert re.search(r"社区微基金 →\s*长者食堂", text)
    assert "已冲销 reversed by 2025-Q1-0005" in text


def test_footer_numbers_the_page(small_pdf: bytes) -> None:
    texts = page_texts(small_pdf)
    assert "第 1 页" in texts[0]
    assert f"共 {len(texts)} 页" in texts[0]


def test_every_font_is_an_embedded_truetype_subset(small_pdf: bytes) -> None:
    assert_fonts_embedded(small_pdf)


def test_no_font_is_a_cid_font_left_to_the_viewer(small_pdf: bytes) -> None:
    for font in fonts_of(small_pdf):
        if font["/Subtype"] != "/Type0":
            continue
        for descendant in font["/DescendantFonts"]:
            descriptor = descendant.get_object()["/FontDescriptor"].get_object()
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), font


def test_a_long_journal_spans_pages_numbered_of_the_total(long_pdf: bytes) -> None:
    texts = page_texts(long_pdf)
    total = len(texts)
    assert total > 1
    for number, text in enumerate(texts, start=1):
        assert f"第 {number} 页 / 共 {total} 页" in text
        assert ORG in text
    assert f"共 {total} 页" in texts[0]
    assert "2025-Q1-0500" in texts[-1]


def test_journal_header_repeats_on_each_page_it_runs_onto(long_pdf: bytes) -> None:
    texts = page_texts(long_pdf)
    journal_pages = [t for t in texts if re.search(r"2025-Q1-\d{4}", t)]
    assert len(journal_pages) > 2
    for text in journal_pages:
        assert "摘要" in text
        assert "金额" in text


def test_overlong_text_wraps_inside_its_cell_and_page() -> None:
    long_word = "x" * 600
    story = "很长的说明" * 900
    statement = make_statement(
        (
            entry(
                1,
                dt.date(2025, 1, 2),
                id="0d9a6c0e-5a7b-4c55-9b0c-2f1b8f9b7a11",
                payee=long_word,
                narration=story,
                funds=(
                    (
                        "general",
                        "社区微基金（为第三期长者健康讲座与陪诊服务设立的专项）",
                        Decimal("100.00"),
                    ),
                ),
            ),
            entry(2, dt.date(2025, 1, 3), payee="最后一笔"),
        )
    )
    pdf = build_fund_statement(statement, org_name="清河社区互助微基金" * 8)
    text = "".join(t.replace("\n", "") for t in page_texts(pdf))
    assert long_word in text
    assert "最后一笔" in text
    assert "0d9a6c0e-5a7b-4c55-9b0c-2f1b8f9b7a11" in text
    png = render_png(pdf, "fund-statement-overlong", 2)
    assert png.is_file()


def test_first_page_renders_to_a_png(small_pdf: bytes) -> None:
    png = render_png(small_pdf, "fund-statement")
    assert png.is_file()
    assert png.stat().st_size > 20_000


def test_first_and_middle_pages_of_a_long_statement_render_to_pngs(long_pdf: bytes) -> None:
    middle = len(page_texts(long_pdf)) // 2 + 1
    for page in (1, middle):
        png = render_png(long_pdf, "fund-statement-long", page)
        assert png.is_file()
        assert png.stat().st_size > 20_000
