"""The disclosure calendar (慈善组织信息公开办法): quarterly spans, the close-out window, the annual
31 May, done on time or late, overdue and due soon, and every refusal of a bad disclosure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from beanquery_helpers import bean_query_sum, connect
from ledger_testkit import donation

from ledger import grants, services
from ledger.book import Book
from ledger.disclosure_due import (
    Draft,
    Project,
    Published,
    Status,
    add_months,
    build_calendar,
    check_draft,
    project_obligations,
    projects_from_book,
    quarterly_spans,
)
from ledger.errors import RuleError

D = Decimal
START = dt.date(2026, 1, 31)


def pub(
    kind: str, subject: str, period: str, on: dt.date, pid: int = 1, corrects: int | None = None
) -> Published:
    return Published(pid, kind, subject, period, f"{kind} {subject}", on, corrects)


def running(start: dt.date = START, **kw: object) -> Project:
    return Project(id="G1", title="四点半课堂", start=start, **kw)  # type: ignore[arg-type]


# -- dates ------------------------------------------------------------------------------------------


def test_adding_months_keeps_the_day_and_clamps_to_the_end_of_a_short_month() -> None:
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 1, 31), 3) == dt.date(2026, 4, 30)
    assert add_months(dt.date(2026, 11, 15), 3) == dt.date(2027, 2, 15)
    assert add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)


# -- quarterly --------------------------------------------------------------------------------------


def test_a_project_closed_after_ten_months_owes_the_three_spans_due_before_its_close() -> None:
    project = running(closed_on=dt.date(2026, 11, 20))
    spans = quarterly_spans(project, dt.date(2026, 12, 1))
    # Spans are counted from the start each time, so 31 Jan never drifts to the 28th or 30th.
    assert spans == [
        (1, dt.date(2026, 1, 31), dt.date(2026, 4, 30)),
        (2, dt.date(2026, 4, 30), dt.date(2026, 7, 31)),
        (3, dt.date(2026, 7, 31), dt.date(2026, 10, 31)),
    ]


def test_a_project_of_six_months_or_less_has_no_quarterly_duty() -> None:
    exactly_six = running(start=dt.date(2026, 1, 10), closed_on=dt.date(2026, 7, 10))
    two_months = running(start=dt.date(2026, 1, 10), closed_on=dt.date(2026, 3, 12))
    planned_short = running(start=dt.date(2026, 1, 10), planned_end=dt.date(2026, 5, 1))
    today = dt.date(2026, 4, 20)
    assert quarterly_spans(exactly_six, today) == []
    assert quarterly_spans(two_months, today) == []
    assert quarterly_spans(planned_short, today) == []
    kinds = [o.kind for o in project_obligations(two_months, [], today)]
    assert kinds == ["closeout"]


def test_a_running_project_owes_every_span_begun_and_the_current_one_is_due_soon() -> None:
    project = running(start=dt.date(2026, 3, 29))
    today = dt.date(2026, 12, 1)
    obligations = project_obligations(project, [], today)
    assert [(o.opens, o.due, o.status) for o in obligations] == [
        (dt.date(2026, 3, 29), dt.date(2026, 6, 29), Status.OVERDUE),
        (dt.date(2026, 6, 29), dt.date(2026, 9, 29), Status.OVERDUE),
        (dt.date(2026, 9, 29), dt.date(2026, 12, 29), Status.DUE_SOON),
    ]
    assert obligations[0].period == "2026-03-29/2026-06-29"
    assert obligations[0].days_late == (today - dt.date(2026, 6, 29)).days
    assert obligations[2].days_left == 28
    assert not any(o.provisional for o in obligations)


def test_a_young_running_project_without_a_planned_end_is_assumed_long_and_marked_provisional() -> (
    None
):
    project = running(start=dt.date(2026, 9, 1))
    obligations = project_obligations(project, [], dt.date(2026, 10, 1))
    assert [(o.due, o.status, o.provisional) for o in obligations] == [
        (dt.date(2026, 12, 1), Status.NOT_YET_DUE, True)
    ]
    # Closed inside six months: the assumed duty disappears, the close-out remains.
    closed = running(start=dt.date(2026, 9, 1), closed_on=dt.date(2026, 11, 15))
    assert [o.kind for o in project_obligations(closed, [], dt.date(2026, 12, 1))] == ["closeout"]


def test_a_running_project_past_its_short_plan_is_long_after_all() -> None:
    project = running(start=dt.date(2026, 1, 10), planned_end=dt.date(2026, 4, 1))
    assert quarterly_spans(project, dt.date(2026, 7, 9)) == []
    assert [k for k, _f, _d in quarterly_spans(project, dt.date(2026, 7, 11))] == [1, 2, 3]


def test_a_quarterly_disclosure_counts_only_for_its_own_span() -> None:
    project = running(start=dt.date(2026, 3, 29))
    done = pub("quarterly", "G1", "2026-06-29/2026-09-29", dt.date(2026, 9, 20))
    other_grant = pub("quarterly", "G2", "2026-03-29/2026-06-29", dt.date(2026, 6, 1), pid=2)
    obligations = project_obligations(project, [done, other_grant], dt.date(2026, 12, 1))
    statuses = {o.period: (o.status, o.late) for o in obligations}
    assert statuses == {
        "2026-03-29/2026-06-29": (Status.OVERDUE, False),
        "2026-06-29/2026-09-29": (Status.DONE, False),
        "2026-09-29/2026-12-29": (Status.DUE_SOON, False),
    }


# -- close-out ----------------------------------------------------------------------------------------


def test_the_close_out_is_due_three_months_after_the_close_with_the_money_returned() -> None:
    project = running(
        start=dt.date(2026, 3, 29),
        closed_on=dt.date(2026, 6, 9),
        returned=D("600.00"),
        leftover="扶手材料移交社区仓库",
    )
    (closeout,) = project_obligations(project, [], dt.date(2026, 8, 1))
    assert closeout.kind == "closeout"
    assert (closeout.opens, closeout.due) == (dt.date(2026, 6, 9), dt.date(2026, 9, 9))
    assert closeout.status == Status.NOT_YET_DUE
    assert closeout.returned == D("600.00")
    assert closeout.leftover == "扶手材料移交社区仓库"
    assert "结余" in closeout.title
    soon = project_obligations(project, [], dt.date(2026, 8, 10))[0]
    assert soon.status == Status.DUE_SOON
    assert soon.days_left == 30
    assert project_obligations(project, [], dt.date(2026, 9, 9))[0].status == Status.DUE_SOON
    assert project_obligations(project, [], dt.date(2026, 9, 10))[0].status == Status.OVERDUE


def test_a_close_out_published_after_the_due_date_is_done_but_late() -> None:
    project = running(start=dt.date(2026, 3, 29), closed_on=dt.date(2026, 6, 9))
    on_due = pub("closeout", "G1", "2026-06-09", dt.date(2026, 9, 9))
    (o,) = project_obligations(project, [on_due], dt.date(2026, 12, 1))
    assert o.status == Status.DONE
    assert not o.late
    assert o.days_late == 0
    late = pub("closeout", "G1", "2026-06-09", dt.date(2026, 9, 20))
    (o,) = project_obligations(project, [late], dt.date(2026, 12, 1))
    assert o.status == Status.DONE
    assert o.late
    assert o.days_late == 11
    assert o.disclosure == late


def test_the_earliest_disclosure_counts_so_a_later_correction_does_not_make_it_late() -> None:
    project = running(start=dt.date(2026, 3, 29), closed_on=dt.date(2026, 6, 9))
    first = pub("closeout", "G1", "2026-06-09", dt.date(2026, 7, 1), pid=4)
    correction = pub("closeout", "G1", "2026-06-09", dt.date(2026, 10, 1), pid=9, corrects=4)
    (o,) = project_obligations(project, [correction, first], dt.date(2026, 12, 1))
    assert o.disclosure == first
    assert not o.late


# -- annual -------------------------------------------------------------------------------------------


def test_the_annual_report_of_a_year_is_due_on_31_may_of_the_next() -> None:
    cal = build_calendar([], [2025, 2026], [], dt.date(2026, 5, 15))
    by_year = {o.subject: o for o in cal.obligations}
    assert by_year["2025"].due == dt.date(2026, 5, 31)
    assert by_year["2025"].opens == dt.date(2026, 1, 1)
    assert by_year["2025"].status == Status.DUE_SOON
    assert by_year["2026"].due == dt.date(2027, 5, 31)
    assert by_year["2026"].status == Status.NOT_YET_DUE
    after = build_calendar([], [2025], [], dt.date(2026, 6, 1))
    assert after.overdue[0].subject == "2025"
    assert after.overdue[0].days_late == 1
    done = build_calendar(
        [], [2025], [pub("annual", "2025", "2025", dt.date(2026, 5, 31))], dt.date(2026, 6, 1)
    )
    assert done.done[0].status == Status.DONE
    assert not done.done[0].late


# -- the whole calendar -------------------------------------------------------------------------------


def test_the_calendar_lists_overdue_first_then_due_soon_not_yet_due_and_done() -> None:
    today = dt.date(2026, 12, 1)
    projects = [
        running(start=dt.date(2026, 3, 29)),
        Project("G2", "花台", dt.date(2026, 3, 29), closed_on=dt.date(2026, 6, 9)),
    ]
    published = [
        pub("closeout", "G2", "2026-06-09", dt.date(2026, 6, 25), pid=1),
        pub("quarterly", "G1", "2026-03-29/2026-06-29", dt.date(2026, 7, 10), pid=2),
        pub("annual", "2025", "2025", dt.date(2026, 4, 28), pid=3),
    ]
    cal = build_calendar(projects, [2025, 2026], published, today)
    assert [(o.status, o.kind, o.subject) for o in cal.obligations] == [
        (Status.OVERDUE, "quarterly", "G1"),
        (Status.DUE_SOON, "quarterly", "G1"),
        (Status.NOT_YET_DUE, "annual", "2026"),
        (Status.DONE, "quarterly", "G1"),  # 7-10, late
        (Status.DONE, "closeout", "G2"),  # 6-25
        (Status.DONE, "annual", "2025"),  # 4-28
    ]
    assert [o.late for o in cal.done] == [True, False, False]
    assert cal.find("closeout", "G2") is cal.done[1]


# -- projects from the ledger -------------------------------------------------------------------------


def test_projects_come_from_the_ledger_with_award_and_close_dates_and_the_money_returned(
    book: Book,
) -> None:
    services.record_donation(book, donation("d1", "9000", date=dt.date(2026, 1, 2)))
    base = {"entered_by": "clerk", "approved_by": "chair"}
    for grant, project in (("G-A", "3号院花台"), ("G-B", "四点半课堂")):
        grants.award_grant(
            book,
            grants.AwardCommand(
                id=f"aw-{grant}",
                grant=grant,
                date=dt.date(2026, 1, 5),
                amount="3000",
                fund="general",
                grantee="居民小组",
                project=project,
                **base,
            ),
        )
        grants.disburse(
            book,
            grants.DisbursementCommand(
                id=f"pay-{grant}", grant=grant, date=dt.date(2026, 1, 6), amount="2000", **base
            ),
        )
    grants.accept_expense_report(
        book,
        grants.ExpenseReportCommand(
            id="rep-A",
            grant="G-A",
            date=dt.date(2026, 3, 1),
            amount="1650.50",
            summary="砖石",
            receipts=3,
            **base,
        ),
    )
    grants.close_grant(
        book,
        grants.CloseCommand(
            id="close-A",
            grant="G-A",
            date=dt.date(2026, 3, 10),
            returned="349.50",
            leftover="剩余砖石留给5号院",
            **base,
        ),
    )
    found = {p.id: p for p in projects_from_book(book)}
    assert found["G-A"] == Project(
        "G-A",
        "3号院花台",
        dt.date(2026, 1, 5),
        closed_on=dt.date(2026, 3, 10),
        returned=D("349.50"),
        leftover="剩余砖石留给5号院",
    )
    assert found["G-B"] == Project("G-B", "四点半课堂", dt.date(2026, 1, 5))
    # The leftover money is what bean-query finds returned from the advance at the close-out.
    conn = connect(book.store.main)
    returned = -bean_query_sum(
        conn,
        "'grant-G-A' IN links AND entry_meta('kind') = 'grant-close' "
        "AND account = 'Assets:1141-预付账款'",
    )
    assert found["G-A"].returned == returned


# -- refusals -----------------------------------------------------------------------------------------

PROJECTS = {
    "G1": running(start=dt.date(2026, 3, 29)),
    "G2": Project("G2", "花台", dt.date(2026, 3, 29), closed_on=dt.date(2026, 6, 9)),
}
PUBLISHED = {7: pub("closeout", "G2", "2026-06-09", dt.date(2026, 6, 25), pid=7)}
TODAY = dt.date(2026, 12, 1)


def draft(**kw: object) -> Draft:
    args: dict[str, object] = {
        "kind": "quarterly",
        "subject": "G1",
        "period": "2026-06-29/2026-09-29",
        "title": "四点半课堂第二期进展",
        "body": "本期开展活动12次。\r\n参与儿童30名。",
    }
    args.update(kw)
    return Draft(**args)  # type: ignore[arg-type]


def check(**kw: object) -> Draft:
    return check_draft(draft(**kw), PROJECTS, [2025, 2026], PUBLISHED, TODAY)


def test_a_good_draft_is_tidied_and_a_close_out_takes_the_close_date_as_its_period() -> None:
    assert check().body == "本期开展活动12次。\n参与儿童30名。"
    closeout = check(kind="closeout", subject=" G2 ", period="")
    assert (closeout.subject, closeout.period) == ("G2", "2026-06-09")
    annual = check(kind="annual", subject="2025", period="")
    assert (annual.subject, annual.period) == ("2025", "2025")
    assert check(kind="closeout", subject="G2", corrects=7).corrects == 7
    # Anything else the fund chooses to publish owes no deadline and names a free subject.
    other = check(kind="other", subject="街道年度检查", period="2026")
    assert (other.kind, other.subject, other.period) == ("other", "街道年度检查", "2026")


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"kind": "monthly"}, "kind", "unknown kind"),
        ({"subject": "G9"}, "subject", "G9"),
        ({"subject": ""}, "subject", "awarded grant"),
        ({"kind": "closeout", "subject": "G1"}, "subject", "not closed"),
        ({"period": "2026-07-01/2026-10-01"}, "period", "2026-03-29/2026-06-29"),
        ({"period": "2026-12-29/2027-03-29"}, "period", "three-month spans"),
        ({"kind": "annual", "subject": "2026"}, "subject", "2025–2025"),
        ({"kind": "annual", "subject": "1999"}, "subject", "year out of range"),
        ({"kind": "annual", "subject": "二〇二五"}, "subject", "year out of range"),
        ({"title": "   "}, "title", "title is required"),
        ({"title": "进" * 201}, "title", "最多 200"),
        ({"title": "进展\u202e"}, "title", "U+202E"),
        ({"body": ""}, "body", "body is required"),
        ({"body": "字" * 20001}, "body", "最多 20000"),
        ({"body": "第一行\n第二行\x00"}, "body", "U+0000"),
        ({"corrects": 99}, "corrects", "99"),
        ({"corrects": 7}, "corrects", "closeout / G2"),
    ],
)
def test_a_bad_draft_is_refused_naming_the_field(
    changes: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(RuleError) as caught:
        check(**changes)
    assert caught.value.field == field
    assert words in caught.value.message


def test_a_project_of_six_months_or_less_has_no_period_to_file_progress_under() -> None:
    short = {"G3": Project("G3", "修理日", dt.date(2026, 3, 1), closed_on=dt.date(2026, 5, 1))}
    with pytest.raises(RuleError) as caught:
        check_draft(draft(subject="G3"), short, [2025], {}, TODAY)
    assert caught.value.field == "period"
    assert "不超过六个月" in caught.value.message
