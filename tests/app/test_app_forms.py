"""Bad input on the admin forms gets an error on the field at fault and changes nothing
(DESIGN.md §6.4): not the ledger files, not the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from app_testkit import counts, donors, field_errors, snapshot
from flask import Flask

from ledger_app.forms_common import today


def donation(**overrides: str) -> dict[str, str]:
    form = {
        "donor_name": "周小芳",
        "donor_kind": "person",
        "donor_phone": "13100131000",
        "display": "masked",
        "amount": "100.00",
        "channel": "wechat",
        "fund": "general",
        "date": today().isoformat(),
        "note": "",
    }
    form.update(overrides)
    return form


def expense(**overrides: str) -> dict[str, str]:
    form = {
        "fund": "general",
        "amount": "100.00",
        "payee": "社区志愿者服务队",
        "purpose": "活动物资",
        "line": "programme",
        "paid_from": "bank",
        "date": today().isoformat(),
    }
    form.update(overrides)
    return form


@pytest.fixture
def admin(funded: Flask, signed_in: Callable):
    return signed_in("admin")


@pytest.mark.parametrize(
    "amount",
    ["NaN", "1E+3", "１００", "1.234", "-5", "0", "Infinity", "", "1,00", "0.001", "100000000"],
)
def test_a_bad_amount_is_refused_on_the_amount_field_and_changes_nothing(
    funded: Flask, admin, amount: str
) -> None:
    files, rows = snapshot(funded), counts(funded)
    response = admin.post("/admin/donations/new", donation(amount=amount))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    errors = field_errors(page, "amount")
    assert errors, f"no error shown on the amount field for {amount!r}"
    assert 'aria-invalid="true"' in page
    assert snapshot(funded) == files
    assert counts(funded) == rows


def test_a_good_amount_in_the_same_form_is_written(funded: Flask, admin) -> None:
    before = counts(funded)["donors"]
    response = admin.post("/admin/donations/new", donation(amount="100"))
    assert response.status_code == 302
    assert counts(funded)["donors"] == before + 1


def test_a_donation_dated_tomorrow_is_refused_on_the_date_field(funded: Flask, admin) -> None:
    files, rows = snapshot(funded), counts(funded)
    tomorrow = today() + dt.timedelta(days=1)
    response = admin.post("/admin/donations/new", donation(date=tomorrow.isoformat()))
    assert response.status_code == 400
    errors = field_errors(response.get_data(as_text=True), "date")
    assert any("晚于今天" in e for e in errors), errors
    assert snapshot(funded) == files
    assert counts(funded) == rows


def test_an_expense_dated_in_the_future_is_refused(funded: Flask, admin) -> None:
    files, rows = snapshot(funded), counts(funded)
    response = admin.post(
        "/admin/expenses/new", expense(date=(today() + dt.timedelta(days=3)).isoformat())
    )
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "date")
    assert snapshot(funded) == files
    assert counts(funded) == rows


@pytest.mark.parametrize(
    "payee",
    [
        "社区\n志愿者",
        '社区\r\n2026-01-01 * "x" "y"',
        "abc\u202egpj.exe",
        "志愿者\u2066队\u2069",
        "服务队\u2028",
        "队\x00",
    ],
    ids=["newline", "crlf-injection", "rlo", "isolate", "line-separator", "nul"],
)
def test_hostile_payee_text_is_refused_on_the_payee_field(funded: Flask, admin, payee: str) -> None:
    files, rows = snapshot(funded), counts(funded)
    response = admin.post("/admin/expenses/new", expense(payee=payee))
    assert response.status_code == 400
    errors = field_errors(response.get_data(as_text=True), "payee")
    assert errors, f"no error on the payee field for {payee!r}"
    assert snapshot(funded) == files
    assert counts(funded) == rows


@pytest.mark.parametrize("field", ["donor_name", "note"])
def test_hostile_donation_text_is_refused_and_no_donor_is_kept(
    funded: Flask, admin, field: str
) -> None:
    files, rows, people = snapshot(funded), counts(funded), donors(funded)
    response = admin.post(
        "/admin/donations/new", donation(**{field: "周小芳\u202e\n2026-01-01 open"})
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_errors(page, field), page[-2000:]
    assert snapshot(funded) == files
    assert counts(funded) == rows
    assert donors(funded) == people


def test_a_bad_phone_number_is_refused_on_the_phone_field(funded: Flask, admin) -> None:
    files, rows = snapshot(funded), counts(funded)
    response = admin.post("/admin/donations/new", donation(donor_phone="138-0013-８０００"))
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "donor_phone")
    assert snapshot(funded) == files
    assert counts(funded) == rows


def test_an_unknown_fund_or_channel_is_refused(funded: Flask, admin) -> None:
    files, rows = snapshot(funded), counts(funded)
    response = admin.post("/admin/donations/new", donation(fund="nosuchfund"))
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "fund")
    response = admin.post("/admin/donations/new", donation(channel="paypal"))
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "channel")
    assert snapshot(funded) == files
    assert counts(funded) == rows


def test_an_expense_above_a_restricted_funds_balance_is_refused_when_requested(
    funded: Flask, admin
) -> None:
    files, rows = snapshot(funded), counts(funded)
    # 助老餐 holds ¥800.00 (see the funded fixture).
    response = admin.post("/admin/expenses/new", expense(fund="zhulaocan", amount="800.01"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    errors = field_errors(page, "amount")
    assert any("助老餐" in e and "¥800.00" in e for e in errors), errors
    assert snapshot(funded) == files
    assert counts(funded) == rows


def test_an_expense_of_exactly_the_balance_is_accepted_as_a_request(funded: Flask, admin) -> None:
    files, rows = snapshot(funded), counts(funded)
    response = admin.post("/admin/expenses/new", expense(fund="zhulaocan", amount="800.00"))
    assert response.status_code == 302
    assert counts(funded)["outflow_requests"] == rows["outflow_requests"] + 1
    assert snapshot(funded) == files  # a request is not money yet


def test_a_reversal_of_an_unknown_entry_is_refused_on_its_field(funded: Flask, admin) -> None:
    files, rows = snapshot(funded), counts(funded)
    response = admin.post(
        "/admin/reversals/new",
        {"original_id": "don-20200101-deadbeef", "reason": "录错了", "date": today().isoformat()},
    )
    assert response.status_code == 400
    assert any(
        "没有编号为" in e for e in field_errors(response.get_data(as_text=True), "original_id")
    )
    assert snapshot(funded) == files
    assert counts(funded) == rows
