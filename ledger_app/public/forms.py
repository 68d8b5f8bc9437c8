"""The one form the public fills in: checking a donation confirmation by number and code."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class VerifyForm(FlaskForm):  # type: ignore[misc]
    """A GET form (the QR code opens it with both fields filled), so no CSRF token: it only reads."""

    class Meta:
        csrf = False

    no = StringField(
        _l("确认书编号"),
        validators=[DataRequired(_l("请填写确认书编号")), Length(max=32)],
        render_kw={"placeholder": "2026-000123", "autocomplete": "off", "spellcheck": "false"},
    )
    code = StringField(
        _l("核验码"),
        validators=[DataRequired(_l("请填写核验码")), Length(max=32)],
        render_kw={
            "placeholder": "ABCD1234",
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
        },
    )
