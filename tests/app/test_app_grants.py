"""微创投 micro-grants through the web pages and the API: one grant's whole life checked against
bean-query, and every refusal leaving the ledger files and the database as they were."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from app_testkit import (
    bean_check,
    bean_query_figures,
    counts,
    flashes,
    main_file,
    snapshot,
    spend,
)
from beanquery_helpers import bean_query_sum, connect
from flask import Flask
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from ledger import grants as ledger_grants
from ledger_app import grants_workflow as gw
from ledger_app import workflow
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import (
    Attachment,
    Deliberation,
    GrantApplication,
    GrantCall,
    GrantReview,
    Objection,
    OutflowRequest,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
CRITERIA = [
    {"name": "社区需求", "weight": 40},
    {"name": "可行性", "weight": 30},
    {"name": "预算合理", "weight": 30},
]
GRANT_TABLES = {
    "grant_calls": GrantCall,
    "grant_applications": GrantApplication,
    "grant_reviews": GrantReview,
    "grant_deliberations": Deliberation,
    "grant_objections": Objection,
    "attachments": Attachment,
}


def days(n: int) -> dt.date:
    return today() + dt.timedelta(days=n)


def all_counts(app: Flask) -> dict[str, int]:
    rows = counts(app)
    with app.app_context():
        for name, model in GRANT_TABLES.items():
            rows[name] = db.session.scalar(select(func.count()).select_from(model)) or 0
    return rows


def stored_files(app: Flask) -> list[str]:
    folder = Path(app.instance_path) / "attachments"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


class Unchanged:
    """Ledger files, table counts and stored attachments before a refusal, to compare after."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.files = snapshot(app)
        self.rows = all_counts(app)
        self.attachments = stored_files(app)

    def check(self) -> None:
        assert snapshot(self.app) == self.files
        assert all_counts(self.app) == self.rows
        assert stored_files(self.app) == self.attachments


def page_text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


# -- seeding through grants_workflow (the same functions the pages call) --------------------------


def make_call(
    app: Flask,
    *,
    budget: str = "3000.00",
    ceiling: str = "2000.00",
    fund: str = "general",
    opens: int = -20,
    closes: int = 10,
) -> str:
    with app.app_context():
        call = gw.create_call(
            get_book(),
            gw.CallInput(
                title="美丽楼道微创投",
                fund=fund,
                budget=budget,
                ceiling=ceiling,
                opens_on=days(opens),
                closes_on=days(closes),
                criteria=CRITERIA,
            ),
            "admin",
            today=today(),
        )
        return call.id


def make_decided(
    app: Flask,
    call_id: str,
    *,
    requested: str = "1200.00",
    amount: str | None = None,
    published: int | None = -10,
) -> str:
    """An eligible application, a 决议 meeting, and an approving decision posted ``published`` days."""
    with app.app_context():
        application = gw.submit_application(
            get_book(),
            gw.ApplicationInput(
                call_id=call_id,
                group_name="七号院居民小组",
                contact_name="周阿姨",
                title="七号院花园",
                budget_lines=[
                    {"item": "花苗", "quantity": "40", "unit_price": str(Decimal(requested) / 40)}
                ],
            ),
            "admin",
        )
        gw.set_eligibility(application.id, True, "", "admin")
        if not gw.deliberations_of(call_id):
            gw.record_deliberation(
                gw.DeliberationInput(call_id, "决议", days(-11), 9, 7, 8, 0, 1, minutes="表决通过"),
                "admin",
            )
        gw.record_decision(
            application.id,
            True,
            amount or requested,
            "",
            "admin",
            published_on=days(published) if published is not None else None,
        )
        return application.id


def approve(app: Flask, request_id: str, approver: str = "approver") -> None:
    with app.app_context():
        workflow.approve_request(get_book(), request_id, approver)


def award(app: Flask, app_id: str) -> None:
    with app.app_context():
        request_id = gw.request_award(get_book(), app_id, today(), "admin").id
    approve(app, request_id)


def tranche(app: Flask, app_id: str, amount: str) -> str:
    with app.app_context():
        request_id = gw.request_disbursement(get_book(), app_id, today(), amount, "admin").id
    approve(app, request_id)
    return request_id


def report(app: Flask, app_id: str, amount: str) -> None:
    with app.app_context():
        req = gw.request_expense_report(
            get_book(),
            app_id,
            today(),
            "购买花苗",
            "admin",
            amount=amount,
            receipts=[gw.Upload("receipt.pdf", PDF)],
        ).id
    approve(app, req)


def totals(app: Flask, app_id: str) -> ledger_grants.GrantTotals:
    with app.app_context():
        found = ledger_grants.grant_totals(get_book(), app_id)
        assert found is not None
        return found


def error_of(response: Any) -> str:
    body = response.get_json()
    assert "error" in body, body
    return str(body["error"]["message"])


# -- the whole life ---------------------------------------------------------------------------------


def grant_figures_by_bean_query(app: Flask, app_id: str) -> dict[str, Decimal]:
    conn = connect(main_file(app))
    link = f"'grant-{app_id}' IN links"

    def kind_sum(kind: str, account: str) -> Decimal:
        return bean_query_sum(conn, f"{link} AND entry_meta('kind') = '{kind}' AND {account}")

    return {
        "awarded": -kind_sum("grant-award", "account ~ ':已承诺资助$'"),
        "disbursed": kind_sum("grant-disbursement", "account = 'Assets:1141-预付账款'"),
        "spent": bean_query_sum(conn, f"{link} AND account ~ '^Expenses:'"),
        "returned": -kind_sum("grant-close", "account = 'Assets:1141-预付账款'"),
        "advance": bean_query_sum(conn, f"{link} AND account = 'Assets:1141-预付账款'"),
        "committed": -bean_query_sum(conn, "account ~ ':已承诺资助$' AND meta('fund') = 'general'"),
    }


def test_one_grant_lives_from_call_to_close_out_with_tranches_and_a_partial_return(
    funded: Flask,
    signed_in: Callable[..., Any],
    visitor: Callable[..., Any],
    api: Callable[..., Any],
) -> None:
    app = funded
    admin = signed_in("admin")
    approver = signed_in("approver")

    # The call, on the web form.
    form = {
        "title": "七号院微创投",
        "purpose": "居民自己动手改善院落",
        "fund": "general",
        "budget": "3000.00",
        "ceiling": "2000.00",
        "opens_on": days(-20).isoformat(),
        "closes_on": days(10).isoformat(),
    }
    for i, c in enumerate(CRITERIA):
        form[f"criteria-{i}-name"] = c["name"]
        form[f"criteria-{i}-weight"] = str(c["weight"])
    response = admin.post("/admin/grants/calls/new", form)
    assert response.status_code == 302, page_text(response)
    with app.app_context():
        call_id = db.session.scalars(select(GrantCall.id)).one()

    # A resident group applies on the public form, with a PDF.
    resident = visitor()
    token = resident.token(f"/grants/apply/{call_id}")
    data: dict[str, Any] = {
        "csrf_token": token,
        "group_name": "七号院居民小组",
        "contact_name": "周阿姨",
        "contact_phone": "13800000007",
        "title": "七号院花园",
        "description": "把闲置角落改成花园",
        "beneficiaries": "七号院 120 户",
        "budget_lines-0-item": "花苗",
        "budget_lines-0-quantity": "20",
        "budget_lines-0-unit_price": "25.50",
        "budget_lines-1-item": "工具",
        "budget_lines-1-quantity": "3",
        "budget_lines-1-unit_price": "100",
        "budget_lines-2-item": "营养土",
        "budget_lines-2-quantity": "10",
        "budget_lines-2-unit_price": "39.00",
        "cofunding-0-source": "街角花店",
        "cofunding-0-kind": "in-kind",
        "cofunding-0-amount": "200.00",
        "attachments": (io.BytesIO(PDF), "方案.pdf"),
    }
    response = resident.client.post(f"/grants/apply/{call_id}", data=data)
    assert response.status_code == 200, page_text(response)
    assert "申请已提交" in page_text(response)
    with app.app_context():
        application = db.session.scalars(select(GrantApplication)).one()
        app_id = application.id
        assert application.requested == "1200.00"
        assert [line["total"] for line in application.budget_lines] == [
            "510.00",
            "300.00",
            "390.00",
        ]
        assert application.submitted_via == "public"
        att = db.session.scalars(select(Attachment)).one()
        assert att.original_name == "方案.pdf"
        assert att.stored_name.endswith(".pdf")
        assert "方案" not in att.stored_name
    assert (Path(app.instance_path) / "attachments" / att.stored_name).read_bytes() == PDF

    # Eligibility, two reviewers, the four stages, the decision posted 10 days ago, an objection.
    detail = f"/admin/grants/applications/{app_id}"
    token = admin.token(f"/admin/grants/calls/{call_id}")
    post = admin.client.post
    assert (
        post(
            f"{detail}/eligibility", data={"el-csrf_token": token, "el-eligible": "yes"}
        ).status_code
        == 303
    )
    scores = {"score-0": "8", "score-1": "7", "score-2": "9", "rv-csrf_token": token}
    assert post(f"{detail}/review", data=scores).status_code == 303
    other = {
        "score-0": "6",
        "score-1": "9",
        "score-2": "7",
        "rv-csrf_token": approver.token("/admin/approvals"),
    }
    assert approver.client.post(f"{detail}/review", data=other).status_code == 303
    page = page_text(admin.client.get(detail))
    # (8×40 + 7×30 + 9×30)/10 = 80.0 and (6×40 + 9×30 + 7×30)/10 = 72.0 → 76.0
    assert '<strong class="score">76.0</strong>' in page
    for stage, held in (("提议", -16), ("商议", -14), ("审议", -12), ("决议", -11)):
        meeting = {
            "stage": stage,
            "held_on": days(held).isoformat(),
            "attendees": "9",
            "quorum": "7",
            "votes_for": "8",
            "votes_against": "0",
            "abstentions": "1",
            "minutes": f"{stage}：七号院花园",
            "supervisor_opinion": "程序合规",
        }
        response = admin.post(
            f"/admin/grants/calls/{call_id}/deliberations",
            meeting,
            form_page=f"/admin/grants/calls/{call_id}",
        )
        assert response.status_code == 303, page_text(response)
    response = api(
        "POST",
        f"/grant-applications/{app_id}/decision",
        json={"decision": "approved", "amount": "1200.00", "published_on": days(-10).isoformat()},
    )
    assert response.status_code == 200, response.get_json()
    objection = {
        "ob-csrf_token": token,
        "ob-raised_on": days(-8).isoformat(),
        "ob-content": "花园会不会招蚊子？",
    }
    assert post(f"{detail}/objections", data=objection).status_code == 303
    response = api(
        "POST", f"/grant-applications/{app_id}/award", json={"date": today().isoformat()}
    )
    assert response.status_code == 422
    assert "异议尚未答复" in error_of(response)
    with app.app_context():
        objection_id = db.session.scalars(select(Objection.id)).one()
    answer = {
        "an-csrf_token": token,
        "an-answered_on": days(-7).isoformat(),
        "an-answer": "选用驱蚊植物，定期清理积水",
    }
    assert post(f"/admin/grants/objections/{objection_id}/answer", data=answer).status_code == 303

    # The award: requested through the API, approved on the approvals page by someone else.
    response = api(
        "POST", f"/grant-applications/{app_id}/award", json={"date": today().isoformat()}
    )
    assert response.status_code == 202, response.get_json()
    award_id = response.get_json()["id"]
    assert response.get_json()["kind"] == "grant-award"
    response = approver.post(
        f"/admin/approvals/{award_id}/approve", {}, form_page="/admin/approvals"
    )
    assert response.status_code == 303
    figures = grant_figures_by_bean_query(app, app_id)
    assert figures["awarded"] == Decimal("1200.00")
    assert figures["committed"] == Decimal("1200.00")
    # The fund's balance is unchanged by a commitment; its uncommitted balance falls.
    assert bean_query_figures(app)["general"]["balance"] == Decimal("5000.00")
    with app.app_context():
        assert ledger_grants.uncommitted_balance(get_book(), "general") == Decimal("3800.00")

    # Three tranches; the last one only after the mid-term review passed.
    def ask(amount: str) -> Any:
        return api(
            "POST",
            f"/grant-applications/{app_id}/disbursements",
            json={"date": today().isoformat(), "amount": amount},
        )

    first = ask("500.00")
    assert first.status_code == 202
    assert (
        api("POST", f"/requests/{first.get_json()['id']}/approve", user="admin2").status_code == 200
    )
    second = ask("300.00")
    assert second.status_code == 202
    response = approver.post(
        f"/admin/approvals/{second.get_json()['id']}/approve", {}, form_page="/admin/approvals"
    )
    assert response.status_code == 303
    held = ask("400.00")
    assert held.status_code == 422
    assert "中期评估通过" in error_of(held)
    midterm = {"mt-csrf_token": token, "mt-result": "yes", "mt-note": "花园已建成一半，进度正常"}
    assert post(f"{detail}/midterm", data=midterm).status_code == 303
    final = ask("400.00")
    assert final.status_code == 202
    assert (
        api("POST", f"/requests/{final.get_json()['id']}/approve", user="approver").status_code
        == 200
    )
    assert grant_figures_by_bean_query(app, app_id)["disbursed"] == Decimal("1200.00")
    assert totals(app, app_id).tranches == 3

    # Two expense reports with receipts: one on the web by budget line, one through the API.
    expense = {
        "ex-csrf_token": token,
        "ex-date": today().isoformat(),
        "ex-summary": "花苗和工具",
        "line-0": "500.00",
        "line-1": "280.00",
        "ex-receipts": [(io.BytesIO(JPEG), "发票1.jpg"), (io.BytesIO(PDF), "发票2.pdf")],
    }
    response = post(f"{detail}/expense-reports", data=expense)
    assert response.status_code == 303, page_text(response)
    with app.app_context():
        pending = db.session.scalars(
            select(OutflowRequest).where(OutflowRequest.kind == "grant-expense")
        ).one()
        assert pending.amount == "780.00"
        assert pending.payload["receipts"] == 2
    approve(app, pending.id, "approver")
    receipt = base64.b64encode(PNG).decode()
    response = api(
        "POST",
        f"/grant-applications/{app_id}/expense-reports",
        json={
            "date": today().isoformat(),
            "summary": "营养土",
            "lines": [{"line": 2, "amount": "300.00"}],
            "receipts": [{"filename": "土.png", "content_base64": receipt}],
        },
    )
    assert response.status_code == 202, response.get_json()
    assert (
        api("POST", f"/requests/{response.get_json()['id']}/approve", user="admin2").status_code
        == 200
    )
    figures = grant_figures_by_bean_query(app, app_id)
    assert figures["spent"] == Decimal("1080.00")
    assert figures["committed"] == Decimal("120.00")
    assert figures["advance"] == Decimal("120.00")

    # Close-out: the 120 not spent comes back; the evaluation is recorded.
    response = api(
        "POST",
        f"/grant-applications/{app_id}/close",
        json={
            "date": today().isoformat(),
            "returned": "120.00",
            "leftover": "工具 3 件交社区居委会保管，供其他院落借用",
            "evaluation": {
                "goals_met": "yes",
                "beneficiaries_served": 130,
                "satisfaction": 92,
                "note": "居民满意",
            },
        },
    )
    assert response.status_code == 202, response.get_json()
    assert (
        api("POST", f"/requests/{response.get_json()['id']}/approve", user="admin").status_code
        == 422
    )
    assert (
        api("POST", f"/requests/{response.get_json()['id']}/approve", user="approver").status_code
        == 200
    )

    # Every figure, from the files by bean-query, against the app's own.
    figures = grant_figures_by_bean_query(app, app_id)
    assert figures == {
        "awarded": Decimal("1200.00"),
        "disbursed": Decimal("1200.00"),
        "spent": Decimal("1080.00"),
        "returned": Decimal("120.00"),
        "advance": Decimal("0.00"),
        "committed": Decimal("0.00"),
    }
    found = totals(app, app_id)
    assert (found.awarded, found.disbursed, found.reported, found.returned, found.outstanding) == (
        Decimal("1200.00"),
        Decimal("1200.00"),
        Decimal("1080.00"),
        Decimal("120.00"),
        Decimal("0.00"),
    )
    assert found.closed
    fund = bean_query_figures(app)["general"]
    assert fund["balance"] == Decimal("3920.00")
    with app.app_context():
        book = get_book()
        assert book.fund_balance("general") == fund["balance"]
        assert book.committed("general") == figures["committed"]
        view = gw.grant_view(book, db.session.get(GrantApplication, app_id))
        assert [line.actual for line in view.budget_lines] == [
            Decimal("500.00"),
            Decimal("280.00"),
            Decimal("300.00"),
        ]
        assert view.actual_total == figures["spent"]
        assert view.evaluation is not None
        assert view.evaluation.satisfaction == 92
        assert view.decision is not None
        assert view.decision.effective_on == days(-3)
        assert view.objections[0].answered
        summary = gw.call_summary(book, db.session.get(GrantCall, call_id))
        assert summary["awarded"] == figures["awarded"]
        assert summary["returned"] == figures["returned"]
    body = api("GET", f"/grant-applications/{app_id}").get_json()
    assert {
        k: Decimal(body[k])
        for k in ("awarded", "disbursed", "spent", "returned", "outstanding", "committed")
    } == {
        "awarded": figures["awarded"],
        "disbursed": figures["disbursed"],
        "spent": figures["spent"],
        "returned": figures["returned"],
        "outstanding": Decimal("0.00"),
        "committed": figures["committed"],
    }
    assert body["status"] == "closed"
    register = page_text(admin.client.get("/admin/grants/register"))
    row = re.search(rf'<tr id="grant-{app_id}">(.*?)</tr>', register, re.S)
    assert row is not None
    shown = [Decimal(a.replace(",", "")) for a in re.findall(r"¥([0-9,]+\.[0-9]{2})", row.group(1))]
    assert shown == [
        Decimal("1200.00"),
        Decimal("1200.00"),
        Decimal("1080.00"),
        Decimal("120.00"),
        Decimal("0.00"),
    ]
    # Every entry carries the grant, its link and who approved it; the files pass bean-check.
    with app.app_context():
        entries = get_book().grant_entries(app_id)
    assert [e.meta["kind"] for e in entries] == [
        "grant-award",
        *["grant-disbursement"] * 3,
        *["grant-expense"] * 2,
        "grant-close",
    ]
    for entry in entries:
        assert entry.meta["grant"] == app_id
        assert f"grant-{app_id}" in entry.links
        assert entry.meta["approved-by"]
        assert entry.meta["approved-by"] != entry.meta["entered-by"]
    assert bean_check(app).returncode == 0
    # The public page of the grant shows the same figures, from the same ledger.
    public = visitor().client.get(f"/grants/{app_id}").get_data(as_text=True)
    for css, key in (
        ("g-awarded", "awarded"),
        ("g-disbursed", "disbursed"),
        ("g-reported", "spent"),
        ("g-returned", "returned"),
    ):
        cell = re.search(rf'<div class="[^"]*\b{css}\b[^"]*">.*?<dd>(.*?)</dd>', public, re.S)
        assert cell is not None, css
        amount = re.search(r"¥([0-9,]+\.[0-9]{2})", cell.group(1))
        assert amount is not None, css
        assert Decimal(amount.group(1).replace(",", "")) == figures[key], css


# -- refusals: a clear message, nothing written ------------------------------------------------------


def test_an_award_above_the_calls_ceiling_is_refused(
    funded: Flask, api: Callable[..., Any]
) -> None:
    app_id = make_decided(funded, make_call(funded))
    before = Unchanged(funded)
    response = api(
        "POST",
        f"/grant-applications/{app_id}/award",
        json={"date": today().isoformat(), "amount": "2500.00"},
    )
    assert response.status_code == 422
    assert "单个项目上限 ¥2,000.00" in error_of(response)
    before.check()


def test_a_decision_above_the_calls_ceiling_is_refused(
    funded: Flask, api: Callable[..., Any]
) -> None:
    app_id = make_decided(funded, make_call(funded), published=None)
    response = api(
        "POST",
        f"/grant-applications/{app_id}/decision",
        json={"decision": "approved", "amount": "2100.00"},
    )
    assert response.status_code == 422
    assert "单个项目上限" in error_of(response)


def test_an_award_above_the_funds_uncommitted_balance_is_refused_when_approved_and_when_asked(
    funded: Flask, api: Callable[..., Any]
) -> None:
    app_id = make_decided(funded, make_call(funded), requested="2000.00")
    asked = api("POST", f"/grant-applications/{app_id}/award", json={"date": today().isoformat()})
    assert asked.status_code == 202
    # Asked while the money was there, approved after most of it was spent: the ledger says no.
    spend(funded, "3500.00", fund="general", payee="社区食堂", purpose="助餐")
    before = Unchanged(funded)
    refused = api("POST", f"/requests/{asked.get_json()['id']}/approve", user="approver")
    assert refused.status_code == 422
    assert "社区微基金（非限定）」可承诺余额 ¥1,500.00" in error_of(refused)
    before.check()
    with funded.app_context():
        workflow.reject_request(asked.get_json()["id"], "approver", "余额不足")
    before = Unchanged(funded)
    response = api(
        "POST", f"/grant-applications/{app_id}/award", json={"date": today().isoformat()}
    )
    assert response.status_code == 422
    assert "社区微基金（非限定）」可承诺余额 ¥1,500.00，不足以资助 ¥2,000.00" in error_of(response)
    before.check()


def test_a_disbursement_above_what_remains_of_the_award_is_refused(
    funded: Flask, api: Callable[..., Any]
) -> None:
    app_id = make_decided(funded, make_call(funded))
    award(funded, app_id)
    tranche(funded, app_id, "500.00")
    before = Unchanged(funded)
    response = api(
        "POST",
        f"/grant-applications/{app_id}/disbursements",
        json={"date": today().isoformat(), "amount": "800.00"},
    )
    assert response.status_code == 422
    assert "超过资助尚未拨付的 ¥700.00" in error_of(response)
    before.check()


def test_an_award_or_disbursement_before_the_decision_was_posted_7_days_is_refused(
    funded: Flask, api: Callable[..., Any]
) -> None:
    app_id = make_decided(funded, make_call(funded), published=-3)
    before = Unchanged(funded)
    response = api(
        "POST", f"/grant-applications/{app_id}/award", json={"date": today().isoformat()}
    )
    assert response.status_code == 422
    assert "决定公示未满7天" in error_of(response)
    response = api(
        "POST",
        f"/grant-applications/{app_id}/disbursements",
        json={"date": today().isoformat(), "amount": "100.00"},
    )
    assert response.status_code == 422
    assert "决定公示未满7天" in error_of(response)
    before.check()


def test_a_disbursement_cannot_be_approved_by_the_person_who_requested_it(
    funded: Flask, signed_in: Callable[..., Any], api: Callable[..., Any]
) -> None:
    app_id = make_decided(funded, make_call(funded))
    award(funded, app_id)
    response = api(
        "POST",
        f"/grant-applications/{app_id}/disbursements",
        json={"date": today().isoformat(), "amount": "100.00"},
    )
    request_id = response.get_json()["id"]
    admin = signed_in("admin")
    before = Unchanged(funded)
    page = admin.post(f"/admin/approvals/{request_id}/approve", {}, form_page="/admin/approvals")
    assert page.status_code == 303
    assert any(
        "录入人不能审批自己录入的申请" in m
        for m in flashes(page_text(admin.client.get("/admin/approvals")))
    )
    refused = api("POST", f"/requests/{request_id}/approve", user="admin")
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "same_person"
    before.check()


def test_the_final_tranche_waits_for_a_passed_midterm_review(
    funded: Flask, api: Callable[..., Any]
) -> None:
    app_id = make_decided(funded, make_call(funded))
    award(funded, app_id)
    tranche(funded, app_id, "700.00")
    before = Unchanged(funded)
    response = api(
        "POST",
        f"/grant-applications/{app_id}/disbursements",
        json={"date": today().isoformat(), "amount": "500.00"},
    )
    assert response.status_code == 422
    assert "中期评估通过后" in error_of(response)
    before.check()


def test_no_tranche_is_paid_after_a_failed_midterm_review(
    funded: Flask, signed_in: Callable[..., Any], api: Callable[..., Any]
) -> None:
    app_id = make_decided(funded, make_call(funded))
    award(funded, app_id)
    tranche(funded, app_id, "500.00")
    # A tranche already asked for is stopped at approval too.
    asked = api(
        "POST",
        f"/grant-applications/{app_id}/disbursements",
        json={"date": today().isoformat(), "amount": "100.00"},
    )
    assert asked.status_code == 202
    approver = signed_in("approver")
    detail = f"/admin/grants/applications/{app_id}"
    data = {
        "mt-csrf_token": approver.token("/admin/approvals"),
        "mt-result": "no",
        "mt-note": "未按计划开展",
    }
    assert approver.client.post(f"{detail}/midterm", data=data).status_code == 303
    before = Unchanged(funded)
    response = api(
        "POST",
        f"/grant-applications/{app_id}/disbursements",
        json={"date": today().isoformat(), "amount": "100.00"},
    )
    assert response.status_code == 422
    assert "中期评估未通过" in error_of(response)
    refused = api("POST", f"/requests/{asked.get_json()['id']}/approve", user="approver")
    assert refused.status_code == 422
    assert "中期评估未通过" in error_of(refused)
    before.check()


def test_an_expense_report_larger_than_what_was_disbursed_is_refused(
    funded: Flask, api: Callable[..., Any]
) -> None:
    app_id = make_decided(funded, make_call(funded))
    award(funded, app_id)
    tranche(funded, app_id, "500.00")
    before = Unchanged(funded)
    response = api(
        "POST",
        f"/grant-applications/{app_id}/expense-reports",
        json={
            "date": today().isoformat(),
            "summary": "花苗",
            "amount": "600.00",
            "receipts": [{"filename": "r.pdf", "content_base64": base64.b64encode(PDF).decode()}],
        },
    )
    assert response.status_code == 422
    assert "超过已拨付未报告的 ¥500.00" in error_of(response)
    before.check()


def test_a_close_out_that_leaves_money_unaccounted_for_is_refused(
    funded: Flask, api: Callable[..., Any]
) -> None:
    app_id = make_decided(funded, make_call(funded))
    award(funded, app_id)
    tranche(funded, app_id, "500.00")
    report(funded, app_id, "300.00")
    before = Unchanged(funded)
    response = api(
        "POST",
        f"/grant-applications/{app_id}/close",
        json={
            "date": today().isoformat(),
            "returned": "100.00",
            "leftover": "无",
            "evaluation": {"goals_met": "partly", "beneficiaries_served": 40, "satisfaction": 70},
        },
    )
    assert response.status_code == 422
    message = error_of(response)
    assert "应退回 ¥200.00" in message
    assert "money left unaccounted for" in message
    before.check()


def public_form(call_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "group_name": "三号楼志愿者",
        "contact_name": "李叔",
        "title": "楼道修缮日",
        "budget_lines-0-item": "油漆",
        "budget_lines-0-quantity": "5",
        "budget_lines-0-unit_price": "80",
        **extra,
    }


def public_post(visitor: Callable[..., Any], call_id: str, **extra: Any) -> Any:
    resident = visitor()
    token = resident.token("/auth/login")  # the same session token as the form's
    return resident.client.post(
        f"/grants/apply/{call_id}", data={"csrf_token": token, **public_form(call_id, **extra)}
    )


def test_an_oversized_attachment_is_refused(funded: Flask, visitor: Callable[..., Any]) -> None:
    call_id = make_call(funded)
    before = Unchanged(funded)
    big = PDF + b"0" * (5 * 1024 * 1024)
    resident = visitor()
    values = {
        "csrf_token": resident.token("/auth/login"),
        **public_form(call_id),
        "attachments": FileStorage(io.BytesIO(big), "方案.pdf", content_type="application/pdf"),
    }
    # Encoded in memory: the test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart(values)
    response = resident.client.post(
        f"/grants/apply/{call_id}",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 400
    assert "超过 5 MB 上限" in page_text(response)
    before.check()


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64, "方案.pdf"),
        (b"<html><script>alert(1)</script></html>", "photo.png"),
    ],
)
def test_a_disguised_attachment_is_refused(
    funded: Flask, visitor: Callable[..., Any], content: bytes, name: str
) -> None:
    call_id = make_call(funded)
    before = Unchanged(funded)
    response = public_post(visitor, call_id, attachments=(io.BytesIO(content), name))
    assert response.status_code == 400
    assert f"文件「{name}」的内容与扩展名不符" in page_text(response)
    before.check()


def test_an_attachment_of_another_type_is_refused(funded: Flask, api: Callable[..., Any]) -> None:
    call_id = make_call(funded)
    response = api(
        "POST",
        f"/grant-calls/{call_id}/applications",
        json={
            "group_name": "三号楼",
            "contact_name": "李叔",
            "title": "楼道",
            "budget_lines": [{"item": "油漆", "quantity": "5", "unit_price": "80"}],
            "attachments": [
                {"filename": "run.exe", "content_base64": base64.b64encode(b"MZ").decode()}
            ],
        },
    )
    assert response.status_code == 422
    assert "只接受 PDF、JPEG、PNG" in error_of(response)


def test_a_call_whose_budget_is_above_the_funds_uncommitted_balance_is_refused(
    funded: Flask, signed_in: Callable[..., Any]
) -> None:
    make_call(funded, budget="3000.00")
    admin = signed_in("admin")
    before = Unchanged(funded)
    form = {
        "title": "第二期",
        "fund": "general",
        "budget": "2500.00",
        "ceiling": "1000.00",
        "opens_on": today().isoformat(),
        "closes_on": days(30).isoformat(),
        "criteria-0-name": "需求",
        "criteria-0-weight": "100",
    }
    response = admin.post("/admin/grants/calls/new", form)
    assert response.status_code == 400
    text = page_text(response)
    assert (
        "基金「社区微基金（非限定）」可承诺余额 ¥5,000.00，其他进行中的征集已预留 ¥3,000.00，最多还能安排 ¥2,000.00"
        in text
    )
    before.check()


def test_call_criteria_weights_must_add_up_to_100(funded: Flask, api: Callable[..., Any]) -> None:
    body = {
        "title": "第二期",
        "fund": "general",
        "budget": "500.00",
        "ceiling": "500.00",
        "opens_on": today().isoformat(),
        "closes_on": days(30).isoformat(),
        "criteria": [{"name": "需求", "weight": 60}, {"name": "可行", "weight": 30}],
    }
    response = api("POST", "/grant-calls", json=body)
    assert response.status_code == 422
    assert "合计须为 100，现为 90" in error_of(response)
    body["criteria"][1]["weight"] = 40
    assert api("POST", "/grant-calls", json=body).status_code == 201


def test_a_resolution_without_quorum_is_refused(
    funded: Flask, signed_in: Callable[..., Any]
) -> None:
    call_id = make_call(funded)
    admin = signed_in("admin")
    before = Unchanged(funded)
    meeting = {
        "stage": "决议",
        "held_on": today().isoformat(),
        "attendees": "5",
        "quorum": "7",
        "votes_for": "5",
        "minutes": "表决",
    }
    response = admin.post(
        f"/admin/grants/calls/{call_id}/deliberations",
        meeting,
        form_page=f"/admin/grants/calls/{call_id}",
    )
    assert response.status_code == 400
    assert "决议须达到法定人数：出席 5 人，法定人数 7 人" in page_text(response)
    meeting.update(attendees="9", votes_for="8", votes_against="2")
    response = admin.post(
        f"/admin/grants/calls/{call_id}/deliberations",
        meeting,
        form_page=f"/admin/grants/calls/{call_id}",
    )
    assert response.status_code == 400
    assert "超过出席人数 9" in page_text(response)
    before.check()


def test_a_public_application_is_refused_when_the_call_is_closed(
    funded: Flask, visitor: Callable[..., Any]
) -> None:
    call_id = make_call(funded, opens=-30, closes=-1)
    before = Unchanged(funded)
    response = public_post(visitor, call_id)
    assert response.status_code == 400
    assert "现在不接受申请" in page_text(response)
    before.check()


def test_a_public_application_with_the_honeypot_filled_is_refused(
    funded: Flask, visitor: Callable[..., Any]
) -> None:
    call_id = make_call(funded)
    before = Unchanged(funded)
    response = public_post(visitor, call_id, website="http://spam.example")
    assert response.status_code == 400
    assert "提交未被接受" in page_text(response)
    before.check()


def test_a_public_application_without_csrf_token_is_refused(
    funded: Flask, visitor: Callable[..., Any]
) -> None:
    call_id = make_call(funded)
    before = Unchanged(funded)
    response = visitor().client.post(f"/grants/apply/{call_id}", data=public_form(call_id))
    assert response.status_code == 400
    before.check()


def test_one_address_may_send_five_public_applications_an_hour(
    funded: Flask, visitor: Callable[..., Any]
) -> None:
    call_id = make_call(funded)
    for _ in range(5):
        assert public_post(visitor, call_id).status_code == 200
    before = Unchanged(funded)
    response = public_post(visitor, call_id)
    assert response.status_code == 429
    assert "一小时内最多提交 5 份申请" in page_text(response)
    before.check()


def test_a_public_application_above_the_ceiling_is_refused_on_the_requested_field(
    funded: Flask, visitor: Callable[..., Any]
) -> None:
    call_id = make_call(funded, ceiling="300.00", budget="3000.00")
    response = public_post(visitor, call_id)
    assert response.status_code == 400
    assert "超过本次征集的单个项目上限 ¥300.00" in page_text(response)


def test_the_register_alerts_on_a_tranche_with_no_report_after_60_days(funded: Flask) -> None:
    app_id = make_decided(funded, make_call(funded))
    award(funded, app_id)
    with funded.app_context():
        request_id = gw.request_disbursement(get_book(), app_id, days(-61), "500.00", "admin").id
    approve(funded, request_id)
    with funded.app_context():
        views = gw.register(get_book())
    assert [v.id for v in views] == [app_id]
    assert any("尚无支出报告" in alert for alert in views[0].alerts)


def test_the_grant_pages_are_for_staff_only(
    funded: Flask, signed_in: Callable[..., Any], visitor: Callable[..., Any]
) -> None:
    call_id = make_call(funded)
    assert signed_in("auditor").client.get("/admin/grants/").status_code == 403
    assert visitor().client.get("/admin/grants/register").status_code in (302, 401, 403)
    assert signed_in("approver").client.get("/admin/grants/calls/new").status_code == 403
    approver = signed_in("approver")
    assert approver.client.get("/admin/grants/register").status_code == 200
    assert approver.client.get("/admin/grants/").status_code == 200
    app_id = make_decided(funded, call_id)
    assert approver.client.get(f"/admin/grants/applications/{app_id}").status_code == 200
    assert approver.client.get(f"/admin/grants/calls/{call_id}").status_code == 200
    admin = signed_in("admin")
    assert admin.client.get("/admin/grants/calls/new").status_code == 200
    assert "微创投" in page_text(admin.client.get("/admin/"))


def test_the_openapi_document_lists_the_grant_operations(api: Callable[..., Any]) -> None:
    doc = api("GET", "/openapi.json", user=None).get_json()
    operations = {op["operationId"] for item in doc["paths"].values() for op in item.values()}
    assert operations >= {
        "createGrantCall",
        "submitApplication",
        "recordDecision",
        "awardGrant",
        "requestDisbursement",
        "submitExpenseReport",
        "closeGrant",
    }


def test_awards_may_not_add_up_to_more_than_the_calls_budget(
    funded: Flask, api: Callable[..., Any]
) -> None:
    call_id = make_call(funded, budget="1500.00", ceiling="1000.00")
    first = make_decided(funded, call_id, requested="1000.00")
    second = make_decided(funded, call_id, requested="1000.00")
    award(funded, first)
    before = Unchanged(funded)
    response = api(
        "POST", f"/grant-applications/{second}/award", json={"date": today().isoformat()}
    )
    assert response.status_code == 422
    assert "剩余预算 ¥500.00" in error_of(response)
    before.check()


def test_a_funds_committed_amount_shows_publicly_and_in_list_funds_as_bean_query(
    funded: Flask, api: Callable[..., Any]
) -> None:

    with funded.app_context():
        book = get_book()
        ledger_grants.award_grant(
            book,
            ledger_grants.AwardCommand(
                id="aw-c",
                grant="2026-C1",
                date=today(),
                amount="700.00",
                fund="general",
                grantee="楼道小组",
                project="楼道灯",
                entered_by="admin",
                approved_by="approver",
            ),
        )
    committed = -bean_query_sum(
        main_file(funded), "account ~ ':已承诺资助$' AND meta('fund') = 'general'"
    )
    assert committed == Decimal("700.00")
    listed = {f["slug"]: f for f in api("GET", "/funds").get_json()}
    assert Decimal(listed["general"]["committed"]) == committed
    page = funded.test_client().get("/").get_data(as_text=True)
    card = page[page.index("其中已承诺微创投资助") :][:200]
    assert "¥700.00" in card
