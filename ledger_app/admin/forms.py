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
KINDS = select_choices(
    [("person", "个人"), ("organisation", "单位/商户"), ("government", "街道/政府")]
)
FORMS = select_choices(
    [
        ("money", "资金"),
        ("goods", "实物（物资，计入存货）"),
        ("fixed_asset", "实物（设备，计入固定资产）"),
    ]
)


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
    form = SelectField("捐赠形式", choices=FORMS, default="money")
    valuation_basis = StringField(
        "实物估值依据（如发票、市场价）", validators=[Optional(), Length(max=200)]
    )
    valued_by = StringField("估值人", validators=[Optional(), Length(max=100)])
    project = StringField("资助项目（企业冠名等，可空）", validators=[Optional(), Length(max=100)])
    pledge = StringField("履行的认捐编号（可空）", validators=[Optional(), Length(max=64)])


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


class DonorForm(FlaskForm):  # type: ignore[misc]
    name = StringField("姓名或单位名称", validators=[DataRequired(), Length(max=100)])
    kind = SelectField("类型", choices=KINDS)
    phone = StringField("联系电话（不公开）", validators=[Optional(), Length(max=32)])
    address = StringField("地址（不公开）", validators=[Optional(), Length(max=200)])
    display = SelectField("公开方式", choices=DISPLAYS)
    consent_on = DateField("同意日期", validators=[Optional(), not_future])
    consent_note = StringField("同意方式与范围", validators=[Optional(), Length(max=200)])


class MergeForm(FlaskForm):  # type: ignore[misc]
    duplicate = StringField(
        "要并入的重复捐赠人编号",
        validators=[DataRequired(), Regexp(r"^d-[0-9a-f]{1,30}$", message="捐赠人编号格式为 d-…")],
    )


class OfficialReceiptForm(FlaskForm):  # type: ignore[misc]
    code = StringField("票据代码", validators=[DataRequired(), Length(max=32)])
    number = StringField("票据号码", validators=[DataRequired(), Length(max=32)])
    check_code = StringField("校验码", validators=[Optional(), Length(max=32)])
    issued_on = DateField("开票日期", validators=[DataRequired(), not_future])


class VoidForm(FlaskForm):  # type: ignore[misc]
    reason = StringField(
        "作废原因（退款、录入错误等）", validators=[DataRequired(), Length(max=300)]
    )
    date = DateField("冲销日期", validators=[DataRequired(), not_future])


class PledgeForm(FlaskForm):  # type: ignore[misc]
    donor_name = StringField("捐赠人姓名或单位名称", validators=[DataRequired(), Length(max=100)])
    donor_kind = SelectField("捐赠人类型", choices=KINDS)
    donor_phone = StringField("联系电话（不公开）", validators=[Optional(), Length(max=32)])
    display = SelectField("公开方式", choices=DISPLAYS)
    amount = MoneyField("认捐金额（元）")
    fund = SelectField("基金", choices=[])
    project = StringField("资助项目（可空）", validators=[Optional(), Length(max=100)])
    pledged_on = DateField("认捐日期", validators=[DataRequired(), not_future])
    due_on = DateField("约定付款日期", validators=[Optional()])
    note = StringField("备注", validators=[Optional(), Length(max=300)])
