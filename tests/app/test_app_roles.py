"""Each role does only what it is for (DESIGN.md §6.5): sign-in required, auditors write nothing,
approvers record no money, and whoever entered an outflow cannot approve it."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from app_testkit import (
    bean_check,
    counts,
    flashes,
    ledger_entry,
    ledger_text,
    pending_requests,
    request_row,
    snapshot,
    spend,
)
from flask import Flask
from flask.testing import FlaskClient

from ledger_app.forms_common import today


def donation_form(**overrides: str) -> dict[str, str]:
    form = {
        "donor_name": "钱多多",
        "donor_kind": "person",
        "donor_phone": "13300133000",
        "display": "masked",
        "amount": "200.00",
        "channel": "wechat",
        "fund": "general",
        "date": today().isoformat(),
        "note": "",
    }
    form.update(overrides)
    return form


def expense_form(**overrides: str) -> dict[str, str]:
    form = {
        "fund": "general",
        "amount": "150.00",
        "payee": "社区志愿者服务队",
        "purpose": "邻里节活动物资",
        "line": "programme",
        "paid_from": "bank",
        "date": today().isoformat(),
    }
    form.update(overrides)
    return form


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/donations/new",
        "/admin/approvals",
        "/audit/",
        "/audit/ledger.zip",
        "/audit/statement.pdf",
    ],
)
def test_anonymous_visitors_are_sent_to_sign_in(app: Flask, client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_the_auditor_may_not_open_the_donation_form(app: Flask, signed_in: Callable) -> None:
    auditor = signed_in("auditor")
    assert auditor.client.get("/admin/donations/new").status_code == 403
    assert auditor.client.get("/admin/expenses/new").status_code == 403
    assert auditor.client.get("/admin/").status_code == 403
    assert auditor.client.get("/audit/").status_code == 200


def test_the_auditor_is_refused_on_every_post_endpoint_and_nothing_is_written(
    funded: Flask, signed_in: Callable
) -> None:
    spend(funded, "100.00", approver=None)  # a pending request the auditor will try to decide
    [request_id] = pending_requests(funded)
    auditor = signed_in("auditor")
    files, rows = snapshot(funded), counts(funded)
    posts = {
        "/admin/donations/new": donation_form(),
        "/admin/expenses/new": expense_form(),
        "/admin/reversals/new": {
            "original_id": "anything",
            "reason": "x",
            "date": today().isoformat(),
        },
        f"/admin/approvals/{request_id}/approve": {},
        f"/admin/approvals/{request_id}/reject": {"note": "不同意"},
    }
    for path, data in posts.items():
        # A valid CSRF token (from the auditor's own page), so the refusal is the role's.
        response = auditor.post(path, data, form_page="/audit/")
        assert response.status_code == 403, path
    assert snapshot(funded) == files
    assert counts(funded) == rows
    assert request_row(funded, request_id)["status"] == "pending"


def test_the_approver_cannot_record_donations(funded: Flask, signed_in: Callable) -> None:
    approver = signed_in("approver")
    files, rows = snapshot(funded), counts(funded)
    assert approver.client.get("/admin/donations/new").status_code == 403
    response = approver.post("/admin/donations/new", donation_form(), form_page="/admin/")
    assert response.status_code == 403
    response = approver.post("/admin/expenses/new", expense_form(), form_page="/admin/")
    assert response.status_code == 403
    assert snapshot(funded) == files
    assert counts(funded) == rows


def test_an_admin_records_a_donation_through_the_form(app: Flask, signed_in: Callable) -> None:
    admin = signed_in("admin")
    response = admin.post("/admin/donations/new", donation_form(amount="1,200.50"))
    assert response.status_code == 302
    assert "1200.50 CNY" in ledger_text(app)
    assert counts(app)["donors"] == 1


def test_the_maker_cannot_approve_their_own_expense_request(
    funded: Flask, signed_in: Callable
) -> None:
    admin = signed_in("admin")
    response = admin.post("/admin/expenses/new", expense_form())
    assert response.status_code == 302
    [request_id] = pending_requests(funded)
    files = snapshot(funded)

    response = admin.post(
        f"/admin/approvals/{request_id}/approve", {}, form_page="/admin/approvals"
    )
    assert response.status_code == 303
    page = admin.client.get(response.headers["Location"]).get_data(as_text=True)
    assert any("录入人不能审批自己录入的申请" in m for m in flashes(page)), flashes(page)

    assert snapshot(funded) == files
    assert request_id not in ledger_text(funded)
    row = request_row(funded, request_id)
    assert row["status"] == "pending"
    assert row["decided_by"] is None
    assert row["entry_id"] is None


def test_the_maker_cannot_reject_their_own_request_either(
    funded: Flask, signed_in: Callable
) -> None:
    request_id = spend(funded, "100.00", approver=None)
    admin = signed_in("admin")
    response = admin.post(
        f"/admin/approvals/{request_id}/reject", {"note": "撤回"}, form_page="/admin/approvals"
    )
    assert response.status_code == 303
    assert request_row(funded, request_id)["status"] == "pending"


@pytest.mark.parametrize("checker", ["admin2", "approver"])
def test_another_admin_or_the_approver_approves_and_the_entry_carries_approved_by(
    funded: Flask, signed_in: Callable, checker: str
) -> None:
    maker = signed_in("admin")
    assert maker.post("/admin/expenses/new", expense_form(amount="150.00")).status_code == 302
    [request_id] = pending_requests(funded)
    assert request_id not in ledger_text(funded)

    other = signed_in(checker)
    page = other.client.get("/admin/approvals").get_data(as_text=True)
    assert f"/admin/approvals/{request_id}/approve" in page
    response = other.post(
        f"/admin/approvals/{request_id}/approve", {}, form_page="/admin/approvals"
    )
    assert response.status_code == 303

    row = request_row(funded, request_id)
    assert row["status"] == "approved"
    assert row["decided_by"] == checker
    assert row["entry_id"] == request_id
    entry = ledger_entry(funded, request_id)
    assert entry is not None
    assert entry.meta["entered-by"] == "admin"
    assert entry.meta["approved-by"] == checker
    assert sorted(p.units.number for p in entry.postings) == [Decimal("-150.00"), Decimal("150.00")]
    assert bean_check(funded).returncode == 0


def test_an_approver_rejects_a_request_and_nothing_is_written(
    funded: Flask, signed_in: Callable
) -> None:
    request_id = spend(funded, "100.00", approver=None)
    files = snapshot(funded)
    approver = signed_in("approver")
    response = approver.post(
        f"/admin/approvals/{request_id}/reject", {"note": "票据不全"}, form_page="/admin/approvals"
    )
    assert response.status_code == 303
    assert request_row(funded, request_id)["status"] == "rejected"
    assert snapshot(funded) == files
