"""Integrity and hand-over: the verification page, the attestation PDF, and the host charity export.

- ``GET /audit/integrity``: the hash chain, bean-check and the project's rules, verified on the
  files as they are on disk now, with the head hash and every file's sha256;
- ``GET /audit/integrity.pdf``: the same as a signed-off attestation (audit-logged);
- ``GET /audit/host-export`` and ``/audit/host-export.csv``: the period's movements in the host
  charity's chart of accounts; ``GET/POST /audit/host-export/mapping``: the mapping (admins edit).

The ledger zip (``/audit/ledger.zip``) is served by ``views.ledger_zip`` with
:func:`ledger.archive.build_archive`.
"""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import quote

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from ledger import host_export
from ledger.errors import RuleError
from ledger.financials import Period, parse_period
from ledger.integrity import verify_integrity
from ledger_app.audit.views import READERS, bp
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.security import audit, role_required
from ledger_app.settings import load_setting, save_setting
from reports.attestation import build_attestation
from reports.csv_out import csv_bytes

#: Organisation settings this module keeps (``org_settings``).
MAPPING_KEY = "host_mapping"
SPECIAL_FUND_KEY = "host_special_fund"
MAX_SPECIAL_FUND = 60
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


# -- integrity ---------------------------------------------------------------------------------


def entry_href(entry_id: str) -> str:
    """Where the entry page of ``entry_id`` lives (``/audit/entries/<id>``)."""
    return f"{request.script_root}/audit/entries/{quote(entry_id, safe='')}"


@bp.route("/integrity")
@role_required(*READERS)
def integrity() -> ResponseReturnValue:
    """Verify the files now and show the result; 200 either way (the page reports, not fails)."""
    report = verify_integrity(get_book())
    return render_template(
        "audit/integrity.html",
        report=report,
        entry_href=entry_href(report.chain_break.entry_id)
        if report.chain_break and report.chain_break.entry_id
        else "",
    )


@bp.route("/integrity.pdf")
@role_required(*READERS)
def integrity_pdf() -> ResponseReturnValue:
    """The attestation PDF of a verification made now; the verdict goes into the audit log."""
    report = verify_integrity(get_book())
    pdf = build_attestation(
        report,
        org_name=current_app.config["ORG_NAME"],
        verified_by=current_user.username,
        archive_url=url_for("audit.ledger_zip", _external=True),
    )
    audit(
        "export_attestation",
        target=report.head_hash,
        seq=report.seq,
        verdict="ok" if report.ok else "failed",
        chain=_verdict(report.chain_ok),
        bean_check=_verdict(report.beancheck_ok),
        rules=_verdict(report.rules_ok),
    )
    db.session.commit()
    name = f"integrity-attestation-{report.checked_at:%Y%m%d-%H%M%S}-seq{report.seq}.pdf"
    return send_file(
        io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True, download_name=name
    )


def _verdict(ok: bool) -> str:
    return "ok" if ok else "failed"


# -- host charity export -----------------------------------------------------------------------


def current_mapping() -> dict[str, tuple[str, str]]:
    """The organisation's host mapping, or the default chart's when none was saved."""
    return host_export.mapping_from_setting(load_setting(MAPPING_KEY, None))


def special_fund_name() -> str:
    """The 专项基金's name as the host knows it; the ledger's title when never set."""
    value = load_setting(SPECIAL_FUND_KEY, "")
    return value if isinstance(value, str) and value.strip() else get_book().title


def _period_arg() -> tuple[str, Period | None, str]:
    """The ``period`` query argument: its text, the period, and the error message if any."""
    text = request.args.get("period", "").strip() or str(today().year)
    try:
        return text, parse_period(text), ""
    except RuleError as exc:
        return text, None, exc.message


@bp.route("/host-export")
@role_required(*READERS)
def host_export_page() -> ResponseReturnValue:
    """The period's summary in the host's codes, with the CSV download; 400 on a bad period."""
    text, period, error = _period_arg()
    summary, mapping_error = None, ""
    if period is not None:
        book = get_book()
        book.refresh()
        try:
            summary = host_export.summarise(
                book, period, current_mapping(), special_fund=special_fund_name()
            )
        except RuleError as exc:
            mapping_error = exc.message
    status = 400 if error or mapping_error else 200
    return (
        render_template(
            "audit/host_export.html",
            period_text=text,
            period_error=error,
            mapping_error=mapping_error,
            summary=summary,
        ),
        status,
    )


@bp.route("/host-export.csv")
@role_required(*READERS)
def host_export_csv() -> ResponseReturnValue:
    """The summary as CSV (UTF-8 with BOM, formula-safe); refused with the page on a fault."""
    _text, period, _error = _period_arg()
    if period is None:
        return host_export_page()
    book = get_book()
    book.refresh()
    try:
        summary = host_export.summarise(
            book, period, current_mapping(), special_fund=special_fund_name()
        )
    except RuleError:
        return host_export_page()
    data = csv_bytes(host_export.CSV_HEADER, summary.csv_rows())
    audit("export_host_summary", target=period.slug, head=book.head_hash, rows=len(summary.rows))
    db.session.commit()
    return send_file(
        io.BytesIO(data),
        mimetype="text/csv",
        as_attachment=True,
        download_name=f"host-export-{period.slug}.csv",
    )


class MappingForm(FlaskForm):  # type: ignore[misc]
    """The mapping as CSV lines, and the special fund's name at the host."""

    mapping = TextAreaField(
        "科目映射（每行：本账科目前缀,主办机构科目编码,科目名称）",
        render_kw={"rows": 18, "spellcheck": "false", "autocomplete": "off"},
    )
    special_fund = StringField(
        "专项基金在主办机构的名称（项目辅助核算）",
        render_kw={"autocomplete": "off", "maxlength": MAX_SPECIAL_FUND},
    )


def _mapping_page(form: MappingForm, status: int = 200, **extra: Any) -> ResponseReturnValue:
    mapping = current_mapping()
    book = get_book()
    uncovered = [a for a in sorted(book.accounts) if host_export.host_account(mapping, a) is None]
    return (
        render_template(
            "audit/host_mapping.html",
            form=form,
            may_edit=current_user.role == "admin",
            saved=load_setting(MAPPING_KEY, None) is not None,
            uncovered=uncovered,
            rows=sorted(mapping.items()),
            **extra,
        ),
        status,
    )


@bp.route("/host-export/mapping", methods=["GET"])
@role_required(*READERS)
def host_mapping() -> ResponseReturnValue:
    """The mapping as editable lines (read-only for anyone but an administrator)."""
    form = MappingForm()
    form.mapping.data = host_export.render_mapping(current_mapping())
    form.special_fund.data = special_fund_name()
    return _mapping_page(form)


@bp.route("/host-export/mapping", methods=["POST"])
@role_required("admin")
def save_host_mapping() -> ResponseReturnValue:
    """Save the mapping if every line is right; otherwise 400, each fault named, nothing saved."""
    form = MappingForm()
    if not form.validate():
        abort(400)  # a missing or stale CSRF token: Flask-WTF's own 400
    problems: list[str] = []
    try:
        mapping = host_export.parse_mapping(form.mapping.data or "", get_book().accounts)
    except host_export.MappingError as exc:
        problems = exc.problems
        mapping = {}
    name = (form.special_fund.data or "").strip()
    name_problem = _special_fund_fault(name)
    if name_problem:
        form.special_fund.errors = [*form.special_fund.errors, name_problem]
    if problems or name_problem:
        form.mapping.errors = [*form.mapping.errors, *problems]
        return _mapping_page(form, 400, problems=problems)
    actor = current_user.username
    new_value = host_export.mapping_to_setting(mapping)
    if load_setting(MAPPING_KEY, None) != new_value:
        save_setting(MAPPING_KEY, new_value, actor=actor)
    if load_setting(SPECIAL_FUND_KEY, "") != name:
        save_setting(SPECIAL_FUND_KEY, name, actor=actor)
    db.session.commit()
    flash(f"已保存主办机构科目映射（{len(mapping)} 行）。Host mapping saved.")
    return redirect(url_for("audit.host_mapping"))


def _special_fund_fault(name: str) -> str:
    if not name:
        return "请填写专项基金名称（special fund name is required）"
    if len(name) > MAX_SPECIAL_FUND:
        return f"专项基金名称过长（最多 {MAX_SPECIAL_FUND} 字）（name too long）"
    if _BAD_CHARS.search(name):
        return "专项基金名称含有控制字符（control characters in name）"
    return ""
