"""User text in the registers: a spreadsheet formula is defused in the CSV, markup is escaped on
the page and shown literally in the PDF (a fresh ledger, so the tests can write to it)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from app_testkit import give, spend
from flask import Flask
from pypdf import PdfReader

from ledger import registers
from ledger_app.forms_common import today

FORMULA = '=HYPERLINK("http://evil.example/","点击")'
MARKUP = "<b>打印店</b>"


def _csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_user_text_starting_with_a_formula_sign_is_defused_in_the_csv(
    app: Flask, signed_in: Callable[..., Any]
) -> None:
    entry = give(app, "88.00", name=FORMULA, display="name")
    spend(app, "20.00", payee="+cmd|' /C calc'!A0", purpose="-2+3")
    client = signed_in("auditor").client
    year = today().year

    donations = _csv(client.get(f"/audit/registers/donations.csv?period={year}").data)
    keys = [c.key for c in registers.DONATION_COLUMNS]
    row = next(r for r in donations[1:] if r[keys.index("entry_id")] == entry)
    assert row[keys.index("donor")] == "'" + FORMULA
    assert row[keys.index("amount")] == "88.00"

    approvals = _csv(client.get(f"/audit/registers/approvals.csv?period={year}").data)
    keys = [c.key for c in registers.APPROVAL_COLUMNS]
    summaries = [r[keys.index("summary")] for r in approvals[1:]]
    assert summaries == ["'+cmd|' /C calc'!A0 -2+3"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in approvals for cell in r)


def test_markup_in_user_text_is_escaped_on_the_page_and_literal_in_the_pdf(
    funded: Flask, signed_in: Callable[..., Any]
) -> None:
    spend(funded, "35.00", payee=MARKUP, purpose="宣传单 & 海报")
    client = signed_in("auditor").client
    year = today().year
    page = client.get(f"/audit/registers/approvals?period={year}").get_data(as_text=True)
    assert "&lt;b&gt;打印店&lt;/b&gt;" in page
    assert "<b>打印店</b>" not in page
    pdf = client.get(f"/audit/registers/approvals.pdf?period={year}").data
    text = "".join(p.extract_text().replace("\n", "") for p in PdfReader(io.BytesIO(pdf)).pages)
    assert MARKUP in text
    assert "宣传单 & 海报" in text
