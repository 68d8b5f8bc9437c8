"""The demo command: a believable year of data, through the same workflow the forms use."""

from __future__ import annotations

import re

from app_testkit import bean_check, bean_query_figures, ledger_text, public_figures
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner


def test_the_demo_loads_a_year_that_passes_bean_check_and_matches_the_public_page(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert re.search(r"demo: \d{2,} donations, \d+ approved expenses, 1 reversal", result.output)

    check = bean_check(app)
    assert check.returncode == 0, check.stdout + check.stderr
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
    assert 'kind: "reversal"' in ledger_text(app)

    shown = public_figures(client.get("/").get_data(as_text=True))
    for slug, figures in bean_query_figures(app).items():
        assert shown[slug]["balance"] == figures["balance"], slug
        assert shown[slug]["income"] == figures["income"], slug
        assert figures["balance"] >= 0 or slug == "canteen"

    # 微创投: a completed call (funded, rejected, one closed with a return) and an open one.
    from ledger import grants
    from ledger_app.books import get_book

    with app.app_context():
        book = get_book()
        closed = grants.grant_totals(book, "2026-S01")
        running = grants.grant_totals(book, "2026-S02")
        assert closed is not None
        assert closed.closed
        assert closed.returned > 0
        assert closed.disbursed == closed.reported + closed.returned
        assert running is not None
        assert not running.closed
        assert grants.grant_totals(book, "2026-S04") is None  # rejected
    assert "未获资助" in client.get("/grants/calls/2026-spring").get_data(as_text=True)
    assert client.get("/grants/2026-S01").status_code == 200
    assert "2026年秋季社区微创投" in client.get("/grants").get_data(as_text=True)

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    assert "already loaded" in again.output


def test_the_demo_call_page_compares_closed_projects_by_the_ledgers_spending(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    from decimal import Decimal

    from app_testkit import main_file
    from beanquery_helpers import bean_query_sum

    assert runner.invoke(args=["demo"]).exit_code == 0
    page = client.get("/grants/calls/2026-spring").get_data(as_text=True)
    table = page[page.index("项目成效比较") :]
    table = table[: table.index("</table>")]
    spent = bean_query_sum(main_file(app), "'grant-2026-S01' IN links AND account ~ '^Expenses'")
    assert spent == Decimal("5400.00")
    assert "¥5,400.00" in table
    assert "¥90.00" in table  # 5,400 spent for 60 residents
    assert "92%" in table


def test_the_demo_runs_the_canteen_a_year_with_a_loss_month_feedback_and_closed_months(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    import datetime as dt

    from ledger import canteen
    from ledger_app.books import get_book
    from ledger_app.forms_common import today

    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        book = get_book()
        last_month = (today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
        assert last_month in book.closed_months
        months = sorted({t.date.strftime("%Y-%m") for t in canteen.feedback_entries(book)})
        assert months  # some months fed back to 助老餐
        february = canteen.canteen_month(book, f"{today().year}-02")
        assert february.surplus < 0  # the Spring Festival month runs at a loss
        assert february.total_meals > 0
        assert f"{today().year}-02" not in months
        fed = sum(canteen.total_fed_back(book).values())
    page = client.get("/").get_data(as_text=True)
    assert "共享食堂反哺" in page
    from ledger.money import format_cny

    assert format_cny(fed) in page
