"""Fava under /audit/fava on the demo year: behind the login, in Chinese, read-only, its figures
equal to bean-query's, its writes and editors refused before Fava sees them."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
from beanquery_helpers import bean_query_sum, fund_where
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ledger_app.audit import fava as fava_module
from ledger_app.extensions import db
from ledger_app.models import AuditLog
from ledger_app.security import CSP, FAVA_CSP

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE", "OPTIONS")
#: Fava's endpoints that write (all PUT or DELETE in Fava), its editor and importer pages, and
#: pages that only read: a write method is refused on every one of them.
FAVA_PATHS = (
    "api/add_entries",
    "api/source",
    "api/source_slice",
    "api/format_source",
    "api/upload_import_file",
    "api/add_document",
    "api/attach_document",
    "api/document",
    "api/move",
    "editor/",
    "import/",
    "income_statement/",
    "journal/",
    "api/query",
)


def ledger_hashes(ledger: Path) -> dict[str, str]:
    """The sha256 of every file in the ledger folder, by relative path."""
    return {
        p.relative_to(ledger).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(ledger.rglob("*"))
        if p.is_file()
    }


def message(response: Any) -> str:
    """What a refusal says: Fava's JSON ``error`` for its API, else the page's text."""
    if response.is_json:
        return str(response.get_json()["error"])
    return str(response.get_data(as_text=True))


def fava_data(response: Any) -> Any:
    """The ``data`` of a Fava JSON answer, amounts as Decimal (never float)."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return json.loads(response.get_data(as_text=True), parse_float=Decimal)["data"]


@pytest.fixture(scope="module")
def ledger(demo_app: Flask) -> Path:
    return Path(demo_app.config["LEDGER_DIR"])


@pytest.fixture
def auditor(demo_signed_in: Callable[[str], Any]) -> FlaskClient:
    client: FlaskClient = demo_signed_in("auditor").client
    return client


@pytest.fixture
def base(auditor: FlaskClient) -> str:
    """Fava's URL of the demo ledger, ``/audit/fava/<slug>``, as Fava's own redirect gives it."""
    response = auditor.get("/audit/fava/")
    assert response.status_code == 302
    path = urlsplit(response.headers["Location"]).path
    assert path.startswith("/audit/fava/"), path
    assert path.endswith("/income_statement/"), path
    return path.removesuffix("income_statement/").rstrip("/")


def test_the_slug_is_the_ledgers_chinese_title(base: str, ledger: Path) -> None:
    title = re.search(r'option "title" "([^"]+)"', (ledger / "main.beancount").read_text())
    assert title is not None
    assert unquote(base) == f"/audit/fava/{title.group(1)}"


@pytest.mark.parametrize(
    "path", ["/audit/fava/", "/audit/fava/x/income_statement/", "/audit/fava/x/api/query"]
)
def test_anonymous_visitors_are_sent_to_sign_in(demo_app: Flask, path: str) -> None:
    client = demo_app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    response = client.get(path)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/login"
    assert "ledger-data" not in response.get_data(as_text=True)  # nothing of Fava's


@pytest.mark.parametrize("reader", ["auditor", "approver", "admin"])
@pytest.mark.parametrize("page", ["income_statement", "balance_sheet", "journal", "query"])
def test_readers_get_favas_reports_in_chinese(
    demo_signed_in: Callable[[str], Any], base: str, reader: str, page: str
) -> None:
    client = demo_signed_in(reader).client
    response = client.get(f"{base}/{page}/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # Fava's own shell, its assets under our prefix, its interface catalogue in Chinese.
    assert 'src="/audit/fava/static/app.js' in html
    translations = json.loads(re.search(r'id="translations">(.*?)</script>', html).group(1))
    assert translations["Income Statement"] == "损益表"
    assert translations["Balance Sheet"] == "资产负债表"
    assert translations["Journal"] == "日记账"
    assert translations["Query"] == "查询"
    ledger_data = json.loads(re.search(r'id="ledger-data">(.*?)</script>', html).group(1))
    assert "Income:4101-捐赠收入:限定性" in ledger_data["accounts"]


def test_fava_reads_its_language_from_the_ledger(auditor: FlaskClient, base: str) -> None:
    options = fava_data(auditor.get(f"{base}/api/options"))
    assert options["fava_options"]["language"] == "'zh'"


@pytest.mark.parametrize("fund", ["general", "zhulaocan", "meiyuanzi", "canteen"])
def test_a_query_through_fava_equals_bean_query_on_the_files(
    auditor: FlaskClient, base: str, ledger: Path, fund: str
) -> None:
    where = f"account ~ '^Income:' AND {fund_where(fund)}"
    result = fava_data(
        auditor.get(
            f"{base}/api/query", query_string={"query_string": f"SELECT sum(number) WHERE {where}"}
        )
    )
    assert result["t"] == "table"
    assert len(result["rows"]) == 1
    shown = Decimal(result["rows"][0][0])
    expected = bean_query_sum(ledger / "main.beancount", where)
    assert expected != 0  # every demo fund has income: the comparison means something
    assert shown == expected


def test_favas_income_statement_totals_equal_bean_query(
    auditor: FlaskClient, base: str, ledger: Path
) -> None:
    report = fava_data(auditor.get(f"{base}/api/income_statement"))
    income = next(tree for tree in report["trees"] if tree["account"] == "Income")
    assert Decimal(income["balance_children"]["CNY"]) == bean_query_sum(
        ledger / "main.beancount", "account ~ '^Income:'"
    )


@pytest.mark.parametrize("method", WRITE_METHODS)
def test_every_write_method_is_refused_with_405_and_the_files_stay_the_same(
    auditor: FlaskClient, base: str, ledger: Path, method: str
) -> None:
    before = ledger_hashes(ledger)
    for path in FAVA_PATHS:
        response = auditor.open(
            f"{base}/{path}",
            method=method,
            json={"entries": [], "source": "2020-01-01 open Assets:Hack", "file_path": "x"},
        )
        assert response.status_code == 405, (method, path, response.status_code)
        assert response.headers["Allow"] == "GET, HEAD"
        assert "只读" in message(response), path
        assert "read-only" in message(response), path
    assert ledger_hashes(ledger) == before


def test_an_api_write_is_refused_in_favas_json_error_shape(auditor: FlaskClient, base: str) -> None:
    response = auditor.put(
        f"{base}/api/source", json={"source": "", "sha256sum": "", "file_path": ""}
    )
    assert response.status_code == 405
    assert response.is_json
    assert "read-only" in response.get_json()["error"]


def test_writes_are_refused_before_sign_in_and_without_a_csrf_token(
    demo_app: Flask, base: str
) -> None:
    client = demo_app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    for method in WRITE_METHODS:
        assert client.open(f"{base}/api/add_entries", method=method).status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "editor/",
        "import/",
        "api/source",
        "api/source?filename=/etc/passwd",
        "api/imports",
        "api/extract?filename=x&importer=y",
        "extension/Any/",
        "extension/Any/endpoint",
        "extension_js_module/Any.js",
    ],
)
def test_favas_editor_importer_and_extensions_are_refused_with_403(
    auditor: FlaskClient, base: str, ledger: Path, path: str
) -> None:
    before = ledger_hashes(ledger)
    response = auditor.get(f"{base}/{path}")
    assert response.status_code == 403
    text = message(response)
    assert "源文件编辑" in text
    assert "source editor" in text
    assert ledger_hashes(ledger) == before


@pytest.mark.parametrize(
    "path", ["api/add_entries", "api/upload_import_file", "api/format_source", "api/move"]
)
def test_a_get_of_a_write_only_endpoint_is_refused_with_405(
    auditor: FlaskClient, base: str, path: str
) -> None:
    assert auditor.get(f"{base}/{path}").status_code == 405


def test_an_entrys_own_text_is_readable_for_favas_entry_view(
    auditor: FlaskClient, base: str
) -> None:
    """Fava's entry view (balances before and after) needs the entry's text; saving stays 405."""
    journal = fava_data(auditor.get(f"{base}/api/journal"))
    entry_hash = next(e["entry_hash"] for e in journal if e["t"] == "Transaction")
    context = fava_data(auditor.get(f"{base}/api/context", query_string={"entry_hash": entry_hash}))
    assert context["entry"]["entry_hash"] == entry_hash
    source = fava_data(
        auditor.get(f"{base}/api/source_slice", query_string={"entry_hash": entry_hash})
    )
    assert source["slice"].split()[0] == context["entry"]["date"]
    save = auditor.put(
        f"{base}/api/source_slice",
        json={"entry_hash": entry_hash, "source": "", "sha256sum": source["sha256sum"]},
    )
    assert save.status_code == 405


def test_favas_pages_get_favas_policy_and_the_rest_of_the_site_keeps_the_strict_one(
    auditor: FlaskClient, base: str
) -> None:
    page = auditor.get(f"{base}/journal/")
    assert page.headers["Content-Security-Policy"] == FAVA_CSP
    assert "script-src 'self' 'wasm-unsafe-eval';" in FAVA_CSP
    assert "'unsafe-eval'" not in FAVA_CSP.replace("'wasm-unsafe-eval'", "")
    assert "script-src 'self' 'wasm-unsafe-eval'; " in FAVA_CSP
    assert "frame-ancestors 'none'" in FAVA_CSP
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in page.headers or "ledger_session" in page.headers["Set-Cookie"]
    for elsewhere in ("/audit/", "/", "/audit/favax"):
        assert auditor.get(elsewhere).headers["Content-Security-Policy"] == CSP


def test_favas_scripts_and_styles_are_served_under_the_prefix(
    auditor: FlaskClient, base: str
) -> None:
    html = auditor.get(f"{base}/journal/").get_data(as_text=True)
    for asset in re.findall(r'(?:src|href)="(/audit/fava/static/[^"]+)"', html):
        with auditor.get(asset) as response:
            assert response.status_code == 200, asset
            assert response.headers["Content-Security-Policy"] == FAVA_CSP
    assert auditor.head(f"{base}/journal/").status_code == 200


def test_fava_sees_neither_this_apps_cookie_nor_its_path(demo_app: Flask) -> None:
    slug = quote("督院街社区微基金").encode().decode("latin-1")
    with demo_app.test_request_context(
        "/audit/fava/x/", headers={"Cookie": "ledger_session=secret", "Authorization": "Bearer t"}
    ) as ctx:
        ctx.request.environ["PATH_INFO"] = f"/audit/fava/{slug}/journal/"
        environ = fava_module._fava_environ()
    assert "HTTP_COOKIE" not in environ
    assert "HTTP_AUTHORIZATION" not in environ
    assert environ["SCRIPT_NAME"] == "/audit/fava"
    assert environ["PATH_INFO"] == f"/{slug}/journal/"


def test_the_first_fava_request_of_a_session_is_audited_once(
    demo_signed_in: Callable[[str], Any], demo_app: Flask, base: str
) -> None:
    def fava_rows() -> list[AuditLog]:
        with demo_app.app_context():
            return list(db.session.scalars(select(AuditLog).where(AuditLog.action == "fava_open")))

    before = len(fava_rows())
    client = demo_signed_in("auditor").client
    html = client.get(f"{base}/income_statement/").get_data(as_text=True)
    client.get(f"{base}/journal/")
    client.get(f"{base}/api/income_statement")
    client.get(re.search(r'src="(/audit/fava/static/app\.js[^"]*)"', html).group(1)).close()
    rows = fava_rows()
    assert len(rows) == before + 1
    assert rows[-1].actor == "auditor"
    assert rows[-1].target.endswith("/income_statement/")
    assert rows[-1].detail["head"]
    demo_signed_in("auditor").client.get(f"{base}/journal/")
    assert len(fava_rows()) == before + 2


def test_fava_writes_nothing_beside_the_ledger(
    auditor: FlaskClient, base: str, ledger: Path
) -> None:
    """No cache file, no lock file of Fava's: the folder holds the same files after a visit."""
    before = ledger_hashes(ledger)
    for page in ("income_statement/", "balance_sheet/", "journal/", "api/journal", "api/errors"):
        assert auditor.get(f"{base}/{page}").status_code == 200, page
    assert ledger_hashes(ledger) == before


def test_fava_opens_the_demo_ledger_without_a_single_error(auditor: FlaskClient, base: str) -> None:
    """DESIGN.md §3: the files open unchanged in Fava (Fava's error list is what its sidebar shows)."""
    assert fava_data(auditor.get(f"{base}/api/errors")) == []
