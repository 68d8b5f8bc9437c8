"""资金划转: moving money between the fund's own accounts (WeChat Pay or Alipay to the bank, cash
paid in), asked for by one administrator and written once another person approves."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ledger_app import workflow
from ledger_app.admin.forms import CHANNELS
from ledger_app.admin.views import _attempt, bp
from ledger_app.books import get_book
from ledger_app.forms_common import MoneyField, not_future, today
from ledger_app.security import role_required


class TransferForm(FlaskForm):  # type: ignore[misc]
    from_channel = SelectField("转出账户", choices=CHANNELS, default="wechat")
    to_channel = SelectField("转入账户", choices=CHANNELS, default="bank")
    amount = MoneyField("金额（元）")
    date = DateField("划转日期", validators=[DataRequired(), not_future])
    note = StringField("说明（如提现单号）", validators=[Optional(), Length(max=300)])


@bp.route("/transfers/new", methods=["GET", "POST"])
@role_required("admin")
def new_transfer() -> ResponseReturnValue:
    form = TransferForm()
    if not form.is_submitted():
        form.date.data = today()
    if form.validate_on_submit():
        data = workflow.TransferInput(
            id=None,
            date=form.date.data,
            amount=form.amount.amount,
            from_channel=form.from_channel.data,
            to_channel=form.to_channel.data,
            note=form.note.data or "",
        )
        req = _attempt(
            form, lambda: workflow.request_transfer(get_book(), data, current_user.username)
        )
        if req is not None:
            flash(_("资金划转申请 %(id)s 已提交，待另一位审批人批准后入账。", id=req.id))
            return redirect(url_for("admin.approvals"))
    return render_template("admin/transfer_form.html", form=form), 400 if form.errors else 200
