"""The auditor's downloads: the fund statement as PDF and the ledger files as a zip."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from app_testkit import BIN, counts, snapshot
from flask import Flask

from ledger_app.forms_common import today


def period() -> dict[str, str]:
    return {"start": dt.date(today().year - 1, 1, 1).isoformat(), "end": today().isoformat()}


@pytest.mark.parametrize("reader", ["auditor", "approver", "admin"])
def test_the_statement_downloads_as_a_pdf(
    populated: Flask, signed_in: Callable, reader: str
) -> None:
    client = signed_in(reader).client
    response = client.get("/audit/statement.pdf", query_string=period())
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "attachment" in response.headers["Content-Disposition"]


def test_the_statement_shows_the_head_hash_and_fund_names(
    populated: Flask, signed_in: Callable
) -> None:
    from pypdf import PdfReader

    client = signed_in("auditor").client
    head = client.get("/healthz").get_json()["head_hash"]
    pdf = client.get("/audit/statement.pdf", query_string=period()).data
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "助老餐" in text
    assert "美院子" in text
    assert head[:16] in text.replace("\n", "")


def test_a_statement_ending_before_it_starts_is_refused_with_400(
    app: Flask, signed_in: Callable
) -> None:
    auditor = signed_in("auditor")
    files, rows = snapshot(app), counts(app)
    response = auditor.client.get(
        "/audit/statement.pdf", query_string={"start": "2026-03-01", "end": "2026-02-01"}
    )
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "end before start" in response.get_data(as_text=True)
    assert snapshot(app) == files
    assert counts(app) == rows


@pytest.mark.parametrize(
    "query",
    [{}, {"start": "yesterday", "end": "2026-02-01"}, {"start": "2026-02-30", "end": "2026-03-01"}],
)
def test_a_statement_with_missing_or_bad_dates_is_refused(
    app: Flask, signed_in: Callable, query: dict[str, str]
) -> None:
    response = signed_in("auditor").client.get("/audit/statement.pdf", query_string=query)
    assert response.status_code == 400


def test_the_ledger_zip_holds_the_ledger_files_that_pass_bean_check(
    populated: Flask, signed_in: Callable, tmp_path: Path
) -> None:
    auditor = signed_in("auditor")
    files = snapshot(populated)
    response = auditor.client.get("/audit/ledger.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = archive.namelist()
    assert "ledger/main.beancount" in names
    assert "ledger/accounts.beancount" in names
    assert any(n.startswith("ledger/txns/") for n in names)
    assert {"README.txt", "MANIFEST.txt", "MANIFEST.json"} <= set(names)
    ledger_names = [n for n in names if n.startswith("ledger/")]
    # The ledger, not the writers' lock and state files (hidden, not part of the books).
    assert {n.removeprefix("ledger/") for n in ledger_names} == {
        f for f in files if not f.startswith(".")
    }
    for name in ledger_names:
        assert archive.read(name) == files[name.removeprefix("ledger/")]
    # What the auditor takes away stands on its own.
    archive.extractall(tmp_path / "copy")
    check = subprocess.run(
        [str(BIN / "bean-check"), str(tmp_path / "copy/ledger/main.beancount")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert snapshot(populated) == files


def test_downloads_are_recorded_in_the_audit_log(app: Flask, signed_in: Callable) -> None:
    auditor = signed_in("auditor")
    before = counts(app)["audit_log"]
    auditor.client.get("/audit/ledger.zip")
    auditor.client.get("/audit/statement.pdf", query_string=period())
    assert counts(app)["audit_log"] == before + 2


def test_the_audit_page_links_the_grant_register(app, signed_in):
    page = signed_in("auditor").client.get("/audit/").get_data(as_text=True)
    assert "/audit/grants.pdf" in page
