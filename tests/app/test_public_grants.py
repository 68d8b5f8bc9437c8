"""微创投 on the public site: the calls, a page per funded grant whose every amount equals bean-query,
published photos only, and nothing personal (no contact person, no phone, no objector)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from app_testkit import ZERO, give, main_file
from beanquery_helpers import bean_query_sum, connect
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from test_public_site import assert_csp_clean, get_ok

from ledger import grants
from ledger.money import format_cny
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

GRANT = "g-2026-01"
OTHER = "g-2026-02"
REJECTED = "g-2026-03"
UNDECIDED = "g-2026-04"
PENDING = "g-2026-05"
CONTACTS = (("王建华", "13912345678"), ("李秀兰", "13787654321"), ("赵大勇", "13655556666"))
OBJECTOR = "钱多多"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
_AMOUNT = re.compile(r'<span class="amt(?: neg)?">(-?)¥([0-9,]+\.[0-9]{2})</span>')


def _yuan(sign: str, digits: str) -> Decimal:
    value = Decimal(digits.replace(",", ""))
    return -value if sign else value


def _store(app: Flask, stored_name: str, content: bytes) -> None:
    folder = Path(app.instance_path) / "attachments"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / stored_name).write_bytes(content)


def _application(
    call: str, app_id: str, status: str, contact: int, **kw: object
) -> GrantApplication:
    name, phone = CONTACTS[contact]
    fields: dict[str, object] = {
        "id": app_id,
        "call_id": call,
        "group_name": kw.pop("group", "3号院居民自治小组"),
        "contact_name": name,
        "contact_phone": phone,
        "title": kw.pop("title", "3号院花台与扶手"),
        "description": "把院坝的旧花台修好，给楼道装上扶手。",
        "beneficiaries": "3号院 42 户居民，其中独居老人 9 位",
        "budget_lines": [
            {"item": "花台砖石", "quantity": "20", "unit_price": "60.00", "total": "1200.00"},
            {"item": "不锈钢扶手", "quantity": "12", "unit_price": "250.00", "total": "3000.00"},
            {"item": "施工辅料", "quantity": "1", "unit_price": "800.00", "total": "800.00"},
        ],
        "requested": "5000.00",
        "status": status,
        "submitted_via": "public",
    }
    fields.update(kw)
    return GrantApplication(**fields)


@pytest.fixture
def grant_site(app: Flask) -> Flask:
    """A past call with a grant through award, two tranches, a report and a close with a return;
    a second funded grant still running; a rejected one; one not yet decided; one still posted."""
    now = today()
    give(
        app,
        "20000.00",
        fund="meiyuanzi",
        name="成都锦城物业服务有限公司",
        display="name",
        day=now - dt.timedelta(days=120),
    )
    posted = now - dt.timedelta(days=60)
    with app.app_context():
        db.session.add(
            GrantCall(
                id="2026-spring",
                title="2026 年春季院落微更新",
                purpose="居民小组自己动手改善院落",
                fund="meiyuanzi",
                budget="12000.00",
                ceiling="5000.00",
                opens_on=now - dt.timedelta(days=100),
                closes_on=now - dt.timedelta(days=80),
                criteria=[{"name": "社区需求", "weight": 60}, {"name": "可行性", "weight": 40}],
                created_by="admin",
            )
        )
        db.session.add(
            GrantCall(
                id="2026-autumn",
                title="2026 年秋季微创投",
                fund="general",
                budget="8000.00",
                ceiling="3000.00",
                opens_on=now - dt.timedelta(days=5),
                closes_on=now + dt.timedelta(days=25),
                created_by="admin",
            )
        )
        db.session.flush()
        decided = {"decision_published_on": posted, "decision_note": "审议通过，按申请预算资助。"}
        db.session.add_all(
            [
                _application(
                    "2026-spring",
                    GRANT,
                    "closed",
                    0,
                    decision_amount="5000.00",
                    goals_met="yes",
                    beneficiaries_served=42,
                    satisfaction=93,
                    evaluation_note="花台和扶手都已完工，老人上下楼更安全。",
                    result_published_on=now - dt.timedelta(days=2),
                    **decided,
                ),
                _application(
                    "2026-spring",
                    OTHER,
                    "awarded",
                    1,
                    group="督院街四点半课堂志愿队",
                    title="四点半课堂",
                    decision_amount="3000.00",
                    **decided,
                ),
                _application(
                    "2026-spring",
                    REJECTED,
                    "rejected",
                    2,
                    group="7号院楼栋长小组",
                    title="楼顶花园",
                    **decided,
                ),
                _application("2026-spring", UNDECIDED, "eligible", 2, title="尚未决定的项目"),
                _application(
                    "2026-autumn",
                    PENDING,
                    "approved",
                    2,
                    title="公示中的项目",
                    decision_amount="2000.00",
                    decision_published_on=now - dt.timedelta(days=2),
                ),
            ]
        )
        for i, stage in enumerate(("提议", "商议", "审议", "决议")):
            db.session.add(
                Deliberation(
                    call_id="2026-spring",
                    stage=stage,
                    held_on=posted - dt.timedelta(days=8 - 2 * i),
                    attendees=15,
                    quorum=11,
                    votes_for=13,
                    votes_against=1,
                    abstentions=1,
                    minutes="会议纪要",
                    supervisor_opinion="程序合规",
                    recorded_by="admin",
                )
            )
        db.session.add(
            Objection(
                application_id=GRANT,
                raised_on=posted + dt.timedelta(days=2),
                raised_by=OBJECTOR,
                content="花台会不会占用消防通道？",
                answer="花台在原位置重建，不占通道。",
                answered_on=posted + dt.timedelta(days=3),
                answered_by="admin",
            )
        )
        photo = Attachment(
            application_id=GRANT,
            purpose="photo",
            original_name="完工.png",
            stored_name="a" * 32 + ".png",
            content_type="image/png",
            size=len(PNG),
            sha256=hashlib.sha256(PNG).hexdigest(),
            public=True,
            caption="完工后的花台",
            uploaded_by="admin",
        )
        private = Attachment(
            application_id=GRANT,
            purpose="receipt",
            original_name="发票.png",
            stored_name="b" * 32 + ".png",
            content_type="image/png",
            size=len(PNG),
            sha256=hashlib.sha256(PNG).hexdigest(),
            public=False,
            uploaded_by="admin",
        )
        db.session.add_all([photo, private])
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
        _store(app, photo.stored_name, PNG)
        _store(app, private.stored_name, PNG)

        book = get_book()
        award = posted + dt.timedelta(days=8)
        for grant, amount, who in (
            (GRANT, "5000.00", "3号院居民自治小组"),
            (OTHER, "3000.00", "督院街四点半课堂志愿队"),
        ):
            grants.award_grant(
                book,
                grants.AwardCommand(
                    id=f"award-{grant}",
                    grant=grant,
                    date=award,
                    amount=amount,
                    fund="meiyuanzi",
                    grantee=who,
                    project="项目",
                    entered_by="admin",
                    approved_by="approver",
                    call="2026-spring",
                ),
            )
        for n, (amount, days) in enumerate((("3000.00", 1), ("1800.00", 20)), start=1):
            grants.disburse(
                book,
                grants.DisbursementCommand(
                    id=f"pay-{n}",
                    grant=GRANT,
                    date=award + dt.timedelta(days=days),
                    amount=amount,
                    entered_by="admin",
                    approved_by="approver",
                ),
            )
        grants.disburse(
            book,
            grants.DisbursementCommand(
                id="pay-other",
                grant=OTHER,
                date=award + dt.timedelta(days=2),
                amount="1500.00",
                entered_by="admin",
                approved_by="approver",
            ),
        )
        grants.accept_expense_report(
            book,
            grants.ExpenseReportCommand(
                id="report-1",
                grant=GRANT,
                date=award + dt.timedelta(days=30),
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
                id="close-1",
                grant=GRANT,
                date=award + dt.timedelta(days=40),
                returned="232.20",
                leftover="剩余砖石 6 块交社区仓库保管",
                entered_by="admin",
                approved_by="approver",
            ),
        )
    return app


def _ledger_figures(app: Flask, grant: str) -> dict[str, Decimal]:
    """What bean-query computes for one grant from the files alone."""
    conn = connect(main_file(app))
    link = f"'grant-{grant}' IN links"
    advance = "account = 'Assets:1141-预付账款'"
    return {
        "awarded": -bean_query_sum(
            conn, f"{link} AND account ~ ':已承诺资助$' AND entry_meta('kind') = 'grant-award'"
        ),
        "disbursed": bean_query_sum(
            conn, f"{link} AND {advance} AND entry_meta('kind') = 'grant-disbursement'"
        ),
        "reported": bean_query_sum(conn, f"{link} AND account ~ '^Expenses'"),
        "returned": -bean_query_sum(
            conn, f"{link} AND {advance} AND entry_meta('kind') = 'grant-close'"
        ),
        "outstanding": bean_query_sum(conn, f"{link} AND {advance}"),
    }


def _figure(page: str, css: str) -> Decimal:
    match = re.search(rf'<div class="[^"]*\b{css}\b[^"]*">.*?<dd>(.*?)</dd>', page, re.S)
    assert match, css
    found = _AMOUNT.findall(match.group(1))
    assert len(found) == 1, (css, match.group(1))
    return _yuan(*found[0])


def test_every_amount_on_a_grant_page_equals_bean_query(grant_site: Flask, client: FlaskClient):
    page = get_ok(client, f"/grants/{GRANT}")
    figures = _ledger_figures(grant_site, GRANT)
    assert figures == {
        "awarded": Decimal("5000.00"),
        "disbursed": Decimal("4800.00"),
        "reported": Decimal("4567.80"),
        "returned": Decimal("232.20"),
        "outstanding": ZERO,
    }
    for key, value in figures.items():
        assert _figure(page, f"g-{key}") == value, key
    # Each ledger step on the page is an entry of the grant, with bean-query's amount.
    steps = re.findall(r'<tr class="step-(grant-[a-z]+)">.*?<td class="num">(.*?)</td>', page, re.S)
    assert [k for k, _ in steps] == [
        "grant-award",
        "grant-disbursement",
        "grant-disbursement",
        "grant-expense",
        "grant-close",
    ]
    amounts = [_yuan(*_AMOUNT.findall(cell)[0]) for _, cell in steps]
    conn = connect(main_file(grant_site))
    for entry_id, shown in zip(("pay-1", "pay-2", "report-1"), amounts[1:4], strict=True):
        account = (
            "account ~ '^Expenses'"
            if entry_id.startswith("report")
            else ("account = 'Assets:1141-预付账款'")
        )
        assert shown == bean_query_sum(conn, f"'{entry_id}' IN links AND {account}")
    assert amounts[0] == figures["awarded"]
    assert amounts[4] == figures["returned"]
    # Budget: lines from the application; reports were not recorded per line, so totals only.
    budget = page[page.index('id="grant-budget"') :]
    budget = budget[: budget.index("</table>")]
    assert "4,567.80" in budget
    assert "5,000.00" in budget
    assert '<th class="num">实际</th>' not in budget
    assert "支出报告没有逐项对应预算科目" in page
    # The close-out: leftover property, evaluation, cost per beneficiary.
    assert "剩余砖石 6 块交社区仓库保管" in page
    assert "93%" in page
    assert "42" in page
    assert "达成" in page
    assert "¥108.76" in page  # 4567.80 / 42
    # The decision and its posting window, the objection and its answer.
    posted = today() - dt.timedelta(days=60)
    assert str(posted) in page
    assert str(posted + dt.timedelta(days=7)) in page
    assert "花台会不会占用消防通道？" in page
    assert "花台在原位置重建，不占通道。" in page


def test_a_running_grant_shows_what_is_still_held(grant_site: Flask, client: FlaskClient):
    page = get_ok(client, f"/grants/{OTHER}")
    figures = _ledger_figures(grant_site, OTHER)
    assert figures["outstanding"] == Decimal("1500.00")
    for key, value in figures.items():
        assert _figure(page, f"g-{key}") == value, key
    assert "结项与成效" not in page


def test_nothing_personal_and_no_inline_style_or_script(grant_site: Flask, client: FlaskClient):
    pages = [
        get_ok(client, path)
        for path in (
            "/grants",
            "/grants/calls/2026-spring",
            "/grants/calls/2026-autumn",
            f"/grants/{GRANT}",
            f"/grants/{OTHER}",
            f"/grants/{PENDING}",
        )
    ]
    for page in pages:
        assert_csp_clean(page)
        for name, phone in CONTACTS:
            assert name not in page
            assert phone not in page
        assert OBJECTOR not in page
        assert "admin" not in page.replace("/admin", "")
        assert "approver" not in page
        assert "会议纪要" not in page


def test_calls_list_funded_projects_and_rejected_ones_only_as_not_funded(
    grant_site: Flask, client: FlaskClient
):
    index = get_ok(client, "/grants")
    assert "2026 年春季院落微更新" in index
    assert "2026 年秋季微创投" in index
    assert f"/grants/{GRANT}" in index
    assert f"/grants/{OTHER}" in index
    assert "¥12,000.00" in index
    assert "¥5,000.00" in index
    assert "楼顶花园" not in index
    call = get_ok(client, "/grants/calls/2026-spring")
    assert "楼顶花园" in call
    assert "7号院楼栋长小组" in call
    assert "未获资助" in call
    assert f"/grants/{REJECTED}" not in call
    assert "尚未决定的项目" not in call
    for stage in ("提议", "商议", "审议", "决议"):
        assert stage in call
    assert client.get(f"/grants/{REJECTED}").status_code == 404
    assert client.get(f"/grants/{UNDECIDED}").status_code == 404
    assert client.get("/grants/nope").status_code == 404
    assert client.get("/grants/calls/nope").status_code == 404
    pending = get_ok(client, f"/grants/{PENDING}")
    assert "资助决定正在公示" in pending


def test_only_published_photos_are_served_with_their_type(grant_site: Flask, client: FlaskClient):
    page = get_ok(client, f"/grants/{GRANT}")
    urls = re.findall(r'<img src="([^"]+)"', page)
    assert len(urls) == 1
    response = client.get(urls[0])
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data == PNG
    with grant_site.app_context():
        private = db.session.query(Attachment).filter_by(public=False).one()
        public = db.session.query(Attachment).filter_by(public=True).one()
    assert client.get(f"/grants/{GRANT}/files/{private.id}").status_code == 404
    assert f"/files/{private.id}" not in page
    # A public photo is served only under its own grant, and only for a public grant.
    assert client.get(f"/grants/{OTHER}/files/{public.id}").status_code == 404
    assert client.get(f"/grants/{REJECTED}/files/{public.id}").status_code == 404
    with grant_site.app_context():
        db.session.get(Attachment, public.id).public = False
        db.session.commit()
    assert client.get(urls[0]).status_code == 404


def test_english_labels(grant_site: Flask, client: FlaskClient):
    page = get_ok(client, f"/grants/{GRANT}?lang=en")
    for label in ("Awarded", "Disbursed", "Reported spent", "Returned", "Budget and actual"):
        assert label in page, label
    assert "资助金额" not in page
    index = get_ok(client, "/grants?lang=en")
    assert "Micro-grants" in index
    assert "Open calls" in index
    call = get_ok(client, "/grants/calls/2026-spring?lang=en")
    assert "Not funded" in call
    assert "Proposal" in call


@pytest.mark.parametrize("reader", ["auditor", "admin", "approver"])
def test_the_grant_register_pdf_for_auditors_equals_bean_query(
    grant_site: Flask, signed_in: Callable[..., Any], reader: str
):
    response = signed_in(reader).client.get("/audit/grants.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    pages = PdfReader(io.BytesIO(response.data)).pages
    text = "".join(page.extract_text().replace("\n", "") for page in pages)
    for grant in (GRANT, OTHER):
        assert grant in text
        for value in _ledger_figures(grant_site, grant).values():
            assert format_cny(value) in text
    assert REJECTED not in text
    assert UNDECIDED not in text
    assert "¥8,000.00" in text  # awarded in total
    assert "第 1 页 / 共 1 页" in text
    for name, phone in CONTACTS:
        assert name not in text
        assert phone not in text


def test_the_grant_register_is_not_public(grant_site: Flask, client: FlaskClient):
    response = client.get("/audit/grants.pdf")
    assert response.status_code in (302, 401, 403)
