"""信息公开 where the database meets the ledger: gather the calendar's records, publish a disclosure.

The rules (what is due when, what a disclosure must name) are in :mod:`ledger.disclosure_due`.
Here the projects come from the ledger's micro-grants (award and close entries, the money
returned) with the application's title from the database, the published disclosures from the
``disclosures`` table, and a new disclosure is checked, saved and written to the audit log in one
transaction, or refused with nothing saved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ledger import disclosure_due as due
from ledger.book import TZ, Book
from ledger.grants import grant_totals
from ledger.money import format_cny
from ledger_app.extensions import db
from ledger_app.models import Disclosure, GrantApplication, utcnow
from ledger_app.security import audit


def china_date(stamp: dt.datetime) -> dt.date:
    """The day in China of a naive-UTC timestamp from the database."""
    return stamp.replace(tzinfo=dt.UTC).astimezone(TZ).date()


def published_records() -> list[due.Published]:
    """Every disclosure published so far, as the calendar reads them."""
    rows = db.session.scalars(select(Disclosure).order_by(Disclosure.id)).all()
    return [
        due.Published(
            id=row.id,
            kind=row.kind,
            subject=row.subject,
            period=row.period,
            title=row.title,
            published_on=china_date(row.published_at),
            corrects=row.corrects,
        )
        for row in rows
    ]


def projects(book: Book) -> list[due.Project]:
    """The ledger's awarded micro-grants, titled as their applications are.

    The applications carry no planned end date, so a running project's length is unknown until
    it closes (the calendar then assumes it runs long; see :mod:`ledger.disclosure_due`).
    """
    found = due.projects_from_book(book)
    titles = dict(
        db.session.execute(
            select(GrantApplication.id, GrantApplication.title).where(
                GrantApplication.id.in_([p.id for p in found])
            )
        ).all()
    )
    return [
        due.Project(
            id=p.id,
            title=titles.get(p.id) or p.title,
            start=p.start,
            closed_on=p.closed_on,
            returned=p.returned,
            leftover=p.leftover,
        )
        for p in found
    ]


def activity_years(book: Book, today: dt.date) -> list[int]:
    """The years from the ledger's first entry to this one (an annual report is owed for each)."""
    book.refresh()
    ordered = book.ordered()
    if not ordered:
        return []
    return list(range(ordered[0].date.year, today.year + 1))


def calendar(book: Book, today: dt.date) -> due.Calendar:
    """What is due, overdue and done today."""
    book.refresh()
    return due.build_calendar(
        projects(book), activity_years(book, today), published_records(), today
    )


@dataclass(frozen=True)
class Suggestion:
    """A title and body to start a disclosure from (the administrator edits them)."""

    title: str
    body: str


def suggest(book: Book, obligation: due.Obligation | None) -> Suggestion:
    """A starting text for an obligation, with the ledger's figures filled in."""
    if obligation is None:
        return Suggestion("", "")
    totals = (
        grant_totals(book, obligation.subject) if obligation.kind in due.PROJECT_KINDS else None
    )
    lines = []
    if totals is not None:
        lines.append(
            f"资助金额 {format_cny(totals.awarded)}，已拨付 {format_cny(totals.disbursed)}"
            f"（{totals.tranches} 期），已报告支出 {format_cny(totals.reported)}。"
        )
    if obligation.kind == "quarterly":
        lines += [f"本期（{obligation.opens} 至 {obligation.due}）项目实施情况："]
    elif obligation.kind == "closeout":
        returned = obligation.returned if obligation.returned is not None else None
        if returned is not None:
            lines.append(
                f"结项日期 {obligation.period}，结余资金 {format_cny(returned)} 已退回基金。"
            )
        if obligation.leftover:
            lines.append(f"剩余物资处理：{obligation.leftover}")
        lines.append("项目实施情况：")
    elif obligation.kind == "annual":
        lines += [
            f"{obligation.subject}年度工作报告和财务会计报告（资产负债表、业务活动表、现金流量表）。",
            "主要工作：",
        ]
    return Suggestion(obligation.title, "\n".join(lines))


def publish(
    book: Book,
    draft: due.Draft,
    actor: str,
    today: dt.date,
    *,
    published_at: dt.datetime | None = None,
) -> Disclosure:
    """Check a disclosure against the calendar's records and publish it (with an audit-log row).

    Args:
        book: the ledger (projects and the head hash at publication).
        draft: what the administrator entered.
        actor: who publishes.
        today: the publication day in China.
        published_at: the moment (naive UTC); now by default.

    Returns:
        The saved disclosure.

    Raises:
        RuleError: naming the field at fault; nothing is saved.
    """
    book.refresh()
    published = {p.id: p for p in published_records()}
    checked = due.check_draft(
        draft,
        {p.id: p for p in projects(book)},
        activity_years(book, today),
        published,
        today,
    )
    row = Disclosure(
        kind=checked.kind,
        subject=checked.subject,
        period=checked.period,
        title=checked.title,
        body=checked.body,
        published_at=published_at or utcnow(),
        published_by=actor,
        head_hash=book.head_hash,
        corrects=checked.corrects,
    )
    db.session.add(row)
    db.session.flush()
    audit(
        "disclosure.publish",
        target=f"disclosure:{row.id}",
        actor=actor,
        kind=checked.kind,
        subject=checked.subject,
        period=checked.period,
        title=checked.title,
        corrects=checked.corrects or "",
    )
    db.session.commit()
    return row


@dataclass(frozen=True)
class PublicDisclosure:
    """A disclosure as the public site shows it (no staff names)."""

    id: int
    kind: str
    subject: str
    period: str
    title: str
    body: str
    published_on: dt.date
    head_hash: str
    corrects: int | None
    corrected_by: tuple[int, ...]
    grant_title: str
    grant_public: bool


def _public(
    rows: list[Disclosure], corrections: list[Disclosure], today: dt.date
) -> list[PublicDisclosure]:
    """Disclosure rows as the public sees them; ``corrections`` are the rows that correct them."""
    grant_ids = {r.subject for r in rows if r.kind in due.PROJECT_KINDS}
    applications = {
        a.id: a
        for a in db.session.scalars(
            select(GrantApplication).where(GrantApplication.id.in_(grant_ids))
        ).all()
    }
    corrected: dict[int, list[int]] = {}
    for r in corrections:
        if r.corrects is not None:
            corrected.setdefault(r.corrects, []).append(r.id)
    out = []
    for r in rows:
        application = applications.get(r.subject) if r.kind in due.PROJECT_KINDS else None
        # The grant's public page exists once its decision is posted (四议两公开).
        public = bool(
            application is not None
            and application.status in ("approved", "awarded", "closed")
            and application.decision_published_on is not None
            and application.decision_published_on <= today
        )
        out.append(
            PublicDisclosure(
                id=r.id,
                kind=r.kind,
                subject=r.subject,
                period=r.period,
                title=r.title,
                body=r.body,
                published_on=china_date(r.published_at),
                head_hash=r.head_hash,
                corrects=r.corrects,
                corrected_by=tuple(sorted(corrected.get(r.id, []))),
                grant_title=application.title if application is not None else "",
                grant_public=public,
            )
        )
    return out


def public_disclosures(today: dt.date) -> list[PublicDisclosure]:
    """Every published disclosure, newest first, with the grant it is about where it is one."""
    rows = list(
        db.session.scalars(
            select(Disclosure).order_by(Disclosure.published_at.desc(), Disclosure.id.desc())
        ).all()
    )
    return _public(rows, rows, today)


def public_disclosure(disclosure_id: int, today: dt.date) -> PublicDisclosure | None:
    """One published disclosure, or None."""
    row = db.session.get(Disclosure, disclosure_id)
    if row is None:
        return None
    corrections = list(
        db.session.scalars(select(Disclosure).where(Disclosure.corrects == disclosure_id)).all()
    )
    return _public([row], corrections, today)[0]
