"""Form pieces shared by the blueprints: the strict money field and error mapping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, StringField
from wtforms.validators import ValidationError

from ledger.errors import RuleError
from ledger.money import parse_amount

try:
    from wtforms import SelectChoice
except ImportError:  # WTForms < 3.3 takes (value, label) tuples
    SelectChoice = None


def select_choices(pairs: Iterable[tuple[str, str]]) -> list[Any]:
    """SelectField options; WTForms 3.3 deprecates (value, label) tuples (a DeprecationWarning,
    an error under the test suite's ``filterwarnings = error``)."""
    if SelectChoice is None:
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


class MoneyField(StringField):  # type: ignore[misc]
    """An amount typed as text and parsed by the ledger's strict parser (never DecimalField,
    which accepts NaN, Infinity, exponents and full-width digits)."""

    def __init__(self, label: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, **kwargs)

    def pre_validate(self, form: Any) -> None:
        try:
            self.amount: Decimal = parse_amount(self.data or "", field=self.name)
        except RuleError as exc:
            raise ValidationError(exc.message) from exc


def not_future(form: Any, field: Field) -> None:
    """A WTForms validator: dates after today (China time) are refused."""
    from ledger.book import china_now

    if field.data and field.data > china_now().date():
        raise ValidationError("日期不能晚于今天（date is in the future）")


def apply_rule_error(form: FlaskForm, exc: RuleError) -> None:
    """Show a ledger rule's refusal on the field it names, or on the whole form."""
    name = exc.field.split(".")[-1]
    aliases = {
        "donor": "donor_name",
        "name": "donor_name",
        "phone": "donor_phone",
        "display": "display",
        "original_id": "original_id",
    }
    target = getattr(form, name, None) or getattr(form, aliases.get(name, ""), None)
    if isinstance(target, Field):
        target.errors = [*target.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def today() -> dt.date:
    from ledger.book import china_now

    return china_now().date()
