"""The disclosure calendar of 慈善组织信息公开办法 (民政部令第81号): what must be published by when,
and whether it was.

Three duties are computed from plain records (projects, the years of activity, what was published
and today's date), so the rules are testable without a database or a web page:

* **quarterly** — a project whose implementation runs over six months discloses its progress at
  least every three months while it runs. The rule implemented: the project starts on its award
  date ``S``; span ``k`` (k = 1, 2, …) runs from ``S + 3(k-1)`` months to ``S + 3k`` months and
  its disclosure is due on the span's last day, ``S + 3k`` months (month arithmetic keeps the day
  of the month, clamped to the month's end: 31 Jan + 3 months = 30 Apr). A closed project owes the
  spans due before its close date (the close-out disclosure covers the rest); a running project
  owes every span that has begun. "Over six months" means the end (close date, else the planned
  end) falls after ``S + 6`` months; a running project past ``S + 6`` months is over six months
  whatever its plan said. A running project with no known end is assumed to run long (its duty is
  shown, marked *provisional*) until it closes within six months, when the duty disappears: a
  warning before the first span ends is worth more than certainty after it.
* **closeout** — within three months after a project ends (its close date ``E``, due ``E + 3``
  months): how it was carried out and what became of leftover money (the amount returned to the
  fund at the close-out) and goods.
* **annual** — the work report and financial report of year ``Y`` by 31 May of ``Y + 1``.

Each obligation's status is *done* (a matching disclosure exists; *late* when its date is after
the due date), *overdue* (past the due date, nothing published), *due soon* (due within 30 days)
or *not yet due*. A disclosure matches an obligation by kind and subject (the grant id, or the
year), and for a quarterly one also by period (the span, ``YYYY-MM-DD/YYYY-MM-DD``); the earliest
matching disclosure counts, so a later correction does not change when a duty was met.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from ledger.book import ZERO, Book
from ledger.errors import RuleError
from ledger.grants import grant_totals
from ledger.render import check_text

#: Kinds of disclosure the calendar knows; ``other`` is published freely and owes nothing.
KINDS = ("quarterly", "closeout", "annual", "other")
#: Kinds whose subject is a grant id.
PROJECT_KINDS = ("quarterly", "closeout")
KIND_LABELS = {
    "quarterly": "项目进展（每三个月）",
    "closeout": "项目结项与结余处理",
    "annual": "年度工作报告和财务会计报告",
    "other": "其他公开信息",
}
#: A project running longer than this many months discloses every ``QUARTER_MONTHS``.
LONG_PROJECT_MONTHS = 6
QUARTER_MONTHS = 3
#: The close-out disclosure is due this many months after the project ends.
CLOSEOUT_MONTHS = 3
#: The annual report of year Y is due on this (month, day) of Y + 1.
ANNUAL_DUE = (5, 31)
#: An obligation due within this many days is "due soon".
DUE_SOON_DAYS = 30
MAX_TITLE = 200
MAX_BODY = 20000
MAX_SUBJECT = 64
MAX_PERIOD = 32
_YEAR = re.compile(r"[12][0-9]{3}")


class Status(enum.StrEnum):
    """Where an obligation stands today."""

    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    NOT_YET_DUE = "not_yet_due"
    DONE = "done"


#: The calendar's order: what needs action first.
STATUS_ORDER = (Status.OVERDUE, Status.DUE_SOON, Status.NOT_YET_DUE, Status.DONE)


@dataclass(frozen=True)
class Project:
    """One micro-grant project as the calendar needs it.

    Attributes:
        id: the grant id (the disclosure's subject).
        title: the project's name.
        start: the award date (implementation starts when the money is committed).
        closed_on: the close-out date, if the project has closed.
        planned_end: the planned end, when the application gives one.
        returned: leftover money returned to the fund at the close-out.
        leftover: what became of leftover goods, as the close-out recorded it.
    """

    id: str
    title: str
    start: dt.date
    closed_on: dt.date | None = None
    planned_end: dt.date | None = None
    returned: Decimal = ZERO
    leftover: str = ""

    def runs_long(self, today: dt.date) -> bool:
        """Whether the project runs (or is assumed to run) over six months."""
        six = add_months(self.start, LONG_PROJECT_MONTHS)
        if self.closed_on is not None:
            return self.closed_on > six
        if today > six:
            return True
        return self.planned_end is None or self.planned_end > six

    def provisional(self, today: dt.date) -> bool:
        """True while the long-running duty is only assumed (running, no plan, under six months)."""
        return (
            self.closed_on is None
            and self.planned_end is None
            and today <= add_months(self.start, LONG_PROJECT_MONTHS)
        )


@dataclass(frozen=True)
class Published:
    """A disclosure already published."""

    id: int
    kind: str
    subject: str
    period: str
    title: str
    published_on: dt.date
    corrects: int | None = None


@dataclass(frozen=True)
class Obligation:
    """One thing that must be (or was) disclosed by a date."""

    kind: str
    subject: str
    period: str
    title: str
    opens: dt.date
    due: dt.date
    status: Status
    days_left: int
    disclosure: Published | None = None
    provisional: bool = False
    project_title: str = ""
    returned: Decimal | None = None
    leftover: str = ""

    @property
    def done(self) -> bool:
        return self.disclosure is not None

    @property
    def late(self) -> bool:
        """Published, but after the due date."""
        return self.disclosure is not None and self.disclosure.published_on > self.due

    @property
    def days_late(self) -> int:
        """Days past the due date: of the publication if done, else of today (0 if not late)."""
        if self.disclosure is not None:
            return max(0, (self.disclosure.published_on - self.due).days)
        return max(0, -self.days_left)


@dataclass(frozen=True)
class Calendar:
    """Every obligation, in the order of what needs action first."""

    today: dt.date
    obligations: tuple[Obligation, ...]

    def with_status(self, status: Status) -> tuple[Obligation, ...]:
        return tuple(o for o in self.obligations if o.status == status)

    @property
    def overdue(self) -> tuple[Obligation, ...]:
        return self.with_status(Status.OVERDUE)

    @property
    def due_soon(self) -> tuple[Obligation, ...]:
        return self.with_status(Status.DUE_SOON)

    @property
    def not_yet_due(self) -> tuple[Obligation, ...]:
        return self.with_status(Status.NOT_YET_DUE)

    @property
    def done(self) -> tuple[Obligation, ...]:
        return self.with_status(Status.DONE)

    def find(self, kind: str, subject: str, period: str = "") -> Obligation | None:
        """The obligation of that kind and subject (and period, for a quarterly one)."""
        for o in self.obligations:
            if o.kind == kind and o.subject == subject and (not period or o.period == period):
                return o
        return None


# -- dates ------------------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole months, the day of the month clamped to the month's end."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))


def span_period(start: dt.date, end: dt.date) -> str:
    """A quarterly span as stored in a disclosure's period: ``2026-03-29/2026-06-29``."""
    return f"{start.isoformat()}/{end.isoformat()}"


def quarterly_spans(project: Project, today: dt.date) -> list[tuple[int, dt.date, dt.date]]:
    """The spans (number, first day, due day) a project owes a progress disclosure for.

    Args:
        project: the project.
        today: the day the calendar is computed for.

    Returns:
        Nothing for a project of six months or less; otherwise, for a closed project each span
        due before its close date, for a running one each span that has begun by ``today``.
    """
    if not project.runs_long(today):
        return []
    spans = []
    k = 1
    while True:
        first = add_months(project.start, QUARTER_MONTHS * (k - 1))
        due = add_months(project.start, QUARTER_MONTHS * k)
        if project.closed_on is not None:
            if due >= project.closed_on:
                break
        elif first > today:
            break
        spans.append((k, first, due))
        k += 1
    return spans


def annual_due(year: int) -> dt.date:
    """The day the annual report of ``year`` is due (31 May of the next year)."""
    return dt.date(year + 1, *ANNUAL_DUE)


# -- the calendar -----------------------------------------------------------------------------------


def _status(due: dt.date, done: Published | None, today: dt.date) -> Status:
    if done is not None:
        return Status.DONE
    if today > due:
        return Status.OVERDUE
    if (due - today).days <= DUE_SOON_DAYS:
        return Status.DUE_SOON
    return Status.NOT_YET_DUE


def _first_match(
    published: Iterable[Published], kind: str, subject: str, period: str | None
) -> Published | None:
    """The earliest disclosure of that kind and subject (and period, unless None)."""
    found = [
        p
        for p in published
        if p.kind == kind and p.subject == subject and (period is None or p.period == period)
    ]
    return min(found, key=lambda p: (p.published_on, p.id), default=None)


def _obligation(
    kind: str,
    subject: str,
    period: str,
    title: str,
    opens: dt.date,
    due: dt.date,
    match: Published | None,
    today: dt.date,
    **extra: object,
) -> Obligation:
    return Obligation(
        kind=kind,
        subject=subject,
        period=period,
        title=title,
        opens=opens,
        due=due,
        status=_status(due, match, today),
        days_left=(due - today).days,
        disclosure=match,
        **extra,  # type: ignore[arg-type]
    )


def project_obligations(
    project: Project, published: Sequence[Published], today: dt.date
) -> list[Obligation]:
    """A project's quarterly progress and close-out obligations."""
    out = []
    provisional = project.provisional(today)
    for k, first, due in quarterly_spans(project, today):
        period = span_period(first, due)
        out.append(
            _obligation(
                "quarterly",
                project.id,
                period,
                f"「{project.title}」项目进展（第{k}期：{first.isoformat()} 至 {due.isoformat()}）",
                first,
                due,
                _first_match(published, "quarterly", project.id, period),
                today,
                provisional=provisional,
                project_title=project.title,
            )
        )
    if project.closed_on is not None:
        out.append(
            _obligation(
                "closeout",
                project.id,
                project.closed_on.isoformat(),
                f"「{project.title}」项目结项及结余资金处理情况",
                project.closed_on,
                add_months(project.closed_on, CLOSEOUT_MONTHS),
                _first_match(published, "closeout", project.id, None),
                today,
                project_title=project.title,
                returned=project.returned,
                leftover=project.leftover,
            )
        )
    return out


def annual_obligations(
    years: Iterable[int], published: Sequence[Published], today: dt.date
) -> list[Obligation]:
    """The annual work and financial report of each year of activity."""
    return [
        _obligation(
            "annual",
            str(year),
            str(year),
            f"{year}年度工作报告和财务会计报告",
            dt.date(year + 1, 1, 1),
            annual_due(year),
            _first_match(published, "annual", str(year), None),
            today,
        )
        for year in sorted(set(years))
    ]


def _order(o: Obligation) -> tuple[int, int, str, str, str]:
    rank = STATUS_ORDER.index(o.status)
    if o.status == Status.DONE:
        assert o.disclosure is not None
        # Most recently published first among what is done.
        return rank, -o.disclosure.published_on.toordinal(), o.kind, o.subject, o.period
    return rank, o.due.toordinal(), o.kind, o.subject, o.period


def build_calendar(
    projects: Iterable[Project],
    years: Iterable[int],
    published: Sequence[Published],
    today: dt.date,
) -> Calendar:
    """Every obligation of the projects and years, overdue first, then due soon, not yet due, done.

    Args:
        projects: the micro-grant projects (awarded; closed or running).
        years: the years of activity (an annual report is owed for each).
        published: every disclosure published so far.
        today: the day the statuses are computed for.

    Returns:
        The calendar.
    """
    obligations: list[Obligation] = []
    for project in projects:
        obligations += project_obligations(project, published, today)
    obligations += annual_obligations(years, published, today)
    return Calendar(today=today, obligations=tuple(sorted(obligations, key=_order)))


# -- projects from the ledger -------------------------------------------------------------------------


def projects_from_book(book: Book) -> list[Project]:
    """Every awarded micro-grant in the ledger: award date, close date, money returned, leftover.

    The title is the award's project name (``微创投资助：<project>``); the app may put the
    application's title in its place.
    """
    out = []
    for grant in book.grant_ids():
        totals = grant_totals(book, grant)
        if totals is None:
            continue
        entries = book.grant_entries(grant)
        award = min(
            (t for t in entries if (t.meta or {}).get("kind") == "grant-award"),
            key=lambda t: t.date,
        )
        close = next((t for t in entries if (t.meta or {}).get("kind") == "grant-close"), None)
        title = (award.narration or grant).split("：", 1)[-1]
        out.append(
            Project(
                id=grant,
                title=title,
                start=award.date,
                closed_on=close.date if close is not None else None,
                returned=totals.returned,
                leftover=str((close.meta or {}).get("leftover", "")) if close is not None else "",
            )
        )
    return sorted(out, key=lambda p: (p.start, p.id))


# -- checking a disclosure before it is published ------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """A disclosure as the administrator entered it."""

    kind: str
    subject: str
    period: str
    title: str
    body: str
    corrects: int | None = None


def _check_body(body: str) -> str:
    """Multi-line text: each line checked like any user text (no control or bidi characters)."""
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise RuleError("body", "正文必填（body is required）", "required")
    if len(text) > MAX_BODY:
        raise RuleError("body", f"正文过长：最多 {MAX_BODY} 个字符（body too long）", "too_long")
    for line in text.split("\n"):
        check_text("body", line.replace("\t", " "), max_len=MAX_BODY)
    return text


def _check_title(title: str) -> str:
    text = title.strip()
    if not text:
        raise RuleError("title", "标题必填（title is required）", "required")
    if len(text) > MAX_TITLE:
        raise RuleError("title", f"标题过长：最多 {MAX_TITLE} 个字符（title too long）", "too_long")
    return check_text("title", text, max_len=MAX_TITLE)


def _check_project(draft: Draft, projects: Mapping[str, Project], today: dt.date) -> str:
    """The period a project disclosure is filed under (refusing an unknown grant or span)."""
    project = projects.get(draft.subject.strip())
    if project is None:
        raise RuleError(
            "subject",
            f"没有编号为 {draft.subject.strip() or '（空）'} 的已资助项目（subject must be an "
            "awarded grant id）",
            "unknown_grant",
        )
    if draft.kind == "closeout":
        if project.closed_on is None:
            raise RuleError(
                "subject",
                f"项目 {project.id} 尚未结项，不能发布结项公开（the grant is not closed）",
                "not_closed",
            )
        return project.closed_on.isoformat()
    periods = [span_period(first, due) for _k, first, due in quarterly_spans(project, today)]
    if draft.period.strip() not in periods:
        choices = "、".join(periods) if periods else "无（该项目不超过六个月或尚未开始）"
        raise RuleError(
            "period",
            f"期间须为项目 {project.id} 的某个三个月期间：{choices}（period must be one of the "
            "grant's three-month spans）",
            "unknown_period",
        )
    return draft.period.strip()


def _check_year(subject: str, years: Sequence[int], today: dt.date) -> str:
    allowed = sorted(y for y in set(years) if y < today.year)
    text = subject.strip()
    if not _YEAR.fullmatch(text) or int(text) not in allowed:
        span = f"{allowed[0]}–{allowed[-1]}" if allowed else "无"
        raise RuleError(
            "subject",
            f"年度须为账本有记录且已结束的年份（{span}），而不是 {text or '（空）'}"
            "（year out of range）",
            "bad_year",
        )
    return text


def check_draft(
    draft: Draft,
    projects: Mapping[str, Project],
    years: Sequence[int],
    published: Mapping[int, Published],
    today: dt.date,
) -> Draft:
    """Refuse a disclosure that names no known subject, or whose text is unfit to publish.

    Args:
        draft: what the administrator entered.
        projects: the awarded projects by grant id.
        years: the years of activity.
        published: the disclosures published so far, by id (a correction must name one).
        today: the publication day.

    Returns:
        The draft tidied: text stripped, line ends ``\\n``, the period of a close-out set to the
        close date and of an annual report to the year.

    Raises:
        RuleError: naming the field at fault (kind, subject, period, title, body or corrects).
    """
    kind = draft.kind.strip()
    if kind not in KINDS:
        raise RuleError(
            "kind",
            "公开类型须为 quarterly（项目进展）、closeout（结项与结余）、annual（年度报告）、"
            "other（其他）之一（unknown kind）",
            "unknown_kind",
        )
    draft = replace(draft, kind=kind)
    subject, period = draft.subject.strip(), draft.period.strip()
    if kind in PROJECT_KINDS:
        period = _check_project(draft, projects, today)
    elif kind == "annual":
        subject = period = _check_year(subject, years, today)
    else:
        check_text("subject", subject, max_len=MAX_SUBJECT)
        check_text("period", period, max_len=MAX_PERIOD)
    title = _check_title(draft.title)
    body = _check_body(draft.body)
    if draft.corrects is not None:
        original = published.get(draft.corrects)
        if original is None:
            raise RuleError(
                "corrects",
                f"没有编号为 {draft.corrects} 的已发布公开信息（no such disclosure to correct）",
                "not_found",
            )
        if (original.kind, original.subject) != (kind, subject):
            raise RuleError(
                "corrects",
                f"更正须与原公开信息 {original.id} 的类型和对象相同"
                f"（{original.kind} / {original.subject}）（a correction keeps the kind and "
                "subject of the disclosure it corrects）",
                "mismatch",
            )
    return Draft(kind, subject, period, title, body, draft.corrects)
