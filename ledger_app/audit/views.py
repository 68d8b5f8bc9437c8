"""The auditor's pages: statements as PDF and the canonical ledger files."""

from __future__ import annotations

import datetime as dt
import io

from flask import Blueprint, current_app, render_template, send_file
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import DataRequired

from ledger import queries
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.security import audit, role_required
from reports.fund_statement import build_fund_statement
from reports.grant_register import GrantRegisterRow, build_grant_register

bp = Blueprint("audit", __name__, url_prefix="/audit")
READERS = ("auditor", "admin", "approver")


class StatementForm(FlaskForm):  # type: ignore[misc]
    class Meta:
        csrf = False  # a read-only GET form

    start = DateField("起始日期", validators=[DataRequired()])
    end = DateField("截止日期", validators=[DataRequired()])


@bp.route("/")
@role_required(*READERS)
def index() -> ResponseReturnValue:
    book = get_book()
    form = StatementForm(meta={"csrf": False})
    t = today()
    form.start.data = dt.date(t.year, 1, 1)
    form.end.data = t
    return render_template("audit/index.html", form=form, book=book)


@bp.route("/statement.pdf")
@role_required(*READERS)
def statement_pdf() -> ResponseReturnValue:
    from flask import request

    form = StatementForm(request.args, meta={"csrf": False})
    if not form.validate() or form.start.data > form.end.data:
        book = get_book()
        if form.start.data and form.end.data and form.start.data > form.end.data:
            form.end.errors = [*form.end.errors, "截止日期须不早于起始日期（end before start）"]
        return render_template("audit/index.html", form=form, book=book), 400
    statement = queries.fund_statement(get_book(), form.start.data, form.end.data)
    pdf = build_fund_statement(statement, org_name=current_app.config["ORG_NAME"])
    audit("export_statement", target=f"{form.start.data}..{form.end.data}")
    db.session.commit()
    name = f"fund-statement-{form.start.data}-{form.end.data}.pdf"
    return send_file(
        io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True, download_name=name
    )


@bp.route("/ledger.zip")
@role_required(*READERS)
def ledger_zip() -> ResponseReturnValue:
    """The ledger files with MANIFEST.txt / MANIFEST.json / README.txt (ledger.archive)."""
    from ledger.archive import build_archive

    book = get_book()
    book.refresh()
    data = build_archive(book)
    audit("export_ledger", target=str(book.store.root.name), head=book.head_hash)
    db.session.commit()
    return send_file(
        io.BytesIO(data),
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"ledger-{today()}.zip",
    )


@bp.route("/grants.pdf")
@role_required(*READERS)
def grant_register_pdf() -> ResponseReturnValue:
    """Every grant the ledger holds, from the same rows as the grants register (ledger.registers)."""
    from dataclasses import fields

    from ledger.registers import grant_rows
    from ledger_app.audit.registers import grant_names

    book = get_book()
    book.refresh()
    calls, groups = grant_names(book)
    names = [f.name for f in fields(GrantRegisterRow)]
    rows = [
        GrantRegisterRow(**{name: getattr(row, name) for name in names})
        for row in grant_rows(book, None, calls=calls, groups=groups)
    ]
    pdf = build_grant_register(
        rows,
        org_name=current_app.config["ORG_NAME"],
        generated_at=book.clock(),
        head_hash=book.head_hash,
        head_seq=book.seq,
    )
    audit("export_grant_register", target=f"{len(rows)} grants", head=book.head_hash)
    db.session.commit()
    return send_file(
        io.BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"grant-register-{today()}.pdf",
    )


# The auditor's other pages, one module per capability, each adding its routes to ``bp``.
from ledger_app.audit import (  # noqa: E402
    exports,  # noqa: F401  background exports with progress
    fava,  # noqa: F401  Fava, read-only, behind this app's login
    integrity,  # noqa: F401  verification page, attestation PDF, ledger zip with manifest
    registers,  # noqa: F401  donations, grants, canteen months, approvals, period closes
    statements,  # noqa: F401  the statements, on screen with drill-down, PDF and CSV
)
