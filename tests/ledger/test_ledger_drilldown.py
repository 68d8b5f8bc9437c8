"""From a statement figure to its postings and from a posting to its entry (ledger/drilldown.py,
ledger/entry_detail.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from beanquery_helpers import bean_query_sum, fund_where
from ledger_testkit import append_text, donation, expense, reversal

from ledger import drilldown, entry_detail, queries, services
from ledger.book import Book
from ledger.errors import EntryNotFoundError, RuleError
from ledger.financials import parse_period

ZERO = Decimal("0.00")


@pytest.fixture
def history(book: Book) -> Book:
    """Donations in January and March (one reversed), expenses in February and March."""
    services.record_donation(book, donation("d-jan", "1000", date=dt.date(2026, 1, 10)))
    services.record_donation(
        book, donation("d-zlc", "500", fund="zhulaocan", date=dt.date(2026, 1, 12))
    )
    services.record_expense(book, expense("e-feb", "120", date=dt.date(2026, 2, 3)))
    services.record_expense(
        book, expense("e-zlc", "80", fund="zhulaocan", date=dt.date(2026, 2, 4), line="admin")
    )
    services.record_donation(book, donation("d-mar", "66", date=dt.date(2026, 3, 1)))
    services.record_reversal(book, reversal("r-mar", "d-mar", date=dt.date(2026, 3, 2)))
    return book


# -- the fund statement's trace ------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2026-02-01..2026-03-15", "2026-Q1", "2026-03"])
def test_every_fund_statement_figure_is_the_sum_of_its_trace(history: Book, text: str) -> None:
    period = parse_period(text)
    view = drilldown.statement_view(history, "funds", period)
    assert view.columns == drilldown.FUND_COLUMNS
    checked = 0
    for row in view.rows:
        for cell in row.cells:
            page = drilldown.trace_page(history, "funds", row.key, cell.column, period)
            assert page.figure == cell.value
            assert page.rows_total == cell.value
            assert page.agrees
            checked += 1
    assert checked == 5 * (len(history.funds) + 1)


def test_the_fund_statement_view_is_queries_fund_statement(history: Book) -> None:
    period = parse_period("2026-02-01..2026-03-15")
    statement = queries.fund_statement(history, period.start, period.end)
    view = drilldown.statement_view(history, "funds", period)
    by_key = {r.key: r for r in view.rows}
    for row in statement.rows:
        assert [c.value for c in by_key[row.slug].cells] == [
            row.opening,
            row.income,
            row.spent,
            row.transfers,
            row.closing,
        ]
    assert by_key["合计"].kind == "total"
    assert by_key["zhulaocan"].note == "限定性"


def test_a_fund_figure_equals_bean_query(history: Book) -> None:
    main = history.store.main
    period = parse_period("2026-02-01..2026-03-15")
    spent = drilldown.fund_trace(history, "zhulaocan", 2, period)
    assert spent.total == bean_query_sum(
        main,
        f"account ~ '^Expenses:' AND {fund_where('zhulaocan')} "
        "AND date >= 2026-02-01 AND date <= 2026-03-15",
    )
    opening = drilldown.fund_trace(history, "general", 0, period)
    assert opening.total == -bean_query_sum(
        main,
        f"account ~ '^(Income|Expenses|Equity):' AND {fund_where('general')} AND date < 2026-02-01",
    )
    assert [r.entry_id for r in opening.rows] == ["d-jan"]


def test_the_reversed_donation_and_its_reversal_both_show_in_the_income_trace(
    history: Book,
) -> None:
    income = drilldown.fund_trace(history, "general", 1, parse_period("2026-03"))
    assert [(r.entry_id, r.amount) for r in income.rows] == [
        ("d-mar", Decimal("66.00")),
        ("r-mar", Decimal("-66.00")),
    ]
    assert income.total == ZERO


@pytest.mark.parametrize(
    ("kind", "key", "column", "field"),
    [
        ("funds", "nope", 0, "line"),
        ("funds", "general", 5, "column"),
        ("funds", "general", -1, "column"),
        ("profit", "general", 0, "type"),
        ("activities", "捐赠收入", 9, "column"),
        ("activities", "no such line", 0, "line"),
        ("activities", "一、收入", 0, "column"),
        ("trial_balance", "合计", 0, "column"),
        ("trial_balance", "合计", 5, "column"),
    ],
)
def test_a_figure_that_does_not_exist_is_refused_naming_the_field(
    history: Book, kind: str, key: str, column: int, field: str
) -> None:
    with pytest.raises(RuleError) as exc:
        drilldown.trace_figure(history, kind, key, column, parse_period("2026"))
    assert exc.value.field == field


def test_the_trial_balance_totals_of_balances_are_not_links_but_its_movements_are(
    history: Book,
) -> None:
    view = drilldown.statement_view(history, "trial_balance", parse_period("2026-Q1"))
    total = next(r for r in view.rows if r.key == "合计")
    assert [c.traceable for c in total.cells] == [False, False, True, True, False, False]
    account_rows = [r for r in view.rows if r.key != "合计"]
    assert all(c.traceable for r in account_rows for c in r.cells)
    debits = drilldown.trace_page(history, "trial_balance", "合计", 2, parse_period("2026-Q1"))
    assert debits.agrees
    assert debits.figure == total.cells[2].value


def test_unknown_statement_types_are_refused() -> None:
    with pytest.raises(RuleError) as exc:
        drilldown.check_type("<script>")
    assert exc.value.field == "type"
    assert "unknown statement" in exc.value.message


# -- pages of a trace ----------------------------------------------------------------------------


def test_a_trace_comes_a_page_at_a_time_with_the_total_of_all_pages(history: Book) -> None:
    period = parse_period("2026-Q1")
    whole = drilldown.trace_figure(history, "trial_balance", "合计", 2, period)
    assert len(whole.rows) >= 5
    first = drilldown.trace_page(history, "trial_balance", "合计", 2, period, per_page=2)
    assert (first.page, first.pages, first.count) == (1, -(-len(whole.rows) // 2), len(whole.rows))
    assert (first.first, first.last) == (1, 2)
    assert first.rows == whole.rows[:2]
    assert first.rows_total == sum((r.amount for r in whole.rows), ZERO) == first.figure
    last = drilldown.trace_page(
        history, "trial_balance", "合计", 2, period, per_page=2, page=first.pages
    )
    assert last.rows == whole.rows[(first.pages - 1) * 2 :]
    assert last.last == len(whole.rows)
    with pytest.raises(RuleError) as exc:
        drilldown.trace_page(
            history, "trial_balance", "合计", 2, period, per_page=2, page=first.pages + 1
        )
    assert exc.value.field == "page"


def test_a_figure_with_no_postings_has_one_empty_page(history: Book) -> None:
    page = drilldown.trace_page(history, "activities", "会费收入", 2, parse_period("2026"))
    assert (page.count, page.pages, page.first, page.last, page.rows) == (0, 1, 0, 0, ())
    assert page.figure == page.rows_total == ZERO


# -- the entry -----------------------------------------------------------------------------------


def test_an_entry_with_its_metadata_postings_and_source_line(history: Book) -> None:
    detail = entry_detail.entry_detail(history, "e-zlc")
    meta = dict(detail.meta)
    assert meta["id"] == "e-zlc"
    assert meta["entered-by"] == "clerk"
    assert meta["approved-by"] == "chair"
    assert len(meta["hash"]) == 64
    assert not {"filename", "lineno"} & set(meta)
    assert not any(k.startswith("__") for k in meta)
    assert (detail.entered_by, detail.approved_by) == ("clerk", "chair")
    assert detail.tags == ("expense", "fund-zhulaocan")
    assert detail.links == ("e-zlc",)
    cost, paid = detail.postings
    assert (cost.account_name, cost.fund, cost.fund_name) == ("管理费用", "zhulaocan", "助老餐")
    assert (cost.debit, cost.credit) == (Decimal("80.00"), None)
    assert (paid.debit, paid.credit) == (None, Decimal("80.00"))
    assert detail.debit_total == detail.credit_total == Decimal("80.00")
    assert detail.source_file == "txns/2026.beancount"
    assert detail.source_line is not None
    lines = history.store.year_file(2026).read_text("utf-8").splitlines()
    assert lines[detail.source_line - 1].startswith('2026-02-04 * "菜市场" "助老餐食材"')


def test_a_reversed_donation_and_its_reversal_point_at_each_other(history: Book) -> None:
    original = entry_detail.entry_detail(history, "d-mar")
    assert original.reversed_by == "r-mar"
    assert [(e.id, e.relations[0]) for e in original.linked] == [
        ("r-mar", "冲销本分录的分录（reverses this entry）")
    ]
    correction = entry_detail.entry_detail(history, "r-mar")
    assert correction.reverses == "d-mar"
    assert correction.linked[0].id == "d-mar"
    assert "本分录冲销的原分录（reversed by this entry）" in correction.linked[0].relations


def test_an_unknown_entry_is_not_found(history: Book) -> None:
    with pytest.raises(EntryNotFoundError) as exc:
        entry_detail.entry_detail(history, "no-such-entry")
    assert exc.value.field == "entry_id"


HAND_ENTRY = """
2026-03-05 * "文具店" "打印纸" #fund-general
  id: "hand-1"
  document: "receipts/r1.pdf"
  document-2: "../../outside.txt"
  document-3: "missing.pdf"
  document-4: "documents/link.txt"
  Expenses:5201-管理费用  10.00 CNY
    fund: "general"
  Assets:1002-银行存款  -10.00 CNY
"""


def test_documents_are_served_only_from_the_documents_folder(history: Book, tmp_path: Path) -> None:
    root = history.store.root
    (root / "documents" / "receipts").mkdir(parents=True)
    receipt = root / "documents" / "receipts" / "r1.pdf"
    receipt.write_bytes(b"%PDF-1.4 receipt")
    secret = tmp_path / "outside.txt"
    secret.write_text("not for auditors' download")
    (root / "documents" / "link.txt").symlink_to(secret)
    append_text(history.store, HAND_ENTRY)
    detail = entry_detail.entry_detail(history, "hand-1")
    assert detail.seq is None  # written by hand
    lines = history.store.year_file(2026).read_text("utf-8").splitlines()
    assert detail.source_line is not None
    assert lines[detail.source_line - 1] == '2026-03-05 * "文具店" "打印纸" #fund-general'
    docs = {d.key: d for d in detail.documents}
    assert docs["document"].path == receipt.resolve()
    assert docs["document"].sha256 == hashlib.sha256(b"%PDF-1.4 receipt").hexdigest()
    assert docs["document"].size == len(b"%PDF-1.4 receipt")
    assert docs["document-2"].path is None
    assert "documents/" in docs["document-2"].problem
    assert docs["document-3"].path is None
    assert "missing" in docs["document-3"].problem
    assert docs["document-4"].path is None  # a symlink that leads outside is refused too
    assert entry_detail.document_path(history, "hand-1", 0) == receipt.resolve()
    for index in (1, 2, 3, 4, -1):
        with pytest.raises(RuleError) as exc:
            entry_detail.document_path(history, "hand-1", index)
        assert exc.value.field == "document"
