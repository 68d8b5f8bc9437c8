"""The auditors' registers on the demo year: hub, pages, CSV and PDF agree with each other and with
bean-query; unknown registers and bad periods are refused; every export is in the audit log."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from beanquery_helpers import bean_query, bean_query_sum, fund_where
from flask import Flask
from sqlalchemy import select

from ledger import registers
from ledger.financials import parse_period
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.models import AuditLog, GrantApplication

# The PDF helpers live beside the report tests (a folder pytest puts on the path only for them).
sys.path.append(str(Path(__file__).resolve().parents[1] / "reports"))
from pdf_helpers import assert_fonts_embedded, flat, render_png

NAMES = list(registers.REGISTERS)


class _Tables(HTMLParser):
    """The text of each cell of each table on a page, by table id and section (thead/tbody…)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, list[list[str]]]] = {}
        self.links: list[str] = []
        self._table = ""
        self._section = ""
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id") or ""
            self.tables[self._table] = {}
        elif tag in ("thead", "tbody", "tfoot"):
            self._section = tag
        elif tag == "tr" and self._table:
            self.tables[self._table].setdefault(self._section, []).append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][self._section][-1].append(
                " ".join("".join(self._cell).split())
            )
            self._cell = None
        elif tag == "table":
            self._table = ""

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _parse(html: str) -> _Tables:
    parser = _Tables()
    parser.feed(html)
    return parser


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def _page_cell_as_csv(kind: str, text: str) -> str:
    """What the CSV holds for a cell the page shows as ``text``."""
    if kind == "amount" and text:
        return format(Decimal(text.replace("¥", "").replace(",", "")), "f")
    return text


def _csv_cell_as_page(kind: str, text: str) -> str:
    """The CSV's ISO timestamps to the page's minutes (``2026-12-01 21:50``)."""
    if kind == "datetime" and text:
        return text[:16].replace("T", " ")
    return text


@pytest.fixture(scope="module")
def year(demo_app: Flask) -> str:
    """The year of the demo's reversed donation (the demo runs up to last month)."""
    with demo_app.app_context():
        book = get_book()
        reversal = next(t for t in book.transactions() if (t.meta or {}).get("kind") == "reversal")
        return str(reversal.date.year)


@pytest.fixture(scope="module")
def main(demo_app: Flask) -> Path:
    return Path(demo_app.config["LEDGER_DIR"]) / "main.beancount"


def _exports(app: Flask) -> list[AuditLog]:
    with app.app_context():
        query = select(AuditLog).where(AuditLog.action == "export_register").order_by(AuditLog.id)
        return list(db.session.scalars(query))


# -- the hub and who may see it -------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["auditor", "admin", "approver"])
def test_the_hub_links_every_register_as_page_csv_and_pdf_for_readers(
    demo_signed_in: Callable[[str], Any], reader: str
) -> None:
    response = demo_signed_in(reader).client.get("/audit/registers?period=2026-Q2")
    assert response.status_code == 200
    links = _parse(response.get_data(as_text=True)).links
    for name in NAMES:
        for suffix in ("", ".csv", ".pdf"):
            assert f"/audit/registers/{name}{suffix}?period=2026-Q2" in links


def test_registers_are_not_for_visitors(demo_app: Flask) -> None:
    client = demo_app.test_client()
    for path in ("/audit/registers", "/audit/registers/donations", "/audit/registers/grants.csv"):
        response = client.get(path)
        assert response.status_code in (302, 401, 403), path
        assert b"demo-don-" not in response.data


# -- pages, CSV and PDF ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_the_csv_parses_back_to_exactly_the_rows_on_the_page(
    demo_signed_in: Callable[[str], Any], year: str, name: str
) -> None:
    client = demo_signed_in("auditor").client
    page = client.get(f"/audit/registers/{name}?period={year}")
    assert page.status_code == 200
    table = _parse(page.get_data(as_text=True)).tables["register-rows"]
    exported = client.get(f"/audit/registers/{name}.csv?period={year}")
    assert exported.status_code == 200
    assert exported.mimetype == "text/csv"
    assert f"register-{name}-" in exported.headers["Content-Disposition"]
    header, *rows = _csv_rows(exported.data)
    columns = {
        "donations": registers.DONATION_COLUMNS,
        "grants": registers.GRANT_COLUMNS,
        "canteen": registers.CANTEEN_COLUMNS,
        "approvals": registers.APPROVAL_COLUMNS,
        "closes": registers.PERIOD_COLUMNS,
    }[name]
    assert header == [c.heading for c in columns]
    assert [" ".join(h.split()) for h in table["thead"][0]] == [f"{c.zh}{c.en}" for c in columns]
    assert rows, name
    assert len(rows) == len(table["tbody"])
    for csv_row, page_row in zip(rows, table["tbody"], strict=True):
        kinds = [c.kind for c in columns]
        assert [_csv_cell_as_page(k, v) for k, v in zip(kinds, csv_row, strict=True)] == [
            _page_cell_as_csv(k, v) for k, v in zip(kinds, page_row, strict=True)
        ]


def test_the_donations_page_totals_by_fund_equal_bean_query(
    demo_signed_in: Callable[[str], Any], demo_app: Flask, year: str, main: Path
) -> None:
    page = demo_signed_in("auditor").client.get(f"/audit/registers/donations?period={year}")
    summary = _parse(page.get_data(as_text=True)).tables["register-summary"]["tbody"]
    with demo_app.app_context():
        funds = {f.name: f.slug for f in get_book().funds.values()}
    period = parse_period(year)
    dates = f"date >= {period.start} AND date <= {period.end}"
    seen = 0
    for fund_name, count, *_rest in summary:
        net_text = _rest[3]
        slug = funds[fund_name]
        where = f"account ~ '^Income' AND {dates} AND {fund_where(slug)}"
        donations = bean_query(
            main,
            f"SELECT entry_meta('id') WHERE entry_meta('kind') = 'donation' AND {where}",
        )
        assert int(count) == len(donations), fund_name
        gross = -bean_query_sum(main, f"entry_meta('kind') = 'donation' AND {where}")
        undone = -bean_query_sum(main, f"entry_meta('kind') = 'reversal' AND {where}")
        assert _page_cell_as_csv("amount", net_text) == format(gross + undone, "f"), fund_name
        seen += 1
    assert seen >= 3


def test_the_voided_donation_links_its_reversing_entry_and_the_reversal_is_a_row(
    demo_signed_in: Callable[[str], Any], demo_app: Flask, year: str
) -> None:
    with demo_app.app_context():
        book = get_book()
        reversal = next(t for t in book.transactions() if t.meta.get("kind") == "reversal")
        original = str(reversal.meta["reverses"])
        reversal_id = str(reversal.meta["id"])
    page = demo_signed_in("auditor").client.get(f"/audit/registers/donations?period={year}")
    html = page.get_data(as_text=True)
    parsed = _parse(html)
    by_entry = {row[1]: row for row in parsed.tables["register-rows"]["tbody"]}
    status_at = [c.key for c in registers.DONATION_COLUMNS].index("status")
    linked_at = [c.key for c in registers.DONATION_COLUMNS].index("linked")
    assert by_entry[original][status_at] == "已冲销"
    assert by_entry[original][linked_at] == reversal_id
    assert by_entry[reversal_id][status_at] == "冲销"
    assert by_entry[reversal_id][linked_at] == original
    assert f"/audit/entries/{reversal_id}" in parsed.links
    assert f"/audit/entries/{original}" in parsed.links
    assert 'class="reg-reversed"' in html


def test_the_grants_page_names_the_call_and_group_from_the_database(
    demo_signed_in: Callable[[str], Any], demo_app: Flask
) -> None:
    with demo_app.app_context():
        grants = get_book().grant_ids()
        apps = {
            a.id: (a.call.title, a.group_name)
            for a in db.session.scalars(
                select(GrantApplication).where(GrantApplication.id.in_(grants))
            )
        }
    assert apps
    page = demo_signed_in("auditor").client.get("/audit/registers/grants?period=2026")
    rows = {r[0]: r for r in _parse(page.get_data(as_text=True)).tables["register-rows"]["tbody"]}
    for grant, (call, group) in apps.items():
        assert (rows[grant][1], rows[grant][2]) == (call, group)


def test_the_approvals_page_adds_request_times_and_shows_no_exception_in_the_demo(
    demo_signed_in: Callable[[str], Any], year: str
) -> None:
    page = demo_signed_in("auditor").client.get(f"/audit/registers/approvals?period={year}")
    html = page.get_data(as_text=True)
    rows = _parse(html).tables["register-rows"]["tbody"]
    keys = [c.key for c in registers.APPROVAL_COLUMNS]
    expenses = [r for r in rows if r[keys.index("kind")] == "支出"]
    assert expenses
    assert all(r[keys.index("request_id")] for r in expenses)
    for row in rows:
        if row[keys.index("request_id")]:
            assert row[keys.index("requested_at")] <= row[keys.index("decided_at")], row
        assert row[keys.index("approved_by")] != row[keys.index("entered_by")]
        assert row[keys.index("flag")] == ""
    assert "reg-flagged" not in html
    assert "异常 Exceptions</dt><dd>0" in html.replace("\n", "")


def test_a_register_pdf_has_the_rows_totals_and_head_hash_in_an_embedded_font(
    demo_signed_in: Callable[[str], Any], demo_app: Flask, year: str
) -> None:
    response = demo_signed_in("auditor").client.get(f"/audit/registers/donations.pdf?period={year}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    with demo_app.app_context():
        book = get_book()
        register = registers.donation_register(book, parse_period(year))
        head = book.head_hash
    text = flat(response.data)
    assert "捐赠登记簿" in text
    assert register.period_label in text
    assert register.records[0].entry_id in text
    net = dict(register.facts)["捐赠收入净额 Net donation income"]
    assert net in text
    assert head[:24] in text
    assert_fonts_embedded(response.data)
    render_png(response.data, "register-donations")


def test_every_register_pdf_renders(demo_signed_in: Callable[[str], Any], year: str) -> None:
    client = demo_signed_in("auditor").client
    for name in NAMES:
        response = client.get(f"/audit/registers/{name}.pdf?period={year}")
        assert response.status_code == 200, name
        assert registers.REGISTERS[name].title in flat(response.data), name
    render_png(
        client.get(f"/audit/registers/approvals.pdf?period={year}").data, "register-approvals"
    )


def test_exports_are_in_the_audit_log_with_the_head_hash(
    demo_signed_in: Callable[[str], Any], demo_app: Flask
) -> None:
    before = len(_exports(demo_app))
    client = demo_signed_in("auditor").client
    assert client.get("/audit/registers/canteen.csv?period=2026-Q1").status_code == 200
    assert client.get("/audit/registers/closes.pdf?period=2026-Q1").status_code == 200
    assert client.get("/audit/registers/canteen?period=2026-Q1").status_code == 200
    logged = _exports(demo_app)[before:]
    with demo_app.app_context():
        head = get_book().head_hash
    assert [(e.detail["format"], e.target.split()[0]) for e in logged] == [
        ("csv", "canteen"),
        ("pdf", "closes"),
    ]
    assert all(e.detail["head"] == head and e.actor == "auditor" for e in logged)
    assert "2026-01-01 至 2026-03-31" in logged[0].target


# -- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".csv", ".pdf"])
def test_an_unknown_register_is_not_found(
    demo_signed_in: Callable[[str], Any], demo_app: Flask, suffix: str
) -> None:
    before = len(_exports(demo_app))
    response = demo_signed_in("auditor").client.get(f"/audit/registers/salaries{suffix}")
    assert response.status_code == 404
    assert len(_exports(demo_app)) == before


@pytest.mark.parametrize("suffix", ["", ".csv", ".pdf"])
@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("2026-13", "期间中的日期不存在"),
        ("last year", "期间格式不正确"),
        ("2026-03-31..2026-01-01", "截止日期早于起始日期"),
    ],
)
def test_a_bad_period_is_refused_with_its_message_and_nothing_is_exported(
    demo_signed_in: Callable[[str], Any], demo_app: Flask, suffix: str, period: str, message: str
) -> None:
    before = len(_exports(demo_app))
    client = demo_signed_in("auditor").client
    response = client.get(f"/audit/registers/donations{suffix}", query_string={"period": period})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert message in html
    assert 'aria-invalid="true"' in html
    assert "register-rows" not in html
    assert len(_exports(demo_app)) == before


def test_the_hub_refuses_a_bad_period_and_offers_no_export_links(
    demo_signed_in: Callable[[str], Any],
) -> None:
    response = demo_signed_in("auditor").client.get("/audit/registers?period=2026-Q5")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "期间格式不正确" in html
    assert ".csv?" not in html
