"""Forms the fund administrator and approver fill in."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ledger import chart
from ledger_app.forms_common import MoneyField, not_future, select_choices

CHANNELS = select_choices(chart.CHANNEL_NAMES.items())
DISPLAYS = select_choices(
    [("masked", "隐去部分姓名（张*）"), ("name", "公开全名"), ("anonymous", "匿名")]
)
LINES = select_choices(chart.EXPENSE_NAMES.items())
KINDS = select_choices([("person", "个人"), ("organisation", "单位")])


class DonationForm(FlaskForm):  # type: ignore[misc]
    donor_name = StringField("捐赠人姓名或单位名称", validators=[DataRequired(), Length(max=100)])
    donor_kind = SelectField("捐赠人类型", choices=KINDS)
    donor_phone = StringField("联系电话（不公开）", validators=[Optional(), Length(max=32)])
    display = SelectField("公开方式", choices=DISPLAYS)
    amount = MoneyField("金额（元）")
    channel = SelectField("收款渠道", choices=CHANNELS)
    fund = SelectField("捐入基金", choices=[])
    date = DateField("收款日期", validators=[DataRequired(), not_future])
    note = StringField("备注", validators=[Optional(), Length(max=300)])


class ExpenseForm(FlaskForm):  # type: ignore[misc]
    fund = SelectField("支出基金", choices=[])
    amount = MoneyField("金额（元）")
    payee = StringField("收款方", validators=[DataRequired(), Length(max=200)])
    purpose = StringField("用途", validators=[DataRequired(), Length(max=300)])
    line = SelectField("费用类别", choices=LINES)
    paid_from = SelectField("付款渠道", choices=CHANNELS, default="bank")
    date = DateField("付款日期", validators=[DataRequired(), not_future])


class ReversalForm(FlaskForm):  # type: ignore[misc]
    original_id = StringField(
        "要冲销的分录编号",
        validators=[
            DataRequired(),
            Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", message="编号格式不正确"),
        ],
    )
    reason = TextAreaField("冲销原因", validators=[DataRequired(), Length(max=300)])
    date = DateField("冲销日期", validators=[DataRequired(), not_future])


class DecisionForm(FlaskForm):  # type: ignore[misc]
    note = StringField("驳回理由", validators=[Optional(), Length(max=500)])
