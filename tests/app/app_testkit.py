"""Helpers for the app tests: seeding through the workflow, snapshots of files and tables, figures
recomputed with bean-query, and reading figures back out of the public page's HTML."""

from __future__ import annotations

import datetime as dt
import html
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from beancount import loader
from beancount.core import data
from beanquery_helpers import FUND_ROOTS, bean_query, connect, fund_where
from flask import Flask
from sqlalchemy import func, select

from ledger_app import workflow
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import (
    ApiToken,
    AuditLog,
    Donor,
    IdempotencyRecord,
    OfficialReceipt,
    OutflowRequest,
    Pledge,
    User,
)

BIN = Path(sys.executable).parent
ZERO = Decimal("0.00")
FUND_SLUGS = ("general", "canteen", "zhulaocan", "meiyuanzi")
#: Tables a refused input must leave as they were (sign-in bookkeeping is not among them).
COUNTED = {
    "donors": Donor,
    "outflow_requests": OutflowRequest,
    "users": User,
    "api_tokens": ApiToken,
    "idempotency_records": IdempotencyRecord,
    "audit_log": AuditLog,
    "official_receipts": OfficialReceipt,
    "pledges": Pledge,
}


# -- the ledger folder ----------------------------------------------------------------------------


def ledger_dir(app: Flask) -> Path:
    return Path(app.config["LEDGER_DIR"])


def main_file(app: Flask) -> Path:
    return ledger_dir(app) / "main.beancount"


def year_file(app: Flask, year: int | None = None) -> Path:
    return ledger_dir(app) / "txns" / f"{year or today().year:04d}.beancount"


def open_book(app: Flask) -> None:
    """Open the ledger the way the app does (the first open records its state file)."""
    with app.app_context():
        get_book().refresh()


def snapshot(app: Flask) -> dict[str, bytes]:
    """The bytes of every file under the ledger folder, after the app has opened it."""
    open_book(app)
    root = ledger_dir(app)
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def ledger_text(app: Flask) -> str:
    """Every transaction file, concatenated."""
    return "".join(
        p.read_text("utf-8") for p in sorted((ledger_dir(app) / "txns").glob("*.beancount"))
    )


def ledger_entry(app: Flask, entry_id: str) -> data.Transaction | None:
    """The transaction with this id, as Beancount reads it from the files."""
    entries, _errors, _ = loader.load_file(str(main_file(app)))
    for entry in entries:
        if isinstance(entry, data.Transaction) and (entry.meta or {}).get("id") == entry_id:
            return entry
    return None


def bean_check(app: Flask) -> subprocess.CompletedProcess[str]:
    """Run Beancount's own checker on the ledger's main file."""
    return subprocess.run(
        [str(BIN / "bean-check"), str(main_file(app))], capture_output=True, text=True, check=False
    )


# -- the database -----------------------------------------------------------------------------------


def counts(app: Flask) -> dict[str, int]:
    """Row counts of the tables a refused input must not touch."""
    with app.app_context():
        return {
            name: db.session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in COUNTED.items()
        }


def donors(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        return [
            {"ref": d.ref, "name": d.name, "phone": d.phone, "display": d.display}
            for d in db.session.scalars(select(Donor).order_by(Donor.id))
        ]


def request_row(app: Flask, request_id: str) -> dict[str, Any] | None:
    with app.app_context():
        req = db.session.get(OutflowRequest, request_id)
        if req is None:
            return None
        return {
            "status": req.status,
            "entered_by": req.entered_by,
            "decided_by": req.decided_by,
            "entry_id": req.entry_id,
        }


def pending_requests(app: Flask) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(OutflowRequest.id)
                .where(OutflowRequest.status == "pending")
                .order_by(OutflowRequest.created_at)
            )
        )


# -- seeding through the same workflow the forms use ---------------------------------------------


def give(
    app: Flask,
    amount: str,
    *,
    fund: str = "general",
    name: str = "王小明",
    phone: str = "",
    display: str = "masked",
    day: dt.date | None = None,
    channel: str = "wechat",
    entry_id: str | None = None,
    actor: str = "admin",
) -> str:
    """Record a donation; returns its entry id."""
    with app.app_context():
        result = workflow.record_donation(
            get_book(),
            workflow.DonationInput(
                id=entry_id,
                date=day or today(),
                amount=amount,
                fund=fund,
                channel=channel,
                donor=workflow.DonorInput(name, phone, display, "person"),
            ),
            actor,
        )
        return result.id


def spend(
    app: Flask,
    amount: str,
    *,
    fund: str = "general",
    payee: str = "督院街共享食堂",
    purpose: str = "助老餐补贴",
    day: dt.date | None = None,
    maker: str = "admin",
    approver: str | None = "approver",
    line: str = "programme",
) -> str:
    """Request an expense and (unless ``approver`` is None) have it approved; returns its id."""
    with app.app_context():
        book = get_book()
        req = workflow.request_expense(
            book,
            workflow.ExpenseInput(
                id=None,
                date=day or today(),
                amount=amount,
                fund=fund,
                payee=payee,
                purpose=purpose,
                line=line,
            ),
            maker,
        )
        if approver is not None:
            workflow.approve_request(book, req.id, approver)
        return req.id


def reverse(
    app: Flask,
    original_id: str,
    reason: str = "重复录入",
    *,
    maker: str = "admin",
    approver: str = "approver",
) -> str:
    with app.app_context():
        book = get_book()
        req = workflow.request_reversal(book, original_id, reason, today(), maker)
        workflow.approve_request(book, req.id, approver)
        return req.id


# -- figures ----------------------------------------------------------------------------------------


def bean_query_figures(app: Flask, *, year: int | None = None) -> dict[str, dict[str, Decimal]]:
    """Each fund's income, spending, transfers and balance, computed by bean-query from the files.

    With ``year`` the flows (not the balance) are that calendar year's.
    """
    conn = connect(main_file(app))

    def flows(slug: str, span: str) -> tuple[Decimal, Decimal, Decimal]:
        rows = bean_query(
            conn,
            f"SELECT root(account, 1) AS root, sum(number) AS total "
            f"WHERE {FUND_ROOTS} AND {fund_where(slug)}{span} GROUP BY root",
        )
        by_root = {root: Decimal(total or 0).quantize(ZERO) for root, total in rows}
        return (
            -by_root.get("Income", ZERO),
            by_root.get("Expenses", ZERO),
            -by_root.get("Equity", ZERO),
        )

    out = {}
    for slug in FUND_SLUGS:
        income, spent, transfers = flows(slug, "")
        balance = income - spent + transfers  # always the balance now, as on the page
        if year is not None:
            income, spent, transfers = flows(
                slug, f" AND date >= {year:04d}-01-01 AND date <= {year:04d}-12-31"
            )
        out[slug] = {"income": income, "spent": spent, "transfers": transfers, "balance": balance}
    return out


_CARD = re.compile(r'<article class="fund-card">(.*?)</article>', re.S)
_SLUG = re.compile(r'href="/funds/([a-z][a-z0-9-]*)"')
_ROW = re.compile(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", re.S)
_AMOUNT = re.compile(r'<span class="amt[^"]*">(-?)¥([0-9,]+\.[0-9]{2})</span>')
LABELS = {
    "累计收入": "income",
    "累计支出": "spent",
    "转入/转出": "transfers",
    "当前结余": "balance",
}


def yuan(sign: str, digits: str) -> Decimal:
    value = Decimal(digits.replace(",", ""))
    return -value if sign else value


def amounts_in(fragment: str) -> list[Decimal]:
    """Every ``¥1,234.56`` amount in a piece of HTML, in order."""
    return [yuan(s, d) for s, d in _AMOUNT.findall(fragment)]


def public_figures(page: str) -> dict[str, dict[str, Decimal]]:
    """The figures of each fund card on the public page, by fund slug.

    Keys: income, spent, balance, transfers (when shown) and year_income / year_spent.
    """
    out: dict[str, dict[str, Decimal]] = {}
    for card in _CARD.findall(page):
        slug_match = _SLUG.search(card)
        assert slug_match, card
        figures: dict[str, Decimal] = {}
        for label, value in _ROW.findall(card):
            label = html.unescape(label).strip()
            found = amounts_in(value)
            if label in LABELS:
                assert len(found) == 1, (label, value)
                figures[LABELS[label]] = found[0]
            elif "年收入" in label:
                assert len(found) == 2, (label, value)
                figures["year_income"], figures["year_spent"] = found
        out[slug_match.group(1)] = figures
    return out


def fund_page_figures(page: str) -> dict[str, Decimal]:
    """The figures at the top of a fund's own page."""
    block = re.search(r'<dl class="figures wide">(.*?)</dl>', page, re.S)
    assert block, "no figures on the fund page"
    return {
        LABELS[html.unescape(label).strip()]: amounts_in(value)[0]
        for label, value in _ROW.findall(block.group(1))
        if html.unescape(label).strip() in LABELS
    }


def field_errors(page: str, field: str) -> list[str]:
    """The error messages the form shows under one field."""
    return [
        html.unescape(m)
        for m in re.findall(rf'<p class="error" id="{field}-error">(.*?)</p>', page, re.S)
    ]


def flashes(page: str) -> list[str]:
    return [
        html.unescape(m) for m in re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', page, re.S)
    ]


def donation_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "date": today().isoformat(),
        "amount": "200.00",
        "fund": "zhulaocan",
        "channel": "wechat",
        "donor": {"name": "吴建国", "phone": "13012345678", "display": "masked"},
    }
    body.update(overrides)
    return body
