"""The auditors' API on the demo year: getStatement (JSON figures equal build_statement and
bean-query; CSV and PDF carry the same figures) and exportLedger (the files, a manifest of their
hashes and the head hash in a header); bearer tokens and errors that name the field."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beanquery_helpers import bean_query_sum
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from ledger import financials
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.models import AuditLog
from reports.table_report import format_amount

PERIODS = ("2026-Q1", "2026-06", "2026")
CASH = "account ~ '^Assets:(1001|1002|1009)'"


@pytest.fixture(scope="module")
def tokens(demo_app: Flask) -> dict[str, str]:
    """An API token per role, made by the CLI as an operator would."""
    made = {}
    for user in ("auditor", "admin", "approver"):
        result = demo_app.test_cli_runner().invoke(args=["token", "create", user])
        assert result.exit_code == 0, result.output
        made[user] = result.output.strip().splitlines()[-1]
    return made


@pytest.fixture
def api(demo_app: Flask) -> FlaskClient:
    client = demo_app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def main_path(app: Flask) -> Path:
    return Path(app.config["LEDGER_DIR"]) / "main.beancount"


def expected(app: Flask, kind: str, period: str) -> financials.Statement:
    with app.app_context():
        return financials.build_statement(get_book(), kind, financials.parse_period(period))


def assert_error(response: Any, status: int, field: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["message"]
    assert error.get("field") == field, error
    return error


# -- the contract ----------------------------------------------------------------------------------


def test_openapi_lists_get_statement_and_export_ledger(api: FlaskClient) -> None:
    doc = api.get("/api/v1/openapi.json").get_json()
    operations = {
        op["operationId"]: (path, method)
        for path, item in doc["paths"].items()
        for method, op in item.items()
    }
    assert operations["getStatement"] == ("/statements/{type}", "get")
    assert operations["exportLedger"] == ("/ledger/export", "get")
    statement = doc["paths"]["/statements/{type}"]["get"]
    content = statement["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv", "application/pdf"}
    assert (
        content["application/json"]["schema"]["$ref"] == "#/components/schemas/FinancialStatement"
    )
    assert "FinancialStatement" in doc["components"]["schemas"]
    (type_param,) = [p for p in statement["parameters"] if p["name"] == "type"]
    assert type_param["schema"]["enum"] == list(financials.KINDS)
    assert "X-Ledger-Head" in doc["paths"]["/ledger/export"]["get"]["responses"]["200"]["headers"]


# -- tokens ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/statements/activities?period=2026", "/api/v1/ledger/export"]
)
def test_no_token_or_a_bad_token_is_401(api: FlaskClient, path: str) -> None:
    assert_error(api.get(path), 401, None)
    assert_error(api.get(path, headers=bearer("cfl_not-a-token")), 401, None)


@pytest.mark.parametrize("role", ["auditor", "admin", "approver"])
def test_every_reader_role_may_read_statements_and_export_the_ledger(
    api: FlaskClient, tokens: dict[str, str], role: str
) -> None:
    headers = bearer(tokens[role])
    assert (
        api.get("/api/v1/statements/cash_flow?period=2026-Q1", headers=headers).status_code == 200
    )
    assert api.get("/api/v1/ledger/export", headers=headers).status_code == 200


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field", "words"),
    [
        ("/api/v1/statements/profit_and_loss?period=2026", "type", "unknown statement type"),
        ("/api/v1/statements/activities?period=2026&format=xlsx", "format", "unknown format"),
        ("/api/v1/statements/activities?period=2026-Q5", "period", "unknown period"),
        ("/api/v1/statements/activities?period=2026-02-30..2026-03-31", "period", "no such day"),
        ("/api/v1/statements/activities?period=2026-03..2026-01", "period", "unknown period"),
        (
            "/api/v1/statements/activities?period=2026-03-31..2026-01-01",
            "period",
            "end before start",
        ),
        ("/api/v1/statements/activities", "period", "unknown period"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    demo_app: Flask, api: FlaskClient, tokens: dict[str, str], path: str, field: str, words: str
) -> None:
    with demo_app.app_context():
        before = db.session.scalars(select(AuditLog.id)).all()
    error = assert_error(api.get(path, headers=bearer(tokens["auditor"])), 422, field)
    assert words in error["message"]
    with demo_app.app_context():
        assert db.session.scalars(select(AuditLog.id)).all() == before


# -- the figures -----------------------------------------------------------------------------------


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("kind", financials.KINDS)
def test_the_json_figures_equal_build_statement(
    demo_app: Flask, api: FlaskClient, tokens: dict[str, str], kind: str, period: str
) -> None:
    response = api.get(
        f"/api/v1/statements/{kind}",
        query_string={"period": period},
        headers=bearer(tokens["auditor"]),
    )
    assert response.status_code == 200
    body = response.get_json()
    want = expected(demo_app, kind, period)
    assert (body["kind"], body["title"], body["form"]) == (kind, want.title, want.form)
    assert body["period"] == {
        "start": want.period.start.isoformat(),
        "end": want.period.end.isoformat(),
        "label": want.period.label,
    }
    assert body["columns"] == list(want.columns)
    assert body["head_hash"] == want.head_hash == response.headers["X-Ledger-Head"]
    assert body["head_seq"] == want.head_seq > 0
    assert body["generated_at"]
    assert [
        (line["key"], line["label"], line["row"], line["kind"], line["values"])
        for line in body["lines"]
    ] == [(s.key, s.label, s.row, s.kind, [str(v) for v in s.values]) for s in want.lines]
    for line in body["lines"]:
        for value in line["values"]:
            assert isinstance(value, str)
            assert Decimal(value) == Decimal(value).quantize(Decimal("0.01"))


def figure(body: dict[str, Any], key: str, column: int) -> Decimal:
    (line,) = [line for line in body["lines"] if line["key"] == key]
    return Decimal(line["values"][column])


@pytest.mark.parametrize("period", PERIODS)
def test_figures_equal_bean_query_on_the_files(
    demo_app: Flask, api: FlaskClient, tokens: dict[str, str], period: str
) -> None:
    span = financials.parse_period(period)
    inside = f"date >= {span.start} AND date <= {span.end}"
    main = main_path(demo_app)

    def get(kind: str) -> dict[str, Any]:
        return api.get(
            f"/api/v1/statements/{kind}",
            query_string={"period": period},
            headers=bearer(tokens["auditor"]),
        ).get_json()

    activities = get("activities")
    donated = -bean_query_sum(main, f"account ~ '^Income:4101' AND {inside}")
    assert figure(activities, "捐赠收入", 2) == donated
    assert donated > 0
    services = -bean_query_sum(main, f"account ~ '^Income:4301' AND {inside}")
    assert figure(activities, "提供服务收入", 2) == services

    balance = get("balance_sheet")
    assert figure(balance, "货币资金", 1) == bean_query_sum(main, f"{CASH} AND date <= {span.end}")
    assert figure(balance, "货币资金", 0) == bean_query_sum(main, f"{CASH} AND date < {span.start}")

    cash_flow = get("cash_flow")
    moved = bean_query_sum(main, f"{CASH} AND {inside}")
    assert figure(cash_flow, "现金及现金等价物净增加额", 0) == moved


def test_the_csv_carries_the_same_figures(
    demo_app: Flask, api: FlaskClient, tokens: dict[str, str]
) -> None:
    response = api.get(
        "/api/v1/statements/activities?period=2026-Q1&format=csv",
        headers=bearer(tokens["approver"]),
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert (
        'filename="activities-2026-01-01_2026-03-31.csv"' in response.headers["Content-Disposition"]
    )
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    want = expected(demo_app, "activities", "2026-Q1")
    assert rows[0] == ["行次", "项目", *want.columns]
    by_label = {r[1]: r[2:] for r in rows[1:]}
    for line in want.lines:
        if line.values:
            assert by_label[line.label] == [f"{v:.2f}" for v in line.values]
    assert response.headers["X-Ledger-Head"] == want.head_hash


def test_the_pdf_carries_the_title_period_figures_and_head_hash(
    demo_app: Flask, api: FlaskClient, tokens: dict[str, str]
) -> None:
    response = api.get(
        "/api/v1/statements/balance_sheet?period=2026-06&format=pdf",
        headers=bearer(tokens["admin"]),
    )
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = "".join(
        page.extract_text().replace("\n", "") for page in PdfReader(io.BytesIO(response.data)).pages
    )
    want = expected(demo_app, "balance_sheet", "2026-06")
    assert "资产负债表" in text
    assert demo_app.config["ORG_NAME"] in text
    assert want.head_hash[:16] in text
    assert format_amount(want.value("货币资金", 1)) in text
    assert format_amount(want.value("资产总计", 1)) in text


def test_a_statement_read_is_in_the_audit_log(
    demo_app: Flask, api: FlaskClient, tokens: dict[str, str]
) -> None:
    api.get("/api/v1/statements/trial_balance?period=2026-03", headers=bearer(tokens["auditor"]))
    with demo_app.app_context():
        row = db.session.scalars(
            select(AuditLog)
            .where(AuditLog.action == "export_statement")
            .order_by(AuditLog.id.desc())
        ).first()
        assert row is not None
        assert row.actor == "auditor"
        assert row.target == "trial_balance 2026-03-01_2026-03-31"
        assert row.detail["via"] == "api"


# -- the ledger ------------------------------------------------------------------------------------


def test_export_ledger_is_the_files_with_a_manifest_and_the_head_in_a_header(
    demo_app: Flask, api: FlaskClient, tokens: dict[str, str]
) -> None:
    response = api.get("/api/v1/ledger/export", headers=bearer(tokens["auditor"]))
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-SHA256"] == hashlib.sha256(response.data).hexdigest()
    with demo_app.app_context():
        book = get_book()
        book.refresh()
        head, seq = book.head_hash, book.seq
    assert response.headers["X-Ledger-Head"] == head
    assert response.headers["X-Ledger-Seq"] == str(seq)
    root = Path(demo_app.config["LEDGER_DIR"])
    with zipfile.ZipFile(io.BytesIO(response.data)) as zf:
        manifest = json.loads(zf.read("MANIFEST.json"))
        assert manifest["head_hash"] == head
        assert manifest["chain_ok"] is True
        for item in manifest["files"]:
            content = zf.read(item["path"])
            assert hashlib.sha256(content).hexdigest() == item["sha256"]
            assert (root / item["path"].removeprefix("ledger/")).read_bytes() == content
    with demo_app.app_context():
        row = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "export_ledger").order_by(AuditLog.id.desc())
        ).first()
        assert row is not None
        assert row.detail["head"] == head
        assert row.detail["sha256"] == response.headers["X-Content-SHA256"]
