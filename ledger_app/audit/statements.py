"""The statements on screen for auditors: every figure drills down to the postings behind it and
each posting's entry to its metadata, approval, audit trail and documents; downloads as PDF and
CSV; and the charity spending indicators with the thresholds administrators configure."""

from __future__ import annotations

import datetime as dt
import io
import mimetypes
from collections.abc import Callable
from decimal import Decimal
from typing import Any

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
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import SelectField, StringField
from wtforms.validators import ValidationError

from ledger import compliance, drilldown, entry_detail
from ledger.book import TZ
from ledger.errors import EntryNotFoundError, RuleError
from ledger.financials import Period, parse_period
from ledger.money import format_cny
from ledger_app.audit.views import READERS, bp
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import select_choices, today
from ledger_app.models import Attachment, AuditLog, OutflowRequest
from ledger_app.security import audit, role_required
from ledger_app.settings import load_setting, save_setting

SETTING = "compliance"
FORMATS = ("pdf", "csv")
_MIME = {"pdf": "application/pdf", "csv": "text/csv"}


def yuan(amount: Decimal) -> str:
    """A statement figure: ``1,234.56`` (the page says 单位：元 once instead of ¥ in every cell)."""
    return format_cny(amount, symbol=False)


def china_time(value: dt.datetime | None) -> str:
    """A database timestamp (naive UTC) as China time, ``2026-06-20 14:03``."""
    if value is None:
        return "—"
    return value.replace(tzinfo=dt.UTC).astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S")


def default_period_text() -> str:
    """The current year so far."""
    t = today()
    return f"{t.year}-01-01..{t.isoformat()}"


def period_text(period: Period) -> str:
    """A period as ``parse_period`` reads it back, for links."""
    return f"{period.start.isoformat()}..{period.end.isoformat()}"


def _period_arg() -> tuple[str, Period]:
    """The ``period`` query argument, parsed (RuleError naming ``period`` when bad)."""
    text = request.args.get("period", "").strip() or default_period_text()
    return text, parse_period(text)


# -- compliance settings -----------------------------------------------------------------------


def current_thresholds() -> tuple[compliance.Thresholds, str]:
    """The organisation's thresholds, and a warning if the stored value had to be ignored."""
    stored = load_setting(SETTING, None)
    try:
        return compliance.thresholds_from_setting(stored), ""
    except RuleError as exc:
        # A hand-edited setting must not take the statements page down: use the rules' defaults.
        return compliance.default_thresholds(), f"{exc.field}: {exc.message}"


def _checked(parse: Callable[[], object]) -> None:
    """Run a ledger parser as a WTForms validator: its refusal becomes the field's error."""
    try:
        parse()
    except RuleError as exc:
        raise ValidationError(exc.message) from exc


class ComplianceForm(FlaskForm):  # type: ignore[misc]
    """Kind of organisation and thresholds; percentages 0–100 with at most two decimals."""

    org_kind = SelectField(
        "机构类型",
        choices=select_choices(
            (kind.slug, f"{kind.name}（管理费用默认 ≤ {kind.management_max}%）")
            for kind in compliance.ORG_KINDS.values()
        ),
        validate_choice=False,  # validate_org_kind says what is wrong, in Chinese
    )
    management_max = StringField(
        "管理费用占当年费用合计的上限（%）",
        description="留空则按机构类型：基金会 10%，社会服务机构/社会团体 13%。",
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    programme_min = StringField(
        "业务活动成本占上年收入合计的下限（%）",
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )

    def validate_org_kind(self, field: Any) -> None:
        _checked(lambda: compliance.parse_org_kind(field.data))

    def validate_management_max(self, field: Any) -> None:
        if (field.data or "").strip():  # empty: the default of the kind of organisation
            _checked(lambda: compliance.parse_percent(field.data, field="management_max"))

    def validate_programme_min(self, field: Any) -> None:
        _checked(lambda: compliance.parse_percent(field.data, field="programme_min"))

    def thresholds(self) -> compliance.Thresholds:
        """The validated thresholds."""
        kind = compliance.parse_org_kind(self.org_kind.data)
        management = (self.management_max.data or "").strip()
        return compliance.Thresholds(
            kind,
            compliance.parse_percent(management, field="management_max")
            if management
            else compliance.ORG_KINDS[kind].management_max,
            compliance.parse_percent(self.programme_min.data, field="programme_min"),
        )


@bp.route("/compliance/settings", methods=["GET", "POST"])
@role_required(*READERS)
def compliance_settings() -> ResponseReturnValue:
    """Administrators set the kind of organisation and the thresholds; others read them."""
    can_edit = current_user.has_role("admin")
    if request.method == "POST" and not can_edit:
        abort(403)
    thresholds, warning = current_thresholds()
    form = ComplianceForm()
    if request.method == "GET":
        form.org_kind.data = thresholds.org_kind
        form.management_max.data = format(thresholds.management_max, "f")
        form.programme_min.data = format(thresholds.programme_min, "f")
    elif form.validate_on_submit():
        new = form.thresholds()
        save_setting(SETTING, new.as_setting(), actor=current_user.username)
        db.session.commit()
        flash(_("合规指标阈值已保存。"))
        return redirect(url_for("audit.compliance_settings"))
    return render_template(
        "audit/compliance_settings.html",
        form=form,
        thresholds=thresholds,
        warning=warning,
        can_edit=can_edit,
        kinds=compliance.ORG_KINDS.values(),
    ), 400 if form.errors else 200


# -- the statements page -----------------------------------------------------------------------


def _page_error(template: str, status: int, exc: RuleError, **context: Any) -> ResponseReturnValue:
    return render_template(template, error=exc, **context), status


@bp.route("/statements")
@role_required(*READERS)
def statements() -> ResponseReturnValue:
    """One statement for a period, every figure a link to its trace, and the indicators."""
    kind = request.args.get("type", "balance_sheet")
    text = request.args.get("period", "").strip() or default_period_text()
    common: dict[str, Any] = {
        "kind": kind,
        "period_text": text,
        "types": drilldown.TYPES,
        "type_names": drilldown.TYPE_NAMES,
        "yuan": yuan,
    }
    try:
        drilldown.check_type(kind)
        period = parse_period(text)
    except RuleError as exc:
        return _page_error("audit/statements.html", 400, exc, view=None, **common)
    book = get_book()
    view = drilldown.statement_view(book, kind, period)
    thresholds, warning = current_thresholds()
    indicators = compliance.compliance_indicators(book, period.end.year, thresholds)
    return render_template(
        "audit/statements.html",
        view=view,
        link_period=period_text(period),
        indicators=indicators,
        settings_warning=warning,
        error=None,
        **common,
    )


def _download(kind: str, fmt: str) -> ResponseReturnValue:
    try:
        drilldown.check_type(kind)
        text, period = _period_arg()
    except RuleError as exc:
        return render_template("error.html", code=400, message=exc.message), 400
    from reports import statements as statement_reports  # written alongside this page

    book = get_book()
    org = current_app.config["ORG_NAME"]
    if kind == drilldown.FUNDS:
        from ledger import queries
        from reports.fund_statement import build_fund_statement

        fund_statement = queries.fund_statement(book, period.start, period.end)
        head = fund_statement.head_hash
        body = (
            build_fund_statement(fund_statement, org_name=org)
            if fmt == "pdf"
            else statement_reports.fund_statement_csv(fund_statement)
        )
    else:
        from ledger.financials import build_statement

        statement = build_statement(book, kind, period)
        head = statement.head_hash
        body = (
            statement_reports.build_statement_pdf(statement, org_name=org)
            if fmt == "pdf"
            else statement_reports.statement_csv(statement)
        )
    audit(f"export_statement_{fmt}", target=f"{kind} {period.slug}", head=head, period=text)
    db.session.commit()
    return send_file(
        io.BytesIO(body),
        mimetype=_MIME[fmt],
        as_attachment=True,
        download_name=f"{kind}-{period.slug}.{fmt}",
    )


@bp.route("/statements/<kind>.pdf")
@role_required(*READERS)
def download_statement_pdf(kind: str) -> ResponseReturnValue:
    """A statement as PDF (A4, embedded font, head hash), logged with the head hash."""
    return _download(kind, "pdf")


@bp.route("/statements/<kind>.csv")
@role_required(*READERS)
def download_statement_csv(kind: str) -> ResponseReturnValue:
    """A statement as CSV, logged with the head hash."""
    return _download(kind, "csv")


# -- the trace page ----------------------------------------------------------------------------


def _int_arg(name: str, default: int | None = None) -> int:
    raw = request.args.get(name, "")
    if not raw and default is not None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise RuleError(name, f"{name} 须为非负整数：{raw[:20]!r}（not a number）")
    return int(raw)


@bp.route("/trace")
@role_required(*READERS)
def trace_figure() -> ResponseReturnValue:
    """The postings behind one figure, 200 a page, with their total beside the figure."""
    kind = request.args.get("type", "")
    key = request.args.get("key", "")
    text = request.args.get("period", "").strip() or default_period_text()
    common: dict[str, Any] = {
        "kind": kind,
        "key": key,
        "period_text": text,
        "yuan": yuan,
        "type_names": drilldown.TYPE_NAMES,
    }
    try:
        column = _int_arg("column")
        page = _int_arg("page", 1)
        drilldown.check_type(kind)
        period = parse_period(text)
        if not key:
            raise RuleError("line", "请指明报表中的行（line is required）", "required")
        book = get_book()
        result = drilldown.trace_page(book, kind, key, column, period, page=page)
    except RuleError as exc:
        return _page_error("audit/trace.html", 400, exc, result=None, **common)
    return render_template(
        "audit/trace.html",
        result=result,
        error=None,
        link_period=period_text(period),
        fund_names={slug: fund.name for slug, fund in book.funds.items()},
        **common,
    )


# -- the entry page ----------------------------------------------------------------------------


def _requests_of(detail: entry_detail.EntryDetail) -> list[OutflowRequest]:
    ids = {detail.id} | ({detail.request} if detail.request else set())
    return list(
        db.session.scalars(
            select(OutflowRequest)
            .where(or_(OutflowRequest.id.in_(ids), OutflowRequest.entry_id == detail.id))
            .order_by(OutflowRequest.created_at)
        )
    )


def _attachments_of(
    detail: entry_detail.EntryDetail, requests: list[OutflowRequest]
) -> list[tuple[Attachment, str]]:
    """Attachments uploaded with this entry's request, then the rest of the same grant's."""
    own: set[int] = set()
    for req in requests:
        for value in (req.payload or {}).get("attachments", []) or []:
            if isinstance(value, int):
                own.add(value)
    rows: list[tuple[Attachment, str]] = []
    if own:
        for att in db.session.scalars(
            select(Attachment).where(Attachment.id.in_(own)).order_by(Attachment.id)
        ):
            rows.append((att, "本笔分录的票据（uploaded with this entry）"))
    if detail.grant:
        for att in db.session.scalars(
            select(Attachment)
            .where(Attachment.application_id == detail.grant, Attachment.id.not_in(own or {0}))
            .order_by(Attachment.id)
        ):
            rows.append((att, f"同一微创投项目 {detail.grant} 的附件（same grant）"))
    return rows


def _load_entry(entry_id: str) -> entry_detail.EntryDetail | None:
    try:
        return entry_detail.entry_detail(get_book(), entry_id)
    except EntryNotFoundError:
        return None


def _not_found(entry_id: str) -> ResponseReturnValue:
    message = f"账本中没有编号为 {entry_id[:64]} 的分录（no such entry）"
    return render_template("error.html", code=404, message=message), 404


@bp.route("/entries/<entry_id>")
@role_required(*READERS)
def entry(entry_id: str) -> ResponseReturnValue:
    """One entry: metadata, postings, linked entries, documents, approval and audit trail."""
    detail = _load_entry(entry_id)
    if detail is None:
        return _not_found(entry_id)
    requests = _requests_of(detail)
    targets = {detail.id, *(r.id for r in requests)}
    log = list(
        db.session.scalars(
            select(AuditLog).where(AuditLog.target.in_(targets)).order_by(AuditLog.at, AuditLog.id)
        )
    )
    return render_template(
        "audit/entry.html",
        entry=detail,
        requests=requests,
        log=log,
        attachments=_attachments_of(detail, requests),
        yuan=yuan,
        china_time=china_time,
    )


@bp.route("/entries/<entry_id>/documents/<int:index>")
@role_required(*READERS)
def entry_document(entry_id: str, index: int) -> ResponseReturnValue:
    """A document the entry's ``document`` metadata names, from the ledger's documents/."""
    try:
        path = entry_detail.document_path(get_book(), entry_id, index)
    except EntryNotFoundError:
        return _not_found(entry_id)
    except RuleError as exc:
        return render_template("error.html", code=404, message=exc.message), 404
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    # Always a download: a document in the ledger folder is never rendered as a page of ours.
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=path.name)


@bp.route("/entries/<entry_id>/attachments/<int:attachment_id>")
@role_required(*READERS)
def entry_attachment(entry_id: str, attachment_id: int) -> ResponseReturnValue:
    """An uploaded attachment related to this entry (its request's receipts, its grant's files)."""
    from ledger_app.grants_workflow import attachment_path

    detail = _load_entry(entry_id)
    if detail is None:
        return _not_found(entry_id)
    related = {att.id: att for att, _why in _attachments_of(detail, _requests_of(detail))}
    att = related.get(attachment_id)
    if att is None or not attachment_path(att).is_file():
        message = "该分录没有这个附件（no such attachment）"
        return render_template("error.html", code=404, message=message), 404
    return send_file(
        attachment_path(att),
        mimetype=att.content_type,
        as_attachment=True,
        download_name=f"attachment-{att.id}.{att.stored_name.rsplit('.', 1)[-1]}",
    )
