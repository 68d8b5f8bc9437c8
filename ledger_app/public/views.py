"""The public disclosure pages: no sign-in, no personal data, phone first."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue

from ledger import queries
from ledger_app.books import get_book
from ledger_app.forms_common import today

bp = Blueprint("public", __name__)


@bp.route("/")
def index() -> ResponseReturnValue:
    book = get_book()
    year = today().year
    return render_template(
        "public/index.html",
        funds=queries.fund_rows(book),
        year_funds={r.slug: r for r in queries.fund_rows(book, year=year)},
        entries=queries.latest_entries(book, 20),
        year=year,
        head_hash=book.head_hash,
        head_at=book.head_at,
        seq=book.seq,
    )


@bp.route("/funds/<slug>")
def fund(slug: str) -> ResponseReturnValue:
    book = get_book()
    rows = {r.slug: r for r in queries.fund_rows(book)}
    if slug not in rows:
        abort(404)
    return render_template(
        "public/fund.html",
        fund=rows[slug],
        entries=queries.latest_entries(book, 100, fund=slug),
        head_hash=book.head_hash,
    )


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    book = get_book()
    book.refresh()
    return {"ok": not book.errors, "entries": book.seq, "head_hash": book.head_hash}
