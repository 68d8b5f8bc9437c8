"""The administrator's disclosure calendar (信息公开日历) and the form that publishes a disclosure."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField

from ledger import disclosure_due as due
from ledger.errors import RuleError
from ledger_app import disclosure_workflow as dw
from ledger_app.admin.views import STAFF, bp
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import apply_rule_error, select_choices, today
from ledger_app.models import Disclosure
from ledger_app.security import role_required

#: The kinds offered on the form, in the reader's language (``ledger.disclosure_due.KINDS``).
KIND_CHOICES = (
    ("quarterly", _l("项目实施进展（每三个月）")),
    ("closeout", _l("项目结项与结余处理")),
    ("annual", _l("年度工作报告和财务会计报告")),
    ("other", _l("其他公开信息")),
)


class DisclosureForm(FlaskForm):  # type: ignore[misc]
    """Every field is checked by :func:`ledger.disclosure_due.check_draft`, which names the field
    at fault in Chinese and English; the form only carries the text (and the CSRF token)."""

    kind = SelectField(_l("公开类型"), choices=[], validate_choice=False)
    subject = StringField(_l("公开对象（项目编号或年度）"))
    period = StringField(_l("期间（项目进展须填三个月期间，如 2026-03-29/2026-06-29）"))
    title = StringField(_l("标题"))
    body = TextAreaField(_l("正文"), render_kw={"rows": 10})
    corrects = StringField(_l("更正的公开信息编号（可空）"))


def _corrects(form: DisclosureForm) -> int | None:
    raw = (form.corrects.data or "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise RuleError(
            "corrects", "更正对象须为公开信息的编号（数字）（corrects must be a disclosure number）"
        )
    return int(raw)


@bp.route("/disclosures")
@role_required(*STAFF)
def disclosures() -> ResponseReturnValue:
    book = get_book()
    day = today()
    published = db.session.scalars(
        select(Disclosure).order_by(Disclosure.published_at.desc(), Disclosure.id.desc())
    ).all()
    return render_template(
        "admin/disclosures.html",
        cal=dw.calendar(book, day),
        published=published,
        published_on={d.id: dw.china_date(d.published_at) for d in published},
        due_soon_days=due.DUE_SOON_DAYS,
    )


@bp.route("/disclosures/new", methods=["GET", "POST"])
@role_required("admin")
def new_disclosure() -> ResponseReturnValue:
    book = get_book()
    day = today()
    form = DisclosureForm()
    form.kind.choices = select_choices((k, f"{label}（{k}）") for k, label in KIND_CHOICES)
    cal = dw.calendar(book, day)
    if not form.is_submitted():
        form.kind.data = request.args.get("kind", "quarterly")
        form.subject.data = request.args.get("subject", "")
        form.period.data = request.args.get("period", "")
        form.corrects.data = request.args.get("corrects", "")
        obligation = cal.find(form.kind.data, form.subject.data, form.period.data)
        start = dw.suggest(book, obligation)
        form.title.data, form.body.data = start.title, start.body
    obligation = cal.find(
        form.kind.data or "", (form.subject.data or "").strip(), form.period.data or ""
    )
    if form.validate_on_submit():
        try:
            draft = due.Draft(
                kind=form.kind.data or "",
                subject=form.subject.data or "",
                period=form.period.data or "",
                title=form.title.data or "",
                body=form.body.data or "",
                corrects=_corrects(form),
            )
            row = dw.publish(book, draft, current_user.username, day)
        except RuleError as exc:
            db.session.rollback()
            apply_rule_error(form, exc)
        else:
            flash(_("已发布公开信息 %(id)s：%(title)s", id=row.id, title=row.title))
            return redirect(url_for("admin.disclosures"), 303)
    spans = []
    project = next(
        (p for p in dw.projects(book) if p.id == (form.subject.data or "").strip()), None
    )
    if project is not None:
        spans = [due.span_period(f, d) for _k, f, d in due.quarterly_spans(project, day)]
    status = 400 if form.errors or form.form_errors else 200
    return render_template(
        "admin/disclosure_form.html",
        form=form,
        obligation=obligation,
        spans=spans,
    ), status
