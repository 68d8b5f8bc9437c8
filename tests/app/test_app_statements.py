"""The statements on screen (/audit/statements) on the demo year: figures equal build_statement and
bean-query, every figure links to its trace, the trace adds up to the figure, the entry page shows
the approval and the reversal, compliance indicators are marked against the thresholds."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from app_testkit import counts, field_errors
from beanquery_helpers import bean_query_sum, connect, fund_where
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ledger import drilldown, financials
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import AuditLog, OrgSetting
from ledger_app.settings import load_setting

ZERO = Decimal("0.00")
TYPES = drilldown.TYPES


def periods() -> list[str]:
    """Several periods of the demo year (which runs up to today)."""
    y = today().year
    return [f"{y}", f"{y}-Q2", f"{y}-03", f"{y - 1}-12-01..{y}-06-30"]


@pytest.fixture
def auditor(demo_signed_in: Callable[[str], Any]) -> FlaskClient:
    return demo_signed_in("auditor").client


@pytest.fixture(scope="module")
def bq(demo_app: Flask) -> Any:
    """One bean-query connection on the demo ledger's files for the module."""
    return connect(str(demo_app.config["LEDGER_DIR"]) + "/main.beancount")


def page_text(response: Any) -> str:
    return str(response.get_data(as_text=True))


# -- reading the statement table back out of the page -------------------------------------------


class StatementTable(HTMLParser):
    """The rows of ``table.statement``: each figure cell's text and link (None when unlinked)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[tuple[str, str | None]]]] = []
        self._in_table = self._in_label = self._in_num = False
        self._label = ""
        self._cells: list[tuple[str, str | None]] = []
        self._text = ""
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "table" and "statement" in classes:
            self._in_table = True
        if not self._in_table:
            return
        if tag == "tr":
            self._label, self._cells = "", []
        elif tag == "th" and a.get("scope") == "row":
            self._in_label = True
        elif tag == "td" and "num" in classes:
            self._in_num, self._text, self._href = True, "", None
        elif tag == "a" and self._in_num:
            self._href = a.get("href")

    def handle_endtag(self, tag: str) -> None:
        if not self._in_table:
            return
        if tag == "table":
            self._in_table = False
        elif tag == "th" and self._in_label:
            self._in_label = False
        elif tag == "td" and self._in_num:
            self._in_num = False
            self._cells.append((self._text.strip(), self._href))
        elif tag == "tr" and self._label:
            self.rows.append((self._label, self._cells))

    def handle_data(self, data: str) -> None:
        if self._in_label:
            self._label += data
        elif self._in_num:
            self._text += data


def table_of(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = StatementTable()
    parser.feed(page)
    return parser.rows


def number(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def query_of(href: str) -> dict[str, str]:
    parts = urlsplit(html.unescape(href))
    return {k: v[0] for k, v in parse_qs(parts.query).items()} | {"path": parts.path}


# -- the statements page ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("period", periods())
def test_every_figure_on_the_page_is_the_statements_and_links_to_its_trace(
    demo_app: Flask, auditor: FlaskClient, kind: str, period: str
) -> None:
    response = auditor.get("/audit/statements", query_string={"type": kind, "period": period})
    assert response.status_code == 200
    page = page_text(response)
    with demo_app.app_context():
        view = drilldown.statement_view(get_book(), kind, financials.parse_period(period))
    expected = [r for r in view.rows if r.kind != "section"]
    shown = [r for r in table_of(page) if r[1]]
    assert len(shown) == len(expected)
    links = 0
    for (label, cells), row in zip(shown, expected, strict=True):
        assert html.unescape(label).startswith(row.label)
        assert [number(text) for text, _ in cells] == [c.value for c in row.cells]
        for (_text, href), cell in zip(cells, row.cells, strict=True):
            if not cell.traceable:
                assert href is None
                continue
            assert href is not None, (row.key, cell.column)
            q = query_of(href)
            assert q["path"] == "/audit/trace"
            assert (q["type"], q["key"], int(q["column"])) == (kind, row.key, cell.column)
            assert financials.parse_period(q["period"]) == view.period
            links += 1
    assert links > 0
    assert view.head_hash in page
    assert f"第 {view.head_seq} 笔" in page


@pytest.mark.parametrize("kind", financials.KINDS)
def test_the_page_shows_build_statement(demo_app: Flask, auditor: FlaskClient, kind: str) -> None:
    period = periods()[0]
    page = page_text(
        auditor.get("/audit/statements", query_string={"type": kind, "period": period})
    )
    with demo_app.app_context():
        statement = financials.build_statement(get_book(), kind, financials.parse_period(period))
    shown = [
        (html.unescape(label).strip(), [number(t) for t, _ in cells])
        for label, cells in table_of(page)
        if cells
    ]
    expected = [(line.label, list(line.values)) for line in statement.lines if line.values]
    assert shown == expected
    assert statement.title in page


def test_only_the_trial_balance_totals_of_balances_are_not_links(auditor: FlaskClient) -> None:
    unlinked = []
    for kind in TYPES:
        page = page_text(auditor.get("/audit/statements", query_string={"type": kind}))
        for label, cells in table_of(page):
            unlinked += [(kind, label, i) for i, (_t, href) in enumerate(cells) if href is None]
    # Every figure of every statement is a link but the trial balance's totals of balances.
    assert set(unlinked) == {
        ("trial_balance", "合计", 0),
        ("trial_balance", "合计", 1),
        ("trial_balance", "合计", 4),
        ("trial_balance", "合计", 5),
    }


def test_the_default_period_is_the_year_so_far(auditor: FlaskClient) -> None:
    page = page_text(auditor.get("/audit/statements"))
    t = today()
    assert f'value="{t.year}-01-01..{t.isoformat()}"' in page
    assert f"{t.year}-01-01 至 {t.isoformat()}" in page
    assert 'aria-current="page">资产负债表<' in page


def test_sample_lines_equal_bean_query(demo_app: Flask, auditor: FlaskClient, bq: Any) -> None:
    y = today().year
    for text, start, end in (
        (f"{y}", dt.date(y, 1, 1), dt.date(y, 12, 31)),
        (f"{y}-Q2", dt.date(y, 4, 1), dt.date(y, 6, 30)),
    ):
        span = f"date >= {start} AND date <= {end}"

        def shown(kind: str, text: str = text) -> dict[str, list[Decimal]]:
            page = page_text(
                auditor.get("/audit/statements", query_string={"type": kind, "period": text})
            )
            return {html.unescape(k): [number(t) for t, _ in v] for k, v in table_of(page) if v}

        activities = shown("activities")
        assert activities["其中：捐赠收入"][2] == -bean_query_sum(
            bq, f"account ~ '^Income:4101' AND {span}"
        )
        assert activities["（一）业务活动成本"][2] == bean_query_sum(
            bq, f"account ~ '^Expenses:5101' AND {span}"
        )
        assert activities["（二）管理费用"][2] == bean_query_sum(
            bq, f"account ~ '^Expenses:5201' AND {span}"
        )
        balance = shown("balance_sheet")
        cash = "account ~ '^Assets:(1001|1002|1009)'"
        assert balance["货币资金"][1] == bean_query_sum(bq, f"{cash} AND date <= {end}")
        assert balance["货币资金"][0] == bean_query_sum(bq, f"{cash} AND date < {start}")
        trial = shown("trial_balance")
        bank = "account = 'Assets:1002-银行存款'"
        assert trial["1002 银行存款"][2] == bean_query_sum(bq, f"{bank} AND number > 0 AND {span}")
        assert trial["1002 银行存款"][3] == -bean_query_sum(bq, f"{bank} AND number < 0 AND {span}")
        funds = shown("funds")
        with demo_app.app_context():
            name = get_book().funds["zhulaocan"].name
        assert funds[f"{name} 限定性"][1] == -bean_query_sum(
            bq, f"account ~ '^Income:' AND {fund_where('zhulaocan')} AND {span}"
        )
        assert funds[f"{name} 限定性"][2] == bean_query_sum(
            bq, f"account ~ '^Expenses:' AND {fund_where('zhulaocan')} AND {span}"
        )


def test_a_bad_period_or_type_is_refused_with_its_message_and_nothing_written(
    demo_app: Flask, auditor: FlaskClient
) -> None:
    before = counts(demo_app)
    for query, says in (
        ({"period": "2026-13"}, "no such day"),
        ({"period": "last year"}, "unknown period"),
        ({"period": "2026-03-31..2026-01-01"}, "end before start"),
        ({"type": "profit_and_loss"}, "unknown statement"),
        ({"type": "<script>alert(1)</script>"}, "unknown statement"),
    ):
        response = auditor.get("/audit/statements", query_string=query)
        assert response.status_code == 400, query
        page = page_text(response)
        assert says in page
        assert "<script>alert" not in page
        assert 'class="statement' not in page
    for path in ("/audit/statements/activities.pdf", "/audit/statements/activities.csv"):
        response = auditor.get(path, query_string={"period": "2026-02-30..2026-03-31"})
        assert response.status_code == 400
        assert "no such day" in page_text(response)
    assert auditor.get("/audit/statements/bogus.csv").status_code == 400
    assert counts(demo_app) == before


# -- downloads ------------------------------------------------------------------------------------


def export_rows(app: Flask) -> int:
    with app.app_context():
        return (
            db.session.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.action.like("export_statement_%"))
            )
            or 0
        )


@pytest.mark.parametrize("kind", TYPES)
def test_each_statement_downloads_as_pdf_and_csv_logged_with_the_head_hash(
    demo_app: Flask, auditor: FlaskClient, kind: str
) -> None:
    y = today().year
    with demo_app.app_context():
        head = get_book().head_hash
    before = export_rows(demo_app)
    pdf = auditor.get(f"/audit/statements/{kind}.pdf", query_string={"period": f"{y}-Q1"})
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    disposition = pdf.headers["Content-Disposition"]
    assert "attachment" in disposition
    assert f"{kind}-{y}-01-01_{y}-03-31.pdf" in disposition
    csv = auditor.get(f"/audit/statements/{kind}.csv", query_string={"period": f"{y}-Q1"})
    assert csv.status_code == 200
    assert csv.mimetype == "text/csv"
    assert csv.data.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads the Chinese
    assert f"{kind}-{y}-01-01_{y}-03-31.csv" in csv.headers["Content-Disposition"]
    assert export_rows(demo_app) == before + 2
    with demo_app.app_context():
        rows = db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(2)).all()
    assert {r.action for r in rows} == {"export_statement_pdf", "export_statement_csv"}
    assert all(r.detail["head"] == head and r.actor == "auditor" for r in rows)
    assert all(r.target == f"{kind} {y}-01-01_{y}-03-31" for r in rows)


def test_the_csv_holds_the_figures_of_the_page(demo_app: Flask, auditor: FlaskClient) -> None:
    period = periods()[0]
    text = auditor.get("/audit/statements/activities.csv", query_string={"period": period}).data
    with demo_app.app_context():
        statement = financials.build_statement(
            get_book(), "activities", financials.parse_period(period)
        )
    body = text.decode("utf-8-sig")
    total = statement.line("费用合计").values
    assert ",".join(format(v, "f") for v in total) in body


# -- the trace page -------------------------------------------------------------------------------


def trace_query(kind: str, key: str, column: int, period: str) -> dict[str, str]:
    return {"type": kind, "key": key, "column": str(column), "period": period}


@pytest.mark.parametrize(
    ("kind", "key", "column"),
    [
        ("activities", "费用合计", 2),
        ("activities", "捐赠收入", 1),
        ("balance_sheet", "货币资金", 1),
        ("cash_flow", "接受捐赠收到的现金", 0),
        ("trial_balance", "Assets:1001-库存现金", 3),
        ("funds", "zhulaocan", 2),
        ("funds", "合计", 4),
    ],
)
def test_the_trace_total_equals_the_figure_and_lists_entries_that_exist(
    demo_app: Flask, auditor: FlaskClient, kind: str, key: str, column: int
) -> None:
    period = f"{today().year}-Q2"
    response = auditor.get("/audit/trace", query_string=trace_query(kind, key, column, period))
    assert response.status_code == 200
    page = page_text(response)
    with demo_app.app_context():
        book = get_book()
        view = drilldown.statement_view(book, kind, financials.parse_period(period))
        figure = next(r for r in view.rows if r.key == key).cells[column].value
        trace = drilldown.trace_figure(book, kind, key, column, financials.parse_period(period))
        ids = re.findall(r'href="/audit/entries/([^"]+)"', page)
        assert ids, "the trace lists entries"
        assert all(book.get(i) is not None for i in ids)
    shown_figure = re.search(r'id="trace-figure">([^<]+)<', page)
    shown_total = re.search(r'id="trace-total">([^<]+)<', page)
    assert shown_figure
    assert shown_total
    assert number(shown_figure.group(1)) == figure
    assert number(shown_total.group(1)) == figure
    assert "一致" in page
    assert "不一致" not in page
    assert len(ids) == min(len(trace.rows), drilldown.PER_PAGE)
    assert sum((r.amount for r in trace.rows), ZERO) == figure


def test_a_trace_row_opens_its_entry(auditor: FlaskClient) -> None:
    query = trace_query("activities", "管理费用", 2, str(today().year))
    page = page_text(auditor.get("/audit/trace", query_string=query))
    first = re.search(r'href="(/audit/entries/[^"]+)"', page)
    assert first
    assert auditor.get(html.unescape(first.group(1))).status_code == 200


def test_a_long_trace_comes_in_pages_of_200(demo_app: Flask, auditor: FlaskClient) -> None:
    query = trace_query("activities", "提供服务收入", 2, str(today().year))
    with demo_app.app_context():
        trace = drilldown.trace_figure(
            get_book(), "activities", "提供服务收入", 2, financials.parse_period(query["period"])
        )
    assert len(trace.rows) > 200  # a canteen day a row
    first = page_text(auditor.get("/audit/trace", query_string=query))
    assert len(re.findall(r'href="/audit/entries/', first)) == 200
    assert 'rel="next"' in first
    assert f"共 {len(trace.rows)} 笔" in first
    second = page_text(auditor.get("/audit/trace", query_string={**query, "page": "2"}))
    assert len(re.findall(r'href="/audit/entries/', second)) == min(200, len(trace.rows) - 200)
    assert 'rel="prev"' in second
    assert number(re.search(r'id="trace-total">([^<]+)<', second).group(1)) == trace.total  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        (trace_query("activities", "no such line", 0, "2026"), "unknown line"),
        (trace_query("activities", "捐赠收入", 7, "2026"), "no such figure"),
        (trace_query("activities", "一、收入", 0, "2026"), "no such figure"),
        (trace_query("nonsense", "捐赠收入", 0, "2026"), "unknown statement"),
        (trace_query("funds", "nobody", 0, "2026"), "unknown line"),
        (trace_query("trial_balance", "合计", 0, "2026"), "no such figure"),
        (trace_query("activities", "捐赠收入", 0, "2026-99"), "no such day"),
        (trace_query("activities", "捐赠收入", 0, "soon"), "unknown period"),
        ({**trace_query("activities", "捐赠收入", 0, "2026"), "column": "x"}, "not a number"),
        ({**trace_query("activities", "捐赠收入", 0, "2026"), "column": "-1"}, "not a number"),
        ({**trace_query("activities", "捐赠收入", 0, "2026"), "page": "9"}, "no such page"),
        ({"type": "activities", "column": "0"}, "line is required"),
    ],
)
def test_a_bad_trace_is_refused_with_its_message(
    demo_app: Flask, auditor: FlaskClient, query: dict[str, str], says: str
) -> None:
    before = counts(demo_app)
    response = auditor.get("/audit/trace", query_string=query)
    assert response.status_code == 400
    assert says in page_text(response)
    assert counts(demo_app) == before


# -- the entry page -------------------------------------------------------------------------------


def demo_reversal(app: Flask) -> tuple[str, str]:
    """(the reversal's id, the reversed donation's id) of the demo year."""
    with app.app_context():
        for txn in get_book().transactions():
            meta = txn.meta or {}
            if meta.get("kind") == "reversal":
                return str(meta["id"]), str(meta["reverses"])
    raise AssertionError("the demo has a reversal")


def test_the_reversal_shows_metadata_postings_approval_and_the_donation_it_reverses(
    demo_app: Flask, auditor: FlaskClient
) -> None:
    reversal_id, donation_id = demo_reversal(demo_app)
    response = auditor.get(f"/audit/entries/{reversal_id}")
    assert response.status_code == 200
    page = page_text(response)
    with demo_app.app_context():
        txn = get_book().get(reversal_id)
        assert txn is not None
        meta = txn.meta
    for key in ("id", "seq", "kind", "reverses", "reason", "entered-by", "approved-by", "hash"):
        assert f"<code>{key}</code>" in page
    assert str(meta["hash"]) in page
    assert html.escape(str(meta["reason"])) in page
    for posting in txn.postings:
        assert posting.account in page
    assert "库存现金" in page
    assert "捐赠收入（非限定性）" in page
    entered = re.search(r'class="req-entered-by">([^<]+)<', page)
    decided = re.search(r'class="req-decided-by">([^<]+)<', page)
    assert entered
    assert decided
    assert (entered.group(1), decided.group(1)) == ("admin", "approver")
    assert entered.group(1) != decided.group(1)
    assert re.search(r'id="approved-by">approver<', page)
    assert f'href="/audit/entries/{donation_id}"' in page
    assert "本分录冲销的原分录" in page
    assert "approve_request" in page  # the audit log row of the approval
    assert "txns/" in page


def test_the_reversed_donation_links_to_its_reversal(demo_app: Flask, auditor: FlaskClient) -> None:
    reversal_id, donation_id = demo_reversal(demo_app)
    page = page_text(auditor.get(f"/audit/entries/{donation_id}"))
    assert "此分录已被冲销" in page
    assert f'href="/audit/entries/{reversal_id}"' in page
    assert "冲销本分录的分录" in page
    assert "record_donation" in page


def test_a_grant_award_lists_the_grants_other_entries(
    demo_app: Flask, auditor: FlaskClient
) -> None:
    with demo_app.app_context():
        book = get_book()
        award = next(t for t in book.transactions() if (t.meta or {}).get("kind") == "grant-award")
        others = [
            str(t.meta["id"])
            for t in book.grant_entries(str(award.meta["grant"]))
            if t is not award
        ]
    page = page_text(auditor.get(f"/audit/entries/{award.meta['id']}"))
    assert others
    for other in others:
        assert f'href="/audit/entries/{other}"' in page
    assert "同一微创投项目" in page


def test_an_unknown_entry_is_404_with_a_clear_message(
    demo_app: Flask, auditor: FlaskClient
) -> None:
    response = auditor.get("/audit/entries/no-such-entry-<b>")
    assert response.status_code == 404
    page = page_text(response)
    assert "no such entry" in page
    assert "no-such-entry-&lt;b&gt;" in page
    assert auditor.get("/audit/entries/no-such/documents/0").status_code == 404
    reversal_id, _ = demo_reversal(demo_app)  # it has no documents and no attachments
    assert auditor.get(f"/audit/entries/{reversal_id}/documents/0").status_code == 404
    assert auditor.get(f"/audit/entries/{reversal_id}/attachments/1").status_code == 404


# -- who may see and change what -----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/audit/statements",
        "/audit/statements/activities.pdf",
        "/audit/statements/activities.csv",
        "/audit/trace?type=activities&key=%E6%8D%90%E8%B5%A0%E6%94%B6%E5%85%A5&column=0",
        "/audit/entries/anything",
        "/audit/compliance/settings",
    ],
)
def test_anonymous_visitors_are_sent_to_sign_in(demo_app: Flask, path: str) -> None:
    client = demo_app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    response = client.get(path)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("reader", ["auditor", "approver", "admin"])
def test_every_reader_sees_the_statements(
    demo_signed_in: Callable[[str], Any], reader: str
) -> None:
    assert demo_signed_in(reader).client.get("/audit/statements").status_code == 200


def stored_setting(app: Flask) -> Any:
    with app.app_context():
        return load_setting("compliance", None)


def test_an_auditor_cannot_change_the_thresholds(
    demo_app: Flask, demo_signed_in: Callable[[str], Any]
) -> None:
    actions = demo_signed_in("auditor")
    before, rows = stored_setting(demo_app), counts(demo_app)
    page = page_text(actions.client.get("/audit/compliance/settings"))
    assert "只有管理员可以修改阈值" in page
    assert "13.00%" in page
    response = actions.client.post(
        "/audit/compliance/settings",
        data={
            "org_kind": "foundation",
            "management_max": "1",
            "programme_min": "90",
            "csrf_token": actions.token("/"),
        },
    )
    assert response.status_code == 403
    assert stored_setting(demo_app) == before
    assert counts(demo_app) == rows


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("management_max", "150", "不能大于 100"),
        ("management_max", "-1", "不能小于 0"),
        ("management_max", "abc", "not a number"),
        ("management_max", "12.345", "at most two decimals"),
        ("programme_min", "150", "不能大于 100"),
        ("programme_min", "-1", "不能小于 0"),
        ("programme_min", "abc", "not a number"),
        ("programme_min", "12.345", "at most two decimals"),
        ("programme_min", "", "required"),
        ("org_kind", "church", "unknown kind of organisation"),
    ],
)
def test_bad_thresholds_are_refused_naming_the_field_and_change_nothing(
    demo_app: Flask, demo_signed_in: Callable[[str], Any], field: str, value: str, says: str
) -> None:
    admin = demo_signed_in("admin")
    before, rows = stored_setting(demo_app), counts(demo_app)
    body = {
        "org_kind": "social_service",
        "management_max": "13",
        "programme_min": "70",
        field: value,
    }
    response = admin.post("/audit/compliance/settings", body)
    assert response.status_code == 400
    errors = field_errors(page_text(response), field)
    assert errors
    assert says in errors[0]
    assert stored_setting(demo_app) == before
    assert counts(demo_app) == rows


@pytest.fixture
def restore_setting(demo_app: Flask) -> Iterator[None]:
    """Put the compliance setting back as it was (this module's other tests read it)."""
    before = stored_setting(demo_app)
    yield
    with demo_app.app_context():
        row = db.session.get(OrgSetting, "compliance")
        if before is None and row is not None:
            db.session.delete(row)
        elif row is not None:
            row.value = before
        db.session.commit()


def indicator_row(page: str, key: str) -> str:
    match = re.search(rf'<tr class="ind ind-(\w+)" id="ind-{key}">', page)
    assert match, key
    return match.group(1)


def test_a_threshold_the_demo_breaches_is_marked_and_the_change_logged(
    demo_app: Flask,
    demo_signed_in: Callable[[str], Any],
    restore_setting: None,
) -> None:
    auditor = demo_signed_in("auditor").client
    year = str(today().year)
    page = page_text(
        auditor.get("/audit/statements", query_string={"type": "activities", "period": year})
    )
    assert indicator_row(page, "management_share") == "met"
    assert indicator_row(page, "programme_vs_income") in ("met", "not_applicable")
    assert "项指标未达标" not in page

    admin = demo_signed_in("admin")
    response = admin.post(
        "/audit/compliance/settings",
        {"org_kind": "foundation", "management_max": "0.01", "programme_min": "70"},
    )
    assert response.status_code == 302
    assert stored_setting(demo_app) == {
        "org_kind": "foundation",
        "management_max": "0.01",
        "programme_min": "70.00",
    }
    with demo_app.app_context():
        logged = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "change_setting").order_by(AuditLog.id.desc())
        ).first()
        assert logged is not None
        assert (logged.actor, logged.target) == ("admin", "compliance")
        assert "0.01" in logged.detail["new"]
        book = get_book()
        activities = financials.build_statement(book, "activities", financials.parse_period(year))
    assert activities.value("管理费用", 2) > 0  # the demo has some management costs

    page = page_text(
        auditor.get("/audit/statements", query_string={"type": "activities", "period": year})
    )
    assert indicator_row(page, "management_share") == "breached"
    assert "1 项指标未达标" in page
    assert "管理费用占费用合计" in page.split('role="alert"')[1][:300]
    assert "0.01%" in page
    assert "基金会" in page
    assert '<span class="status status-breached">未达标</span>' in page


def test_the_indicators_link_to_the_traces_of_their_figures(
    demo_app: Flask, auditor: FlaskClient
) -> None:
    year = today().year
    page = page_text(
        auditor.get(
            "/audit/statements", query_string={"type": "balance_sheet", "period": str(year)}
        )
    )
    section = page[page.index('id="compliance"') :]
    hrefs = [query_of(h) for h in re.findall(r'class="fig amt" href="([^"]+)"', section)]
    assert {(q["type"], q["key"]) for q in hrefs} >= {
        ("activities", "业务活动成本"),
        ("activities", "费用合计"),
        ("activities", "管理费用"),
        ("activities", "收入合计"),
    }
    last_year = [q for q in hrefs if q["key"] == "收入合计"]
    assert financials.parse_period(last_year[0]["period"]).start == dt.date(year - 1, 1, 1)
    with demo_app.app_context():
        spending = financials.build_statement(
            get_book(), "activities", financials.parse_period(str(year))
        ).value("费用合计", 2)
    assert f"{spending:,.2f}" in section
