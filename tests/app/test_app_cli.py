"""The operator's commands: init, users, tokens, and the ledger's check and verify."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from app_testkit import bean_check, counts, give, ledger_dir, main_file, snapshot, year_file
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from ledger_app.extensions import db
from ledger_app.models import User
from ledger_app.security import check_password


def test_init_twice_is_safe(make_app: Callable) -> None:
    app = make_app(ledger=False)
    runner = app.test_cli_runner()
    assert not main_file(app).exists()

    first = runner.invoke(args=["init"])
    assert first.exit_code == 0, first.output
    assert "created" in first.output
    assert bean_check(app).returncode == 0
    give(app, "10.00")
    files, rows = snapshot(app), counts(app)

    second = runner.invoke(args=["init"])
    assert second.exit_code == 0, second.output
    assert "already there" in second.output
    assert snapshot(app) == files  # the entry written in between is still there, byte for byte
    assert counts(app) == rows
    assert bean_check(app).returncode == 0


def test_user_create_reads_the_password_from_stdin(
    app: Flask, runner: FlaskCliRunner, visitor: Callable
) -> None:
    result = runner.invoke(
        args=["user", "create", "shenji", "--role", "auditor"], input="a-long-enough-password\n"
    )
    assert result.exit_code == 0, result.output
    assert "a-long-enough-password" not in result.output
    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == "shenji")).one()
        assert user.role == "auditor"
        assert user.password_hash != "a-long-enough-password"
        assert check_password(user, "a-long-enough-password")
    # And the new auditor signs in with it.
    response = visitor().login("shenji", "a-long-enough-password")
    assert response.status_code == 302
    assert response.headers["Location"] == "/audit/"


def test_user_create_refuses_a_short_password_a_taken_name_and_an_unknown_role(
    app: Flask, runner: FlaskCliRunner
) -> None:
    rows = counts(app)
    short = runner.invoke(args=["user", "create", "newbie", "--role", "auditor"], input="short\n")
    assert short.exit_code != 0
    assert "at least 10" in short.output
    taken = runner.invoke(
        args=["user", "create", "admin", "--role", "auditor"], input="another-long-password\n"
    )
    assert taken.exit_code != 0
    assert "already exists" in taken.output
    role = runner.invoke(
        args=["user", "create", "boss", "--role", "root"], input="another-long-password\n"
    )
    assert role.exit_code != 0
    assert counts(app) == rows


def test_token_create_prints_a_token_and_stores_only_its_hash(
    app: Flask, runner: FlaskCliRunner
) -> None:
    result = runner.invoke(args=["token", "create", "admin"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"cfl_[A-Za-z0-9_-]{40,}", token)
    with app.app_context():
        from ledger_app.models import ApiToken

        stored = db.session.scalars(select(ApiToken)).one()
        assert stored.token_hash == ApiToken.hash(token)
        assert token not in stored.token_hash
    assert runner.invoke(args=["token", "create", "nobody"]).exit_code != 0


def test_ledger_check_passes_a_good_ledger_and_fails_after_a_hand_edit_breaks_it(
    app: Flask, runner: FlaskCliRunner
) -> None:
    give(app, "100.00")
    give(app, "50.00", fund="zhulaocan")
    good = runner.invoke(args=["ledger", "check"])
    assert good.exit_code == 0, good.output
    assert "ok: 2 entries" in good.output

    with year_file(app).open("a", encoding="utf-8") as fh:
        fh.write(
            '\n2024-01-02 * "手工录入" "不平衡的分录"\n'
            "  Assets:1001-库存现金  10.00 CNY\n"
            "  Income:4101-捐赠收入:非限定性  -5.00 CNY\n"
            '    fund: "general"\n'
        )
    bad = runner.invoke(args=["ledger", "check"])
    assert bad.exit_code != 0
    assert "ERROR" in bad.output
    assert "balance" in bad.output.lower()
    assert bean_check(app).returncode != 0


def test_ledger_check_fails_on_an_overdrawn_restricted_fund_written_by_hand(
    app: Flask, runner: FlaskCliRunner
) -> None:
    give(app, "50.00", fund="zhulaocan")
    with year_file(app).open("a", encoding="utf-8") as fh:
        fh.write(
            '\n2024-01-02 * "手工录入" "超支"\n'
            "  Expenses:5101-业务活动成本  80.00 CNY\n"
            '    fund: "zhulaocan"\n'
            "  Assets:1002-银行存款  -80.00 CNY\n"
        )
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code != 0
    assert "助老餐" in result.output


def test_ledger_verify_names_the_entry_whose_amount_was_edited_by_hand(
    app: Flask, runner: FlaskCliRunner
) -> None:
    first = give(app, "100.00")
    second = give(app, "200.00")
    third = give(app, "300.00")
    ok = runner.invoke(args=["ledger", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "ok: 3 entries chained" in ok.output

    # Change the second entry's amount on both postings: still balanced, so bean-check is happy.
    path = year_file(app)
    text = path.read_text("utf-8")
    start = text.index(f'id: "{second}"')
    end = text.index("; <<< entry", start)
    edited = text[start:end].replace("200.00 CNY", "20.00 CNY")
    assert edited != text[start:end]
    path.write_text(text[:start] + edited + text[end:], "utf-8")
    assert bean_check(app).returncode == 0

    broken = runner.invoke(args=["ledger", "verify"])
    assert broken.exit_code != 0
    assert second in broken.output
    assert first not in broken.output
    assert third not in broken.output
    assert "verified 1 entries before it" in broken.output


def test_ledger_files_are_left_for_bean_check_and_bean_query(app: Flask) -> None:
    give(app, "12.34")
    assert bean_check(app).returncode == 0
    assert (ledger_dir(app) / "accounts.beancount").is_file()
    assert Decimal("12.34") in {
        Decimal(m) for m in re.findall(r"([0-9]+\.[0-9]{2}) CNY", year_file(app).read_text("utf-8"))
    }
