"""The public disclosure pages: no sign-in, no personal data, phone first."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from ledger import disclosure
from ledger_app.books import get_book
from ledger_app.forms_common import today
from ledger_app.i18n import fund_label
from ledger_app.public import charts
from ledger_app.public.forms import VerifyForm

bp = Blueprint("public", __name__)

#: Lines per page on a fund page; a phone scrolls well through a hundred, not through thousands.
PAGE_SIZE = 100


def _english() -> bool:
    return str(get_locale()) == "en"


def _source_labels() -> dict[str, str]:
    return disclosure.SOURCE_LABELS_EN if _english() else disclosure.SOURCE_LABELS


def _when(stamp: str) -> str:
    """``2026-03-01T10:00:00+08:00`` as ``2026-03-01 10:00`` (China time, as written)."""
    return stamp[:16].replace("T", " ")


@bp.route("/")
def index() -> ResponseReturnValue:
    view = disclosure.home_view(get_book(), today())
    return render_template(
        "public/index.html",
        view=view,
        funds=view.funds,
        year_funds={r.slug: r for r in view.funds_year},
        entries=view.latest,
        year=view.year,
        sources_chart=charts.bar_chart(view.by_source, _source_labels()),
        purposes_chart=charts.bar_chart(
            view.by_purpose, {s.key: fund_label(s.key, s.label) for s in view.by_purpose}
        ),
        months_chart=charts.month_chart(view.months),
        head_hash=view.head_hash,
        head_at=_when(view.head_at),
        seq=view.seq,
    )


@bp.route("/funds/<slug>")
def fund(slug: str) -> ResponseReturnValue:
    page_data = disclosure.fund_page(get_book(), slug)
    if page_data is None:
        abort(404)
    pages = max(1, -(-len(page_data.lines) // PAGE_SIZE))
    page = request.args.get("page", 1, type=int)
    if page < 1 or page > pages:
        abort(404)
    return render_template(
        "public/fund.html",
        fund=page_data.fund,
        data=page_data,
        lines=page_data.lines[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        page=page,
        pages=pages,
        head_hash=page_data.head_hash,
    )


@bp.route("/verify")
def verify_receipt() -> ResponseReturnValue:
    form = VerifyForm(request.args)
    if "no" not in request.args and "code" not in request.args:  # ?lang= alone: the empty form
        return render_template("public/verify.html", form=form, receipt=None, failed=False)
    if not form.validate():
        return render_template("public/verify.html", form=form, receipt=None, failed=False), 400
    receipt = disclosure.verify_receipt(get_book(), form.no.data, form.code.data)
    if receipt is None:
        # One message whether the number exists or not: the page must not confirm numbers.
        return render_template("public/verify.html", form=form, receipt=None, failed=True), 404
    return render_template("public/verify.html", form=form, receipt=receipt, failed=False)


@bp.route("/donors")
def honour_roll() -> ResponseReturnValue:
    book = get_book()
    this_year = today().year
    year = request.args.get("year", this_year, type=int)
    book.refresh()
    ordered = book.ordered()
    first_year = ordered[0].date.year if ordered else this_year
    if not first_year <= year <= this_year:
        abort(404)
    return render_template(
        "public/donors.html",
        year=year,
        years=list(range(this_year, first_year - 1, -1)),
        year_rows=disclosure.honour_roll(book, year=year),
        all_rows=disclosure.honour_roll(book),
    )


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    book = get_book()
    book.refresh()
    return {"ok": not book.errors, "entries": book.seq, "head_hash": book.head_hash}
