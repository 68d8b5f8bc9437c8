"""微创投 pages: calls, applications, review and deliberation, money requests, the register.

Routes on the admin blueprint (``/admin/grants/…``) and one public form on ``grants_public``
(``/grants/apply/<call_id>``). Every rule lives in :mod:`ledger_app.grants_workflow`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from ledger.errors import RuleError
from ledger_app import grants_workflow as gw
from ledger_app.admin import grant_forms as gf
from ledger_app.admin.views import STAFF, _attempt, _fund_choices, bp
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import Attachment, GrantCall, Objection
from ledger_app.security import remote_addr, role_required

grants_public = Blueprint("grants_public", __name__, url_prefix="/grants")

#: Endpoints that take several attachments of up to 5 MB each.
UPLOAD_ENDPOINTS = {
    "grants_public.apply",
    "admin.grant_application_new",
    "admin.grant_expense_report",
    "admin.grant_attachments",
    "admin.grant_update",
}
UPLOAD_LIMIT = 4 * gw.MAX_ATTACHMENT + 1024 * 1024


def _raise_upload_limit() -> None:
    """Let the upload forms through the app-wide 5 MB limit (each file is still checked)."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = UPLOAD_LIMIT


def _install_limit(state: BlueprintSetupState) -> None:
    # Before CSRF's own before_request reads the form under the app-wide limit.
    app = state.app
    funcs = app.before_request_funcs.setdefault(None, [])
    if _raise_upload_limit not in funcs:
        funcs.insert(0, _raise_upload_limit)


grants_public.record_once(_install_limit)


def _uploads(files: list[FileStorage] | None) -> list[gw.Upload]:
    return [
        gw.Upload(f.filename or "", f.read())
        for f in files or []
        if isinstance(f, FileStorage) and f.filename
    ]


def _rows(entries: Any, names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{n: getattr(e.form, n).data for n in names} for e in entries]


# -- calls ---------------------------------------------------------------------------------------


@bp.route("/grants/")
@role_required(*STAFF)
def grants_index() -> ResponseReturnValue:
    book = get_book()
    calls = db.session.scalars(select(GrantCall).order_by(GrantCall.opens_on.desc())).all()
    return render_template(
        "admin/grants/index.html", calls=[gw.call_summary(book, c) for c in calls]
    )


@bp.route("/grants/calls/new", methods=["GET", "POST"])
@role_required("admin")
def grant_call_new() -> ResponseReturnValue:
    form = gf.CallForm()
    form.fund.choices = _fund_choices()
    if not form.is_submitted():
        form.opens_on.data = today()
        form.closes_on.data = today() + dt.timedelta(days=30)
    if form.validate_on_submit():
        data = gw.CallInput(
            title=form.title.data,
            purpose=form.purpose.data or "",
            fund=form.fund.data,
            budget=form.budget.amount,
            ceiling=form.ceiling.amount,
            opens_on=form.opens_on.data,
            closes_on=form.closes_on.data,
            criteria=_rows(form.criteria.entries, ("name", "weight")),
        )
        call = _attempt(
            form, lambda: gw.create_call(get_book(), data, current_user.username, today=today())
        )
        if call is not None:
            flash(_("已开设征集 %(id)s。", id=call.id))
            return redirect(url_for("admin.grant_call", call_id=call.id))
    book = get_book()
    headroom = {slug: gw.call_headroom(book, slug, today()) for slug in book.funds}
    return render_template(
        "admin/grants/call_form.html", form=form, headroom=headroom, funds=book.funds
    ), 400 if form.errors else 200


def _call_page(
    call_id: str, deliberation: gf.DeliberationForm | None = None
) -> ResponseReturnValue:
    call = db.session.get(GrantCall, call_id)
    if call is None:
        abort(404)
    form = deliberation or gf.DeliberationForm()
    if deliberation is None:
        form.held_on.data = today()
    status = 400 if form.errors else 200
    return render_template(
        "admin/grants/call.html",
        call=call,
        summary=gw.call_summary(get_book(), call),
        deliberations=gw.deliberations_of(call.id),
        form=form,
    ), status


@bp.route("/grants/calls/<call_id>")
@role_required(*STAFF)
def grant_call(call_id: str) -> ResponseReturnValue:
    return _call_page(call_id)


@bp.route("/grants/calls/<call_id>/deliberations", methods=["POST"])
@role_required("admin")
def grant_deliberation(call_id: str) -> ResponseReturnValue:
    form = gf.DeliberationForm()
    if form.validate_on_submit():
        data = gw.DeliberationInput(
            call_id=call_id,
            stage=form.stage.data,
            held_on=form.held_on.data,
            attendees=form.attendees.data,
            quorum=form.quorum.data,
            votes_for=form.votes_for.data or 0,
            votes_against=form.votes_against.data or 0,
            abstentions=form.abstentions.data or 0,
            minutes=form.minutes.data or "",
            supervisor_opinion=form.supervisor_opinion.data or "",
            dissent=form.dissent.data or "",
        )
        row = _attempt(
            form, lambda: gw.record_deliberation(data, current_user.username, today=today())
        )
        if row is not None:
            flash(_("已记录%(stage)s会议。", stage=row.stage))
            return redirect(url_for("admin.grant_call", call_id=call_id), 303)
    return _call_page(call_id, form)


# -- applications -----------------------------------------------------------------------------------


def _application_input(form: gf.ApplicationForm, call_id: str) -> gw.ApplicationInput:
    return gw.ApplicationInput(
        call_id=call_id,
        group_name=form.group_name.data,
        contact_name=form.contact_name.data,
        contact_phone=form.contact_phone.data or "",
        title=form.title.data,
        description=form.description.data or "",
        beneficiaries=form.beneficiaries.data or "",
        budget_lines=_rows(form.budget_lines.entries, ("item", "quantity", "unit_price")),
        cofunding=_rows(form.cofunding.entries, ("source", "kind", "amount")),
        requested=form.requested.data or "",
    )


@bp.route("/grants/calls/<call_id>/applications/new", methods=["GET", "POST"])
@role_required("admin")
def grant_application_new(call_id: str) -> ResponseReturnValue:
    call = db.session.get(GrantCall, call_id)
    if call is None:
        abort(404)
    form = gf.ApplicationForm()
    if form.validate_on_submit():
        data = _application_input(form, call_id)
        uploads = _uploads(form.attachments.data)
        application = _attempt(
            form,
            lambda: gw.submit_application(
                get_book(), data, current_user.username, uploads=uploads, today=today()
            ),
        )
        if application is not None:
            flash(_("已登记申请 %(id)s。", id=application.id))
            return redirect(url_for("admin.grant_application", app_id=application.id))
    return render_template(
        "admin/grants/application_form.html", form=form, call=call, public=False
    ), 400 if form.errors else 200


def _forms() -> dict[str, FlaskForm]:
    day = today()
    forms: dict[str, FlaskForm] = {
        "eligibility": gf.EligibilityForm(prefix="el"),
        "review": gf.ReviewForm(prefix="rv"),
        "decision": gf.DecisionRecordForm(prefix="de"),
        "objection": gf.ObjectionForm(prefix="ob"),
        "answer": gf.AnswerForm(prefix="an"),
        "award": gf.AwardForm(prefix="aw"),
        "disbursement": gf.DisbursementForm(prefix="di"),
        "midterm": gf.MidtermForm(prefix="mt"),
        "expense": gf.ExpenseReportForm(prefix="ex"),
        "close": gf.CloseForm(prefix="cl"),
        "update": gf.UpdateForm(prefix="up"),
        "attachments": gf.AttachmentForm(prefix="at"),
    }
    for form in forms.values():
        for name in ("date", "raised_on", "answered_on", "posted_on"):
            fld = getattr(form, name, None)
            if fld is not None and fld.data is None and not form.is_submitted():
                fld.data = day
    return forms


def _application_page(
    app_id: str, forms: dict[str, FlaskForm] | None = None
) -> ResponseReturnValue:
    try:
        application = gw.get_application(app_id)
    except RuleError:
        abort(404)
    book = get_book()
    view = gw.grant_view(book, application)
    all_forms = _forms()
    failed = False
    for key, form in (forms or {}).items():
        all_forms[key] = form
        failed = failed or bool(form.errors or form.form_errors)
    attachments = db.session.scalars(
        select(Attachment).where(Attachment.application_id == app_id).order_by(Attachment.id)
    ).all()
    objections = db.session.scalars(
        select(Objection).where(Objection.application_id == app_id).order_by(Objection.id)
    ).all()
    return render_template(
        "admin/grants/application.html",
        view=view,
        a=application,
        call=application.call,
        forms=all_forms,
        attachments=attachments,
        objections=objections,
        reviews=gw.reviews_of(app_id),
        mine=gw.review_by(app_id, current_user.username),
    ), 400 if failed else 200


@bp.route("/grants/applications/<app_id>")
@role_required(*STAFF)
def grant_application(app_id: str) -> ResponseReturnValue:
    return _application_page(app_id)


def _step(
    app_id: str,
    key: str,
    form: FlaskForm,
    action: Callable[[], Any],
    message: Callable[[Any], str],
) -> ResponseReturnValue:
    """Validate ``form``, run ``action``; back to the page with a flash, or the errors (400)."""
    if form.validate_on_submit():
        result = _attempt(form, action)
        if result is not None:
            flash(message(result))
            return redirect(url_for("admin.grant_application", app_id=app_id), 303)
    elif not form.errors and not form.form_errors:
        form.form_errors.append("表单已过期，请重新提交（the form expired）")
    return _application_page(app_id, {key: form})


@bp.route("/grants/applications/<app_id>/eligibility", methods=["POST"])
@role_required("admin")
def grant_eligibility(app_id: str) -> ResponseReturnValue:
    form = gf.EligibilityForm(prefix="el")
    return _step(
        app_id,
        "eligibility",
        form,
        lambda: gw.set_eligibility(
            app_id, form.eligible.data == "yes", form.note.data or "", current_user.username
        ),
        lambda a: _("资格审查结果已记录。"),
    )


@bp.route("/grants/applications/<app_id>/review", methods=["POST"])
@role_required(*STAFF)
def grant_review(app_id: str) -> ResponseReturnValue:
    form = gf.ReviewForm(prefix="rv")
    try:
        application = gw.get_application(app_id)
    except RuleError:
        abort(404)
    scores = {
        str(c["name"]): request.form.get(f"score-{i}", "")
        for i, c in enumerate(application.call.criteria or [])
    }
    return _step(
        app_id,
        "review",
        form,
        lambda: gw.record_review(app_id, current_user.username, scores, form.comment.data or ""),
        lambda r: _("评分已记录。"),
    )


@bp.route("/grants/applications/<app_id>/decision", methods=["POST"])
@role_required("admin")
def grant_decision(app_id: str) -> ResponseReturnValue:
    form = gf.DecisionRecordForm(prefix="de")
    return _step(
        app_id,
        "decision",
        form,
        lambda: gw.record_decision(
            app_id,
            form.decision.data == "approved",
            form.amount.data or None,
            form.note.data or "",
            current_user.username,
            published_on=form.published_on.data,
            today=today(),
        ),
        lambda a: _("议事会决定已记录。"),
    )


@bp.route("/grants/applications/<app_id>/objections", methods=["POST"])
@role_required("admin")
def grant_objection(app_id: str) -> ResponseReturnValue:
    form = gf.ObjectionForm(prefix="ob")
    return _step(
        app_id,
        "objection",
        form,
        lambda: gw.raise_objection(
            app_id,
            form.raised_on.data,
            form.raised_by.data or "",
            form.content.data,
            current_user.username,
        ),
        lambda o: _("异议已登记，须答复后资助才能生效。"),
    )


@bp.route("/grants/objections/<int:objection_id>/answer", methods=["POST"])
@role_required("admin")
def grant_answer(objection_id: int) -> ResponseReturnValue:
    row = db.session.get(Objection, objection_id)
    if row is None:
        abort(404)
    form = gf.AnswerForm(prefix="an")
    return _step(
        row.application_id,
        "answer",
        form,
        lambda: gw.answer_objection(
            objection_id, form.answer.data, form.answered_on.data, current_user.username
        ),
        lambda o: _("异议答复已记录。"),
    )


@bp.route("/grants/applications/<app_id>/award", methods=["POST"])
@role_required("admin")
def grant_award(app_id: str) -> ResponseReturnValue:
    form = gf.AwardForm(prefix="aw")
    return _step(
        app_id,
        "award",
        form,
        lambda: gw.request_award(
            get_book(),
            app_id,
            form.date.data,
            current_user.username,
            amount=form.amount.data or None,
        ),
        lambda r: _("资助申请 %(id)s 已提交，待另一位审批人批准后入账。", id=r.id),
    )


@bp.route("/grants/applications/<app_id>/disbursements", methods=["POST"])
@role_required("admin")
def grant_disbursement(app_id: str) -> ResponseReturnValue:
    form = gf.DisbursementForm(prefix="di")
    return _step(
        app_id,
        "disbursement",
        form,
        lambda: gw.request_disbursement(
            get_book(),
            app_id,
            form.date.data,
            form.amount.amount,
            current_user.username,
            paid_from=form.paid_from.data,
        ),
        lambda r: _("拨款申请 %(id)s 已提交，待另一位审批人批准后入账。", id=r.id),
    )


@bp.route("/grants/applications/<app_id>/midterm", methods=["POST"])
@role_required("admin", "approver")
def grant_midterm(app_id: str) -> ResponseReturnValue:
    form = gf.MidtermForm(prefix="mt")
    return _step(
        app_id,
        "midterm",
        form,
        lambda: gw.record_midterm(
            app_id, form.result.data == "yes", form.note.data, current_user.username, get_book()
        ),
        lambda a: _("中期评估结果已记录。"),
    )


@bp.route("/grants/applications/<app_id>/expense-reports", methods=["POST"])
@role_required("admin")
def grant_expense_report(app_id: str) -> ResponseReturnValue:
    form = gf.ExpenseReportForm(prefix="ex")
    try:
        application = gw.get_application(app_id)
    except RuleError:
        abort(404)
    lines = [
        {"line": i, "amount": request.form.get(f"line-{i}", "")}
        for i in range(len(application.budget_lines or []))
    ]
    uploads = _uploads(form.receipts.data)
    return _step(
        app_id,
        "expense",
        form,
        lambda: gw.request_expense_report(
            get_book(),
            app_id,
            form.date.data,
            form.summary.data,
            current_user.username,
            lines=lines,
            receipts=uploads,
            paper_receipts=form.paper_receipts.data or 0,
        ),
        lambda r: _("支出报告 %(id)s 已提交，待另一位审批人批准后入账。", id=r.id),
    )


@bp.route("/grants/applications/<app_id>/close", methods=["POST"])
@role_required("admin")
def grant_close(app_id: str) -> ResponseReturnValue:
    form = gf.CloseForm(prefix="cl")
    return _step(
        app_id,
        "close",
        form,
        lambda: gw.request_close(
            get_book(),
            app_id,
            form.date.data,
            form.returned.data or "",
            form.leftover.data,
            gw.EvaluationInput(
                form.goals_met.data,
                form.beneficiaries_served.data,
                form.satisfaction.data,
                form.evaluation_note.data or "",
            ),
            current_user.username,
            returned_to=form.returned_to.data,
        ),
        lambda r: _("结项申请 %(id)s 已提交，待另一位审批人批准后入账。", id=r.id),
    )


@bp.route("/grants/applications/<app_id>/updates", methods=["POST"])
@role_required("admin")
def grant_update(app_id: str) -> ResponseReturnValue:
    form = gf.UpdateForm(prefix="up")
    photo = form.photo.data
    upload = (
        gw.Upload(photo.filename or "", photo.read())
        if isinstance(photo, FileStorage) and photo.filename
        else None
    )
    return _step(
        app_id,
        "update",
        form,
        lambda: gw.post_update(
            app_id,
            form.posted_on.data,
            form.text.data,
            current_user.username,
            photo=upload,
            caption=form.caption.data or "",
        ),
        lambda u: _("进展已发布到项目公开页。"),
    )


@bp.route("/grants/applications/<app_id>/attachments", methods=["POST"])
@role_required("admin")
def grant_attachments(app_id: str) -> ResponseReturnValue:
    form = gf.AttachmentForm(prefix="at")
    uploads = _uploads(form.files.data)
    return _step(
        app_id,
        "attachments",
        form,
        lambda: (
            gw.add_attachments(app_id, uploads, "application", current_user.username)
            if uploads
            else gw.no_files()
        ),
        lambda rows: _("已上传 %(n)s 个附件。", n=len(rows)),
    )


@bp.route("/grants/attachments/<int:attachment_id>")
@role_required(*STAFF)
def grant_attachment(attachment_id: int) -> ResponseReturnValue:
    att = db.session.get(Attachment, attachment_id)
    if att is None:
        abort(404)
    path = gw.attachment_path(att)
    if not path.is_file():
        abort(404)
    return send_file(
        path,
        mimetype=att.content_type,
        as_attachment=att.content_type == "application/pdf",
        download_name=f"attachment-{att.id}.{att.stored_name.rsplit('.', 1)[-1]}",
    )


@bp.route("/grants/register")
@role_required(*STAFF)
def grant_register() -> ResponseReturnValue:
    return render_template("admin/grants/register.html", views=gw.register(get_book()))


# -- the public application form -------------------------------------------------------------------


@grants_public.route("/apply/<call_id>", methods=["GET", "POST"])
def apply(call_id: str) -> ResponseReturnValue:
    call = db.session.get(GrantCall, call_id)
    if call is None:
        abort(404)
    form = gf.ApplicationForm()
    is_open = gw.call_is_open(call, today())
    if not is_open:
        form.form_errors.append(
            f"征集「{call.title}」的申请时间为 {call.opens_on.isoformat()} 至 "
            f"{call.closes_on.isoformat()}，现在不接受申请（the call is not open）"
        )
        return render_template(
            "admin/grants/application_form.html", form=form, call=call, public=True, closed=True
        ), (400 if request.method == "POST" else 200)
    if form.validate_on_submit():
        if (form.website.data or "").strip():
            form.form_errors.append("提交未被接受：请勿填写隐藏的“网站”一栏（submission refused）")
        elif gw.public_submissions_last_hour(remote_addr()) >= gw.PUBLIC_LIMIT_PER_HOUR:
            form.form_errors.append(
                "同一网络一小时内最多提交 5 份申请，请稍后再试（too many submissions）"
            )
            return render_template(
                "admin/grants/application_form.html", form=form, call=call, public=True
            ), 429
        else:
            data = _application_input(form, call_id)
            uploads = _uploads(form.attachments.data)
            application = _attempt(
                form,
                lambda: gw.submit_application(
                    get_book(), data, "public", via="public", uploads=uploads, today=today()
                ),
            )
            if application is not None:
                return render_template(
                    "admin/grants/apply_done.html", call=call, application=application
                )
    return render_template(
        "admin/grants/application_form.html", form=form, call=call, public=True
    ), 400 if (form.errors or form.form_errors) else 200


__all__ = ["grants_public"]
