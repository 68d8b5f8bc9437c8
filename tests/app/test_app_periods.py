"""Month-end reconciliation and the close through the app: pages, approvals, API, locks, reopening."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from typing import Any

import pytest
from app_testkit import (
    bean_check,
    counts,
    donation_body,
    field_errors,
    flashes,
    give,
    ledger_text,
    request_row,
    snapshot,
    spend,
)
from flask import Flask
from sqlalchemy import select

from ledger_app import periods_workflow, workflow
from ledger_app.books import get_book
from ledger_app.demo_periods import close_demo_months
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import AuditLog

BANK = "Assets:1002-银行存款"
WECHAT = "Assets:1009-其他货币资金:微信支付"
Signed = Callable[..., Any]

#: Last month: over, so it may be closed.
MONTH = periods_workflow.last_month(today())
FIRST = dt.date.fromisoformat(f"{MONTH}-01")
IN_MONTH = FIRST + dt.timedelta(days=4)


@pytest.fixture
def month(app: Flask) -> Flask:
    """Last month: ¥500 by bank and ¥80 by WeChat Pay in, ¥120 paid from the bank."""
    give(app, "500.00", channel="bank", day=FIRST + dt.timedelta(days=2), entry_id="m-bank")
    give(app, "80.00", channel="wechat", day=FIRST + dt.timedelta(days=8), entry_id="m-wx")
    spend(app, "120.00", day=FIRST + dt.timedelta(days=19))
    return app


def statements(bank: str = "380.00", wechat: str = "80.00") -> dict[str, str]:
    return {"month": MONTH, "bal_bank": bank, "bal_wechat": wechat, "action": "close"}


def close(app: Flask, bank: str = "380.00") -> None:
    with app.app_context():
        book = get_book()
        req = periods_workflow.request_close(book, MONTH, {BANK: bank, WECHAT: "80.00"}, "admin")
        workflow.approve_request(book, req.id, "approver")


def actions(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        return [
            (a.action, a.actor) for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))
        ]


def test_a_matching_statement_closes_once_another_person_approves(
    month: Flask, signed_in: Signed
) -> None:
    admin = signed_in("admin")
    page = admin.client.get(f"/admin/periods/reconcile?month={MONTH}").get_data(as_text=True)
    assert "¥380.00" in page
    assert "¥80.00" in page
    response = admin.post(
        "/admin/periods/reconcile", statements(), form_page="/admin/periods/reconcile"
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    rid = f"close-{MONTH}"
    assert request_row(month, rid)["status"] == "pending"
    approvals = admin.client.get("/admin/approvals").get_data(as_text=True)
    assert rid in approvals
    assert "须由他人审批" in approvals

    before = snapshot(month)
    refused = admin.post(f"/admin/approvals/{rid}/approve", {}, form_page="/admin/approvals")
    assert refused.status_code == 303
    assert any(
        "录入人不能审批" in f
        for f in flashes(admin.client.get("/admin/approvals").get_data(as_text=True))
    )
    assert snapshot(month) == before

    approver = signed_in("approver")
    done = approver.post(f"/admin/approvals/{rid}/approve", {}, form_page="/admin/approvals")
    assert done.status_code == 303
    row = request_row(month, rid)
    assert row["status"] == "approved"
    assert row["decided_by"] == "approver"
    assert row["entry_id"] == rid
    text = ledger_text(month)
    nxt = (dt.date.fromisoformat(f"{MONTH}-28") + dt.timedelta(days=4)).replace(day=1)
    assert f"{nxt.isoformat()} balance {BANK}  380.00 CNY" in text
    assert f"{nxt.isoformat()} balance {WECHAT}  80.00 CNY" in text
    assert f'custom "period-close" "{MONTH}"' in text
    check = bean_check(month)
    assert check.returncode == 0, check.stdout + check.stderr
    with month.app_context():
        assert MONTH in get_book().closed_months
    assert ("request_close", "admin") in actions(month)
    assert ("close_month", "approver") in actions(month)
    listing = approver.client.get("/admin/periods").get_data(as_text=True)
    assert MONTH in listing
    assert "approver" in listing


def test_a_mismatch_refuses_to_close_naming_the_difference_and_the_entries(
    month: Flask, signed_in: Signed
) -> None:
    admin = signed_in("admin")
    before, rows = snapshot(month), counts(month)
    check = admin.post(
        "/admin/periods/reconcile",
        {**statements(bank="400.00"), "action": "check"},
        form_page="/admin/periods/reconcile",
    )
    page = html.unescape(check.get_data(as_text=True))
    assert check.status_code == 200
    assert "¥20.00" in page
    assert "m-bank" in page
    response = admin.post(
        "/admin/periods/reconcile", statements(bank="400.00"), form_page="/admin/periods/reconcile"
    )
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert "相差 ¥20.00" in page
    assert BANK in page
    assert "m-bank" in page
    assert snapshot(month) == before
    assert counts(month) == rows
    with month.app_context():
        assert MONTH not in get_book().closed_months


def test_after_the_close_every_entry_point_refuses_the_closed_month(
    month: Flask, signed_in: Signed, api: Callable[..., Any]
) -> None:
    close(month)
    before, rows = snapshot(month), counts(month)
    admin = signed_in("admin")
    form = {
        "donor_name": "周小芳",
        "donor_kind": "person",
        "donor_phone": "13100131000",
        "display": "masked",
        "amount": "100.00",
        "channel": "cash",
        "fund": "general",
        "date": IN_MONTH.isoformat(),
        "note": "",
    }
    response = admin.post("/admin/donations/new", form)
    assert response.status_code == 400
    assert any("已结账" in e for e in field_errors(response.get_data(as_text=True), "date"))

    by_api = api("POST", "/donations", json=donation_body(date=IN_MONTH.isoformat()))
    assert by_api.status_code == 422
    assert by_api.get_json()["error"]["code"] == "period_closed"
    assert "已结账" in by_api.get_json()["error"]["message"]

    raw = f"交易日期,收入金额,支出金额,对方户名,流水号\n{IN_MONTH.isoformat()},50.00,,吴静,B9\n"
    imported = api(
        "POST", "/imports?post=true&format=bank", data=raw.encode(), content_type="text/csv"
    )
    assert imported.status_code == 422
    refusal = imported.get_json()
    assert "已结账" in refusal["error"]["message"] + str(refusal["result"])
    assert "第 2 行" in refusal["error"]["message"]
    assert snapshot(month) == before
    after = counts(month)
    assert after.pop("audit_log") == rows.pop("audit_log") + 1  # the refused import is logged
    assert after == rows


def test_reopening_needs_a_reason_is_admin_only_and_is_shown_publicly(
    month: Flask, signed_in: Signed, visitor: Signed
) -> None:
    close(month)
    path = f"/admin/periods/{MONTH}/reopen"
    approver = signed_in("approver")
    assert approver.client.get(path).status_code == 403
    admin = signed_in("admin")
    before, rows = snapshot(month), counts(month)
    empty = admin.post(path, {"reason": "  "})
    assert empty.status_code == 400
    assert field_errors(empty.get_data(as_text=True), "reason")
    assert snapshot(month) == before
    assert counts(month) == rows
    done = admin.post(path, {"reason": "补记一笔遗漏的实物捐赠"})
    assert done.status_code == 303
    with month.app_context():
        assert MONTH not in get_book().closed_months
    assert ("reopen_month", "admin") in actions(month)
    assert f'custom "period-reopen" "{MONTH}"' in ledger_text(month)
    assert bean_check(month).returncode == 0
    notices = visitor().client.get("/notices").get_data(as_text=True)
    assert "补记一笔遗漏的实物捐赠" in notices
    assert MONTH in notices
    listing = admin.client.get("/admin/periods").get_data(as_text=True)
    assert "补记一笔遗漏的实物捐赠" in listing


def test_the_auditor_may_not_reconcile_close_or_reopen(
    month: Flask, signed_in: Signed, api: Callable[..., Any]
) -> None:
    auditor = signed_in("auditor")
    for path in ("/admin/periods", f"/admin/periods/reconcile?month={MONTH}"):
        assert auditor.client.get(path).status_code == 403
    assert auditor.client.get(f"/admin/periods/{MONTH}/reopen").status_code == 403
    body = {"statements": {BANK: "380.00", WECHAT: "80.00"}}
    assert api("POST", f"/periods/{MONTH}/close", user="auditor", json=body).status_code == 403
    reconcile = {"account": BANK, "statement_balance": "380.00"}
    response = api("POST", f"/periods/{MONTH}/reconcile", user="auditor", json=reconcile)
    assert response.status_code == 403


def test_the_api_reconciles_and_requests_the_close_for_another_to_approve(
    month: Flask, api: Callable[..., Any]
) -> None:
    rec = api(
        "POST", f"/periods/{MONTH}/reconcile", json={"account": BANK, "statement_balance": "400"}
    )
    assert rec.status_code == 200
    body = rec.get_json()
    assert body["difference"] == "20.00"
    assert body["agrees"] is False
    assert "m-bank" in [e["id"] for e in body["entries"]]
    wrong = api("POST", f"/periods/{MONTH}/close", json={"statements": {BANK: "400.00"}})
    assert wrong.status_code == 422
    assert wrong.get_json()["error"]["code"] == "mismatch"
    asked = api(
        "POST", f"/periods/{MONTH}/close", json={"statements": {BANK: "380.00", WECHAT: "80.00"}}
    )
    assert asked.status_code == 202, asked.get_json()
    rid = asked.get_json()["id"]
    assert asked.get_json()["kind"] == "month-close"
    same = api("POST", f"/requests/{rid}/approve")
    assert same.status_code == 422
    assert same.get_json()["error"]["code"] == "same_person"
    approved = api("POST", f"/requests/{rid}/approve", user="approver")
    assert approved.status_code == 200
    assert approved.get_json()["entry_id"] == f"close-{MONTH}"
    with month.app_context():
        assert MONTH in get_book().closed_months
    doc = api("GET", "/openapi.json", user=None).get_json()
    ops = {op["operationId"] for item in doc["paths"].values() for op in item.values()}
    assert {"reconcileAccount", "closeMonth"} <= ops


def test_the_demo_closes_every_month_up_to_last_month(month: Flask) -> None:
    days = [FIRST - dt.timedelta(days=40) + dt.timedelta(days=i) for i in range(80)]
    with month.app_context():
        book = get_book()
        summary = close_demo_months(book, [d for d in days if d < today()])
        assert summary.endswith("months closed")
        assert MONTH in book.closed_months
        assert (FIRST - dt.timedelta(days=1)).strftime("%Y-%m") in book.closed_months
    assert bean_check(month).returncode == 0
