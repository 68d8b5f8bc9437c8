"""The micro-grant register PDF: every figure and the totals in its text, A4 landscape, numbered
pages, embedded fonts, user text shown literally; and the auditor's route that builds it."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from pdf_helpers import assert_fonts_embedded, flat, page_texts, render_png, text_of
from pypdf import PdfReader

from ledger.money import format_cny
from reports.grant_register import GrantRegisterRow, build_grant_register

HEAD_HASH = "5e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
TZ = dt.timezone(dt.timedelta(hours=8))
ORG = "督院街社区微基金"
D = Decimal


def row(
    grant: str,
    group: str,
    awarded: str,
    disbursed: str,
    reported: str,
    returned: str,
    *,
    closed: bool = False,
    call: str = "2026 年春季院落微更新",
) -> GrantRegisterRow:
    a, d, r, t = (D(v) for v in (awarded, disbursed, reported, returned))
    return GrantRegisterRow(
        grant=grant,
        call=call,
        group=group,
        fund="美院子",
        awarded=a,
        disbursed=d,
        reported=r,
        returned=t,
        outstanding=d - r - t,
        status="已结项" if closed else "执行中",
        awarded_on=dt.date(2026, 3, 9),
        last_disbursed_on=dt.date(2026, 4, 1) if d else None,
        closed_on=dt.date(2026, 6, 30) if closed else None,
        tranches=2 if d else 0,
    )


ROWS = [
    row("g-2026-01", "3号院居民自治小组", "5000.00", "4800.00", "4567.80", "232.20", closed=True),
    row("g-2026-02", "督院街四点半课堂志愿队", "3000.00", "1500.00", "0.00", "0.00"),
    row("g-2026-07", "<b>x</b> & 老年书画社", "1234.56", "1000.00", "876.54", "0.00"),
]


def build(rows: list[GrantRegisterRow]) -> bytes:
    return build_grant_register(
        rows,
        org_name=ORG,
        generated_at=dt.datetime(2026, 7, 1, 9, 30, tzinfo=TZ),
        head_hash=HEAD_HASH,
        head_seq=321,
    )


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return build(ROWS)


def test_every_figure_and_the_totals_appear(pdf: bytes) -> None:
    text = flat(pdf)
    for r in ROWS:
        for value in (r.awarded, r.disbursed, r.reported, r.returned, r.outstanding):
            assert format_cny(value) in text, (r.grant, value)
        assert r.grant in text
    for total in ("¥9,234.56", "¥7,300.00", "¥5,444.34", "¥232.20", "¥1,623.46"):
        assert total in text
    assert "合计" in text
    for heading in ("项目编号", "征集", "申请团体", "基金", "资助金额", "已拨付", "已报告支出"):
        assert heading in text
    assert "结项 2026-06-30" in text
    assert "资助 2026-03-09" in text
    assert ORG in text
    assert HEAD_HASH in text
    assert "seq 321" in text


def test_user_text_is_shown_literally(pdf: bytes) -> None:
    assert "<b>x</b> & 老年书画社" in flat(pdf)


def test_a4_landscape_with_embedded_fonts(pdf: bytes) -> None:
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width), round(height)) == (842, 595)
    assert_fonts_embedded(pdf)


def test_pages_are_numbered_of_the_total() -> None:
    many = [
        row(f"g-2026-{i:03d}", f"第 {i} 居民小组", "1000.00", "600.00", "500.00", "0.00")
        for i in range(1, 61)
    ]
    pdf = build(many)
    texts = page_texts(pdf)
    assert len(texts) > 1
    for n, text in enumerate(texts, start=1):
        assert f"第 {n} 页 / 共 {len(texts)} 页" in text
    assert "¥60,000.00" in text_of(pdf)
    assert "¥6,000.00" in text_of(pdf)
    assert "项目编号" in texts[1]  # the header row repeats on every page
    assert_fonts_embedded(pdf)


def test_an_empty_register_still_renders() -> None:
    pdf = build([])
    assert "暂无项目" in flat(pdf)
    assert "第 1 页 / 共 1 页" in flat(pdf)


def test_page_one_renders_to_png(pdf: bytes) -> None:
    path = render_png(pdf, "grant-register", dpi=90)
    assert path.exists()
    assert path.stat().st_size > 10_000
