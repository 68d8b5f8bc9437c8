"""``flask --app ledger_app …`` commands: init, demo, users, tokens, ledger checks."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from ledger import chain, chart
from ledger.checks import check_ledger
from ledger_app.books import get_book, reset_book, store
from ledger_app.extensions import db
from ledger_app.models import ApiToken, Role, User
from ledger_app.security import audit, hash_password

user_cli = AppGroup("user", help="Manage users.")
token_cli = AppGroup("token", help="Manage API tokens.")
ledger_cli = AppGroup("ledger", help="Check and verify the ledger files.")


@click.command("init")
@click.option("--title", default=None, help="Ledger title (defaults to LEDGER_ORG_NAME).")
@with_appcontext
def init_command(title: str | None) -> None:
    """Apply database migrations and create the ledger folder (safe to run twice)."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    created = store().init(
        title=title or current_app.config["ORG_NAME"],
        funds=chart.DEFAULT_FUNDS + chart.DEMO_RESTRICTED_FUNDS,
    )
    added = 0 if created else store().upgrade_chart()
    reset_book()
    click.echo(f"database: {db.engine.url.render_as_string(hide_password=True)}")
    click.echo(f"ledger:   {store().root} ({'created' if created else 'already there'})")
    if added:
        click.echo(f"ledger:   opened {added} account(s) the default chart gained since")


@click.command("demo")
@click.option("--seed", default=2026, help="Random seed of the demo data.")
@with_appcontext
def demo_command(seed: int) -> None:
    """Load a believable year of demo data into an initialised instance (once)."""
    from ledger_app.demo import load_demo

    summary = load_demo(get_book(), seed=seed)
    click.echo(summary)


@user_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--display-name", default="")
def create_user(name: str, role: str, display_name: str) -> None:
    """Create a user; the password is read from standard input."""
    password = (
        sys.stdin.readline().rstrip("\n")
        if not sys.stdin.isatty()
        else click.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    if len(password) < 10:
        raise click.ClickException("password must have at least 10 characters")
    if db.session.scalars(select(User).where(User.username == name)).first():
        raise click.ClickException(f"user {name} already exists")
    db.session.add(
        User(
            username=name,
            role=role,
            display_name=display_name or name,
            password_hash=hash_password(password),
        )
    )
    audit("create_user", target=name, actor="cli", role=role)
    db.session.commit()
    click.echo(f"created {role} {name}")


@token_cli.command("create")
@click.argument("name")
def create_token(name: str) -> None:
    """Print a new API token for user NAME (only its hash is stored)."""
    user = db.session.scalars(select(User).where(User.username == name)).first()
    if user is None:
        raise click.ClickException(f"no user {name}")
    token = ApiToken.new_token()
    db.session.add(ApiToken(user_id=user.id, token_hash=ApiToken.hash(token)))
    audit("create_token", target=name, actor="cli")
    db.session.commit()
    click.echo(token)


@ledger_cli.command("check")
def ledger_check() -> None:
    """Beancount's checks and this project's rules; exits non-zero on any problem."""
    book = get_book()
    book.refresh()
    problems = check_ledger(book)
    for repair in book.repairs:
        click.echo(
            f"repaired: removed {repair.removed_bytes} bytes of a half-written entry from {repair.path}"
        )
    if problems:
        for p in problems:
            click.echo(f"ERROR {p}", err=True)
        raise SystemExit(1)
    click.echo(f"ok: {book.seq} entries, head {book.head_hash}")


@ledger_cli.command("verify")
def ledger_verify() -> None:
    """Recompute the hash chain; name the first entry that no longer matches."""
    from beancount import loader

    entries, _errors, _ = loader.load_file(str(store().main))
    report = chain.verify(entries)
    if not report.ok:
        click.echo(f"BROKEN at {report.location} id={report.entry_id}: {report.problem}", err=True)
        click.echo(
            f"verified {report.entries} entries before it; last good hash {report.head}", err=True
        )
        raise SystemExit(1)
    click.echo(
        f"ok: {report.entries} entries chained, head {report.head}"
        + (
            f"; {report.unchained} hand-written entries outside the chain"
            if report.unchained
            else ""
        )
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(init_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(user_cli)
    app.cli.add_command(token_cli)
    app.cli.add_command(ledger_cli)
