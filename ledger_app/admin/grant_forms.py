"""Forms of the 微创投 pages (calls, applications, review, deliberation, money requests)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ledger import chart
from ledger_app.forms_common import MoneyField, not_future, select_choices

CHANNELS = select_choices(chart.CHANNEL_NAMES.items())
STAGES = select_choices((s, s) for s in ("提议", "商议", "审议", "决议"))
GOALS = select_choices([("yes", "达成"), ("partly", "部分达成"), ("no", "未达成")])
DECISIONS = select_choices([("approved", "资助"), ("rejected", "不予资助")])
YES_NO = select_choices([("yes", "通过"), ("no", "未通过")])


class CriterionForm(Form):  # type: ignore[misc]
    name = StringField("标准", validators=[Optional(), Length(max=50)])
    weight = StringField("权重", validators=[Optional(), Length(max=3)])


class BudgetLineForm(Form):  # type: ignore[misc]
    item = StringField("项目", validators=[Optional(), Length(max=100)])
    quantity = StringField("数量", validators=[Optional(), Length(max=20)])
    unit_price = StringField("单价（元）", validators=[Optional(), Length(max=20)])


class CofundingForm(Form):  # type: ignore[misc]
    source = StringField("来源（共建单位、商户等）", validators=[Optional(), Length(max=100)])
    kind = SelectField(
        "形式",
        choices=select_choices([("cash", "资金"), ("in-kind", "实物/服务")]),
        default="cash",
        validate_choice=False,
    )
    amount = StringField("金额或折价（元）", validators=[Optional(), Length(max=20)])


class CallForm(FlaskForm):  # type: ignore[misc]
    title = StringField("征集名称", validators=[DataRequired(), Length(max=200)])
    purpose = TextAreaField("征集目的", validators=[Optional(), Length(max=2000)])
    fund = SelectField("资金来源基金", choices=[])
    budget = MoneyField("总预算（元）")
    ceiling = MoneyField("单个项目资助上限（元）")
    opens_on = DateField("开始日期", validators=[DataRequired()])
    closes_on = DateField("截止日期", validators=[DataRequired()])
    criteria = FieldList(
        FormField(CriterionForm), label="评审标准与权重（合计 100）", min_entries=5
    )


class ApplicationForm(FlaskForm):  # type: ignore[misc]
    group_name = StringField(
        "申请团队（居民小组、社会组织）", validators=[DataRequired(), Length(max=100)]
    )
    contact_name = StringField("联系人", validators=[DataRequired(), Length(max=100)])
    contact_phone = StringField("联系电话（不公开）", validators=[Optional(), Length(max=32)])
    title = StringField("项目名称", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("项目内容", validators=[Optional(), Length(max=5000)])
    beneficiaries = StringField("受益对象与人数", validators=[Optional(), Length(max=300)])
    budget_lines = FieldList(FormField(BudgetLineForm), label="预算明细", min_entries=6)
    cofunding = FieldList(
        FormField(CofundingForm), label="配套资金（共建单位、商户、实物）", min_entries=3
    )
    requested = StringField(
        "申请资助金额（元，留空为预算合计）", validators=[Optional(), Length(max=20)]
    )
    attachments = MultipleFileField("附件（PDF、JPEG、PNG，每个不超过 5 MB）")
    #: The honeypot: hidden from people, filled in by robots.
    website = StringField("网站（请留空）", validators=[Optional()])


class EligibilityForm(FlaskForm):  # type: ignore[misc]
    eligible = SelectField(
        "资格审查", choices=select_choices([("yes", "符合条件"), ("no", "不符合条件")])
    )
    note = StringField("说明", validators=[Optional(), Length(max=500)])


class ReviewForm(FlaskForm):  # type: ignore[misc]
    comment = TextAreaField("评审意见", validators=[Optional(), Length(max=2000)])


class DeliberationForm(FlaskForm):  # type: ignore[misc]
    stage = SelectField("议事阶段", choices=STAGES)
    held_on = DateField("会议日期", validators=[DataRequired(), not_future])
    attendees = IntegerField(
        "出席人数", validators=[InputRequired(message="请填写出席人数"), NumberRange(min=0)]
    )
    quorum = IntegerField(
        "法定人数", validators=[InputRequired(message="请填写法定人数"), NumberRange(min=1)]
    )
    votes_for = IntegerField("赞成", default=0, validators=[Optional(), NumberRange(min=0)])
    votes_against = IntegerField("反对", default=0, validators=[Optional(), NumberRange(min=0)])
    abstentions = IntegerField("弃权", default=0, validators=[Optional(), NumberRange(min=0)])
    minutes = TextAreaField("会议纪要", validators=[Optional(), Length(max=10000)])
    supervisor_opinion = TextAreaField("监督委员会意见", validators=[Optional(), Length(max=10000)])
    dissent = TextAreaField("不同意见", validators=[Optional(), Length(max=10000)])


class DecisionRecordForm(FlaskForm):  # type: ignore[misc]
    decision = SelectField("决定", choices=DECISIONS)
    amount = StringField("资助金额（元）", validators=[Optional(), Length(max=20)])
    note = TextAreaField("决定说明", validators=[Optional(), Length(max=2000)])
    published_on = DateField("公示日期（留空为尚未公示）", validators=[Optional(), not_future])


class ObjectionForm(FlaskForm):  # type: ignore[misc]
    raised_on = DateField("提出日期", validators=[DataRequired(), not_future])
    raised_by = StringField("提出人（不公开）", validators=[Optional(), Length(max=100)])
    content = TextAreaField("异议内容", validators=[DataRequired(), Length(max=5000)])


class AnswerForm(FlaskForm):  # type: ignore[misc]
    answered_on = DateField("答复日期", validators=[DataRequired(), not_future])
    answer = TextAreaField("答复", validators=[DataRequired(), Length(max=5000)])


class AwardForm(FlaskForm):  # type: ignore[misc]
    date = DateField("资助生效日期", validators=[DataRequired(), not_future])
    amount = StringField("资助金额（元，留空为决定金额）", validators=[Optional(), Length(max=20)])


class DisbursementForm(FlaskForm):  # type: ignore[misc]
    date = DateField("拨款日期", validators=[DataRequired(), not_future])
    amount = MoneyField("本期拨款（元）")
    paid_from = SelectField("付款渠道", choices=CHANNELS, default="bank")


class MidtermForm(FlaskForm):  # type: ignore[misc]
    result = SelectField("中期评估", choices=YES_NO)
    note = TextAreaField("评估意见", validators=[DataRequired(), Length(max=5000)])


class ExpenseReportForm(FlaskForm):  # type: ignore[misc]
    date = DateField("报告日期", validators=[DataRequired(), not_future])
    summary = StringField("支出摘要", validators=[DataRequired(), Length(max=300)])
    paper_receipts = IntegerField(
        "另附纸质票据张数", default=0, validators=[Optional(), NumberRange(min=0, max=10000)]
    )
    receipts = MultipleFileField("票据扫描件（PDF、JPEG、PNG，每个不超过 5 MB）")


class CloseForm(FlaskForm):  # type: ignore[misc]
    date = DateField("结项日期", validators=[DataRequired(), not_future])
    returned = StringField("退回结余（元）", validators=[Optional(), Length(max=20)])
    returned_to = SelectField("退回渠道", choices=CHANNELS, default="bank")
    leftover = StringField("剩余财产及其去向", validators=[DataRequired(), Length(max=300)])
    goals_met = SelectField("目标达成", choices=GOALS)
    beneficiaries_served = IntegerField(
        "实际受益人数", validators=[InputRequired(message="请填写受益人数"), NumberRange(min=0)]
    )
    satisfaction = IntegerField(
        "居民满意度（0–100）",
        validators=[InputRequired(message="请填写满意度"), NumberRange(min=0, max=100)],
    )
    evaluation_note = TextAreaField("评估说明", validators=[Optional(), Length(max=5000)])


class UpdateForm(FlaskForm):  # type: ignore[misc]
    posted_on = DateField("日期", validators=[DataRequired(), not_future])
    text = TextAreaField("进展", validators=[DataRequired(), Length(max=5000)])
    photo = FileField("照片（JPEG、PNG，可空）")
    caption = StringField("照片说明", validators=[Optional(), Length(max=200)])


class AttachmentForm(FlaskForm):  # type: ignore[misc]
    files = MultipleFileField("附件（PDF、JPEG、PNG，每个不超过 5 MB）")
