"""A resident on a 360 px phone reads the 微创投 pages: the calls and one grant's page."""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
import zlib
from pathlib import Path

import pytest
from flask import Flask

from ledger import grants
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import (
    Attachment,
    Deliberation,
    GrantApplication,
    GrantCall,
    GrantUpdate,
    Objection,
)
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

GRANT = "g-2026-11"


def _png(width: int, height: int) -> bytes:
    """A small plain PNG (a green-grey photo stand-in)."""
    row = b"\x00" + bytes((120, 160, 110)) * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def grant_server(live_app: Flask, live_server: str) -> str:
    now = today()
    posted = now - dt.timedelta(days=50)
    photo_bytes = _png(320, 200)
    with live_app.app_context():
        db.session.add(
            GrantCall(
                id="2026-courtyards",
                title="2026 年院落微更新",
                purpose="居民小组自己动手改善院落",
                fund="general",
                budget="12000.00",
                ceiling="5000.00",
                opens_on=now - dt.timedelta(days=90),
                closes_on=now - dt.timedelta(days=70),
                created_by="admin",
            )
        )
        db.session.flush()
        lines = [
            {"item": "花台砖石", "quantity": "20", "unit_price": "60.00", "total": "1200.00"},
            {
                "item": "不锈钢扶手（楼道两侧）",
                "quantity": "12",
                "unit_price": "250.00",
                "total": "3000.00",
            },
            {"item": "施工辅料", "quantity": "1", "unit_price": "800.00", "total": "800.00"},
        ]
        common = {
            "call_id": "2026-courtyards",
            "contact_name": "王建华",
            "contact_phone": "13912345678",
            "budget_lines": lines,
            "requested": "5000.00",
            "decision_published_on": posted,
        }
        db.session.add_all(
            [
                GrantApplication(
                    id=GRANT,
                    group_name="3号院居民自治小组",
                    title="3号院花台与扶手",
                    description="把院坝的旧花台修好，给楼道装上扶手，方便老人上下楼。",
                    beneficiaries="3号院 42 户居民，其中独居老人 9 位",
                    status="closed",
                    decision_amount="5000.00",
                    decision_note="审议通过，按申请预算资助。",
                    goals_met="yes",
                    beneficiaries_served=42,
                    satisfaction=93,
                    evaluation_note="花台和扶手都已完工。",
                    result_published_on=now,
                    **common,
                ),
                GrantApplication(
                    id="g-2026-12",
                    group_name="7号院楼栋长小组",
                    title="楼顶花园",
                    status="rejected",
                    **common,
                ),
            ]
        )
        for i, stage in enumerate(("提议", "商议", "审议", "决议")):
            db.session.add(
                Deliberation(
                    call_id="2026-courtyards",
                    stage=stage,
                    held_on=posted - dt.timedelta(days=8 - 2 * i),
                    attendees=15,
                    quorum=11,
                    votes_for=13,
                    votes_against=1,
                    abstentions=1,
                    supervisor_opinion="程序合规",
                    recorded_by="admin",
                )
            )
        db.session.add(
            Objection(
                application_id=GRANT,
                raised_on=posted + dt.timedelta(days=2),
                raised_by="钱多多",
                content="花台会不会占用消防通道？",
                answer="花台在原位置重建，不占通道。",
                answered_on=posted + dt.timedelta(days=3),
            )
        )
        photo = Attachment(
            application_id=GRANT,
            purpose="photo",
            original_name="完工.png",
            stored_name="c" * 32 + ".png",
            content_type="image/png",
            size=len(photo_bytes),
            sha256=hashlib.sha256(photo_bytes).hexdigest(),
            public=True,
            caption="完工后的花台",
            uploaded_by="admin",
        )
        db.session.add(photo)
        db.session.flush()
        db.session.add(
            GrantUpdate(
                application_id=GRANT,
                posted_on=now - dt.timedelta(days=10),
                text="扶手已全部装好。",
                photo_id=photo.id,
                posted_by="admin",
            )
        )
        db.session.commit()
        folder = Path(live_app.instance_path) / "attachments"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / photo.stored_name).write_bytes(photo_bytes)

        book = get_book()
        award = posted + dt.timedelta(days=8)
        grants.award_grant(
            book,
            grants.AwardCommand(
                id="award-b",
                grant=GRANT,
                date=award,
                amount="5000.00",
                fund="general",
                grantee="3号院居民自治小组",
                project="3号院花台与扶手",
                entered_by="admin",
                approved_by="approver",
                call="2026-courtyards",
            ),
        )
        for n, amount in enumerate(("3000.00", "1800.00"), start=1):
            grants.disburse(
                book,
                grants.DisbursementCommand(
                    id=f"pay-b{n}",
                    grant=GRANT,
                    date=award + dt.timedelta(days=n * 5),
                    amount=amount,
                    entered_by="admin",
                    approved_by="approver",
                ),
            )
        grants.accept_expense_report(
            book,
            grants.ExpenseReportCommand(
                id="report-b",
                grant=GRANT,
                date=award + dt.timedelta(days=25),
                amount="4567.80",
                summary="砖石、扶手与辅料",
                receipts=7,
                entered_by="admin",
                approved_by="approver",
            ),
        )
        grants.close_grant(
            book,
            grants.CloseCommand(
                id="close-b",
                grant=GRANT,
                date=award + dt.timedelta(days=30),
                returned="232.20",
                leftover="剩余砖石 6 块交社区仓库保管",
                entered_by="admin",
                approved_by="approver",
            ),
        )
    return live_server


def _no_horizontal_overflow(page: object) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))  # type: ignore[attr-defined]


def test_a_resident_reads_a_grant_page_on_a_phone(grant_server: str, phone: object) -> None:
    phone.goto(grant_server + "/grants")  # type: ignore[attr-defined]
    assert "3号院花台与扶手" in phone.inner_text("main")  # type: ignore[attr-defined]
    assert _no_horizontal_overflow(phone)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "public-grants-360.png"), full_page=True)  # type: ignore[attr-defined]
    phone.click("text=3号院花台与扶手")  # type: ignore[attr-defined]
    assert phone.url.endswith(f"/grants/{GRANT}")  # type: ignore[attr-defined]
    text = phone.inner_text("main")  # type: ignore[attr-defined]
    for figure in ("¥5,000.00", "¥4,800.00", "¥4,567.80", "¥232.20"):
        assert figure in text
    assert "王建华" not in text
    assert "钱多多" not in text
    assert "13912345678" not in phone.content()  # type: ignore[attr-defined]
    phone.locator("figure.grant-photo img").scroll_into_view_if_needed()  # type: ignore[attr-defined]
    phone.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    loaded = phone.evaluate(  # type: ignore[attr-defined]
        "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
    )
    assert loaded, "the published photo did not load"
    assert _no_horizontal_overflow(phone)
    phone.screenshot(path=str(ARTIFACTS / "public-grant-360.png"), full_page=True)  # type: ignore[attr-defined]


def test_the_call_page_in_english_on_a_phone(grant_server: str, phone: object) -> None:
    phone.goto(grant_server + "/grants/calls/2026-courtyards?lang=en")  # type: ignore[attr-defined]
    text = phone.inner_text("main")  # type: ignore[attr-defined]
    assert "Not funded" in text
    assert "楼顶花园" in text
    assert _no_horizontal_overflow(phone)
    phone.goto(grant_server + f"/grants/{GRANT}?lang=en")  # type: ignore[attr-defined]
    assert "Budget and actual spending" in phone.inner_text("main")  # type: ignore[attr-defined]
    assert _no_horizontal_overflow(phone)
    phone.screenshot(path=str(ARTIFACTS / "public-grant-360-en.png"), full_page=True)  # type: ignore[attr-defined]
