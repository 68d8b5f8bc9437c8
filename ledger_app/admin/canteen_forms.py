"""Forms of the 共享食堂 pages: the daily entry, a cost, the month-end stock, a 反哺 rule."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from ledger import canteen, chart
from ledger_app.forms_common import MoneyField, not_future, select_choices

MONTH = Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", message="月份格式须为 YYYY-MM（bad month）")


def sales_field(meal_class: str, channel: str, what: str) -> str:
    """The name of one cell of the daily grid: ``elder_wechat_meals``."""
    return f"{meal_class}_{channel}_{what}"


class SubsidyRowForm(Form):  # type: ignore[misc]
    source = StringField("补贴来源", validators=[Optional(), Length(max=100)])
    source_kind = SelectField(
        "性质",
        choices=select_choices([("government", "政府补助"), ("charity", "慈善项目")]),
        default="government",
    )
    meal_class = SelectField(
        "餐别", choices=select_choices(canteen.MEAL_CLASSES.items()), default="elder"
    )
    meals = IntegerField("份数", validators=[Optional(), NumberRange(min=0, max=canteen.MAX_MEALS)])
    per_meal = StringField("每份（元）", validators=[Optional(), Length(max=20)])
    channel = SelectField(
        "到账",
        choices=select_choices([*chart.CHANNEL_NAMES.items(), ("receivable", "应收（未到账）")]),
        default="bank",
    )


class CanteenDayForm(FlaskForm):  # type: ignore[misc]
    date = DateField("营业日期", validators=[DataRequired(), not_future])
    subsidies = FieldList(FormField(SubsidyRowForm), label="餐费补贴", min_entries=3)
    note = StringField("备注", validators=[Optional(), Length(max=300)])


for _class in canteen.MEAL_CLASSES:
    for _channel in chart.CHANNEL_ACCOUNTS:
        setattr(
            CanteenDayForm,
            sales_field(_class, _channel, "meals"),
            IntegerField(
                "份数", validators=[Optional(), NumberRange(min=0, max=canteen.MAX_MEALS)]
            ),
        )
        setattr(
            CanteenDayForm,
            sales_field(_class, _channel, "amount"),
            StringField("金额", validators=[Optional(), Length(max=20)]),
        )


class CanteenCostForm(FlaskForm):  # type: ignore[misc]
    kind = SelectField("成本类别", choices=select_choices(canteen.COST_KINDS.items()))
    amount = MoneyField("金额（元）")
    payee = StringField("收款方", validators=[DataRequired(), Length(max=200)])
    paid_from = SelectField(
        "付款方式",
        choices=select_choices([*chart.CHANNEL_NAMES.items(), ("payable", "应付（未付款）")]),
        default="bank",
    )
    to_stock = BooleanField("食材入库（月末盘点后计入成本）")
    date = DateField("日期", validators=[DataRequired(), not_future])
    note = StringField("说明", validators=[Optional(), Length(max=300)])


class StockForm(FlaskForm):  # type: ignore[misc]
    amount = StringField("月末存货金额（元）", validators=[DataRequired(), Length(max=20)])


class FeedbackRequestForm(FlaskForm):  # type: ignore[misc]
    pass


class RuleForm(FlaskForm):  # type: ignore[misc]
    effective_from = StringField("生效月份（YYYY-MM）", validators=[DataRequired(), MONTH])
    share = StringField("反哺比例（0–1，如 0.5）", validators=[DataRequired(), Length(max=10)])
    reserve = StringField("每月留存（元）", validators=[Optional(), Length(max=20)], default="0")
    target_fund = SelectField("反哺去向基金", choices=[])
    note = TextAreaField("说明（理事会决议等）", validators=[Optional(), Length(max=500)])
