"""The generic table PDF (reports/table_report.py): cells, totals, long tables, user text, pages."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from pdf_helpers import assert_fonts_embedded, flat, page_texts, render_png, text_of
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4, landscape

from reports.table_report import build_table_pdf, cell_text, format_amount

ORG = "督院街社区微基金"
HEAD = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9a"
AT = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
COLUMNS = (
    ("日期", 1.0, "left"),
    ("编号", 1.2, "left"),
    ("摘要", 3.0, "left"),
    ("笔数", 0.6, "center"),
    ("金额", 1.3, "right"),
)


def build(rows: list[list[Any]], **kw: Any) -> bytes:
    args: dict[str, Any] = {
        "title": "捐赠登记簿",
        "subtitle_lines": ["2026-01-01 至 2026-12-31", "共 3 笔"],
        "columns": COLUMNS,
        "rows": rows,
        "totals": None,
        "org_name": ORG,
        "generated_at": AT,
        "head_hash": HEAD,
        "head_seq": 42,
    }
    args.update(kw)
    return build_table_pdf(**args)


ROWS: list[list[Any]] = [
    [dt.date(2026, 1, 5), "don-0001", "陈秀英：捐赠助老餐", 1, Decimal("200")],
    [dt.date(2026, 2, 1), "don-0002", "退款", 1, Decimal("-1234567.891")],
    [dt.date(2026, 3, 9), None, "", 0, Decimal("0")],
]


def test_cells_are_formatted_by_type_and_totals_come_last() -> None:
    pdf = build(ROWS, totals=["合计", None, None, 2, Decimal("-1234367.89")])
    text = text_of(pdf)
    for expected in ("2026-01-05", "don-0001", "陈秀英：捐赠助老餐", "200.00", "-1,234,567.89"):
        assert expected in text
    assert "0.00" in text
    lines = [t.strip() for t in text.splitlines() if t.strip()]
    assert lines.index("合计") > lines.index("-1,234,567.89")
    assert "-1,234,367.89" in lines[lines.index("合计") :]
    assert "None" not in text


def test_title_subtitles_head_hash_and_footer_are_printed() -> None:
    text = flat(build(ROWS))
    assert "捐赠登记簿" in text
    assert "2026-01-01 至 2026-12-31" in text
    assert "共 3 笔" in text
    assert HEAD in text
    assert "seq 42" in text
    assert "2026-12-01 09:30 (UTC+08:00)" in text
    assert "第 1 页 / 共 1 页" in text
    assert ORG in text


def test_user_text_is_shown_literally() -> None:
    hostile = '<b>x</b> & "y" <script>'
    pdf = build(
        [[dt.date(2026, 1, 5), hostile, f"{hostile}\n第二行", 1, Decimal("1")]],
        title=f"登记簿 {hostile}",
        subtitle_lines=[hostile],
        org_name=f"社区 {hostile}",
    )
    text = flat(pdf)
    assert text.count(hostile) >= 5  # title, page header x2 (title and org), subtitle, cells
    assert f"社区 {hostile}" in text


def test_a_long_table_runs_over_pages_with_its_heading_repeated() -> None:
    rows = [
        [
            dt.date(2026, 1, 1) + dt.timedelta(days=n % 300),
            f"id-{n:04d}",
            "捐赠" * (n % 7 + 1),
            n,
            Decimal(n) / 4,
        ]
        for n in range(400)
    ]
    pdf = build(rows, totals=["合计", None, None, None, sum((r[4] for r in rows), Decimal(0))])
    pages = page_texts(pdf)
    assert len(pages) > 5
    for number, text in enumerate(pages, start=1):
        assert "摘要" in text  # the heading on every page
        assert "金额" in text
        assert f"第 {number} 页 / 共 {len(pages)} 页" in text
    everything = text_of(pdf)
    for n in range(400):
        assert f"id-{n:04d}" in everything
    assert format_amount(sum((r[4] for r in rows), Decimal(0))) in pages[-1]
    assert_fonts_embedded(pdf)


def test_portrait_by_default_and_landscape_on_request() -> None:
    for wide, size in ((False, A4), (True, landscape(A4))):
        page = PdfReader(io.BytesIO(build(ROWS, landscape=wide))).pages[0]
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (
            round(size[0]),
            round(size[1]),
        )


def test_an_empty_table_says_so() -> None:
    text = flat(build([]))
    assert "无记录" in text


@pytest.mark.parametrize(
    ("rows", "totals", "columns"),
    [
        ([[dt.date(2026, 1, 1), "x"]], None, COLUMNS),
        (ROWS, ["合计"], COLUMNS),
        (ROWS, None, ()),
    ],
)
def test_rows_that_do_not_match_the_columns_are_refused(
    rows: list[list[Any]], totals: list[Any] | None, columns: tuple[Any, ...]
) -> None:
    with pytest.raises(ValueError, match="column"):
        build(rows, totals=totals, columns=columns)


def test_a_float_cell_or_a_bad_alignment_is_refused() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        build([[dt.date(2026, 1, 1), "x", "y", 1, 1.5]])
    with pytest.raises(TypeError, match="float"):
        cell_text(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="align"):
        build(ROWS, columns=(*COLUMNS[:4], ("金额", 1, "justify")))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (Decimal("-0.5"), "-0.50"),
        (Decimal("1000000"), "1,000,000.00"),
        (dt.date(2026, 2, 28), "2026-02-28"),
        (7, "7"),
        ("=1+1", "=1+1"),  # a PDF runs nothing: shown as typed
    ],
)
def test_cell_text(value: Any, text: str) -> None:
    assert cell_text(value) == text


def test_first_page_renders_to_png() -> None:
    rows = [
        [dt.date(2026, 1, n), f"id-{n}", "捐赠：助老餐", n, Decimal(n * 100)] for n in range(1, 29)
    ]
    png = render_png(build(rows, totals=["合计", None, None, None, Decimal(40600)]), "table-report")
    assert png.read_bytes().startswith(b"\x89PNG")
