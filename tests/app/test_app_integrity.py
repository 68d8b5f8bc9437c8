"""The integrity page, the attestation PDF, the ledger zip and the host charity export, on a copy of
the demo year; who may see them, who may change the mapping, and what a refused change leaves."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import sys
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from app_testkit import counts
from beancount import loader
from beancount.core import data
from beanquery_helpers import bean_query_sum
from flask import Flask
from sqlalchemy import select

from ledger import chain
from ledger.host_export import DEFAULT_MAPPING, render_mapping
from ledger_app.audit.integrity import MAPPING_KEY, SPECIAL_FUND_KEY
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.models import AuditLog
from ledger_app.settings import load_setting

# The PDF helpers live beside the report tests; appended last so they shadow nothing.
sys.path.append(str(Path(__file__).resolve().parents[1] / "reports"))
from pdf_helpers import assert_fonts_embedded, flat

READ_PATHS = (
    "/audit/integrity",
    "/audit/integrity.pdf",
    "/audit/host-export?period=2026-Q1",
    "/audit/host-export.csv?period=2026-Q1",
    "/audit/host-export/mapping",
)


@pytest.fixture
def app(make_app: Callable[..., Flask], demo_ledger: Path, tmp_path: Path) -> Flask:
    """The app on a private copy of the demo year (so a test may edit it by hand)."""
    shutil.copytree(demo_ledger, tmp_path / "ledger")
    return make_app()


def head(app: Flask) -> tuple[str, int]:
    with app.app_context():
        book = get_book()
        book.refresh()
        return book.head_hash, book.seq


def a_chained_entry(app: Flask, index: int = 25) -> data.Transaction:
    entries, errors, _ = loader.load_file(str(Path(app.config["LEDGER_DIR"]) / "main.beancount"))
    assert errors == []
    txns = sorted(
        (e for e in entries if isinstance(e, data.Transaction) and chain.seq_of(e)),
        key=lambda t: chain.seq_of(t) or 0,
    )
    return txns[index]


def edit_narration(app: Flask) -> tuple[str, str]:
    """Change one past entry's narration by hand; returns its id and ``file:line``."""
    target = a_chained_entry(app)
    path, line = Path(target.meta["filename"]), int(target.meta["lineno"])
    lines = path.read_text("utf-8").split("\n")
    lines[line - 1] = lines[line - 1].replace(f'"{target.narration}"', '"手工改过的摘要"', 1)
    path.write_text("\n".join(lines), "utf-8")
    rel = path.relative_to(Path(app.config["LEDGER_DIR"])).as_posix()
    return str(target.meta["id"]), f"{rel}:{line}"


def audit_rows(app: Flask, action: str) -> list[AuditLog]:
    with app.app_context():
        return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


# -- the integrity page and the attestation --------------------------------------------------------


def test_the_page_shows_every_check_passing_with_the_head_hash_and_file_hashes(
    app: Flask, signed_in: Callable
) -> None:
    page = signed_in("auditor").client.get("/audit/integrity")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    head_hash, seq = head(app)
    assert head_hash in html
    assert html.count("✔") >= 4  # the verdict and the three checks
    assert "✘" not in html
    assert "核验通过" in html
    main = Path(app.config["LEDGER_DIR"]) / "main.beancount"
    assert hashlib.sha256(main.read_bytes()).hexdigest() in html
    assert "txns/2026.beancount" in html
    assert f"<dd>{seq}</dd>" in html


def test_after_a_hand_edit_the_page_names_the_entry_with_a_link_and_its_line(
    app: Flask, signed_in: Callable
) -> None:
    client = signed_in("auditor").client
    client.get("/audit/integrity")  # the Book has loaded before the edit
    entry_id, location = edit_narration(app)
    html = client.get("/audit/integrity").get_data(as_text=True)
    assert "✘" in html
    assert "核验未通过" in html
    assert entry_id in html
    assert f'href="/audit/entries/{entry_id}"' in html
    assert location in html


def test_the_attestation_pdf_states_the_head_hash_and_the_verdict(
    app: Flask, signed_in: Callable
) -> None:
    response = signed_in("auditor").client.get("/audit/integrity.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    pdf = response.data
    assert_fonts_embedded(pdf)
    text = flat(pdf)
    head_hash, seq = head(app)
    assert head_hash in text
    assert "核验通过" in text
    assert "auditor" in text
    assert "/audit/ledger.zip" in text
    (row,) = audit_rows(app, "export_attestation")
    assert row.actor == "auditor"
    assert row.target == head_hash
    assert row.detail["verdict"] == "ok"
    assert row.detail["seq"] == str(seq)


def test_the_attestation_of_an_edited_ledger_says_it_failed_and_names_the_entry(
    app: Flask, signed_in: Callable
) -> None:
    entry_id, location = edit_narration(app)
    pdf = signed_in("auditor").client.get("/audit/integrity.pdf").data
    text = flat(pdf)
    assert "核验未通过" in text
    assert entry_id in text
    assert location in text
    (row,) = audit_rows(app, "export_attestation")
    assert row.detail["verdict"] == "failed"
    assert row.detail["chain"] == "failed"
    assert row.detail["bean_check"] == "ok"


def test_the_ledger_zip_carries_the_manifest_with_the_head_hash(
    app: Flask, signed_in: Callable
) -> None:
    response = signed_in("auditor").client.get("/audit/ledger.zip")
    assert response.status_code == 200
    head_hash, _ = head(app)
    with zipfile.ZipFile(io.BytesIO(response.data)) as zf:
        names = zf.namelist()
        manifest = zf.read("MANIFEST.txt").decode("utf-8")
        main = zf.read("ledger/main.beancount")
    assert names[:3] == ["README.txt", "MANIFEST.txt", "MANIFEST.json"]
    assert head_hash in manifest
    assert f"{hashlib.sha256(main).hexdigest()}  ledger/main.beancount" in manifest
    assert len(audit_rows(app, "export_ledger")) == 1


# -- who may do what -----------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(app: Flask, client) -> None:
    for path in READ_PATHS:
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("reader", ["auditor", "approver", "admin"])
def test_readers_may_see_every_page(app: Flask, signed_in: Callable, reader: str) -> None:
    client = signed_in(reader).client
    for path in READ_PATHS:
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("user", ["auditor", "approver"])
def test_only_an_administrator_may_change_the_mapping(
    app: Flask, signed_in: Callable, user: str
) -> None:
    actions = signed_in(user)
    before = counts(app)
    page = actions.client.get("/audit/host-export/mapping").get_data(as_text=True)
    assert "<textarea" not in page  # shown as a table, not a form
    assert "只有管理员可以修改映射" in page
    response = actions.post(
        "/audit/host-export/mapping",
        {"mapping": "Assets:1002-银行存款,1002,银行存款\n", "special_fund": "x"},
        form_page="/audit/integrity",
    )
    assert response.status_code == 403
    with app.app_context():
        assert load_setting(MAPPING_KEY, None) is None
        assert load_setting(SPECIAL_FUND_KEY, None) is None
    assert counts(app) == before


# -- the mapping ---------------------------------------------------------------------------------


def save_mapping(admin, text: str, special_fund: str = "市慈善总会·督院街社区微基金"):
    return admin.post("/audit/host-export/mapping", {"mapping": text, "special_fund": special_fund})


def test_an_administrator_saves_a_mapping_and_the_change_is_logged(
    app: Flask, signed_in: Callable
) -> None:
    admin = signed_in("admin")
    text = render_mapping(DEFAULT_MAPPING).replace(",1002,银行存款", ",1002.01,银行存款—工行")
    response = save_mapping(admin, text)
    assert response.status_code == 302
    with app.app_context():
        stored = load_setting(MAPPING_KEY, None)
        assert ["Assets:1002-银行存款", "1002.01", "银行存款—工行"] in stored
        assert load_setting(SPECIAL_FUND_KEY, None) == "市慈善总会·督院街社区微基金"
    changes = audit_rows(app, "change_setting")
    assert sorted(r.target for r in changes) == [MAPPING_KEY, SPECIAL_FUND_KEY]
    assert all(r.actor == "admin" for r in changes)
    html = admin.client.get("/audit/host-export?period=2026-Q1").get_data(as_text=True)
    assert "1002.01" in html
    assert "银行存款—工行" in html
    assert "市慈善总会·督院街社区微基金" in html


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("Assets:1003-备用金,1003,备用金", "unknown or unopened account prefix"),
        ("Assets:1002-银行存款,,银行存款", "host code is required"),
        ("Assets:1002-银行存款,10x2,银行存款", "ill-formed host code"),
        ("Assets:1001-库存现金,1001,库存现金", "duplicate account prefix"),
        ("Assets:1002-银行存款", "expected: account prefix,host code,host name"),
    ],
)
def test_a_bad_mapping_line_is_refused_by_its_number_and_nothing_changes(
    app: Flask, signed_in: Callable, line: str, words: str
) -> None:
    admin = signed_in("admin")
    before = counts(app)
    text = f"Assets:1001-库存现金,1001,库存现金\n{line}\n"
    response = save_mapping(admin, text)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "第 2 行" in html
    assert words in html
    assert "映射未保存" in html
    assert "Assets:1001-库存现金,1001,库存现金" in html  # what was typed comes back to be fixed
    with app.app_context():
        assert load_setting(MAPPING_KEY, None) is None
        assert load_setting(SPECIAL_FUND_KEY, None) is None
    assert counts(app) == before


@pytest.mark.parametrize(
    ("name", "words"),
    [("", "special fund name is required"), ("名" * 61, "name too long"), ("a\u202eb", "control")],
)
def test_a_bad_special_fund_name_is_refused_and_nothing_changes(
    app: Flask, signed_in: Callable, name: str, words: str
) -> None:
    admin = signed_in("admin")
    before = counts(app)
    response = save_mapping(admin, render_mapping(DEFAULT_MAPPING), special_fund=name)
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)
    with app.app_context():
        assert load_setting(MAPPING_KEY, None) is None
    assert counts(app) == before


def test_a_post_without_the_csrf_token_is_refused(app: Flask, signed_in: Callable) -> None:
    admin = signed_in("admin")
    response = admin.client.post(
        "/audit/host-export/mapping",
        data={"mapping": render_mapping(DEFAULT_MAPPING), "special_fund": "x"},
    )
    assert response.status_code == 400
    with app.app_context():
        assert load_setting(MAPPING_KEY, None) is None


# -- the export ----------------------------------------------------------------------------------


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_csv_totals_equal_bean_query_and_debits_equal_credits(
    app: Flask, signed_in: Callable
) -> None:
    client = signed_in("auditor").client
    response = client.get("/audit/host-export.csv?period=2026-Q1")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "host-export-2026-01-01_2026-03-31.csv" in response.headers["Content-Disposition"]
    rows = read_csv(response.data)
    header, body, total = rows[0], rows[1:-1], rows[-1]
    assert header[0] == "科目编码 host code"
    assert "项目（专项基金）project" in header
    assert total[0] == "合计 total"
    assert total[5] == total[6]
    assert sum(Decimal(r[5]) for r in body) == Decimal(total[5])
    main = Path(app.config["LEDGER_DIR"]) / "main.beancount"
    when = "date >= 2026-01-01 AND date <= 2026-03-31"
    for code, prefix in (("1002", "Assets:1002-银行存款"), ("4301", "Income:4301-提供服务收入")):
        debit = sum(Decimal(r[5]) for r in body if r[0] == code)
        credit = sum(Decimal(r[6]) for r in body if r[0] == code)
        assert debit == bean_query_sum(main, f"account ~ '^{prefix}' AND number > 0 AND {when}")
        assert credit == -bean_query_sum(main, f"account ~ '^{prefix}' AND number < 0 AND {when}")
    head_hash, _ = head(app)
    (row,) = audit_rows(app, "export_host_summary")
    assert row.target == "2026-01-01_2026-03-31"
    assert row.detail["head"] == head_hash


def test_the_page_shows_the_summary_with_a_csv_link(app: Flask, signed_in: Callable) -> None:
    html = (
        signed_in("auditor").client.get("/audit/host-export?period=2026-Q1").get_data(as_text=True)
    )
    assert "2026-01-01 至 2026-03-31" in html
    assert "借方合计 = 贷方合计" in html
    assert "/audit/host-export.csv?period=2026-Q1" in html
    assert "捐赠收入—限定性收入" in html
    assert "助老餐" in html


@pytest.mark.parametrize("path", ["/audit/host-export", "/audit/host-export.csv"])
def test_a_bad_period_is_refused_with_its_reason(
    app: Flask, signed_in: Callable, path: str
) -> None:
    response = signed_in("auditor").client.get(path, query_string={"period": "2026-13"})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "no such day" in response.get_data(as_text=True) or "unknown period" in (
        response.get_data(as_text=True)
    )
    assert audit_rows(app, "export_host_summary") == []


def test_an_account_without_a_mapping_is_refused_by_name(app: Flask, signed_in: Callable) -> None:
    admin = signed_in("admin")
    text = "\n".join(
        line
        for line in render_mapping(DEFAULT_MAPPING).splitlines()
        if not line.startswith("Expenses:5101")
    )
    assert save_mapping(admin, text).status_code == 302  # a partial mapping may be saved ...
    page = admin.client.get("/audit/host-export/mapping").get_data(as_text=True)
    assert "尚无映射的科目" in page
    assert "Expenses:5101-业务活动成本" in page
    for path in ("/audit/host-export", "/audit/host-export.csv"):  # ... but not used to export
        response = admin.client.get(path, query_string={"period": "2026-Q1"})
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "Expenses:5101-业务活动成本" in html
        assert "unmapped accounts" in html
    assert audit_rows(app, "export_host_summary") == []


def test_a_special_fund_name_that_looks_like_a_formula_or_markup_stays_text(
    app: Flask, signed_in: Callable
) -> None:
    admin = signed_in("admin")
    name = '=HYPERLINK("http://x")<script>'
    assert (
        save_mapping(admin, render_mapping(DEFAULT_MAPPING), special_fund=name).status_code == 302
    )
    rows = read_csv(admin.client.get("/audit/host-export.csv?period=2026-03").data)
    projects = {r[2] for r in rows[1:-1]}
    assert projects == {"'" + name}
    html = admin.client.get("/audit/host-export?period=2026-03").get_data(as_text=True)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_the_integrity_page_does_not_write_the_ledger(app: Flask, signed_in: Callable) -> None:
    root = Path(app.config["LEDGER_DIR"])
    signed_in("auditor").client.get("/audit/integrity")
    before = {p: p.read_bytes() for p in root.rglob("*.beancount")}
    for path in READ_PATHS:
        signed_in("auditor").client.get(path)
    assert {p: p.read_bytes() for p in root.rglob("*.beancount")} == before
    assert not list(root.rglob("*picklecache*"))
    assert re.search(r"[0-9a-f]{64}", head(app)[0])
