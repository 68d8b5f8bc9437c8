"""微创投 on the public site: the calls, each funded project's page, its published photos.

What the public sees follows 四议两公开: an application appears only once its decision is posted
(funded projects get a page; a rejected one is a line on its call's page saying 未获资助), and
the close-out evaluation once the result is published. Money figures come from the ledger
(:func:`ledger.grants.grant_totals` and the grant's own entries), never from the database. Nothing
personal is shown: no contact person, no phone, no objector, no staff username.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from beancount.core import data
from flask import abort, current_app, render_template, send_file
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ledger import grants
from ledger.book import ZERO, Book
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import (
    Attachment,
    Deliberation,
    GrantApplication,
    GrantCall,
    GrantUpdate,
    Objection,
)
from ledger_app.public.views import bp

#: Days a decision stays posted before an award may take effect.
POSTING_DAYS = 7
#: Statuses of an application the decision funded.
FUNDED = ("approved", "awarded", "closed")
#: Content types a public file may be served as (what the upload accepts as photos or reports).
SERVABLE = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf"})
#: The order of the four deliberations (四议).
STAGES = ("提议", "商议", "审议", "决议")
_STORED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


# -- view data --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetRow:
    """One budget line of the application, with what was reported spent on it when recorded."""

    item: str
    quantity: str
    unit_price: Decimal | None
    total: Decimal
    actual: Decimal | None


@dataclass(frozen=True)
class LedgerStep:
    """One of the grant's ledger entries, as the public page lists it."""

    id: str
    date: dt.date
    kind: str
    amount: Decimal
    note: str = ""
    receipts: int | None = None


@dataclass(frozen=True)
class PublicPhoto:
    id: int
    caption: str
    is_image: bool


@dataclass(frozen=True)
class PublicUpdate:
    posted_on: dt.date
    text: str
    photo: PublicPhoto | None


@dataclass
class PublicGrant:
    """Everything the public page of one funded project shows."""

    application: GrantApplication
    call: GrantCall
    fund_name: str
    totals: grants.GrantTotals | None
    budget: list[BudgetRow]
    budget_total: Decimal
    per_line: bool
    steps: list[LedgerStep]
    awarded_on: dt.date | None
    closed_on: dt.date | None
    leftover: str
    window_ends: dt.date | None
    decision_amount: Decimal | None
    deliberations: list[Deliberation]
    objections: list[Objection]
    updates: list[PublicUpdate]
    photos: list[PublicPhoto] = field(default_factory=list)
    #: Reported spent in total (zero before the award).
    reported: Decimal = ZERO
    result_published: bool = False
    #: Reported spending per beneficiary served (efficiency of resource use), when both known.
    per_person: Decimal | None = None


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def decision_public(application: GrantApplication, on: dt.date) -> bool:
    """The decision is posted (公示) on or before ``on``."""
    published = application.decision_published_on
    return published is not None and published <= on


#: Which posting of each kind of grant entry carries its amount, and with which sign (as in
#: :mod:`ledger.grants`).
_COUNTED: dict[str, tuple[Callable[[str], bool], int]] = {
    "grant-award": (lambda account: account.endswith(":已承诺资助"), -1),
    "grant-disbursement": (lambda account: account == grants.ADVANCE, 1),
    "grant-expense": (lambda account: account.startswith("Expenses:"), 1),
    "grant-close": (lambda account: account == grants.ADVANCE, -1),
}


def _amount(txn: data.Transaction, kind: str) -> Decimal:
    """The amount of one grant entry, read the way :func:`ledger.grants.grant_totals` reads it."""
    counts, sign = _COUNTED[kind]
    total = ZERO
    for p in txn.postings:
        number = p.units.number if p.units is not None and p.units.number is not None else ZERO
        if counts(p.account):
            total += sign * number
    return total


def _steps(book: Book, grant: str) -> list[LedgerStep]:
    steps = []
    for txn in book.grant_entries(grant):
        meta = txn.meta or {}
        kind = str(meta.get("kind", ""))
        if kind not in grants.KINDS:
            continue
        receipts = meta.get("receipts")
        note = ""
        if kind == "grant-expense":
            note = (txn.narration or "").removeprefix("微创投支出报告：")
        elif kind == "grant-close":
            note = str(meta.get("leftover", ""))
        steps.append(
            LedgerStep(
                id=str(meta.get("id", "")),
                date=txn.date,
                kind=kind,
                amount=_amount(txn, kind),
                note=note,
                receipts=int(receipts) if isinstance(receipts, (int, Decimal)) else None,
            )
        )
    return steps


def _recorded_by_line(book: Book, application: GrantApplication) -> dict[int, Decimal] | None:
    """What accepted expense reports put on each budget line, if the workflow recorded that.

    Only trusted when the lines add up to what the ledger says was reported spent in total;
    otherwise (nothing allocated, or allocations that disagree with the ledger) None.
    """
    try:
        from ledger_app.grants_workflow import grant_view
    except ImportError:
        return None
    totals = grants.grant_totals(book, application.id)
    if totals is None or not totals.reported:
        return None
    lines = grant_view(book, application).budget_lines
    actual = {i: line.actual for i, line in enumerate(lines)}
    if sum(actual.values(), ZERO) != totals.reported:
        return None
    return actual


def _budget(application: GrantApplication, book: Book) -> tuple[list[BudgetRow], Decimal, bool]:
    """Budget lines against actual spending; per line only if spending was recorded per line."""
    lines = [line for line in application.budget_lines or [] if isinstance(line, dict)]
    actual = _recorded_by_line(book, application)
    per_line = actual is not None
    rows = []
    total = ZERO
    for i, line in enumerate(lines):
        line_total = _decimal(line.get("total")) or ZERO
        total += line_total
        rows.append(
            BudgetRow(
                item=str(line.get("item", "")),
                quantity=str(line.get("quantity", "")),
                unit_price=_decimal(line.get("unit_price")),
                total=line_total,
                actual=actual.get(i, ZERO) if actual is not None else None,
            )
        )
    return rows, total, per_line


def _photo(attachment: Attachment | None, application_id: str) -> PublicPhoto | None:
    if attachment is None or not attachment.public or attachment.application_id != application_id:
        return None
    return PublicPhoto(
        id=attachment.id,
        caption=attachment.caption,
        is_image=attachment.content_type.startswith("image/"),
    )


def public_grant(book: Book, application: GrantApplication, on: dt.date) -> PublicGrant:
    """Read one funded project for its public page (the caller checked it is public)."""
    book.refresh()
    totals = grants.grant_totals(book, application.id)
    steps = _steps(book, application.id)
    award = next((s for s in steps if s.kind == "grant-award"), None)
    close = next((s for s in steps if s.kind == "grant-close"), None)
    budget, budget_total, per_line = _budget(application, book)
    published = application.decision_published_on
    attachments = {
        a.id: a
        for a in db.session.scalars(
            select(Attachment).where(
                Attachment.application_id == application.id, Attachment.public.is_(True)
            )
        )
    }
    updates = [
        PublicUpdate(
            posted_on=u.posted_on,
            text=u.text,
            photo=_photo(attachments.get(u.photo_id), application.id) if u.photo_id else None,
        )
        for u in db.session.scalars(
            select(GrantUpdate)
            .where(GrantUpdate.application_id == application.id, GrantUpdate.posted_on <= on)
            .order_by(GrantUpdate.posted_on.desc(), GrantUpdate.id.desc())
        )
    ]
    in_updates = {u.photo.id for u in updates if u.photo}
    photos = [
        p
        for a in sorted(attachments.values(), key=lambda a: a.id)
        if a.id not in in_updates and a.purpose in ("photo", "report")
        for p in [_photo(a, application.id)]
        if p is not None
    ]
    stage_order = {s: i for i, s in enumerate(STAGES)}
    deliberations = sorted(
        db.session.scalars(select(Deliberation).where(Deliberation.call_id == application.call_id)),
        key=lambda d: (d.held_on, stage_order.get(d.stage, 9), d.id),
    )
    objections = list(
        db.session.scalars(
            select(Objection)
            .where(Objection.application_id == application.id)
            .order_by(Objection.raised_on, Objection.id)
        )
    )
    result_on = application.result_published_on
    return PublicGrant(
        application=application,
        call=application.call,
        fund_name=book.funds[application.call.fund].name
        if application.call.fund in book.funds
        else application.call.fund,
        totals=totals,
        budget=budget,
        budget_total=budget_total,
        per_line=per_line,
        steps=steps,
        awarded_on=award.date if award else None,
        closed_on=close.date if close else None,
        leftover=close.note if close else "",
        window_ends=published + dt.timedelta(days=POSTING_DAYS) if published else None,
        decision_amount=_decimal(application.decision_amount)
        if application.decision_amount
        else None,
        deliberations=deliberations,
        objections=objections,
        updates=updates,
        photos=photos,
        result_published=result_on is not None and result_on <= on,
        reported=totals.reported if totals else ZERO,
        per_person=(totals.reported / application.beneficiaries_served).quantize(Decimal("0.01"))
        if totals and totals.reported and application.beneficiaries_served
        else None,
    )


@dataclass(frozen=True)
class CallProject:
    id: str
    title: str
    group: str
    funded: bool
    awarded: Decimal | None
    decided: Decimal | None
    closed: bool
    #: Published close-out results, for comparing projects (the brief: goals, satisfaction,
    #: efficiency of resource use).
    spent: Decimal | None = None
    goals_met: str = ""
    served: int | None = None
    satisfaction: int | None = None
    cost_per_person: Decimal | None = None


@dataclass(frozen=True)
class PublicCall:
    call: GrantCall
    fund_name: str
    state: str  # upcoming | open | closed
    budget: Decimal
    ceiling: Decimal
    received: int
    funded: list[CallProject]
    rejected: list[CallProject]
    awarded_total: Decimal


def _outcome(a: GrantApplication, totals: grants.GrantTotals | None) -> dict[str, Any]:
    """The close-out result of a project, once published."""
    if totals is None or not totals.closed or a.result_published_on is None:
        return {}
    served = a.beneficiaries_served
    per_person = (totals.reported / served).quantize(Decimal("0.01")) if served else None
    return {
        "spent": totals.reported,
        "goals_met": a.goals_met,
        "served": served,
        "satisfaction": a.satisfaction,
        "cost_per_person": per_person,
    }


def public_call(book: Book, call: GrantCall, on: dt.date) -> PublicCall:
    """A call with the projects whose decision has been posted."""
    applications = list(
        db.session.scalars(
            select(GrantApplication)
            .where(GrantApplication.call_id == call.id)
            .order_by(GrantApplication.created_at, GrantApplication.id)
        )
    )
    funded, rejected = [], []
    awarded_total = ZERO
    for a in applications:
        if not decision_public(a, on) or a.status not in (*FUNDED, "rejected"):
            continue
        totals = grants.grant_totals(book, a.id) if a.status in FUNDED else None
        project = CallProject(
            id=a.id,
            title=a.title,
            group=a.group_name,
            funded=a.status in FUNDED,
            awarded=totals.awarded if totals else None,
            decided=_decimal(a.decision_amount) if a.decision_amount else None,
            closed=bool(totals and totals.closed),
            **_outcome(a, totals),
        )
        if project.funded:
            funded.append(project)
            awarded_total += totals.awarded if totals else ZERO
        else:
            rejected.append(project)
    state = "upcoming" if on < call.opens_on else "open" if on <= call.closes_on else "closed"
    return PublicCall(
        call=call,
        fund_name=book.funds[call.fund].name if call.fund in book.funds else call.fund,
        state=state,
        budget=_decimal(call.budget) or ZERO,
        ceiling=_decimal(call.ceiling) or ZERO,
        received=len(applications),
        funded=funded,
        rejected=rejected,
        awarded_total=awarded_total,
    )


def _public_application(application_id: str) -> GrantApplication:
    application = db.session.get(GrantApplication, application_id)
    if (
        application is None
        or application.status not in FUNDED
        or not decision_public(application, today())
    ):
        abort(404)
    return application


def attachment_path(attachment: Attachment) -> Path | None:
    """Where an attachment's bytes are kept (the workflow's function when it has one)."""
    try:
        from ledger_app import grants_workflow
    except ImportError:
        grants_workflow = None  # type: ignore[assignment]
    finder = getattr(grants_workflow, "attachment_path", None)
    if callable(finder):
        found = finder(attachment)
        return Path(found) if found else None
    if not _STORED_NAME.fullmatch(attachment.stored_name) or ".." in attachment.stored_name:
        return None
    folder = current_app.config.get("ATTACHMENTS_DIR") or Path(current_app.instance_path) / (
        "attachments"
    )
    return Path(folder) / attachment.stored_name


# -- routes ---------------------------------------------------------------------------------------


@bp.route("/grants")
def grants_index() -> ResponseReturnValue:
    book = get_book()
    book.refresh()
    on = today()
    calls = db.session.scalars(
        select(GrantCall).order_by(GrantCall.opens_on.desc(), GrantCall.id.desc())
    )
    views = [public_call(book, c, on) for c in calls]
    return render_template(
        "public/grants.html",
        open_calls=[v for v in views if v.state != "closed"],
        past_calls=[v for v in views if v.state == "closed"],
        head_hash=book.head_hash,
    )


@bp.route("/grants/calls/<call_id>")
def grant_call(call_id: str) -> ResponseReturnValue:
    call = db.session.get(GrantCall, call_id)
    if call is None:
        abort(404)
    book = get_book()
    book.refresh()
    view = public_call(book, call, today())
    stage_order = {s: i for i, s in enumerate(STAGES)}
    deliberations = sorted(
        db.session.scalars(select(Deliberation).where(Deliberation.call_id == call.id)),
        key=lambda d: (d.held_on, stage_order.get(d.stage, 9), d.id),
    )
    return render_template(
        "public/grants_call.html", view=view, deliberations=deliberations, head_hash=book.head_hash
    )


@bp.route("/grants/<application_id>")
def grant_page(application_id: str) -> ResponseReturnValue:
    application = _public_application(application_id)
    book = get_book()
    view = public_grant(book, application, today())
    return render_template("public/grants_detail.html", g=view, head_hash=book.head_hash)


@bp.route("/grants/<application_id>/files/<int:attachment_id>")
def grant_file(application_id: str, attachment_id: int) -> ResponseReturnValue:
    """A photo or report the administrator published; anything else is not found."""
    application = _public_application(application_id)
    attachment = db.session.get(Attachment, attachment_id)
    if (
        attachment is None
        or not attachment.public
        or attachment.application_id != application.id
        or attachment.content_type not in SERVABLE
    ):
        abort(404)
    path = attachment_path(attachment)
    if path is None or not path.is_file():
        abort(404)
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != attachment.sha256:
        current_app.logger.warning("attachment %s does not match its sha256", attachment.id)
        abort(404)
    response = send_file(
        io.BytesIO(content),
        mimetype=attachment.content_type,
        as_attachment=attachment.content_type == "application/pdf",
        download_name=f"grant-{application.id}-{attachment.id}"
        + {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}.get(
            attachment.content_type, ".gif" if "gif" in attachment.content_type else ".pdf"
        ),
        max_age=3600,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
