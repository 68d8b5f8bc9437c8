"""Month-end reconciliation and the close: balance assertions, locked months, reopening."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from ledger_testkit import NOW, assert_bean_check_passes, donation, expense, snapshot, year_text

from ledger import periods, services
from ledger.book import Book
from ledger.errors import RuleError

BANK = "Assets:1002-银行存款"
WECHAT = "Assets:1009-其他货币资金:微信支付"


@pytest.fixture
def february(book: Book) -> Book:
    services.record_donation(book, donation("d1", "500", channel="bank", date=dt.date(2026, 2, 3)))
    services.record_donation(book, donation("d2", "80", channel="wechat", date=dt.date(2026, 2, 9)))
    services.record_expense(book, expense("e1", "120", date=dt.date(2026, 2, 20)))
    return book


def _close(book: Book, statements: dict[str, str], **kw: str) -> object:
    cmd = periods.CloseMonthCommand(
        month=kw.get("month", "2026-02"),
        statements={k: Decimal(v) for k, v in statements.items()},
        entered_by=kw.get("entered_by", "clerk"),
        approved_by=kw.get("approved_by", "chair"),
    )
    return periods.close_month(book, cmd, now=NOW)


def test_a_matching_statement_closes_the_month_with_balance_assertions(february: Book) -> None:
    rec = periods.reconcile(february, BANK, "2026-02", Decimal("380.00"))
    assert rec.agrees
    assert [t.meta["id"] for t in rec.entries] == ["d1", "e1"]
    _close(february, {BANK: "380.00", WECHAT: "80.00"})
    text = year_text(february.store)
    assert f"2026-03-01 balance {BANK}  380.00 CNY" in text
    assert '2026-03-01 custom "period-close" "2026-02"' in text
    assert "2026-02" in february.closed_months
    assert_bean_check_passes(february.store)


def test_a_mismatch_refuses_to_close_and_names_the_difference(february: Book) -> None:
    rec = periods.reconcile(february, BANK, "2026-02", Decimal("400.00"))
    assert rec.difference == Decimal("20.00")
    before = snapshot(february.store.root)
    with pytest.raises(RuleError) as info:
        _close(february, {BANK: "400.00", WECHAT: "80.00"})
    assert info.value.field == "statements"
    assert info.value.code == "mismatch"
    assert "相差 ¥20.00" in info.value.message
    assert BANK in info.value.message
    assert snapshot(february.store.root) == before


def test_an_account_with_money_but_no_statement_refuses_to_close(february: Book) -> None:
    before = snapshot(february.store.root)
    with pytest.raises(RuleError) as info:
        _close(february, {BANK: "380.00"})
    assert WECHAT in info.value.message
    assert snapshot(february.store.root) == before


def test_the_maker_cannot_approve_the_close_nor_close_an_unfinished_month(february: Book) -> None:
    before = snapshot(february.store.root)
    with pytest.raises(RuleError) as same:
        _close(february, {BANK: "380.00", WECHAT: "80.00"}, approved_by="clerk")
    assert same.value.field == "approved_by"
    with pytest.raises(RuleError) as running:
        _close(february, {}, month="2026-03")
    assert running.value.field == "month"
    assert snapshot(february.store.root) == before


def test_after_the_close_no_entry_dated_in_that_month_is_accepted(february: Book) -> None:
    _close(february, {BANK: "380.00", WECHAT: "80.00"})
    before = snapshot(february.store.root)
    with pytest.raises(RuleError) as info:
        services.record_donation(february, donation("late", "10", date=dt.date(2026, 2, 27)))
    assert info.value.code == "period_closed"
    assert snapshot(february.store.root) == before
    services.record_donation(february, donation("march", "10", date=dt.date(2026, 3, 2)))
    assert_bean_check_passes(february.store)


def test_a_reopened_month_takes_entries_that_leave_reconciled_accounts_alone(
    february: Book,
) -> None:
    _close(february, {BANK: "380.00", WECHAT: "80.00"})
    periods.reopen_month(february, "2026-02", "补记一笔实物捐赠", "clerk", now=NOW)
    assert "2026-02" not in february.closed_months
    before = snapshot(february.store.root)
    with pytest.raises(RuleError) as info:  # the bank statement is the bank's word
        services.record_donation(
            february, donation("bank-late", "10", channel="bank", date=dt.date(2026, 2, 27))
        )
    assert info.value.code == "reconciled"
    assert snapshot(february.store.root) == before
    services.record_donation(
        february,
        services.DonationCommand(
            id="kind-late",
            date=dt.date(2026, 2, 27),
            amount=Decimal("60"),
            fund="general",
            channel="",
            donor_ref="D9",
            donor_public="匿名",
            entered_by="clerk",
            form="goods",
            valuation_basis="发票",
            valued_by="chair",
        ),
    )
    assert 'custom "period-reopen" "2026-02"' in year_text(february.store)
    assert_bean_check_passes(february.store)


def test_a_closed_month_cannot_be_closed_again_and_an_open_one_not_reopened(february: Book) -> None:
    with pytest.raises(RuleError):
        periods.reopen_month(february, "2026-02", "原因", "clerk", now=NOW)
    _close(february, {BANK: "380.00", WECHAT: "80.00"})
    before = snapshot(february.store.root)
    with pytest.raises(RuleError) as info:
        _close(february, {BANK: "380.00", WECHAT: "80.00"})
    assert info.value.code == "closed"
    assert snapshot(february.store.root) == before


def test_other_books_see_the_close(february: Book) -> None:
    _close(february, {BANK: "380.00", WECHAT: "80.00"})
    other = Book(february.store, clock=february.clock).open()
    assert "2026-02" in other.closed_months
    assert other.asserted[BANK] == dt.date(2026, 3, 1)
