"""The fund administrator's and approver's pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from ledger import queries
from ledger.errors import LedgerUnavailableError, RuleError
from ledger_app import workflow
from ledger_app.admin.forms import DecisionForm, DonationForm, ExpenseForm, ReversalForm
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import apply_rule_error, select_choices, today
from ledger_app.models import OutflowRequest, RequestStatus
from ledger_app.security import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")
T = TypeVar("T")
STAFF = ("admin", "approver")


def _fund_choices(*, spend: bool = False) -> list[Any]:
    book = get_book()
    return select_choices(
        (f.slug, f.name + ("（限定）" if f.restricted else "")) for f in book.funds.values()
    )


def _attempt(form: FlaskForm, action: Callable[[], T]) -> T | None:
    """Run one workflow call; a refusal is shown on the field it names and gives None."""
    try:
        return action()
    except RuleError as exc:
        apply_rule_error(form, exc)
    except LedgerUnavailableError as exc:
        form.form_errors.append(str(exc))
    return None


@bp.route("/")
@role_required(*STAFF)
def dashboard() -> ResponseReturnValue:
    book = get_book()
    pending = db.session.scalars(
        select(OutflowRequest)
        .where(OutflowRequest.status == RequestStatus.PENDING.value)
        .order_by(OutflowRequest.created_at)
    ).all()
    from ledger_app import disclosure_workflow

    return render_template(
        "admin/dashboard.html",
        funds=queries.fund_rows(book),
        entries=queries.latest_entries(book, 15),
        pending=pending,
        book=book,
        overdue=len(disclosure_workflow.calendar(book, today()).overdue),
    )


@bp.route("/donations/new", methods=["GET", "POST"])
@role_required("admin")
def new_donation() -> ResponseReturnValue:
    form = DonationForm()
    form.fund.choices = _fund_choices()
    if not form.is_submitted():
        form.date.data = today()
        form.fund.data = request.args.get("fund", "general")
        form.pledge.data = request.args.get("pledge", "")
        form.amount.data = request.args.get("amount", "")
        form.donor_name.data = request.args.get("donor", "")
    if form.validate_on_submit():
        data = workflow.DonationInput(
            id=None,
            date=form.date.data,
            amount=form.amount.amount,
            fund=form.fund.data,
            channel=form.channel.data,
            donor=workflow.DonorInput(
                form.donor_name.data,
                form.donor_phone.data or "",
                form.display.data,
                form.donor_kind.data,
            ),
            note=form.note.data or "",
            form=form.form.data,
            valuation_basis=form.valuation_basis.data or "",
            valued_by=form.valued_by.data or "",
            project=form.project.data or "",
            pledge=(form.pledge.data or "").strip(),
        )
        result = _attempt(
            form, lambda: workflow.record_donation(get_book(), data, current_user.username)
        )
        if result is not None:
            flash(
                _(
                    "已记录捐赠 %(id)s，捐赠确认书编号 %(no)s。",
                    id=result.id,
                    no=result.extra.get("receipt", ""),
                )
            )
            return redirect(url_for("admin.receipt", number=result.extra.get("receipt", "")))
    return render_template("admin/donation_form.html", form=form), 400 if form.errors else 200


@bp.route("/expenses/new", methods=["GET", "POST"])
@role_required("admin")
def new_expense() -> ResponseReturnValue:
    form = ExpenseForm()
    form.fund.choices = _fund_choices(spend=True)
    if not form.is_submitted():
        form.date.data = today()
    if form.validate_on_submit():
        data = workflow.ExpenseInput(
            id=None,
            date=form.date.data,
            amount=form.amount.amount,
            fund=form.fund.data,
            payee=form.payee.data,
            purpose=form.purpose.data,
            line=form.line.data,
            paid_from=form.paid_from.data,
        )
        req = _attempt(
            form, lambda: workflow.request_expense(get_book(), data, current_user.username)
        )
        if req is not None:
            flash(_("支出申请 %(id)s 已提交，待另一位审批人批准后入账。", id=req.id))
            return redirect(url_for("admin.approvals"))
    return render_template("admin/expense_form.html", form=form), 400 if form.errors else 200


@bp.route("/reversals/new", methods=["GET", "POST"])
@role_required("admin")
def new_reversal() -> ResponseReturnValue:
    form = ReversalForm()
    if not form.is_submitted():
        form.date.data = today()
    if form.validate_on_submit():
        req = _attempt(
            form,
            lambda: workflow.request_reversal(
                get_book(),
                form.original_id.data,
                form.reason.data,
                form.date.data,
                current_user.username,
            ),
        )
        if req is not None:
            flash(_("冲销申请 %(id)s 已提交，待审批。", id=req.id))
            return redirect(url_for("admin.approvals"))
    return render_template("admin/reversal_form.html", form=form), 400 if form.errors else 200


@bp.route("/approvals")
@role_required(*STAFF)
def approvals() -> ResponseReturnValue:
    requests = db.session.scalars(
        select(OutflowRequest).order_by(OutflowRequest.created_at.desc()).limit(100)
    ).all()
    return render_template("admin/approvals.html", requests=requests, form=DecisionForm())


@bp.route("/approvals/<request_id>/approve", methods=["POST"])
@role_required("approver", "admin")
def approve(request_id: str) -> ResponseReturnValue:
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        req = workflow.approve_request(get_book(), request_id, current_user.username)
    except (RuleError, LedgerUnavailableError) as exc:
        flash(getattr(exc, "message", str(exc)), "error")
        return redirect(url_for("admin.approvals")), 303
    flash(_("已批准并入账：%(id)s", id=req.entry_id))
    return redirect(url_for("admin.approvals")), 303


@bp.route("/approvals/<request_id>/reject", methods=["POST"])
@role_required("approver", "admin")
def reject(request_id: str) -> ResponseReturnValue:
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        workflow.reject_request(request_id, current_user.username, form.note.data or "")
    except RuleError as exc:
        flash(exc.message, "error")
    else:
        flash(_("已驳回申请 %(id)s。", id=request_id))
    return redirect(url_for("admin.approvals")), 303


from ledger_app.admin import (  # noqa: E402 - these register their routes on bp
    canteen,  # noqa: F401 - 共享食堂
    disclosures,  # noqa: F401 - 信息公开日历 (the disclosure calendar)
    grants,  # noqa: F401 - 微创投
    periods,  # noqa: F401 - month-end reconciliation and close
    registry,  # noqa: F401 - donors, receipts, pledges
    transfers,  # noqa: F401 - 资金划转 between the fund's own accounts
)
