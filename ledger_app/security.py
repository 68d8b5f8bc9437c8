"""Sign-in, sessions, roles, throttling and the headers every response carries."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort, current_app, g, has_request_context, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from ledger_app.extensions import db, login_manager
from ledger_app.models import AuditLog, LoginAttempt, User, UserSession, utcnow

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
F = TypeVar("F", bound=Callable[..., ResponseReturnValue])


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    """Verify a password; spends the same time whether or not the user exists."""
    target = user.password_hash if user else _DUMMY_HASH
    try:
        _hasher.verify(target, password)
    except (VerificationError, InvalidHashError):
        return False
    return user is not None


_DUMMY_HASH = _hasher.hash(secrets.token_hex(8))


def remote_addr() -> str:
    return (request.remote_addr or "")[:64] if has_request_context() else ""


# -- throttling -----------------------------------------------------------------------------------


def login_blocked(username: str) -> bool:
    """Too many recent failures for this name or from this address (counted in the database,
    so the limit holds across every worker process)."""
    window = utcnow() - dt.timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    by_name = db.session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.username == username, LoginAttempt.at >= window)
    )
    by_addr = db.session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.remote_addr == remote_addr(), LoginAttempt.at >= window)
    )
    return (by_name or 0) >= limit or (by_addr or 0) >= limit * 4


def record_failure(username: str) -> None:
    db.session.add(LoginAttempt(username=username[:64], remote_addr=remote_addr()))
    audit("login_failed", target=username[:64], actor=username[:64])
    db.session.commit()


# -- sessions -------------------------------------------------------------------------------------


def start_session(user: User) -> None:
    """Sign a user in with a fresh server-side session row."""
    session.clear()
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
    row = UserSession(id=secrets.token_urlsafe(32), user_id=user.id, expires_at=utcnow() + lifetime)
    db.session.add(row)
    db.session.query(LoginAttempt).filter_by(username=user.username).delete()
    audit("login", target=user.username, actor=user.username)
    db.session.commit()
    user._session_id = row.id
    session.permanent = True
    login_user(user)


def end_session() -> None:
    """Sign out: revoke the session row, so the same cookie no longer signs anyone in."""
    sid = getattr(current_user, "_session_id", None)
    if sid:
        row = db.session.get(UserSession, sid)
        if row and row.revoked_at is None:
            row.revoked_at = utcnow()
            audit("logout", target=current_user.username)
            db.session.commit()
    logout_user()
    session.clear()


def _background_poll() -> bool:
    """A request a page makes by itself (Fava asking every few seconds whether the ledger
    changed): it must not keep an unattended session alive past its idle limit."""
    if not has_request_context():
        return False
    path = request.path
    return path.startswith(FAVA_PREFIX + "/") and path.endswith("/api/changed")


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    row = db.session.get(UserSession, session_id)
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    idle = dt.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    if row.last_seen + idle <= now:
        row.revoked_at = now
        db.session.commit()
        return None
    user = row.user
    if not user.active:
        return None
    if now - row.last_seen > dt.timedelta(minutes=1) and not _background_poll():
        row.last_seen = now
        db.session.commit()
    user._session_id = row.id
    return user


# -- roles ----------------------------------------------------------------------------------------


def role_required(*roles: str) -> Callable[[F], F]:
    """Only signed-in users with one of ``roles``; others are sent to sign in or refused."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def actor_name() -> str:
    """The user acting in this request (web session or API token)."""
    if not has_request_context():
        return "cli"
    user = g.get("api_user") or (current_user if current_user.is_authenticated else None)
    return user.username if user else "system"


def audit(action: str, *, target: str = "", actor: str | None = None, **detail: Any) -> None:
    """Add an audit-log row to the current database transaction (the caller commits)."""
    db.session.add(
        AuditLog(
            actor=actor or actor_name(),
            action=action,
            target=target[:128],
            detail={k: str(v) for k, v in detail.items()},
            remote_addr=remote_addr(),
        )
    )


# -- headers --------------------------------------------------------------------------------------

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


#: Where Fava is mounted (ledger_app/audit/fava.py); its responses get :data:`FAVA_CSP`.
FAVA_PREFIX = "/audit/fava"
#: Fava's pages, relaxed only as far as Fava's own bundle needs: its editors (CodeMirror) write
#: their styles into a ``<style>`` element whose text changes as editors mount, so no hash can
#: allow it ('unsafe-inline' for styles only; scripts stay 'self'), and its Beancount highlighter
#: is WebAssembly ('wasm-unsafe-eval' compiles WebAssembly only, it does not allow ``eval``).
FAVA_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'").replace(
    "script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'"
)


def content_security_policy(path: str) -> str:
    """The policy for a response to ``path``: Fava's under its prefix, the strict one elsewhere."""
    return FAVA_CSP if path.startswith(FAVA_PREFIX + "/") else CSP


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录（please sign in）"
    login_manager.session_protection = "strong"

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers.setdefault(
            "Content-Security-Policy", content_security_policy(request.path)
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if current_user and current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response
