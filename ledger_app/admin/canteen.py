"""共享食堂 pages: the daily entry, costs, month-end stock, the month report and the 反哺 rules."""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField

from ledger import canteen, chart
from ledger.errors import RuleError
from ledger_app import canteen_workflow as cw
from ledger_app.admin.canteen_forms import (
    CanteenCostForm,
    CanteenDayForm,
    FeedbackRequestForm,
    RuleForm,
    StockForm,
    sales_field,
)
from ledger_app.admin.views import STAFF, _attempt, bp
from ledger_app.books import get_book
from ledger_app.forms_common import apply_rule_error, select_choices, today
from ledger_app.security import role_required

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_SALES = re.compile(r"sales\[(\d+)\]\.(\w+)")


def _recent_months(count: int = 12) -> list[str]:
    day = today()
    index = day.year * 12 + day.month - 1
    return [f"{(index - i) // 12:04d}-{(index - i) % 12 + 1:02d}" for i in range(count)]


@bp.route("/canteen/")
@role_required(*STAFF)
def canteen_index() -> ResponseReturnValue:
    book = get_book()
    months = [canteen.canteen_month(book, m, compare=0) for m in _recent_months()]
    return render_template(
        "admin/canteen/index.html",
        months=months,
        summary=cw.fed_back_summary(book),
        classes=canteen.MEAL_CLASSES,
    )


@bp.route("/canteen/day", methods=["GET", "POST"])
@role_required("admin")
def canteen_day() -> ResponseReturnValue:
    form = CanteenDayForm()
    if not form.is_submitted():
        form.date.data = today()
    if form.validate_on_submit():
        cells: list[tuple[str, str]] = []
        sales: list[cw.SalesInput] = []
        for meal_class in canteen.MEAL_CLASSES:
            for channel in chart.CHANNEL_ACCOUNTS:
                meals = form[sales_field(meal_class, channel, "meals")].data
                amount = (form[sales_field(meal_class, channel, "amount")].data or "").strip()
                if not meals and not amount:
                    continue
                cells.append((meal_class, channel))
                sales.append(cw.SalesInput(meal_class, channel, meals or 0, amount))
        subsidies = [
            cw.SubsidyInput(
                source=(row.source.data or "").strip(),
                meals=row.meals.data or 0,
                per_meal=(row.per_meal.data or "").strip(),
                meal_class=row.meal_class.data,
                source_kind=row.source_kind.data,
                channel=row.channel.data,
            )
            for row in form.subsidies.entries
            if (row.source.data or "").strip() or row.meals.data or row.per_meal.data
        ]
        data = cw.DayInput(form.date.data, sales, subsidies, form.note.data or "")
        try:
            result = cw.record_day(get_book(), data, current_user.username)
        except RuleError as exc:
            _show_day_error(form, exc, cells)
        else:
            flash(_("已记录 %(day)s 的营业数据（%(id)s）。", day=data.date, id=result.id))
            return redirect(url_for("admin.canteen_month", month=f"{data.date:%Y-%m}"), 303)
    return render_template(
        "admin/canteen/day_form.html",
        form=form,
        classes=canteen.MEAL_CLASSES,
        channels=chart.CHANNEL_NAMES,
        cell=sales_field,
    ), 400 if form.errors or form.form_errors else 200


def _show_day_error(form: CanteenDayForm, exc: RuleError, cells: list[tuple[str, str]]) -> None:
    found = _SALES.fullmatch(exc.field)
    if found and int(found.group(1)) < len(cells) and found.group(2) in ("meals", "amount"):
        meal_class, channel = cells[int(found.group(1))]
        target = form[sales_field(meal_class, channel, found.group(2))]
        target.errors = [*target.errors, exc.message]
    elif exc.field.startswith("subsidies["):
        form.form_errors.append(exc.message)
    else:
        apply_rule_error(form, exc)


@bp.route("/canteen/costs/new", methods=["GET", "POST"])
@role_required("admin")
def canteen_cost() -> ResponseReturnValue:
    form = CanteenCostForm()
    if not form.is_submitted():
        form.date.data = today()
    if form.validate_on_submit():
        data = cw.CostInput(
            id=None,
            date=form.date.data,
            kind=form.kind.data,
            amount=form.amount.amount,
            payee=form.payee.data,
            paid_from=form.paid_from.data,
            to_stock=bool(form.to_stock.data),
            note=form.note.data or "",
        )
        req = _attempt(form, lambda: cw.request_cost(get_book(), data, current_user.username))
        if req is not None:
            flash(_("成本申请 %(id)s 已提交，待另一位审批人批准后入账。", id=req.id))
            return redirect(url_for("admin.approvals"), 303)
    return render_template("admin/canteen/cost_form.html", form=form), 400 if form.errors else 200


def _month_or_404(month: str) -> str:
    if not _MONTH.fullmatch(month):
        abort(404)
    return month


@bp.route("/canteen/<month>")
@role_required(*STAFF)
def canteen_month(month: str) -> ResponseReturnValue:
    return _month_page(_month_or_404(month), StockForm(prefix="stock"))


def _month_page(month: str, stock: StockForm, status: int = 200) -> ResponseReturnValue:
    book = get_book()
    view = cw.month_view(book, month)
    return render_template(
        "admin/canteen/month.html",
        view=view,
        m=view["figures"],
        stock_form=stock,
        feedback_form=FeedbackRequestForm(prefix="feedback"),
        classes=canteen.MEAL_CLASSES,
        kinds=canteen.COST_KINDS,
        funds=book.funds,
        share=cw.format_share,
    ), status


@bp.route("/canteen/<month>/stock", methods=["POST"])
@role_required("admin")
def canteen_stock(month: str) -> ResponseReturnValue:
    _month_or_404(month)
    form = StockForm(prefix="stock")
    if form.validate_on_submit():
        done = _attempt(
            form,
            lambda: (
                cw.record_stock(get_book(), month, form.amount.data, current_user.username) or True
            ),
        )
        if done is not None:
            flash(_("已登记 %(month)s 月末存货。", month=month))
            return redirect(url_for("admin.canteen_month", month=month), 303)
    return _month_page(month, form, 400)


@bp.route("/canteen/<month>/feedback", methods=["POST"])
@role_required("admin")
def canteen_feedback(month: str) -> ResponseReturnValue:
    _month_or_404(month)
    form = FeedbackRequestForm(prefix="feedback")
    if not form.validate_on_submit():
        abort(400)
    try:
        req = cw.request_feedback(get_book(), month, current_user.username)
    except RuleError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.canteen_month", month=month), 303)
    flash(_("反哺申请 %(id)s 已提交，待另一位审批人批准后入账。", id=req.id))
    return redirect(url_for("admin.approvals"), 303)


@bp.route("/canteen/rules", methods=["GET", "POST"])
@role_required(*STAFF)
def canteen_rules() -> ResponseReturnValue:
    book = get_book()
    form = RuleForm()
    form.target_fund.choices = select_choices(
        (f.slug, f.name) for f in book.funds.values() if f.slug != canteen.FUND
    )
    if not form.is_submitted():
        form.effective_from.data = f"{today():%Y-%m}"
    if request.method == "POST" and current_user.role != "admin":
        abort(403)
    if form.validate_on_submit():
        row = _attempt(
            form,
            lambda: cw.add_rule(
                get_book(),
                form.effective_from.data.strip(),
                form.share.data,
                form.reserve.data or "0",
                form.target_fund.data,
                current_user.username,
                form.note.data or "",
            ),
        )
        if row is not None:
            flash(_("已添加反哺规则，自 %(month)s 起生效。", month=row.effective_from))
            return redirect(url_for("admin.canteen_rules"), 303)
    rows = cw.rule_rows()
    in_force = {}
    for row in rows:  # the latest added for a month wins; earlier ones that month never applied
        in_force[row.effective_from] = row.id
    return render_template(
        "admin/canteen/rules.html",
        form=form,
        rows=list(reversed(rows)),
        applied=set(in_force.values()),
        funds=book.funds,
        share=cw.format_share,
    ), 400 if form.errors else 200


class PosImportForm(FlaskForm):  # type: ignore[misc]
    file = FileField(
        "收银系统日汇总（CSV：日期,餐别,支付方式,份数,金额）", validators=[FileRequired()]
    )
    post = BooleanField("确认入账（不勾选则只预览）")


@bp.route("/canteen/import", methods=["GET", "POST"])
@role_required(*STAFF)
def canteen_import() -> ResponseReturnValue:
    from ledger.canteen_import import import_canteen_sales

    form = PosImportForm()
    days = None
    if form.validate_on_submit():
        if current_user.role != "admin":
            abort(403)
        raw = form.file.data.read(MAX_POS_BYTES + 1)
        if len(raw) > MAX_POS_BYTES:
            form.file.errors = [*form.file.errors, "文件过大：最多 2 MB"]
        else:
            days = _attempt(
                form,
                lambda: import_canteen_sales(
                    get_book(), raw, actor=current_user.username, post=bool(form.post.data)
                ),
            )
            if days is not None and form.post.data:
                flash(_("已导入 %(n)s 天的销售。", n=len(days)))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("admin/canteen/import.html", form=form, days=days), status


MAX_POS_BYTES = 2 * 1024 * 1024
