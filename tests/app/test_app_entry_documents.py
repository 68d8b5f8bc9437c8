"""The entry page on a fresh ledger: documents from the ledger's documents/ folder, uploaded
attachments related to the entry, and compliance indicators of an organisation that has not spent
anything yet or spends too much on management."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app_testkit import give, ledger_dir, spend, year_file
from flask import Flask

from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import Attachment, OutflowRequest

HAND_ENTRY = """
{day} * "文具店" "打印纸与墨盒" #fund-general
  id: "hand-doc-1"
  grant: "G-HAND"
  document: "receipts/invoice-1.pdf"
  document-2: "../main.beancount"
  Expenses:5201-管理费用  10.00 CNY
    fund: "general"
  Assets:1002-银行存款  -10.00 CNY
"""


def add_hand_entry(app: Flask) -> Path:
    """A hand-written entry naming one real receipt and one path outside documents/."""
    give(app, "100.00", fund="general", day=today() - dt.timedelta(days=3))
    receipts = ledger_dir(app) / "documents" / "receipts"
    receipts.mkdir(parents=True, exist_ok=True)
    invoice = receipts / "invoice-1.pdf"
    invoice.write_bytes(b"%PDF-1.4 an invoice")
    with year_file(app).open("a", encoding="utf-8") as fh:
        fh.write(HAND_ENTRY.format(day=today().isoformat()))
    return invoice


def attachment(app: Flask, *, name: str, application_id: str | None = None) -> int:
    """An uploaded file on disk with its database row; returns its id."""
    folder = Path(app.instance_path) / "attachments"
    folder.mkdir(parents=True, exist_ok=True)
    stored = hashlib.sha256(name.encode()).hexdigest()[:32] + ".pdf"
    (folder / stored).write_bytes(b"%PDF-1.4 " + name.encode())
    with app.app_context():
        row = Attachment(
            application_id=application_id,
            purpose="receipt",
            original_name=name,
            stored_name=stored,
            content_type="application/pdf",
            size=20,
            sha256="0" * 64,
            uploaded_by="admin",
        )
        db.session.add(row)
        db.session.commit()
        return int(row.id)


def test_a_document_in_the_ledger_folder_is_listed_and_downloads(
    app: Flask, signed_in: Callable[[str], Any]
) -> None:
    invoice = add_hand_entry(app)
    client = signed_in("auditor").client
    page = client.get("/audit/entries/hand-doc-1").get_data(as_text=True)
    assert "receipts/invoice-1.pdf" in page
    assert hashlib.sha256(invoice.read_bytes()).hexdigest() in page
    assert "/audit/entries/hand-doc-1/documents/0" in page
    assert "不在账本 documents/ 文件夹内" in page  # ../main.beancount is shown, never served
    assert "/audit/entries/hand-doc-1/documents/1" not in page
    response = client.get("/audit/entries/hand-doc-1/documents/0")
    body = response.data
    response.close()  # send_file streams the file: close it
    assert response.status_code == 200
    assert body == invoice.read_bytes()
    assert "attachment" in response.headers["Content-Disposition"]
    outside = client.get("/audit/entries/hand-doc-1/documents/1")
    assert outside.status_code == 404
    assert "no such document" in outside.get_data(as_text=True)
    assert client.get("/audit/entries/hand-doc-1/documents/7").status_code == 404


def test_attachments_of_the_entrys_request_and_of_its_grant(
    app: Flask, signed_in: Callable[[str], Any]
) -> None:
    add_hand_entry(app)
    request_id = spend(app, "20.00", fund="general", line="admin")
    own = attachment(app, name="发票-文具.pdf")
    grant_file = attachment(app, name="项目合同.pdf", application_id="G-HAND")
    stranger = attachment(app, name="别的项目.pdf", application_id="G-OTHER")
    with app.app_context():
        req = db.session.get(OutflowRequest, request_id)
        assert req is not None
        req.payload = {**req.payload, "attachments": [own]}
        entry_id = req.entry_id
        db.session.commit()
    client = signed_in("auditor").client
    page = client.get(f"/audit/entries/{entry_id}").get_data(as_text=True)
    assert "发票-文具.pdf" in page
    assert "本笔分录的票据" in page
    own_download = client.get(f"/audit/entries/{entry_id}/attachments/{own}")
    assert own_download.data.startswith(b"%PDF")
    own_download.close()
    assert own_download.status_code == 200
    assert client.get(f"/audit/entries/{entry_id}/attachments/{grant_file}").status_code == 404
    grant_page = client.get("/audit/entries/hand-doc-1").get_data(as_text=True)
    assert "项目合同.pdf" in grant_page
    assert "别的项目.pdf" not in grant_page
    download = client.get(f"/audit/entries/hand-doc-1/attachments/{grant_file}")
    body = download.data
    download.close()
    assert download.status_code == 200
    assert body.endswith("项目合同.pdf".encode())
    assert client.get(f"/audit/entries/hand-doc-1/attachments/{stranger}").status_code == 404


def test_the_request_behind_an_expense_shows_maker_and_checker(
    app: Flask, signed_in: Callable[[str], Any]
) -> None:
    give(app, "500.00", fund="general", day=today() - dt.timedelta(days=2))
    request_id = spend(app, "120.00", fund="general", maker="admin2", approver="approver")
    with app.app_context():
        req = db.session.get(OutflowRequest, request_id)
        assert req is not None
        entry_id = req.entry_id
    page = signed_in("auditor").client.get(f"/audit/entries/{entry_id}").get_data(as_text=True)
    assert re.search(r'class="req-entered-by">admin2<', page)
    assert re.search(r'class="req-decided-by">approver<', page)
    assert re.search(r'id="approved-by">approver<', page)
    assert "request_expense" in page
    assert "approve_request" in page


def test_without_spending_every_indicator_is_not_applicable(
    app: Flask, signed_in: Callable[[str], Any]
) -> None:
    page = signed_in("auditor").client.get("/audit/statements").get_data(as_text=True)
    statuses = re.findall(r'<tr class="ind ind-(\w+)"', page)
    assert statuses == ["not_applicable"] * 4
    assert "no spending" in page
    assert "项指标未达标" not in page


def test_management_above_the_default_limit_is_marked(
    app: Flask, signed_in: Callable[[str], Any]
) -> None:
    give(app, "1000.00", fund="general", day=today() - dt.timedelta(days=2))
    spend(app, "100.00", fund="general", line="programme")
    spend(app, "50.00", fund="general", line="admin")  # 33.33% of spending, limit 13%
    page = signed_in("auditor").client.get("/audit/statements").get_data(as_text=True)
    assert re.search(r'<tr class="ind ind-breached" id="ind-management_share">', page)
    assert "33.33%" in page
    assert "1 项指标未达标" in page
