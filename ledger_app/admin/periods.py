"""Month-end pages: reconcile the cash, bank and payment accounts, ask for the close, reopen."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ledger import chart, periods
from ledger.errors import LedgerUnavailableError, RuleError
from ledger_app import periods_workflow
from ledger_app.admin.views import STAFF, bp
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import OutflowRequest
from ledger_app.security import role_required

#: Form field name of each reconciled account's statement balance.
FIELDS = {f"bal_{channel}": account for channel, account in chart.CHANNEL_ACCOUNTS.items()}


class ReconcileForm(FlaskForm):  # type: ignore[misc]
    month = StringField("月份", validators=[DataRequired(), Length(max=7)])


class ReopenForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField("重新打开的原因", validators=[DataRequired(), Length(max=300)])


@bp.route("/periods")
@role_required(*STAFF)
def periods_index() -> ResponseReturnValue:
    book = get_book()
    requests = db.session.scalars(
        select(OutflowRequest)
        .where(OutflowRequest.kind == periods_workflow.KIND)
        .order_by(OutflowRequest.created_at.desc())
        .limit(50)
    ).all()
    return render_template(
        "admin/periods/index.html",
        events=periods_workflow.history(book),
        closed=sorted(book.closed_months, reverse=True),
        requests=requests,
        reopen_form=ReopenForm(),
        last_month=periods_workflow.last_month(today()),
    )


@bp.route("/periods/reconcile", methods=["GET", "POST"])
@role_required(*STAFF)
def reconcile() -> ResponseReturnValue:
    book = get_book()
    form = ReconcileForm()
    if not form.is_submitted():
        form.month.data = request.args.get("month") or periods_workflow.last_month(today())
    month = (form.month.data or "").strip()
    raw = {name: (request.form.get(name) or "").strip() for name in FIELDS}
    statements: dict[str, Decimal | None] = {}
    bad: dict[str, str] = {}
    for name, account in FIELDS.items():
        statements[account] = None
        if raw[name]:
            try:
                statements[account] = periods_workflow.parse_balance(raw[name], name)
            except RuleError as exc:
                bad[name] = exc.message
    rows: list[periods_workflow.Row] = []
    status = 200
    try:
        rows = periods_workflow.reconcile_month(book, month, statements)
    except RuleError as exc:
        form.month.errors = [exc.message]
        status = 400
    if form.validate_on_submit() and not bad and rows and request.form.get("action") == "close":
        if current_user.role != "admin":
            abort(403)
        try:
            req = periods_workflow.request_close(book, month, statements, current_user.username)
        except (RuleError, LedgerUnavailableError) as exc:
            form.form_errors.append(getattr(exc, "message", str(exc)))
            status = 400
        else:
            flash(_("结账申请 %(id)s 已提交，待另一位审批人批准后结账。", id=req.id))
            return redirect(url_for("admin.approvals"), 303)
    if bad or (form.is_submitted() and form.errors):
        status = 400
    return render_template(
        "admin/periods/reconcile.html",
        form=form,
        month=month,
        rows=rows,
        fields={account: name for name, account in FIELDS.items()},
        raw=raw,
        bad=bad,
        closed=month in book.closed_months,
        pending=periods_workflow.pending_close(month) if rows else None,
    ), status


@bp.route("/periods/<month>/reopen", methods=["GET", "POST"])
@role_required("admin")
def reopen_period(month: str) -> ResponseReturnValue:
    book = get_book()
    try:
        periods.month_bounds(month)
    except RuleError:
        abort(404)
    form = ReopenForm()
    if form.validate_on_submit():
        try:
            periods_workflow.reopen(book, month, form.reason.data or "", current_user.username)
        except (RuleError, LedgerUnavailableError) as exc:
            form.form_errors.append(getattr(exc, "message", str(exc)))
        else:
            flash(_("已重新打开 %(month)s，原因已记入账本与审计日志。", month=month))
            return redirect(url_for("admin.periods_index"), 303)
    return render_template(
        "admin/periods/reopen.html", form=form, month=month, closed=month in book.closed_months
    ), 400 if form.is_submitted() else 200
