"""The periodic public notice PDF (收支公示): figures, lists, hash, QR, pages, fonts."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from pdf_helpers import assert_fonts_embedded, flat, page_texts, render_png
from pypdf import PdfReader

from ledger.disclosure import NoticeView
from ledger.money import format_cny
from ledger.queries import EntryRow, FundStatement, StatementRow
from reports.notice import build_notice

HEAD_HASH = "5e1d9c0b7a3f4e2d1c0b9a8f7e6d5c4b3a29181706f5e4d3c2b1a09f8e7d6c5b"
TZ = dt.timezone(dt.timedelta(hours=8))
ORG = "清河社区互助微基金"
SITE = "https://fund.example.org/"
PERIOD = "2026年第一季度"
HOSTILE = "<b>&"
#: A donor's full name kept in the private registry; the view only has what they chose to show.
FULL_NAME = "王秀英"


def row(slug: str, name: str, restricted: bool, *values: str) -> StatementRow:
    opening, income, spent, transfers = (Decimal(v) for v in values)
    return StatementRow(
        slug,
        name,
        restricted,
        opening,
        income,
        spent,
        transfers,
        opening + income - spent + transfers,
    )


FUNDS = (
    row("general", "社区微基金", False, "5000.00", "1300.50", "420.00", "-300.00"),
    row("canteen", "助老餐", True, "800.00", "2000.00", "1650.25", "300.00"),
)


def total_row() -> StatementRow:
    def total(attr: str) -> Decimal:
        return sum((getattr(r, attr) for r in FUNDS), Decimal("0.00"))

    return StatementRow(
        "",
        "合计",
        False,
        *(total(a) for a in ("opening", "income", "spent", "transfers", "closing")),
    )


def donation(n: int, day: int, donor: str, fund: tuple[str, str], amount: str) -> EntryRow:
    value = Decimal(amount)
    return EntryRow(
        f"2026-01-{n:04d}",
        dt.date(2026, 1, day),
        "donation",
        donor,
        "捐赠",
        ((fund[0], fund[1], value),),
        value,
    )


def expense(n: int, day: int, payee: str, purpose: str, amount: str, **kw: Any) -> EntryRow:
    value = -Decimal(amount)
    return EntryRow(
        f"2026-02-{n:04d}",
        dt.date(2026, 2, day),
        "expense",
        payee,
        purpose,
        (("canteen", "助老餐", value),),
        value,
        **kw,
    )


GENERAL = ("general", "社区微基金")
CANTEEN = ("canteen", "助老餐")
DONATIONS = (
    donation(1, 3, "张*", CANTEEN, "200.00"),
    donation(2, 9, "匿名", GENERAL, "1000.50"),
    donation(3, 15, f"清河烧烤店 {HOSTILE}", CANTEEN, "1800.00"),
    donation(4, 20, "街道办事处", GENERAL, "300.00"),
)
EXPENSES = (
    expense(1, 2, "菜市场", "助老餐食材（米、面、油）", "1250.25"),
    expense(2, 18, "李师傅", "送餐电动车维修", "400.00", reversed_by="2026-03-0001"),
    EntryRow(
        "2026-02-0003",
        dt.date(2026, 2, 25),
        "expense",
        "文具店",
        "议事会会议用品",
        (("general", "社区微基金", Decimal("-420.00")),),
        Decimal("-420.00"),
    ),
)


def make_view(
    donations: tuple[EntryRow, ...] = DONATIONS, expenses: tuple[EntryRow, ...] = EXPENSES
) -> NoticeView:
    statement = FundStatement(
        title="Qinghe",
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 3, 31),
        rows=FUNDS,
        total=total_row(),
        entries=(*donations, *expenses),
        head_hash=HEAD_HASH,
        head_seq=812,
        generated_at=dt.datetime(2026, 4, 1, 9, 0, tzinfo=TZ),
    )
    return NoticeView(
        statement=statement,
        donations=donations,
        expenses=expenses,
        donations_total=sum((e.amount for e in donations), Decimal("0.00")),
        expenses_total=-sum((e.amount for e in expenses), Decimal("0.00")),
    )


def build(view: NoticeView) -> bytes:
    return build_notice(view, org_name=ORG, period_label=PERIOD, site_url=SITE)


def many(count: int) -> NoticeView:
    donors = ["张*", "匿名", "李建国", "清河烧烤店", "街道办事处"]
    donations = tuple(
        donation(n, 1 + n % 28, donors[n % 5], CANTEEN if n % 2 else GENERAL, f"{n * 13}.50")
        for n in range(1, count + 1)
    )
    expenses = tuple(
        expense(n, 1 + n % 28, "菜市场", "助老餐食材采购（米、面、油、蔬菜）", f"{n * 7}.25")
        for n in range(1, count // 2 + 1)
    )
    return make_view(donations, expenses)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return build(make_view())


def test_title_period_and_org(pdf: bytes) -> None:
    text = flat(pdf)
    assert f"社区微基金收支公示（{PERIOD}）" in text
    assert "2026-01-01 至 2026-03-31" in text
    assert ORG in text


def test_every_fund_figure_and_the_totals_appear(pdf: bytes) -> None:
    text = flat(pdf)
    for fund in (*FUNDS, total_row()):
        for value in (fund.opening, fund.income, fund.spent, fund.transfers, fund.closing):
            assert format_cny(value) in text, (fund.name, value)
    assert "社区微基金" in text
    assert "助老餐" in text
    assert "限定" in text


def test_donations_list_donors_as_the_view_has_them(pdf: bytes) -> None:
    text = flat(pdf)
    for entry in DONATIONS:
        assert entry.payee in text
        assert format_cny(entry.amount) in text
        assert entry.date.isoformat() in text
    assert f"清河烧烤店 {HOSTILE}" in text
    assert FULL_NAME not in text
    assert "共 4 笔，合计 ¥3,300.50" in text


def test_spending_lists_payee_purpose_fund_and_amount(pdf: bytes) -> None:
    text = flat(pdf)
    for entry in EXPENSES:
        assert entry.payee in text
        assert entry.narration in text
        assert format_cny(-entry.amount) in text
    assert "共 3 笔，合计 ¥2,070.25" in text
    assert "已冲销 reversed by 2026-03-0001" in text


def test_head_hash_seq_site_and_whom_to_ask(pdf: bytes) -> None:
    text = flat(pdf)
    assert HEAD_HASH in text
    assert "812" in text
    assert SITE in text
    assert "如有疑问请向社区议事会或监事反映" in text


def test_the_qr_codes_link_to_the_site(pdf: bytes) -> None:
    uris = [
        str(annot.get_object()["/A"]["/URI"])
        for page in PdfReader(io.BytesIO(pdf)).pages
        for annot in page.get("/Annots", []) or []
        if "/A" in annot.get_object()
    ]
    assert uris
    assert set(uris) == {SITE}


def test_hostile_period_label_is_printed_literally() -> None:
    text = flat(build_notice(make_view(), org_name=ORG, period_label="<i>&", site_url=SITE))
    assert "社区微基金收支公示（<i>&）" in text


def test_an_empty_period_says_so() -> None:
    text = flat(build(make_view((), ())))
    assert "本期没有收到捐赠" in text
    assert "本期没有支出" in text


def test_pages_are_numbered_of_the_total() -> None:
    texts = page_texts(build(many(120)))
    total = len(texts)
    assert total > 2
    for number, text in enumerate(texts, start=1):
        assert f"第 {number} 页 / 共 {total} 页" in text
        assert ORG in text
    assert "2026-01-0120" in "".join(texts)
    assert "如有疑问请向社区议事会或监事反映" in texts[-1].replace("\n", "")


def test_list_headers_repeat_on_each_page() -> None:
    texts = page_texts(build(many(120)))
    for text in texts[1:-1]:
        assert "金额" in text


def test_every_font_is_an_embedded_truetype_subset(pdf: bytes) -> None:
    assert_fonts_embedded(pdf)


def test_pages_render_to_pngs(pdf: bytes) -> None:
    png = render_png(pdf, "notice")
    assert png.stat().st_size > 20_000
    long_pdf = build(many(120))
    for page in (1, 2, len(page_texts(long_pdf))):
        png = render_png(long_pdf, "notice-long", page)
        assert png.stat().st_size > 20_000
