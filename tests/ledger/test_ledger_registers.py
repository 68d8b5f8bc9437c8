"""The auditors' registers (ledger.registers) on the demo year, recomputed with bean-query."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import beanquery
import pytest
from beancount import loader
from beancount.core import data
from beanquery_helpers import bean_query, bean_query_sum, connect, fund_where
from ledger_testkit import donation, expense, fixed_clock, make_store

from ledger import registers, services
from ledger.book import Book
from ledger.financials import Period, parse_period
from ledger.store import LedgerStore

ZERO = Decimal("0.00")


@pytest.fixture(scope="module")
def demo_copy(demo_ledger: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the demo ledger (opening a Book takes the writers' lock)."""
    root = tmp_path_factory.mktemp("registers") / "ledger"
    shutil.copytree(demo_ledger, root)
    return root


@pytest.fixture(scope="module")
def book(demo_copy: Path) -> Book:
    return Book(LedgerStore(demo_copy)).open()


@pytest.fixture(scope="module")
def bq(demo_copy: Path) -> beanquery.Connection:
    return connect(demo_copy / "main.beancount")


def _years(book: Book) -> list[int]:
    return sorted({t.date.year for t in book.transactions()})


def _dates(period: Period) -> str:
    return f"date >= {period.start.isoformat()} AND date <= {period.end.isoformat()}"


def _donation_ids(bq: beanquery.Connection) -> set[str]:
    rows = bean_query(bq, "SELECT entry_meta('id') WHERE entry_meta('kind') = 'donation'")
    return {str(r[0]) for r in rows}


def _reversals_of_donations(bq: beanquery.Connection) -> dict[str, tuple[str, dt.date]]:
    """Donation id -> (reversing entry id, its date), straight from the files."""
    donations = _donation_ids(bq)
    rows = bean_query(
        bq,
        "SELECT entry_meta('id'), entry_meta('reverses'), date "
        "WHERE entry_meta('kind') = 'reversal'",
    )
    return {str(orig): (str(rid), day) for rid, orig, day in rows if orig in donations}


# -- donations ------------------------------------------------------------------------------------


def test_donation_totals_by_fund_and_count_equal_bean_query_for_each_year_and_a_quarter(
    book: Book, bq: beanquery.Connection
) -> None:
    reversals = _reversals_of_donations(bq)
    assert reversals, "the demo year has a reversed donation"
    periods = [parse_period(str(y)) for y in _years(book)] + [parse_period("2026-Q2")]
    for period in periods:
        rows = registers.donation_rows(book, period)
        totals = {t.fund_slug: t for t in registers.donation_totals(book, rows)}
        for slug in book.funds:
            found = bean_query(
                bq,
                "SELECT entry_meta('kind'), entry_meta('id'), entry_meta('reverses'), number "
                f"WHERE account ~ '^Income' AND {_dates(period)} AND {fund_where(slug)} "
                "AND entry_meta('kind') IN ('donation', 'reversal')",
            )
            given = [(i, Decimal(n)) for k, i, _r, n in found if k == "donation"]
            undone = [-Decimal(n) for k, _i, r, n in found if k == "reversal" and r in reversals]
            received = sum((-n for _i, n in given), ZERO)
            reversed_amount = sum(undone, ZERO)
            got = totals.get(slug)
            assert (got.count if got else 0) == len({i for i, _n in given}), (period, slug)
            assert (got.received if got else ZERO) == received, (period, slug)
            assert (got.reversals if got else 0) == len(undone), (period, slug)
            assert (got.reversed if got else ZERO) == reversed_amount, (period, slug)
            assert (got.net if got else ZERO) == received + reversed_amount
        register = registers.donation_register(book, period)
        assert register.table.total is not None
        amount_at = [c.key for c in register.table.columns].index("amount")
        assert register.table.total[amount_at] == sum((t.net for t in totals.values()), ZERO)


def test_the_reversed_donation_shows_voided_with_the_reversing_entry_and_the_reversal_is_listed(
    book: Book, bq: beanquery.Connection
) -> None:
    reversals = _reversals_of_donations(bq)
    original, (reversal_id, reversed_on) = next(iter(reversals.items()))
    rows = {r.entry_id: r for r in registers.donation_rows(book, None)}
    voided = rows[original]
    assert voided.status == "已冲销"
    assert (voided.linked, voided.linked_on) == (reversal_id, reversed_on)
    assert voided.amount > 0
    reversal = rows[reversal_id]
    assert reversal.status == "冲销"
    assert reversal.is_reversal
    assert reversal.linked == original
    assert reversal.amount == -voided.amount
    assert reversal.receipt == voided.receipt != ""
    assert sum(r.status == "已冲销" for r in rows.values()) == len(reversals)
    register = registers.donation_register(book, None)
    marks = dict(zip((r.entry_id for r in register.records), register.table.marks, strict=True))
    assert (marks[original], marks[reversal_id]) == ("reversed", "reversal")


def test_donation_rows_carry_receipt_donor_channel_and_in_kind_valuation_from_the_entry(
    book: Book, bq: beanquery.Connection
) -> None:
    rows = registers.donation_rows(book, None)
    in_bq = bean_query(
        bq,
        "SELECT entry_meta('id'), entry_meta('receipt'), payee, entry_meta('donor'), "
        "entry_meta('valuation-basis') WHERE entry_meta('kind') = 'donation' "
        "AND account ~ '^Income'",
    )
    expected = {str(i): (str(r), str(p), str(d), v or "") for i, r, p, d, v in in_bq}
    got = {
        r.entry_id: (r.receipt, r.donor, r.donor_id, r.valuation_basis)
        for r in rows
        if not r.is_reversal
    }
    assert got == expected
    in_kind = [r for r in rows if r.channel == "实物"]
    assert in_kind, "the demo has gifts in kind"
    assert all(r.form.startswith("实物") and r.valuation_basis for r in in_kind)
    assert {r.donor_kind for r in rows} <= {"个人", "单位", "政府"}


def test_official_receipt_numbers_given_by_the_caller_appear_on_their_donation(book: Book) -> None:
    first = registers.donation_rows(book, None)[0]
    rows = registers.donation_rows(book, None, official={first.receipt: "32010 0000123"})
    assert rows[0].official == "32010 0000123"
    assert all(r.official == "" for r in rows[1:] if r.receipt != first.receipt)


# -- grants ---------------------------------------------------------------------------------------


def _grant_figures(bq: beanquery.Connection, grant: str, until: dt.date | None = None) -> dict:
    where = f"'grant-{grant}' IN links" + (f" AND date <= {until.isoformat()}" if until else "")

    def kind_sum(kind: str, account: str) -> Decimal:
        return bean_query_sum(bq, f"{where} AND entry_meta('kind') = '{kind}' AND {account}")

    return {
        "awarded": -kind_sum("grant-award", "account ~ ':已承诺资助$'"),
        "disbursed": kind_sum("grant-disbursement", "account = 'Assets:1141-预付账款'"),
        "reported": bean_query_sum(bq, f"{where} AND account ~ '^Expenses'"),
        "returned": -kind_sum("grant-close", "account = 'Assets:1141-预付账款'"),
        "outstanding": bean_query_sum(bq, f"{where} AND account = 'Assets:1141-预付账款'"),
    }


def test_grant_figures_equal_bean_query_sums_over_each_grants_postings(
    book: Book, bq: beanquery.Connection
) -> None:
    rows = registers.grant_rows(book, None)
    grants = {r[0] for r in bean_query(bq, "SELECT entry_meta('grant') WHERE account ~ ':已承诺'")}
    assert {r.grant for r in rows} == grants
    assert len(rows) >= 3
    for row in rows:
        figures = _grant_figures(bq, row.grant)
        assert {k: getattr(row, k) for k in figures} == figures, row.grant
        tranches = bean_query(
            bq,
            f"SELECT entry_meta('id') WHERE 'grant-{row.grant}' IN links "
            "AND entry_meta('kind') = 'grant-disbursement' AND account = 'Assets:1141-预付账款'",
        )
        assert row.tranches == len(tranches)
    closed = [r for r in rows if r.status == "已结项"]
    assert closed
    assert all(r.closed_on is not None and r.outstanding == 0 for r in closed)


def test_a_period_ending_before_a_grant_closed_states_it_as_at_that_day(
    book: Book, bq: beanquery.Connection
) -> None:
    closed = next(r for r in registers.grant_rows(book, None) if r.closed_on is not None)
    assert closed.last_disbursed_on is not None
    end = closed.closed_on - dt.timedelta(days=1)  # type: ignore[operator]
    period = Period(dt.date(end.year, 1, 1), end)
    row = next(r for r in registers.grant_rows(book, period) if r.grant == closed.grant)
    figures = _grant_figures(bq, closed.grant, until=end)
    assert {k: getattr(row, k) for k in figures} == figures
    assert row.status != "已结项"
    assert row.closed_on is None
    assert row.returned == 0
    # A period that starts after the close no longer lists the grant.
    later = Period(
        closed.closed_on + dt.timedelta(days=1), closed.closed_on + dt.timedelta(days=40)
    )  # type: ignore[operator]
    assert closed.grant not in {r.grant for r in registers.grant_rows(book, later)}


def test_grant_register_totals_add_up_the_rows(book: Book) -> None:
    register = registers.grant_register(book, None)
    keys = [c.key for c in register.table.columns]
    assert register.table.total is not None
    for key in ("awarded", "disbursed", "reported", "returned", "outstanding"):
        column_sum = sum((getattr(r, key) for r in register.records), ZERO)
        assert register.table.total[keys.index(key)] == column_sum
    assert all(len(row) == len(keys) for row in register.table.rows)


# -- canteen months -------------------------------------------------------------------------------


def test_canteen_month_sales_and_costs_equal_bean_query_for_every_month(
    book: Book, bq: beanquery.Connection
) -> None:
    rows = registers.canteen_rows(book, None)
    assert len(rows) >= 12
    sums: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    found = bean_query(
        bq,
        "SELECT year, month, account, entry_meta('kind') AS kind, sum(number) "
        f"WHERE {fund_where('canteen')} GROUP BY year, month, account, kind",
    )
    for year, month, account, kind, total in found:
        key = f"{year:04d}-{month:02d}"
        root = account.split(":", 1)[0]
        sums[key, account] += total
        sums[key, root] += total
        if root == "Equity" and kind == "canteen-feedback":
            sums[key, "fed_back"] += total
    for row in rows:
        income = -sums[row.month, "Income"]
        assert row.sales == -sums[row.month, "Income:4301-提供服务收入"], row.month
        assert row.sales + row.subsidies + row.other_income == income, row.month
        assert row.costs == sums[row.month, "Expenses"], row.month
        assert row.surplus == income - row.costs, row.month
        assert row.fed_back == sums[row.month, "fed_back"], row.month
        assert row.meals == row.meals_elder + row.meals_standard + row.meals_staff + row.meals_group
        assert row.closed == (row.month in book.closed_months)
        assert bool(row.feedback_entry) == (row.fed_back != 0), row.month
    assert sum((r.sales for r in rows), ZERO) > 0


def test_canteen_register_of_a_quarter_lists_its_three_months(book: Book) -> None:
    months = [r.month for r in registers.canteen_rows(book, parse_period("2026-Q2"))]
    assert months == ["2026-04", "2026-05", "2026-06"]


# -- approvals ------------------------------------------------------------------------------------


def test_every_outflow_of_the_demo_was_approved_by_someone_other_than_who_entered_it(
    book: Book, bq: beanquery.Connection
) -> None:
    rows = registers.approval_rows(book, None)
    outflows = [t for t in book.transactions() if registers.is_outflow(t)]
    assert len(outflows) > 50
    by_id = {r.entry_id: r for r in rows if r.entry_id}
    for txn in outflows:
        row = by_id[str(txn.meta["id"])]
        assert row.approved_by, row
        assert row.approved_by != row.entered_by, row
    assert [r for r in rows if r.flagged] == []
    approved = bean_query(
        bq, "SELECT DISTINCT entry_meta('id') WHERE entry_meta('approved-by') IS NOT NULL"
    )
    assert set(by_id) == {str(r[0]) for r in approved}
    closes = [r for r in rows if r.kind == "结账"]
    assert len(closes) == len(book.closed_months)


def test_a_hand_written_entry_approved_by_its_own_maker_and_an_unapproved_payment_are_flagged(
    demo_ledger: Path, tmp_path: Path
) -> None:
    root = tmp_path / "ledger"
    shutil.copytree(demo_ledger, root)
    first = Book(LedgerStore(root)).open()
    # Dated on the last close's own day: the assertions of that day check the balance before it.
    day = max(e.date for e in first.entries if isinstance(e, data.Custom))
    year_file = root / "txns" / f"{day.year}.beancount"
    with year_file.open("a", encoding="utf-8") as fh:
        fh.write(
            f'\n{day.isoformat()} * "某打印店" "宣传册印刷" #fund-general\n'
            '  id: "hand-same-person"\n'
            '  kind: "expense"\n'
            '  entered-by: "admin"\n'
            '  approved-by: "admin"\n'
            "  Expenses:5201-管理费用  80.00 CNY\n"
            "  Assets:1002-银行存款  -80.00 CNY\n"
            f'\n{day.isoformat()} * "某五金店" "零星采购" #fund-general\n'
            '  id: "hand-no-approver"\n'
            '  entered-by: "admin"\n'
            "  Expenses:5401-其他费用  12.50 CNY\n"
            "  Assets:1001-库存现金  -12.50 CNY\n"
        )
    book = Book(LedgerStore(root)).open()
    assert book.errors == []
    rows = {r.entry_id: r for r in registers.approval_rows(book, Period(day, day))}
    assert rows["hand-same-person"].flag == registers.SAME_PERSON
    assert rows["hand-no-approver"].flag == registers.NO_APPROVER
    assert rows["hand-no-approver"].amount == Decimal("12.50")
    flagged = {r.entry_id for r in rows.values() if r.flagged}
    assert flagged == {"hand-same-person", "hand-no-approver"}
    register = registers.approval_register(book, Period(day, day))
    assert ("异常 Exceptions", "2") in register.facts
    assert sorted(register.table.marks).count("flagged") == 2


def test_an_approver_differing_from_the_request_record_is_flagged(book: Book) -> None:
    row = next(r for r in registers.approval_rows(book, None) if r.entry_id)
    info = registers.RequestInfo(
        request_id="req-1",
        requested_at=dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC),
        decided_at=dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.UTC),
        decided_by="someone-else",
        note="同意",
    )
    rows = registers.approval_rows(book, None, requests={row.entry_id: info})
    got = next(r for r in rows if r.entry_id == row.entry_id)
    assert got.flag == registers.OTHER_DECIDER
    assert (got.request_id, got.decision_note) == ("req-1", "同意")


# -- period closes and reopenings -----------------------------------------------------------------


def test_one_row_per_month_close_matching_the_directives_and_their_balance_assertions(
    book: Book, demo_copy: Path, bq: beanquery.Connection
) -> None:
    entries, errors, _ = loader.load_file(str(demo_copy / "main.beancount"))
    assert errors == []
    closes = [e for e in entries if isinstance(e, data.Custom) and e.type == "period-close"]
    assertions: dict[dt.date, dict[str, Decimal]] = defaultdict(dict)
    for e in entries:
        if isinstance(e, data.Balance):
            assertions[e.date][e.account] = e.amount.number
    rows = registers.period_rows(book, None)
    assert len(rows) == len(closes) == len(book.closed_months) >= 12
    in_bq = bean_query(
        bq, "SELECT date FROM entries WHERE type = 'custom' AND meta('closed-at') IS NOT NULL"
    )
    assert len(in_bq) == len(rows)
    assert Counter(r.month for r in rows) == Counter(str(c.values[0].value) for c in closes)
    for row, close in zip(rows, sorted(closes, key=lambda c: c.values[0].value), strict=True):
        assert (row.event, row.date, row.entered_by) == (
            "结账",
            close.date,
            close.meta["entered-by"],
        )
        assert row.approved_by == close.meta["approved-by"] != row.entered_by
        asserted = assertions[close.date]
        assert row.bank == asserted["Assets:1002-银行存款"]
        assert row.cash == asserted["Assets:1001-库存现金"]
        assert row.state == "已结账"
    year = registers.period_rows(book, parse_period("2026"))
    assert {r.month[:4] for r in year} == {"2026"}


def test_a_reopening_is_listed_with_its_reason_and_the_month_shows_open(tmp_path: Path) -> None:
    from ledger import periods

    store = make_store(tmp_path / "ledger")
    book = Book(store, clock=fixed_clock).open()
    services.record_donation(book, donation("d1", "100", date=dt.date(2026, 1, 5)))
    services.record_expense(book, expense("e1", "30", date=dt.date(2026, 1, 6), paid_from="wechat"))
    now = fixed_clock()
    statements = {"Assets:1009-其他货币资金:微信支付": Decimal("70.00")}
    periods.close_month(
        book,
        periods.CloseMonthCommand("2026-01", statements, entered_by="clerk", approved_by="chair"),
        now=now,
    )
    periods.reopen_month(book, "2026-01", "补录一笔漏记的捐赠", "clerk", now=now)
    rows = registers.period_rows(book, parse_period("2026-Q1"))
    assert [(r.event, r.month) for r in rows] == [("结账", "2026-01"), ("重新打开", "2026-01")]
    close, reopen = rows
    assert close.wechat == Decimal("70.00")
    assert close.bank is None
    assert reopen.reason == "补录一笔漏记的捐赠"
    assert reopen.cash is None
    assert close.state == reopen.state == "未结账"
    register = registers.period_register(book, parse_period("2026-Q1"))
    assert register.table.marks == ("", "reopen")


# -- the shared shape -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(registers.REGISTERS))
def test_every_register_has_one_cell_per_column_in_every_row(book: Book, name: str) -> None:
    build = {
        "donations": registers.donation_register,
        "grants": registers.grant_register,
        "canteen": registers.canteen_register,
        "approvals": registers.approval_register,
        "closes": registers.period_register,
    }[name]
    register = build(book, parse_period("2026"))
    assert register.name == name
    assert register.title == registers.REGISTERS[name].title
    assert register.records, name
    width = len(register.table.columns)
    assert all(len(row) == width for row in register.table.rows)
    assert len({c.key for c in register.table.columns}) == width
    if register.table.total is not None:
        assert len(register.table.total) == width


def test_an_empty_period_gives_empty_registers_not_errors(book: Book) -> None:
    period = parse_period("2001")
    assert registers.donation_rows(book, period) == []
    assert registers.grant_rows(book, period) == []
    assert registers.canteen_rows(book, period) == []
    assert registers.approval_rows(book, period) == []
    assert registers.period_rows(book, period) == []
