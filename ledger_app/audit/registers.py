"""The registers auditors sample (donations, grants, canteen months, approvals, period closes),
each for a chosen period as a page, a CSV file and a PDF built from the same rows.

The rows come from :mod:`ledger.registers`; this module adds what only the database knows (call
titles and group names, official receipt numbers, approval requests) and writes every export to
the audit log with the ledger's head hash.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from flask import abort, current_app, make_response, render_template, request, send_file
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ledger import registers
from ledger.book import TZ, Book
from ledger.errors import RuleError
from ledger.financials import Period, parse_period
from ledger.money import format_cny
from ledger_app.audit.views import READERS, bp
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.models import GrantApplication, OfficialReceipt, OutflowRequest, RequestStatus
from ledger_app.security import audit, role_required
from reports.csv_out import csv_bytes
from reports.table_report import Align, build_table_pdf

#: Whether a column's cells are aligned left or right in the PDF.
_ALIGN: dict[bool, Align] = {True: "right", False: "left"}


# -- what the database adds -----------------------------------------------------------------------


def grant_names(book: Book) -> tuple[dict[str, str], dict[str, str]]:
    """Grant id -> its call's title, and grant id -> the applicant group's name (database)."""
    ids = book.grant_ids()
    calls: dict[str, str] = {}
    groups: dict[str, str] = {}
    if not ids:
        return calls, groups
    for app in db.session.scalars(select(GrantApplication).where(GrantApplication.id.in_(ids))):
        calls[app.id] = app.call.title if app.call is not None else ""
        groups[app.id] = app.group_name
    return calls, groups


def _china(moment: dt.datetime | None) -> dt.datetime | None:
    """A naive UTC time from the database as China time."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC).astimezone(TZ)


def approval_requests() -> dict[str, registers.RequestInfo]:
    """Approved requests by the entry they wrote (and by their own id, which an entry's
    ``request`` metadata names)."""
    found: dict[str, registers.RequestInfo] = {}
    query = select(OutflowRequest).where(
        OutflowRequest.status == RequestStatus.APPROVED.value,
        OutflowRequest.entry_id.is_not(None),
    )
    for req in db.session.scalars(query.order_by(OutflowRequest.decided_at)):
        info = registers.RequestInfo(
            request_id=req.id,
            requested_at=_china(req.created_at),
            decided_at=_china(req.decided_at),
            decided_by=req.decided_by or "",
            note=req.decision_note or "",
        )
        found[req.id] = info
        if req.entry_id:
            found[req.entry_id] = info
    return found


def official_receipts() -> dict[str, str]:
    """Confirmation number -> the host charity's official receipt (票据代码 号码)."""
    return {
        r.receipt_no: f"{r.code} {r.number}" for r in db.session.scalars(select(OfficialReceipt))
    }


def build_register(book: Book, name: str, period: Period) -> registers.Register:
    """One register with what the database adds; ``name`` must be in ``registers.REGISTERS``."""
    if name == "donations":
        return registers.donation_register(book, period, official=official_receipts())
    if name == "grants":
        calls, groups = grant_names(book)
        return registers.grant_register(book, period, calls=calls, groups=groups)
    if name == "canteen":
        return registers.canteen_register(book, period)
    if name == "approvals":
        return registers.approval_register(book, period, requests=approval_requests())
    return registers.period_register(book, period)


# -- routes ---------------------------------------------------------------------------------------


def _period_text(book: Book) -> str:
    """The ``period`` argument, or the current year."""
    return (request.args.get("period") or "").strip() or str(book.clock().year)


def _known(name: str) -> registers.RegisterInfo:
    info = registers.REGISTERS.get(name)
    if info is None:
        abort(404)
    return info


def _requested(name: str) -> tuple[Book, str, Period]:
    """The Book, the period's text and the period of a register request; a bad period ends the
    request with the register's page, the error and status 400 (nothing built or exported)."""
    info = _known(name)
    book = get_book()
    book.refresh()
    text = _period_text(book)
    try:
        return book, text, parse_period(text)
    except RuleError as exc:
        page = render_template(
            "audit/register.html",
            info=info,
            register=None,
            period_text=text,
            error=exc.message,
            book=book,
        )
        abort(make_response(page, 400))


@bp.route("/registers")
@role_required(*READERS)
def registers_index() -> ResponseReturnValue:
    """The hub: every register, with links for the chosen period."""
    book = get_book()
    text = _period_text(book)
    error = ""
    try:
        parse_period(text)
    except RuleError as exc:
        error = exc.message
    return (
        render_template(
            "audit/registers.html",
            registers=registers.REGISTERS.values(),
            period_text=text,
            error=error,
            book=book,
        ),
        400 if error else 200,
    )


@bp.route("/registers/<name>")
@role_required(*READERS)
def register_page(name: str) -> ResponseReturnValue:
    """One register on screen for the period (``?period=2026-Q1``)."""
    book, text, period = _requested(name)
    return render_template(
        "audit/register.html",
        info=_known(name),
        register=build_register(book, name, period),
        period_text=text,
        error="",
        book=book,
    )


@bp.route("/registers/<name>.csv")
@role_required(*READERS)
def register_csv(name: str) -> ResponseReturnValue:
    """One register as CSV (UTF-8 with BOM; formula-like text defused)."""
    book, _text, period = _requested(name)
    register = build_register(book, name, period)
    body = csv_bytes([c.heading for c in register.table.columns], register.table.rows)
    _audit_export(book, register, "csv")
    return send_file(
        io.BytesIO(body),
        mimetype="text/csv",
        as_attachment=True,
        download_name=f"register-{name}-{period.slug}.csv",
    )


@bp.route("/registers/<name>.pdf")
@role_required(*READERS)
def register_pdf(name: str) -> ResponseReturnValue:
    """One register as an A4 landscape PDF with the head hash."""
    book, _text, period = _requested(name)
    register = build_register(book, name, period)
    pdf = build_table_pdf(
        title=f"{register.title} {register.title_en}",
        subtitle_lines=_subtitle_lines(register),
        # Chinese headings only: the English ones are on the page and in the CSV, and a
        # landscape page of fifteen columns has no room for both.
        columns=[(c.zh, c.width, _ALIGN[c.numeric]) for c in register.table.columns],
        rows=register.table.rows,
        totals=register.table.total,
        org_name=current_app.config["ORG_NAME"],
        generated_at=book.clock(),
        head_hash=book.head_hash,
        head_seq=book.seq,
        landscape=True,
    )
    _audit_export(book, register, "pdf")
    return send_file(
        io.BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"register-{name}-{period.slug}.pdf",
    )


def _subtitle_lines(register: registers.Register) -> list[str]:
    """Period and facts, then the summary table (totals by fund) as lines."""
    lines = [
        f"期间 Period：{register.period_label}　·　金额单位：人民币元 CNY",
        "　·　".join(f"{label}：{value}" for label, value in register.facts),
    ]
    summary = register.summary
    if summary is not None:
        for row in (*summary.rows, *((summary.total,) if summary.total else ())):
            lines.append(
                "　".join(
                    f"{c.zh} {_plain(v)}" if i else _plain(v)
                    for i, (c, v) in enumerate(zip(summary.columns, row, strict=True))
                )
            )
    return lines


def _plain(value: registers.Cell) -> str:
    if isinstance(value, Decimal):
        return format_cny(value)
    return "" if value is None else str(value)


def _audit_export(book: Book, register: registers.Register, fmt: str) -> None:
    audit(
        "export_register",
        target=f"{register.name} {register.period_label}",
        head=book.head_hash,
        seq=book.seq,
        format=fmt,
        rows=len(register.records),
    )
    db.session.commit()
