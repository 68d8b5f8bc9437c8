"""Fixtures of the app tests; the app itself, clients and sign-in live in tests/conftest.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from app_testkit import give, reverse, spend
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from ledger_app.forms_common import today


@pytest.fixture
def funded(app: Flask) -> Flask:
    """The app with money in every donated fund (no expenses yet)."""
    give(app, "5000.00", fund="general", name="街道办事处", display="name")
    give(app, "800.00", fund="zhulaocan", name="陈秀英", phone="13700137000")
    give(app, "300.00", fund="meiyuanzi", name="刘德明", display="anonymous")
    return app


@pytest.fixture
def populated(app: Flask) -> Flask:
    """A small believable history: donations under each display choice, over two years, an
    approved expense from a restricted fund and one from the general fund, and a reversal."""
    last_year = dt.date(today().year - 1, 6, 18)
    give(
        app,
        "1234.56",
        fund="zhulaocan",
        name="张三丰",
        phone="13800138000",
        display="masked",
        day=last_year,
    )
    give(
        app,
        "5000.00",
        fund="general",
        name="李四光",
        phone="139-0013-9000",
        display="anonymous",
        day=last_year,
    )
    give(app, "888.88", fund="meiyuanzi", name="王五", phone="13600136000", display="name")
    give(app, "66.00", fund="zhulaocan", name="欧阳娜娜", phone="13500135000", display="masked")
    duplicate = give(
        app, "100.00", fund="general", name="赵六", phone="13400134000", channel="cash"
    )
    spend(app, "300.50", fund="zhulaocan", payee="督院街共享食堂", purpose="助老餐补贴（本周）")
    spend(
        app,
        "1200.00",
        fund="general",
        payee="锦江区某打印店",
        purpose="信息公示栏印刷",
        line="admin",
        day=last_year + dt.timedelta(days=30),
    )
    reverse(app, duplicate, "同一笔现金捐赠录入了两次")
    return app


@pytest.fixture
def token(runner: FlaskCliRunner) -> Callable[[str], str]:
    """``token("admin")``: a new API token for that user, made by the CLI as an operator would."""

    def make(username: str) -> str:
        result = runner.invoke(args=["token", "create", username])
        assert result.exit_code == 0, result.output
        value = result.output.strip().splitlines()[-1]
        assert value.startswith("cfl_")
        return value

    return make


@pytest.fixture
def api(client: FlaskClient, token: Callable[[str], str]) -> Callable[..., Any]:
    """``api("POST", path, user="admin", json=..., headers=...)`` with that user's bearer token
    (every user's token is made up front, so tests can count rows after that)."""
    tokens = {user: token(user) for user in ("admin", "admin2", "approver", "auditor")}

    def call(method: str, path: str, *, user: str | None = "admin", **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if user is not None:
            headers["Authorization"] = f"Bearer {tokens[user]}"
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call
