"""资金划转 through the pages: asked for by one administrator, written once another approves;
bad input is refused on its field and changes neither the files nor the database."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from app_testkit import counts, field_errors, ledger_dir, snapshot
from beanquery_helpers import bean_query_sum
from flask import Flask
from sqlalchemy import select

from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import OutflowRequest


def transfer(**overrides: str) -> dict[str, str]:
    form = {
        "from_channel": "wechat",
        "to_channel": "bank",
        "amount": "100.00",
        "date": today().isoformat(),
        "note": "提现",
    }
    form.update(overrides)
    return form


def test_a_transfer_waits_for_a_second_person_then_moves_the_money(
    funded: Flask, signed_in: Callable
) -> None:
    admin = signed_in("admin")
    wechat = bean_query_sum(ledger_dir(funded) / "main.beancount", "account ~ '微信支付'")
    response = admin.post("/admin/transfers/new", transfer())
    assert response.status_code == 302
    assert bean_query_sum(ledger_dir(funded) / "main.beancount", "account ~ '微信支付'") == wechat
    page = admin.client.get("/admin/approvals").get_data(as_text=True)
    assert "资金划转：微信支付 → 银行转账" in page
    assert "须由他人审批" in page
    with funded.app_context():
        request_id = db.session.scalars(
            select(OutflowRequest.id).where(OutflowRequest.kind == "transfer")
        ).one()
    approver = signed_in("approver")
    done = approver.post(f"/admin/approvals/{request_id}/approve", {}, form_page="/admin/approvals")
    assert done.status_code in (302, 303)
    main = ledger_dir(funded) / "main.beancount"
    assert bean_query_sum(main, "account ~ '微信支付'") == wechat - Decimal("100.00")
    assert bean_query_sum(main, "account ~ '银行存款'") >= Decimal("100.00")


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"to_channel": "wechat"}, "to_channel", "同一个账户"),
        ({"amount": "999999.00"}, "amount", "余额只有"),
        ({"amount": "1.234"}, "amount", ""),
        ({"from_channel": "paypal"}, "from_channel", ""),
    ],
)
def test_a_bad_transfer_is_refused_on_its_field_and_changes_nothing(
    funded: Flask, signed_in: Callable, changes: dict[str, str], field: str, words: str
) -> None:
    admin = signed_in("admin")
    files, rows = snapshot(funded), counts(funded)
    response = admin.post("/admin/transfers/new", transfer(**changes))
    assert response.status_code == 400
    errors = field_errors(response.get_data(as_text=True), field)
    assert errors, f"no error on {field}"
    assert words in " ".join(errors)
    assert snapshot(funded) == files
    assert counts(funded) == rows


def test_an_auditor_cannot_ask_for_a_transfer(funded: Flask, signed_in: Callable) -> None:
    auditor = signed_in("auditor")
    rows = counts(funded)
    assert auditor.client.get("/admin/transfers/new").status_code == 403
    assert counts(funded) == rows
