"""信息公开 through the web: the administrator's calendar shows what is overdue, publishing makes it
done and puts it on the public site with its date; every bad input is refused naming the field with
the database and the ledger unchanged; only an administrator publishes; no personal data in public."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from app_testkit import counts, field_errors, give, main_file, snapshot
from beanquery_helpers import bean_query_sum, connect
from flask import Flask
from sqlalchemy import func, select

from ledger import disclosure_due as due
from ledger_app import grants_workflow as gw
from ledger_app import workflow
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import AuditLog, Disclosure

CRITERIA = [{"name": "社区需求", "weight": 60}, {"name": "可行性", "weight": 40}]
#: The running grant is awarded this many days ago: two spans overdue, the third running.
RUNNING_DAYS = 200
CLOSED_DAYS = (150, 40)  # awarded, closed (days ago)


def days(n: int) -> dt.date:
    return today() + dt.timedelta(days=n)


def text_of(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _grant(app: Flask, app_id: str, title: str, awarded_ago: int) -> None:
    """A decided, posted and awarded application with one tranche paid (through the workflow)."""
    start = days(-awarded_ago)
    with app.app_context():
        book = get_book()
        call = gw.create_call(
            book,
            gw.CallInput(
                id=f"call-{app_id}",
                title=f"{title}征集",
                fund="general",
                budget="2000.00",
                ceiling="2000.00",
                opens_on=start - dt.timedelta(days=60),
                closes_on=start - dt.timedelta(days=30),
                criteria=CRITERIA,
            ),
            "admin",
            today=start - dt.timedelta(days=60),
        )
        gw.submit_application(
            book,
            gw.ApplicationInput(
                call_id=call.id,
                group_name="七号院居民小组",
                contact_name="周阿姨",
                contact_phone="13911112222",
                title=title,
                budget_lines=[{"item": "材料", "quantity": "1", "unit_price": "1500"}],
                id=app_id,
            ),
            "admin",
            today=start - dt.timedelta(days=40),
        )
        gw.set_eligibility(app_id, True, "", "admin")
        gw.record_deliberation(
            gw.DeliberationInput(
                call.id, "决议", start - dt.timedelta(days=20), 9, 7, 8, 0, 1, minutes="表决通过"
            ),
            "admin",
            today=start - dt.timedelta(days=20),
        )
        gw.record_decision(
            app_id,
            True,
            "1500.00",
            "",
            "admin",
            published_on=start - dt.timedelta(days=15),
            today=start - dt.timedelta(days=15),
        )
        workflow.approve_request(
            book, gw.request_award(book, app_id, start, "admin").id, "approver"
        )
        workflow.approve_request(
            book,
            gw.request_disbursement(book, app_id, start + dt.timedelta(days=1), "1000", "admin").id,
            "approver",
        )


def _close(app: Flask, app_id: str, closed_ago: int) -> None:
    with app.app_context():
        book = get_book()
        req = gw.request_close(
            book,
            app_id,
            days(-closed_ago),
            "1000.00",
            "剩余材料移交社区仓库",
            gw.EvaluationInput("partly", 20, 80, "天气原因延期"),
            "admin",
        )
        workflow.approve_request(book, req.id, "approver")


@pytest.fixture
def grants_app(app: Flask) -> Flask:
    """Money in the general fund, a running grant awarded 200 days ago and a closed grant."""
    give(app, "9000.00", fund="general", name="陈秀英", phone="13700137000", display="name")
    _grant(app, "G-RUN", "四点半课堂", RUNNING_DAYS)
    _grant(app, "G-DONE", "楼道照明", CLOSED_DAYS[0])
    _close(app, "G-DONE", CLOSED_DAYS[1])
    return app


def spans_of(app: Flask, grant: str) -> list[str]:
    with app.app_context():
        project = next(p for p in due.projects_from_book(get_book()) if p.id == grant)
        return [due.span_period(f, d) for _k, f, d in due.quarterly_spans(project, today())]


def plain(fragment: str) -> str:
    """A piece of HTML without its tags."""
    return re.sub(r"<[^>]+>", "", fragment)


def duties(page: str, section: str) -> list[str]:
    """The calendar items of one section (overdue, due-soon, later, done) of the admin page."""
    block = re.search(rf'<section id="{section}".*?</section>', page, re.S)
    assert block, section
    return re.findall(r'<li class="duty duty-[a-z_]+">.*?</li>', block.group(0), re.S)


def table_counts(app: Flask) -> dict[str, int]:
    rows = counts(app)
    with app.app_context():
        rows["disclosures"] = db.session.scalar(select(func.count()).select_from(Disclosure)) or 0
    return rows


# -- the calendar and publishing ---------------------------------------------------------------------


def test_admin_sees_the_overdue_progress_and_publishing_it_makes_it_done_and_public(
    grants_app: Flask, signed_in: Callable[..., Any], visitor: Callable[..., Any]
) -> None:
    app = grants_app
    admin = signed_in("admin")
    first, second, current = spans_of(app, "G-RUN")
    page = text_of(admin.client.get("/admin/disclosures"))
    overdue = duties(page, "overdue")
    assert len(overdue) == 2
    assert all("四点半课堂" in item and "项目实施进展" in item for item in overdue)
    assert first.replace("/", " – ") in plain(overdue[0])
    first_due = due.add_months(days(-RUNNING_DAYS), 3)
    assert f"已逾期 {(today() - first_due).days} 天" in overdue[0]

    # The form starts from the obligation, with the ledger's figures in the body.
    form_url = f"/admin/disclosures/new?kind=quarterly&subject=G-RUN&period={first}"
    form_page = text_of(admin.client.get(form_url))
    assert "「四点半课堂」项目进展（第1期" in form_page
    assert "已拨付 ¥1,000.00（1 期）" in form_page
    response = admin.post(
        form_url,
        {
            "kind": "quarterly",
            "subject": "G-RUN",
            "period": first,
            "title": "四点半课堂第一期进展",
            "body": "开展课后辅导 24 次。\n参与儿童 30 名。",
            "corrects": "",
        },
    )
    assert response.status_code == 303, text_of(response)
    with app.app_context():
        row = db.session.scalars(select(Disclosure)).one()
        assert (row.kind, row.subject, row.period, row.published_by) == (
            "quarterly",
            "G-RUN",
            first,
            "admin",
        )
        assert row.head_hash == get_book().head_hash
        log = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "disclosure.publish")
        ).one()
        assert log.target == f"disclosure:{row.id}"
        assert log.detail["period"] == first
        disclosure_id = row.id

    page = text_of(admin.client.get("/admin/disclosures"))
    (done,) = [item for item in duties(page, "done") if "G-RUN" in item]
    assert f"已于 {today().isoformat()} 发布" in done
    assert "四点半课堂第一期进展" in done
    late_by = (today() - first_due).days
    assert f"逾期 {late_by} 天发布" in done  # published after its due date: done, but late
    (overdue_now,) = duties(page, "overdue")
    assert second.replace("/", " – ") in plain(overdue_now)
    running_now = [i for i in duties(page, "due-soon") + duties(page, "later") if "G-RUN" in i]
    assert len(running_now) == 1
    assert current.replace("/", " – ") in plain(running_now[0])

    public = visitor()
    listing = text_of(public.client.get("/disclosures"))
    item = listing.split(f'id="disclosure-{disclosure_id}"')[1].split("</li>")[0]
    assert f'<time datetime="{today().isoformat()}">{today().isoformat()}</time>' in item
    assert "项目实施进展" in item
    assert '<a href="/grants/G-RUN">四点半课堂</a>' in item
    one = text_of(public.client.get(f"/disclosures/{disclosure_id}"))
    assert "开展课后辅导 24 次。\n参与儿童 30 名。" in one
    assert today().isoformat() in one


def test_the_close_out_shows_the_money_returned_as_bean_query_finds_it_and_can_be_published(
    grants_app: Flask, signed_in: Callable[..., Any], visitor: Callable[..., Any]
) -> None:
    app = grants_app
    admin = signed_in("admin")
    returned = -bean_query_sum(
        connect(main_file(app)),
        "'grant-G-DONE' IN links AND entry_meta('kind') = 'grant-close' "
        "AND account = 'Assets:1141-预付账款'",
    )
    assert returned == 1000
    page = text_of(admin.client.get("/admin/disclosures"))
    every = [i for s in ("overdue", "due-soon", "later", "done") for i in duties(page, s)]
    # The closed project ran 110 days: a close-out is owed, no quarterly progress.
    (closeout,) = [item for item in every if "G-DONE" in item]
    assert "项目结项与结余处理" in closeout
    assert closeout in duties(page, "later")  # due in 50 days
    assert f"结项日期 {days(-CLOSED_DAYS[1]).isoformat()}" in closeout
    assert f'退回结余 <span class="amt">¥{returned:,.2f}</span>' in closeout
    assert "剩余材料移交社区仓库" in closeout
    response = admin.post(
        "/admin/disclosures/new?kind=closeout&subject=G-DONE",
        {
            "kind": "closeout",
            "subject": "G-DONE",
            "period": "",
            "title": "楼道照明结项",
            "body": "结余资金 ¥1,000.00 已退回基金。",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        row = db.session.scalars(select(Disclosure)).one()
        assert row.period == days(-CLOSED_DAYS[1]).isoformat()
    listing = text_of(visitor().client.get("/disclosures"))
    assert "楼道照明结项" in listing
    assert "项目结项与结余处理" in listing


def test_the_annual_report_of_last_year_is_due_on_31_may_and_publishing_it_is_listed(
    grants_app: Flask, signed_in: Callable[..., Any]
) -> None:
    app = grants_app
    give(app, "50.00", day=dt.date(today().year - 1, 12, 20))
    admin = signed_in("admin")
    page = text_of(admin.client.get("/admin/disclosures"))
    last = today().year - 1
    assert f"{last} 年度" in page
    assert f'截止 <time datetime="{last + 1}-05-31">' in page
    response = admin.post(
        "/admin/disclosures/new?kind=annual",
        {
            "kind": "annual",
            "subject": str(last),
            "title": f"{last}年度报告",
            "body": "全文见附件。",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Disclosure.period)).one() == str(last)


def test_a_correction_names_the_disclosure_it_corrects_on_both_public_pages(
    grants_app: Flask, signed_in: Callable[..., Any], visitor: Callable[..., Any]
) -> None:
    admin = signed_in("admin")
    first = spans_of(grants_app, "G-RUN")[0]
    body = {"kind": "quarterly", "subject": "G-RUN", "period": first, "body": "正文"}
    admin.post("/admin/disclosures/new", {**body, "title": "第一期进展"})
    with grants_app.app_context():
        original = db.session.scalars(select(Disclosure.id)).one()
    response = admin.post(
        "/admin/disclosures/new", {**body, "title": "第一期进展（更正）", "corrects": str(original)}
    )
    assert response.status_code == 303
    public = visitor()
    old = text_of(public.client.get(f"/disclosures/{original}"))
    assert "本条信息已被更正" in old
    assert f'href="/disclosures/{original + 1}"' in old
    new = text_of(public.client.get(f"/disclosures/{original + 1}"))
    assert f'href="/disclosures/{original}"' in new


# -- refusals -------------------------------------------------------------------------------------------


GOOD = {
    "kind": "quarterly",
    "subject": "G-RUN",
    "title": "第一期进展",
    "body": "开展活动 12 次。",
    "corrects": "",
}


#: (what is changed in a good form, the field named, words of its message)
BAD: list[tuple[dict[str, str], str, str]] = [
    ({"kind": "monthly"}, "kind", "unknown kind"),
    ({"subject": "G-NONE"}, "subject", "G-NONE"),
    ({"kind": "closeout", "subject": "G-RUN"}, "subject", "not closed"),
    ({"period": "2020-01-01/2020-04-01"}, "period", "three-month spans"),
    ({"kind": "annual", "subject": "this-year"}, "subject", "year out of range"),
    ({"kind": "annual", "subject": "1999"}, "subject", "year out of range"),
    ({"title": ""}, "title", "title is required"),
    ({"title": "长" * 201}, "title", "title too long"),
    ({"title": "进展\u202e"}, "title", "U+202E"),
    ({"body": "  "}, "body", "body is required"),
    ({"body": "字" * 20001}, "body", "body too long"),
    ({"corrects": "999"}, "corrects", "no such disclosure"),
    ({"corrects": "第一条"}, "corrects", "must be a disclosure number"),
]


def test_each_bad_disclosure_is_refused_naming_the_field_with_nothing_saved(
    grants_app: Flask, signed_in: Callable[..., Any]
) -> None:
    app = grants_app
    admin = signed_in("admin")
    files, rows = snapshot(app), table_counts(app)
    for changes, field, words in BAD:
        data = {**GOOD, "period": spans_of(app, "G-RUN")[0], **changes}
        if data["subject"] == "this-year":
            data["subject"] = str(today().year)
        response = admin.post("/admin/disclosures/new", data)
        assert response.status_code == 400, changes
        errors = field_errors(response.get_data(as_text=True), field)
        assert errors, (changes, text_of(response))
        assert words in errors[0], (changes, errors)
        assert table_counts(app) == rows, changes
        assert snapshot(app) == files, changes


def test_a_post_without_the_csrf_token_is_refused(
    grants_app: Flask, signed_in: Callable[..., Any]
) -> None:
    admin = signed_in("admin")
    rows = table_counts(grants_app)
    data = {**GOOD, "period": spans_of(grants_app, "G-RUN")[0]}
    response = admin.client.post("/admin/disclosures/new", data=data)
    assert response.status_code == 400
    assert table_counts(grants_app) == rows


# -- who may do what ----------------------------------------------------------------------------------


def test_only_an_administrator_publishes_an_approver_reads_and_auditor_and_public_neither(
    grants_app: Flask, signed_in: Callable[..., Any], visitor: Callable[..., Any]
) -> None:
    app = grants_app
    data = {**GOOD, "period": spans_of(app, "G-RUN")[0]}
    approver = signed_in("approver")
    auditor = signed_in("auditor")
    rows = table_counts(app)  # after signing in (sign-ins are in the audit log)
    assert approver.client.get("/admin/disclosures").status_code == 200
    assert "发布公开信息</a>" not in text_of(approver.client.get("/admin/disclosures"))
    token = approver.token("/admin/disclosures")
    assert (
        approver.client.post(
            "/admin/disclosures/new", data={**data, "csrf_token": token}
        ).status_code
        == 403
    )
    assert auditor.client.get("/admin/disclosures").status_code == 403
    token = auditor.token("/audit/")
    assert (
        auditor.client.post(
            "/admin/disclosures/new", data={**data, "csrf_token": token}
        ).status_code
        == 403
    )
    public = visitor()
    assert public.client.get("/admin/disclosures").status_code == 302
    token = public.token("/auth/login")
    response = public.client.post("/admin/disclosures/new", data={**data, "csrf_token": token})
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    assert table_counts(app) == rows


def test_the_public_pages_show_no_personal_data_nor_who_published(
    grants_app: Flask, signed_in: Callable[..., Any], visitor: Callable[..., Any]
) -> None:
    app = grants_app
    give(app, "66.00", name="欧阳娜娜", phone="13500135000", display="masked")
    admin2 = signed_in("admin2")
    first = spans_of(app, "G-RUN")[0]
    response = admin2.post(
        "/admin/disclosures/new",
        {**GOOD, "period": first, "title": "第一期进展 <script>alert(1)</script>"},
    )
    assert response.status_code == 303
    with app.app_context():
        disclosure_id = db.session.scalars(select(Disclosure.id)).one()
    public = visitor()
    for path in ("/disclosures", f"/disclosures/{disclosure_id}", "/disclosures?lang=en"):
        raw = public.client.get(path).get_data(as_text=True)
        for secret in ("欧阳娜娜", "13500135000", "陈秀英", "13700137000", "周阿姨", "13911112222"):
            assert secret not in raw, (path, secret)
        assert "admin2" not in raw
        assert "<script>alert(1)</script>" not in raw
        assert "&lt;script&gt;" in raw


def test_an_unknown_disclosure_is_not_found(client: Any) -> None:
    assert client.get("/disclosures/12345").status_code == 404
    assert client.get("/disclosures/abc").status_code == 404


def test_the_public_list_is_newest_first_and_speaks_english_on_request(
    grants_app: Flask, signed_in: Callable[..., Any], visitor: Callable[..., Any]
) -> None:
    app = grants_app
    admin = signed_in("admin")
    first, second = spans_of(app, "G-RUN")[:2]
    for period, title in ((second, "第二期进展"), (first, "第一期进展")):
        assert (
            admin.post(
                "/admin/disclosures/new", {**GOOD, "period": period, "title": title}
            ).status_code
            == 303
        )
    with app.app_context():
        older = db.session.scalars(select(Disclosure).where(Disclosure.title == "第二期进展")).one()
        older.published_at -= dt.timedelta(days=3)
        db.session.commit()
    listing = text_of(visitor().client.get("/disclosures"))
    assert listing.index("第一期进展") < listing.index("第二期进展")
    english = text_of(visitor().client.get("/disclosures?lang=en"))
    assert re.search(r"<h1>Disclosures</h1>", english)
    assert "Project progress" in english
    assert "Project:" in english
