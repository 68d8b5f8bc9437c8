"""The Flask application of the community micro-fund ledger: web pages, JSON API and CLI.

This package holds no accounting: views validate the shape of input, call one service or query
in ``ledger``, and render the result.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from ledger_app import config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, CLI commands."""
    app = Flask(__name__, instance_relative_config=False)
    app.instance_path = os.environ.get("LEDGER_INSTANCE", app.instance_path)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(config.from_env(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = config.database_uri(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )

    from ledger_app import books, cli, i18n, security
    from ledger_app.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    books.init_app(app)

    from ledger_app.admin.grants import grants_public
    from ledger_app.admin.views import bp as admin_bp
    from ledger_app.api.views import bp as api_bp
    from ledger_app.audit.views import bp as audit_bp
    from ledger_app.auth.views import bp as auth_bp
    from ledger_app.imports import bp as imports_bp
    from ledger_app.public.views import bp as public_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(grants_public)
    app.register_blueprint(imports_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # bearer tokens, no cookies: CSRF does not apply

    cli.init_app(app)
    _register_filters_and_errors(app)
    return app


def _register_filters_and_errors(app: Flask) -> None:
    from decimal import Decimal, InvalidOperation

    from flask import render_template

    from ledger.money import format_cny
    from ledger_app.books import LedgerNotInitialisedError

    def decimal_cny(value: str) -> str:
        try:
            return format_cny(Decimal(value))
        except (InvalidOperation, TypeError):
            return str(value)

    app.jinja_env.filters["cny"] = format_cny
    app.jinja_env.filters["decimal_cny"] = decimal_cny

    @app.errorhandler(LedgerNotInitialisedError)
    def not_initialised(exc: Exception) -> tuple[str, int]:
        return render_template(
            "error.html", code=503, message="账本尚未初始化：请运行 flask --app ledger_app init"
        ), 503

    for code, message in (
        (400, "请求无效（bad request）"),
        (403, "无权访问此页面（forbidden）"),
        (404, "页面不存在（not found）"),
        (413, "上传内容过大（too large）"),
        (429, "请求过多，请稍后再试（too many requests）"),
    ):
        app.register_error_handler(code, _error_page(code, message))


def _error_page(code: int, message: str) -> Any:
    """An HTML error page, or a JSON error under /api/ (even where no API route matched)."""
    from flask import jsonify, render_template, request

    def handler(exc: Exception) -> Any:
        if request.path.startswith("/api/"):
            return jsonify({"error": {"code": str(code), "message": message}}), code
        return render_template("error.html", code=code, message=message), code

    return handler
