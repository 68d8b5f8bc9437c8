"""Sign in and sign out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ledger_app.extensions import db
from ledger_app.models import User
from ledger_app.security import (
    check_password,
    end_session,
    login_blocked,
    record_failure,
    start_session,
)

bp = Blueprint("auth", __name__, url_prefix="/auth")


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField("用户名", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=200)])


def _home_for(user: User) -> str:
    if user.role == "auditor":
        return url_for("audit.index")
    return url_for("admin.dashboard")


def _same_site_path(target: str) -> bool:
    r"""A path on this site. Browsers drop tabs and newlines from a URL and read a backslash as a
    slash, so ``/<TAB>/evil.example`` or ``/\evil.example`` would leave the site (and a newline
    does not even fit in a header)."""
    if not target.startswith("/") or target.startswith("//"):
        return False
    return not any(ch == "\\" or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        name = form.username.data.strip()
        if login_blocked(name):
            form.form_errors.append(_("登录失败次数过多，请15分钟后再试。"))
            status = 429
        else:
            user = db.session.scalars(select(User).where(User.username == name)).first()
            if check_password(user, form.password.data) and user and user.active:
                start_session(user)
                target = request.args.get("next", "")
                if not _same_site_path(target):
                    target = _home_for(user)
                return redirect(target)
            record_failure(name)
            form.form_errors.append(_("用户名或密码不正确。"))
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:
        end_session()
    flash(_("已退出登录。"))
    return redirect(url_for("public.index"))
