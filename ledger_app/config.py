"""Settings, read from the environment with safe development defaults."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

DEV_SECRET = "dev-only-not-secret"  # noqa: S105 - refused in production, see check_production


class ConfigError(RuntimeError):
    """The app refuses to start with an unsafe or incomplete configuration."""


def from_env(instance_path: str) -> dict[str, object]:
    """The configuration of one app instance."""
    instance = Path(instance_path)
    env = os.environ.get("LEDGER_ENV", "development")
    secret = os.environ.get("SECRET_KEY", "")
    if env == "production" and not secret:
        raise ConfigError("SECRET_KEY must be set in production (LEDGER_ENV=production)")
    secure_cookies = os.environ.get("LEDGER_INSECURE_COOKIES", "") != "1"
    return {
        "LEDGER_ENV": env,
        "SECRET_KEY": secret or DEV_SECRET,
        "SQLALCHEMY_DATABASE_URI": database_uri(
            os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'ledger_app.sqlite3'}")
        ),
        "LEDGER_DIR": os.environ.get("LEDGER_DIR", str(instance / "ledger")),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "ORG_NAME": os.environ.get("LEDGER_ORG_NAME", "督院街社区微基金"),
        "PUBLIC_BASE_URL": os.environ.get("LEDGER_PUBLIC_URL", ""),
        # Cookies: Secure, HttpOnly, SameSite; short-lived; server-side session rows end them.
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "ledger_session",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "SESSION_IDLE_MINUTES": 60,
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        "WTF_CSRF_TIME_LIMIT": 3600,
        "MAX_CONTENT_LENGTH": 5 * 1024 * 1024,
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_WINDOW_MINUTES": 15,
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ["zh", "en"],
        "PREFERRED_URL_SCHEME": "https" if secure_cookies else "http",
        "JSON_SORT_KEYS": False,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }


def database_uri(url: str) -> str:
    """The SQLAlchemy URL of ``DATABASE_URL``, with the PostgreSQL driver this project installs.

    SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3, which is not a dependency; the
    project ships psycopg2 (psycopg2-binary), so a URL without a driver is given that one.
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def new_secret() -> str:
    """A fresh secret key, for the set-up script."""
    return secrets.token_urlsafe(48)
