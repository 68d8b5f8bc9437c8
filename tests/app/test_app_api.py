"""The JSON API: its OpenAPI contract, bearer tokens, roles, idempotent writes, errors that name
the field, maker-checker approval and figures that equal bean-query."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from app_testkit import (
    bean_query_figures,
    counts,
    donation_body,
    donors,
    ledger_entry,
    ledger_text,
    snapshot,
)
from flask import Flask
from flask.testing import FlaskClient

from ledger_app.forms_common import today

OPERATIONS = {"recordDonation", "requestExpense", "approveRequest", "listFunds", "getEntry"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def expense_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "date": today().isoformat(),
        "amount": "120.00",
        "fund": "general",
        "payee": "社区志愿者服务队",
        "purpose": "重阳节活动物资",
    }
    body.update(overrides)
    return body


def assert_error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"]
    assert error["message"]
    if field is not None:
        assert error.get("field") == field, error
    return error


# -- the contract -----------------------------------------------------------------------------------


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_the_openapi_document_is_openapi_3_with_the_documented_operations(
    app: Flask, client: FlaskClient
) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    doc = response.get_json()
    assert re.fullmatch(r"3\.[01]\.\d+", doc["openapi"])
    assert doc["info"]["title"]
    assert doc["info"]["version"]
    assert isinstance(doc["paths"], dict)
    assert doc["paths"]
    operation_ids = []
    for path, item in doc["paths"].items():
        assert path.startswith("/")
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            assert operation["responses"], (path, method)
            for code in operation["responses"]:
                assert code == "default" or re.fullmatch(r"[1-5]\d\d", code), (path, code)
            operation_ids.append(operation["operationId"])
            for name in re.findall(r"\{([^}]+)\}", path):
                params = [
                    p["name"]
                    for p in operation.get("parameters", []) + item.get("parameters", [])
                    if p.get("in") == "path"
                ]
                assert name in params, (path, name)
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"
    assert set(operation_ids) >= OPERATIONS
    schemas = doc.get("components", {}).get("schemas", {})
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, f"unresolved {ref}"
    bearer = doc["components"]["securitySchemes"]
    assert any(s.get("type") == "http" and s.get("scheme") == "bearer" for s in bearer.values())


# -- tokens and roles ---------------------------------------------------------------------------------


def test_a_missing_or_invalid_token_is_refused_with_401(app: Flask, api: Callable) -> None:
    rows = counts(app)
    assert_error(api("GET", "/funds", user=None), 401)
    assert_error(api("GET", "/funds", user=None, headers={"Authorization": "Bearer cfl_nope"}), 401)
    assert_error(
        api("GET", "/funds", user=None, headers={"Authorization": "Basic YWRtaW46eA=="}), 401
    )
    files = snapshot(app)
    assert_error(api("POST", "/donations", user=None, json=donation_body()), 401)
    assert snapshot(app) == files
    assert counts(app) == rows


def test_the_auditors_token_may_read_but_not_record_a_donation(app: Flask, api: Callable) -> None:
    assert api("GET", "/funds", user="auditor").status_code == 200
    files, rows = snapshot(app), counts(app)
    assert_error(api("POST", "/donations", user="auditor", json=donation_body()), 403)
    assert_error(api("POST", "/expense-requests", user="auditor", json=expense_body()), 403)
    assert snapshot(app) == files
    assert counts(app) == rows


# -- recording donations ------------------------------------------------------------------------------


def test_a_donation_with_an_idempotency_key_sent_twice_makes_one_entry(
    app: Flask, api: Callable
) -> None:
    key = "wechat-4200001234202611220001"
    first = api("POST", "/donations", json=donation_body(), headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.get_json()
    files, rows = snapshot(app), counts(app)
    second = api("POST", "/donations", json=donation_body(), headers={"Idempotency-Key": key})
    assert second.status_code == 200, second.get_json()
    a, b = first.get_json(), second.get_json()
    assert a["id"] == b["id"] == key
    assert a["created"] is True
    assert b["created"] is False
    assert a["head_hash"] == b["head_hash"]
    assert snapshot(app) == files
    assert counts(app) == rows
    assert ledger_text(app).count(f'id: "{key}"') == 1


def test_the_same_idempotency_key_with_another_amount_is_a_conflict(
    app: Flask, api: Callable
) -> None:
    key = "retry-with-other-body"
    assert (
        api(
            "POST", "/donations", json=donation_body(), headers={"Idempotency-Key": key}
        ).status_code
        == 201
    )
    files, rows = snapshot(app), counts(app)
    response = api(
        "POST", "/donations", json=donation_body(amount="300.00"), headers={"Idempotency-Key": key}
    )
    assert_error(response, 409, "id")
    assert snapshot(app) == files
    assert counts(app) == rows


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (donation_body(amount=200), "amount"),
        (donation_body(amount=200.5), "amount"),
        (donation_body(amount="NaN"), "amount"),
        (donation_body(amount="1E+3"), "amount"),
        (donation_body(amount="-5"), "amount"),
        (donation_body(amount="1.234"), "amount"),
        (donation_body(date="2026-02-30"), "date"),
        (donation_body(date=(today() + dt.timedelta(days=1)).isoformat()), "date"),
        (donation_body(fund="nosuchfund"), "fund"),
        (donation_body(channel="paypal"), "channel"),
        (donation_body(note="备注\u202e"), "note"),
        (donation_body(donor={"name": "吴\n建国"}), "donor.name"),
        (donation_body(donor={"name": "吴建国", "phone": "call me"}), "donor.phone"),
        (donation_body(donor="吴建国"), "donor"),
        (donation_body(id="bad id with spaces"), "id"),
    ],
    ids=[
        "int",
        "float",
        "nan",
        "exponent",
        "negative",
        "three-decimals",
        "bad-date",
        "future",
        "unknown-fund",
        "unknown-channel",
        "bidi-note",
        "newline-name",
        "bad-phone",
        "donor-string",
        "bad-id",
    ],
)
def test_a_bad_donation_is_refused_with_the_field_named_and_nothing_changes(
    app: Flask, api: Callable, body: dict[str, Any], field: str
) -> None:
    files, rows, people = snapshot(app), counts(app), donors(app)
    assert_error(api("POST", "/donations", json=body), 422, field)
    assert snapshot(app) == files
    assert counts(app) == rows
    assert donors(app) == people


def test_a_body_that_is_not_a_json_object_is_refused(app: Flask, api: Callable) -> None:
    files, rows = snapshot(app), counts(app)
    assert_error(api("POST", "/donations", data="amount=200", content_type="text/plain"), 400)
    assert_error(api("POST", "/donations", json=["not", "an", "object"]), 400)
    assert snapshot(app) == files
    assert counts(app) == rows


def test_a_body_over_the_size_limit_gets_a_json_413(app: Flask, api: Callable) -> None:
    files, rows = snapshot(app), counts(app)
    huge = donation_body(note="x" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    assert_error(api("POST", "/donations", json=huge), 413)
    assert snapshot(app) == files
    assert counts(app) == rows


# -- expenses: maker and checker ------------------------------------------------------------------------


def test_an_expense_request_approved_by_its_maker_is_refused_and_by_another_is_written(
    funded: Flask, api: Callable
) -> None:
    response = api("POST", "/expense-requests", json=expense_body())
    assert response.status_code == 202, response.get_json()
    request = response.get_json()
    assert request["status"] == "pending"
    assert request["entered_by"] == "admin"
    request_id = request["id"]
    assert ledger_entry(funded, request_id) is None

    files, rows = snapshot(funded), counts(funded)
    assert_error(api("POST", f"/requests/{request_id}/approve"), 422, "approved_by")
    assert snapshot(funded) == files
    assert counts(funded) == rows

    approved = api("POST", f"/requests/{request_id}/approve", user="approver")
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert body["status"] == "approved"
    assert body["decided_by"] == "approver"
    assert body["entry_id"] == request_id
    assert re.fullmatch(r"[0-9a-f]{64}", body["head_hash"])
    entry = ledger_entry(funded, request_id)
    assert entry is not None
    assert entry.meta["approved-by"] == "approver"
    assert entry.meta["entered-by"] == "admin"


def test_an_expense_request_above_a_restricted_funds_balance_names_the_fund(
    funded: Flask, api: Callable
) -> None:
    files, rows = snapshot(funded), counts(funded)
    error = assert_error(
        api("POST", "/expense-requests", json=expense_body(fund="zhulaocan", amount="999.00")),
        422,
        "amount",
    )
    assert "助老餐" in error["message"]
    assert snapshot(funded) == files
    assert counts(funded) == rows


def test_an_expense_request_with_a_number_amount_is_refused(funded: Flask, api: Callable) -> None:
    rows = counts(funded)
    assert_error(api("POST", "/expense-requests", json=expense_body(amount=120)), 422, "amount")
    assert counts(funded) == rows


def test_approving_an_unknown_request_is_refused(app: Flask, api: Callable) -> None:
    assert_error(api("POST", "/requests/no-such-request/approve", user="approver"), 422, "request")


# -- reading --------------------------------------------------------------------------------------------


def test_get_entry_returns_the_postings_and_metadata(app: Flask, api: Callable) -> None:
    written = api("POST", "/donations", json=donation_body(amount="1,234.50")).get_json()
    response = api("GET", f"/entries/{written['id']}", user="auditor")
    assert response.status_code == 200
    entry = response.get_json()
    assert entry["id"] == written["id"]
    assert entry["date"] == today().isoformat()
    postings = {p["account"]: Decimal(p["amount"]) for p in entry["postings"]}
    assert postings == {
        "Assets:1009-其他货币资金:微信支付": Decimal("1234.50"),
        "Income:4101-捐赠收入:限定性": Decimal("-1234.50"),
    }
    assert all(p["currency"] == "CNY" for p in entry["postings"])
    assert {"fund": "zhulaocan"}.items() <= entry["postings"][1].items()
    assert entry["meta"]["kind"] == "donation"
    assert entry["head_hash"] == written["head_hash"]
    assert_error(api("GET", "/entries/no-such-entry"), 404, "id")


def test_list_funds_figures_equal_bean_query(populated: Flask, api: Callable) -> None:
    response = api("GET", "/funds", user="auditor")
    assert response.status_code == 200
    funds = {f["slug"]: f for f in response.get_json()}
    computed = bean_query_figures(populated)
    assert set(funds) == set(computed)
    for slug, figures in computed.items():
        assert Decimal(funds[slug]["income"]) == figures["income"], slug
        assert Decimal(funds[slug]["spent"]) == figures["spent"], slug
        assert Decimal(funds[slug]["balance"]) == figures["balance"], slug
        assert isinstance(funds[slug]["balance"], str)  # decimal strings, never floats
        assert funds[slug]["name"]


def test_an_unknown_api_path_answers_json_not_html(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"]["code"] == "404"
