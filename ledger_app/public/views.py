"""The public disclosure pages: no sign-in, no personal data, phone first."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

from flask import (
    Blueprint,
    abort,
    current_app,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from ledger import canteen, disclosure
from ledger_app import periods_workflow
from ledger_app.books import get_book
from ledger_app.donors import official_for
from ledger_app.forms_common import today
from ledger_app.i18n import fund_label
from ledger_app.public import charts
from ledger_app.public.forms import VerifyForm
from reports.notice import build_notice

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


def _fed_back() -> list[tuple[str, str, Decimal]]:
    """What the shared canteen has fed back (反哺) so far, by receiving fund."""
    book = get_book()
    totals = canteen.total_fed_back(book)
    return [
        (slug, fund_label(slug, book.funds[slug].name if slug in book.funds else slug), amount)
        for slug, amount in sorted(totals.items())
        if amount
    ]


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
        fed_back=_fed_back(),
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
    official = official_for(receipt.number)
    return render_template(
        "public/verify.html",
        form=form,
        receipt=receipt,
        failed=False,
        official_issued_on=official.issued_on if official else None,
    )


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


def _period(name: str) -> tuple[dt.date, dt.date, str] | None:
    """``2026-03`` (a month) or ``2026-Q1`` (a quarter): first day, last day, label."""
    match = re.fullmatch(r"(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))", name)
    if match is None:
        return None
    year = int(match.group(1))
    if match.group(2):
        first_month = last_month = int(match.group(2))
        label = f"{year}年{first_month}月"
    else:
        quarter = int(match.group(3))
        first_month, last_month = quarter * 3 - 2, quarter * 3
        label = f"{year}年第{'一二三四'[quarter - 1]}季度"
    start = dt.date(year, first_month, 1)
    end = dt.date(year + last_month // 12, last_month % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end, label


def _notice_periods(now: dt.date) -> tuple[list[str], list[str]]:
    """The last twelve months and the last four quarters, newest first (this one included)."""
    months, quarters = [], []
    year, month = now.year, now.month
    for _ in range(12):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    year, quarter = now.year, (now.month - 1) // 3 + 1
    for _ in range(4):
        quarters.append(f"{year:04d}-Q{quarter}")
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return months, quarters


@bp.route("/notices")
def notices() -> ResponseReturnValue:
    months, quarters = _notice_periods(today())
    return render_template(
        "public/notices.html",
        months=[(m, _period(m)) for m in months],
        quarters=[(q, _period(q)) for q in quarters],
        reopenings=periods_workflow.reopenings(get_book()),
        head_hash=get_book().head_hash,
    )


@bp.route("/notices/<period>.pdf")
def notice_pdf(period: str) -> ResponseReturnValue:
    found = _period(period)
    if found is None or found[0] > today():
        abort(404)
    start, end, label = found
    view = disclosure.notice_view(get_book(), start, min(end, today()))
    site = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
    pdf = build_notice(
        view,
        org_name=current_app.config["ORG_NAME"],
        period_label=label,
        site_url=site.rstrip("/") + url_for("public.index"),
    )
    return send_file(
        io.BytesIO(pdf), mimetype="application/pdf", download_name=f"public-notice-{period}.pdf"
    )


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    book = get_book()
    book.refresh()
    return {"ok": not book.errors, "entries": book.seq, "head_hash": book.head_hash}


from ledger_app.public import disclosure_views  # noqa: E402,F401,I001  (信息公开 on this blueprint)
from ledger_app.public import grant_views  # noqa: E402,F401  (微创投 routes on this blueprint)
