"""Fixtures shared by the whole suite: the Flask app on a fresh ledger folder and a fresh database.

The database is SQLite in ``tmp_path`` unless ``DATABASE_URL`` is set (for example
``postgresql://postgres@127.0.0.1:5432/test``); then every test starts by dropping every table,
``alembic_version`` included, so each one runs the migrations on an empty database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Make the project importable even when it is not installed, and the shared helpers in tests/
# (beanquery_helpers) too; tests/ goes last so its folders never shadow the real packages.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "tests") not in sys.path:
    sys.path.append(str(ROOT / "tests"))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient, FlaskCliRunner  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import text  # noqa: E402
from werkzeug.test import TestResponse  # noqa: E402

from ledger import chart  # noqa: E402
from ledger_app import books, create_app  # noqa: E402
from ledger_app.extensions import db  # noqa: E402
from ledger_app.models import User  # noqa: E402
from ledger_app.security import hash_password  # noqa: E402

#: The password of every user the fixtures create.
PASSWORD = "correct-horse-battery-staple"
#: (username, role) of the users every app starts with.
USERS = (("admin", "admin"), ("admin2", "admin"), ("approver", "approver"), ("auditor", "auditor"))
OPENED = dt.date(2020, 1, 1)
FUNDS = chart.DEFAULT_FUNDS + chart.DEMO_RESTRICTED_FUNDS
TEST_SECRET = "test-secret-key-not-for-production"

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
_hash_cache: dict[str, str] = {}


def database_url(tmp_path: Path) -> str:
    """PostgreSQL (or any database) from ``DATABASE_URL``, else SQLite beside the test's files."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'app.sqlite3'}"


def _password_hash() -> str:
    if PASSWORD not in _hash_cache:
        _hash_cache[PASSWORD] = hash_password(PASSWORD)
    return _hash_cache[PASSWORD]


def _drop_everything() -> None:
    """Leave the database empty: the app's tables and Alembic's version table."""
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@contextlib.contextmanager
def logging_left_alone() -> Iterator[None]:
    """Undo what running the migrations does to logging.

    Alembic's env.py calls ``logging.config.fileConfig``, which disables every logger that exists
    (``ledger.store`` among them), replaces the root logger's handlers (pytest's capture handlers
    among them) and sets its level. Left alone, that would change later tests' log capture.
    """
    manager = logging.Logger.manager
    root = logging.getLogger()
    root_state = (root.level, list(root.handlers))
    saved = {
        name: (lg.disabled, lg.level, list(lg.handlers), lg.propagate)
        for name, lg in manager.loggerDict.items()
        if isinstance(lg, logging.Logger)
    }
    try:
        yield
    finally:
        root.setLevel(root_state[0])
        root.handlers[:] = root_state[1]
        for name, (disabled, level, handlers, propagate) in saved.items():
            lg = manager.loggerDict.get(name)
            if isinstance(lg, logging.Logger):
                lg.disabled = disabled
                lg.setLevel(level)
                lg.handlers[:] = handlers
                lg.propagate = propagate


@pytest.fixture(autouse=True)
def _loggers_enabled() -> None:
    """Re-enable any logger a migration run elsewhere disabled (see :func:`logging_left_alone`).

    Fixtures that migrate a database without that guard (a module-scoped live server, say) would
    otherwise silence ``ledger.store``'s warnings for every later test that checks them.
    """
    for lg in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(lg, logging.Logger) and lg.disabled:
            lg.disabled = False


def create_users() -> None:
    """The four users of every test app (call inside an app context)."""
    for username, role in USERS:
        db.session.add(
            User(
                username=username, role=role, display_name=username, password_hash=_password_hash()
            )
        )
    db.session.commit()


AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppFactory]:
    """Build app instances on this test's ledger folder and database.

    ``make_app()`` empties the database, migrates it, creates the users and the ledger; a later
    ``make_app(setup=False)`` is a second instance (another worker, say) on the same database and
    files. ``ledger=False`` leaves the ledger folder uninitialised.
    """
    monkeypatch.setenv("LEDGER_INSTANCE", str(tmp_path / "instance"))
    apps: list[Flask] = []

    def factory(*, setup: bool = True, ledger: bool = True, **overrides: Any) -> Flask:
        config: dict[str, Any] = {
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET,
            "LEDGER_DIR": str(tmp_path / "ledger"),
            "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
            "PREFERRED_URL_SCHEME": "https",
            "SESSION_COOKIE_SECURE": True,
        }
        config.update(overrides)
        app = create_app(config)
        apps.append(app)
        if setup:
            with app.app_context():
                if db.engine.dialect.name == "postgresql":
                    _drop_everything()
                with logging_left_alone():
                    upgrade()
                create_users()
                if ledger:
                    books.store().init(funds=FUNDS, opened=OPENED)
        return app

    # ``flask init`` run by a test migrates too: put logging back when the test ends.
    with logging_left_alone():
        try:
            yield factory
        finally:
            for app in apps:
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    """The app on a new ledger (four funds) and a migrated database with four users."""
    return make_app()


def https_client(app: Flask) -> FlaskClient:
    """A test client whose requests arrive over HTTPS, so Secure cookies make sense.

    Over HTTPS Flask-WTF also checks that a form POST's Referer is this site, as a browser's is.
    """
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    client.environ_base["HTTP_REFERER"] = "https://localhost/"
    return client


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return https_client(app)


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF.search(html)
    if match is None:
        raise AssertionError("no csrf_token on the page")
    return match.group(1) or match.group(2)


class AuthActions:
    """Sign in and out through the real login form, CSRF token included."""

    password = PASSWORD

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    @property
    def client(self) -> FlaskClient:
        return self._client

    def token(self, path: str = "/auth/login") -> str:
        """A fresh CSRF token, read from the form at ``path``."""
        page = self._client.get(path)
        assert page.status_code == 200, (path, page.status_code)
        return csrf_token(page.get_data(as_text=True))

    def login(self, username: str = "admin", password: str = PASSWORD) -> TestResponse:
        token = self.token("/auth/login")
        return self._client.post(
            "/auth/login", data={"username": username, "password": password, "csrf_token": token}
        )

    def logout(self) -> TestResponse:
        token = self.token("/")
        return self._client.post("/auth/logout", data={"csrf_token": token})

    def post(
        self, path: str, data: dict[str, str], *, form_page: str | None = None
    ) -> TestResponse:
        """POST a form with the token read from ``form_page`` (the form itself by default)."""
        return self._client.post(path, data={**data, "csrf_token": self.token(form_page or path)})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def visitor(app: Flask) -> Callable[..., AuthActions]:
    """``visitor()``: a new client with its own cookie jar, not signed in (on ``app`` by default)."""

    def factory(on: Flask | None = None) -> AuthActions:
        return AuthActions(https_client(on or app))

    return factory


@pytest.fixture
def signed_in(app: Flask) -> Callable[..., AuthActions]:
    """``signed_in("auditor")``: a new client, signed in as that user (on ``app`` by default)."""

    def factory(username: str, on: Flask | None = None) -> AuthActions:
        actions = AuthActions(https_client(on or app))
        response = actions.login(username)
        assert response.status_code == 302, (username, response.status_code)
        return actions

    return factory


# -- the demo year, built once ----------------------------------------------------------------------


def _demo_app(instance: Path, database: str) -> Flask:
    """An app on ``instance`` with the demo year loaded (``flask init`` then ``flask demo``)."""
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "LEDGER_DIR": str(instance / "ledger"),
        "SQLALCHEMY_DATABASE_URI": database,
        "PREFERRED_URL_SCHEME": "https",
        "SESSION_COOKIE_SECURE": True,
    }
    app = create_app(config)
    with app.app_context(), logging_left_alone():
        if db.engine.dialect.name == "postgresql":
            _drop_everything()
        upgrade()
        create_users()
        books.store().init(funds=FUNDS, opened=OPENED)
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture(scope="session")
def demo_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of a ledger holding the demo year, built once per test session.

    Read-only: a test that writes copies it first (``shutil.copytree``). Its database is a
    throw-away SQLite file, whatever ``DATABASE_URL`` says; only the files matter here.
    """
    root = tmp_path_factory.mktemp("demo-ledger")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEDGER_INSTANCE", str(root / "instance"))
        app = _demo_app(root, f"sqlite:///{root / 'demo.sqlite3'}")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return root / "ledger"


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app with the demo year in its ledger and database, shared by one test module.

    Tests that use it must not write. Against PostgreSQL the database is shared, so a module that
    uses ``demo_app`` must not also use the function-scoped ``app`` (which empties the database).
    """
    root = tmp_path_factory.mktemp("demo-app")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEDGER_INSTANCE", str(root / "instance"))
        app = _demo_app(root, database_url(root))
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def demo_signed_in(demo_app: Flask) -> Callable[[str], AuthActions]:
    """``demo_signed_in("auditor")``: a client on the demo app, signed in as that user."""

    def factory(username: str) -> AuthActions:
        actions = AuthActions(https_client(demo_app))
        response = actions.login(username)
        assert response.status_code == 302, (username, response.status_code)
        return actions

    return factory
