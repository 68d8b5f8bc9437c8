"""The donation confirmation PDF (捐赠确认书) and the QR code it carries."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from decimal import Decimal
from typing import Any

import pytest
from pdf_helpers import assert_fonts_embedded, flat, fonts_of, link_uris, render_png, text_of
from pypdf import PdfReader

from ledger.disclosure import ReceiptView
from ledger.queries import EntryRow
from reports.qr import QrDrawing, qr_flowable
from reports.receipt import build_receipt

HEAD_HASH = "9f2c4e7a1b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f"
ENTRY_HASH = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
TZ = dt.timezone(dt.timedelta(hours=8))
ORG = "清河社区互助微基金"
HOST = "成都市慈善总会"
NUMBER = "2026-000123"
CODE = "ABCD1234"
VERIFY_URL = f"https://fund.example.org/verify?no={NUMBER}&code={CODE}"
#: The donor's full name lives only in the (private) donor registry, never in the view.
FULL_NAME = "张建国"
OFFICIAL = {
    "code": "51010226",
    "number": "0001234567",
    "check_code": "8F3K2",
    "issued_on": "2026-03-20",
}


def make_view(**kw: Any) -> ReceiptView:
    defaults: dict[str, Any] = {
        "number": NUMBER,
        "entry_id": "2026-03-05-0042",
        "date": dt.date(2026, 3, 5),
        "amount": Decimal("100.00"),
        "fund_slug": "canteen",
        "fund_name": "长者食堂",
        "fund_purpose": "为社区 70 岁以上老人提供午餐补贴与送餐服务",
        "restricted": True,
        "donor_public": "张*",
        "form": "money",
        "project": "",
        "valuation_basis": "",
        "void": False,
        "voided_by": "",
        "entry_hash": ENTRY_HASH,
        "spending_since": (
            EntryRow(
                "2026-03-09-0050",
                dt.date(2026, 3, 9),
                "expense",
                "菜市场",
                "食材",
                (("canteen", "长者食堂", Decimal("-80.00")),),
                Decimal("-80.00"),
            ),
        ),
        "spent_since": Decimal("80.00"),
        "fund_balance": Decimal("920.00"),
        "head_hash": HEAD_HASH,
        "verify": CODE,
    }
    defaults.update(kw)
    return ReceiptView(**defaults)


def build(view: ReceiptView, **kw: Any) -> bytes:
    options: dict[str, Any] = {
        "org_name": ORG,
        "verify_url": VERIFY_URL,
        "host_charity": HOST,
        "generated_at": dt.datetime(2026, 3, 6, 10, 15, tzinfo=TZ),
    }
    options.update(kw)
    return build_receipt(view, **options)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return build(make_view())


def test_the_confirmation_is_a_one_page_pdf(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-")
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


def test_number_amounts_fund_and_date_appear(pdf: bytes) -> None:
    text = text_of(pdf)
    for expected in (
        "捐赠确认书",
        NUMBER,
        "¥100.00",
        "壹佰元整",
        "长者食堂",
        "为社区 70 岁以上老人提供午餐补贴与送餐服务",
        "2026-03-05",
        "2026-03-05-0042",
        ORG,
    ):
        assert expected in text, expected


@pytest.mark.parametrize(
    ("amount", "figures", "capitals"),
    [
        ("1234.56", "¥1,234.56", "壹仟贰佰叁拾肆元伍角陆分"),
        ("200", "¥200.00", "贰佰元整"),
        ("100000.05", "¥100,000.05", "壹拾万元零伍分"),
    ],
)
def test_amount_in_figures_and_capitals(amount: str, figures: str, capitals: str) -> None:
    text = text_of(build(make_view(amount=Decimal(amount))))
    assert figures in text
    assert capitals in text


def test_the_donor_appears_only_as_they_chose(pdf: bytes) -> None:
    text = text_of(pdf)
    assert "张*" in text
    assert FULL_NAME not in text


def test_an_anonymous_donor_is_shown_as_such() -> None:
    text = text_of(build(make_view(donor_public="")))
    assert "匿名" in text


def test_hostile_donor_text_is_printed_literally() -> None:
    text = text_of(build(make_view(donor_public="<b>& 李*", project="<i>项目</i> & 合作")))
    assert "<b>& 李*" in text
    assert "<i>项目</i> & 合作" in text


def test_it_says_it_is_not_the_official_receipt_and_who_issues_that(pdf: bytes) -> None:
    text = flat(pdf)
    assert "本确认书不是公益事业捐赠票据" in text
    assert f"公益事业捐赠票据只能由{HOST}开具" in text
    assert "NOT the official donation receipt" in text
    assert "公益事业捐赠票据尚未开具" in text


def test_without_a_host_charity_the_statement_still_stands() -> None:
    text = flat(build(make_view(), host_charity=""))
    assert "本确认书不是公益事业捐赠票据" in text
    assert "公益事业捐赠票据只能由托管慈善组织开具" in text


def test_official_receipt_numbers_appear_once_issued() -> None:
    text = flat(build(make_view(), official=OFFICIAL))
    assert "公益事业捐赠票据已开具" in text
    assert "尚未开具" not in text
    for value in OFFICIAL.values():
        assert value in text, value
    # Still not itself the official receipt.
    assert "本确认书不是公益事业捐赠票据" in text


def test_verification_code_url_and_hashes_appear(pdf: bytes) -> None:
    text = flat(pdf)
    assert CODE in text
    assert VERIFY_URL in text
    assert HEAD_HASH in text
    assert ENTRY_HASH in text
    assert "2026-03-06 10:15 (UTC+08:00)" in text


def test_the_qr_code_area_links_to_the_verify_url(pdf: bytes) -> None:
    assert VERIFY_URL in link_uris(pdf)


def test_qr_flowable_encodes_the_url_as_a_square() -> None:
    qr = qr_flowable(VERIFY_URL, 30)
    assert isinstance(qr, QrDrawing)
    assert qr.value == VERIFY_URL
    assert qr.widget.value == VERIFY_URL
    assert qr.width == pytest.approx(qr.height)
    assert qr.width == pytest.approx(30 / 25.4 * 72)
    x0, y0, x1, y1 = qr.getBounds()
    assert (x1 - x0) == pytest.approx(y1 - y0)


def test_qr_matrix_matches_an_independent_encoder() -> None:
    """ReportLab's encoder and the ``qrcode`` package agree on the modules for the URL."""
    qrcode = pytest.importorskip("qrcode")
    widget = qr_flowable(VERIFY_URL, 30).widget
    widget.qr.make()
    ours = [[bool(m) for m in row] for row in widget.qr.modules]
    other = qrcode.QRCode(
        version=widget.qr.version,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=0,
        mask_pattern=widget.qr.getBestMaskPattern()
        if hasattr(widget.qr, "getBestMaskPattern")
        else None,
    )
    other.add_data(VERIFY_URL)
    other.make(fit=False)
    assert ours == [[bool(m) for m in row] for row in other.get_matrix()]


def test_qr_flowable_needs_a_url() -> None:
    with pytest.raises(ValueError, match="URL"):
        qr_flowable("", 30)


def test_a_gift_in_kind_shows_its_valuation_basis() -> None:
    view = make_view(
        form="goods",
        amount=Decimal("860.00"),
        valuation_basis="超市零售价，附购物小票",
        project="春节送餐",
    )
    text = flat(build(view))
    assert "实物（物资）" in text
    assert "超市零售价，附购物小票" in text
    assert "春节送餐" in text
    assert "捌佰陆拾元整" in text


def test_a_void_confirmation_is_marked_void_with_the_reversing_entry() -> None:
    view = make_view(void=True, voided_by="2026-03-09-0007")
    pdf = build(view, official=OFFICIAL)
    text = flat(pdf)
    assert "作废" in text
    assert "VOID" in text
    assert "2026-03-09-0007" in text
    assert NUMBER in text
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    assert all("/FontFile2" in f["/FontDescriptor"].get_object() for f in fonts_of(pdf))
    png = render_png(pdf, "receipt-void")
    assert png.stat().st_size > 20_000


def test_a_valid_confirmation_is_not_marked_void(pdf: bytes) -> None:
    assert "作废" not in text_of(pdf)


def test_long_text_still_fits_one_page() -> None:
    view = make_view(
        donor_public="某某餐饮管理有限公司清河分店" * 6,
        fund_purpose="为社区长者提供午餐补贴、送餐上门与节日慰问。" * 12,
        form="fixed_asset",
        valuation_basis="按购置发票金额入账，" * 10,
        project="长者食堂厨房设备更新",
        void=True,
        voided_by="2026-03-09-0007",
    )
    pdf = build(view, official=OFFICIAL, org_name=ORG * 5)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    assert "本确认书不是公益事业捐赠票据" in flat(pdf)


def test_every_font_is_an_embedded_truetype_subset(pdf: bytes) -> None:
    assert_fonts_embedded(pdf)


def test_the_default_generation_time_is_china_standard_time() -> None:
    view = make_view()
    pdf = build_receipt(view, org_name=ORG, verify_url=VERIFY_URL)
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} \(UTC\+08:00\)", text_of(pdf))


def test_pages_render_to_pngs() -> None:
    for name, view, official in (
        ("receipt", make_view(amount=Decimal("1234.56")), None),
        (
            "receipt-in-kind-issued",
            make_view(
                form="goods",
                amount=Decimal("860.00"),
                valuation_basis="超市零售价，附购物小票",
                project="春节送餐",
                donor_public="清河烧烤店 <b>&",
            ),
            OFFICIAL,
        ),
    ):
        png = render_png(build(view, official=official), name)
        assert png.is_file()
        assert png.stat().st_size > 20_000


def test_view_is_a_frozen_dataclass() -> None:
    # The tests build views by hand; make sure the shape they rely on is the real one.
    fields = {f.name for f in dataclasses.fields(ReceiptView)}
    assert {"donor_public", "verify", "void", "voided_by", "head_hash"} <= fields
    assert "donor_ref" not in fields
