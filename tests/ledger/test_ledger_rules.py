"""Every rule refuses with a clear error naming its field and leaves the files unchanged (§6.4)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ledger_testkit import (
    donation,
    expense,
    fixed_clock,
    ids_in_files,
    make_store,
    reversal,
    snapshot,
)

from ledger import services
from ledger.book import Book
from ledger.errors import EntryNotFoundError, IdConflictError, RuleError
from ledger.model import NewEntry, Posting
from ledger.store import LedgerStore

BANK = "Assets:1002-银行存款"
CASH = "Assets:1001-库存现金"
GIFTS = "Income:4101-捐赠收入:非限定性"
COSTS = "Expenses:5101-业务活动成本"


def refuse(
    book: Book, write: Callable[[Book, Any], object], cmd: Any, field: str, code: str | None = None
) -> RuleError:
    """Call a service that must refuse; check the field, the code and that no byte changed."""
    before = snapshot(book.path)
    seq, head = book.seq, book.head_hash
    with pytest.raises(RuleError) as info:
        write(book, cmd)
    assert info.value.field == field, info.value
    if code is not None:
        assert info.value.code == code
    assert info.value.message
    assert snapshot(book.path) == before
    assert (book.seq, book.head_hash) == (seq, head)
    return info.value


@pytest.fixture
def funded(book: Book) -> Book:
    """A Book with 100 in 助老餐 (restricted), 500 in the general fund, and one expense."""
    services.record_donation(book, donation("gift-zlc", "100", fund="zhulaocan"))
    services.record_donation(book, donation("gift-gen", "500", fund="general"))
    services.record_expense(book, expense("exp-1", "80", fund="general"))
    return book


# -- funds, channels, lines -----------------------------------------------------------------------


def test_an_unknown_fund_is_refused(book: Book) -> None:
    error = refuse(book, services.record_donation, donation("d-1", fund="nope"), "fund")
    assert "nope" in error.message
    refuse(book, services.record_expense, expense("e-1", fund="nope"), "fund")


def test_an_unknown_channel_is_refused(book: Book) -> None:
    refuse(book, services.record_donation, donation("d-1", channel="paypal"), "channel")


def test_an_unknown_account_to_pay_from_is_refused(funded: Book) -> None:
    refuse(funded, services.record_expense, expense("e-2", paid_from="paypal"), "paid_from")


def test_an_unknown_expense_line_is_refused(funded: Book) -> None:
    refuse(funded, services.record_expense, expense("e-2", line="party"), "line")


# -- dates ----------------------------------------------------------------------------------------


def test_a_date_after_today_is_refused(book: Book) -> None:
    tomorrow = fixed_clock().date() + dt.timedelta(days=1)
    refuse(book, services.record_donation, donation("d-1", date=tomorrow), "date", "future")


def test_today_is_not_in_the_future(book: Book) -> None:
    result = services.record_donation(book, donation("d-1", date=fixed_clock().date()))
    assert result.created


def test_a_date_in_a_closed_month_is_refused(tmp_path: Path) -> None:
    store = make_store(tmp_path / "ledger", closed_months=["2026-02"])
    book = Book(store, clock=fixed_clock).open()
    assert book.closed_months == {"2026-02"}
    for day in (dt.date(2026, 2, 1), dt.date(2026, 2, 28)):
        error = refuse(
            book, services.record_donation, donation("d-1", date=day), "date", "period_closed"
        )
        assert "2026年02月" in error.message
    services.record_donation(book, donation("d-2", date=dt.date(2026, 3, 1)))
    services.record_donation(book, donation("d-3", date=dt.date(2026, 1, 31)))


def test_a_reopened_month_accepts_entries_again(tmp_path: Path) -> None:
    store = make_store(
        tmp_path / "ledger",
        closed_months=["2026-02"],
        extra_accounts_text='2026-03-05 custom "period-reopen" "2026-02"\n',
    )
    book = Book(store, clock=fixed_clock).open()
    assert services.record_donation(book, donation("d-1", date=dt.date(2026, 2, 10))).created


def test_a_reversal_dated_in_a_closed_month_is_refused(tmp_path: Path) -> None:
    store = make_store(tmp_path / "ledger", closed_months=["2026-02"])
    book = Book(store, clock=fixed_clock).open()
    services.record_donation(book, donation("d-1", date=dt.date(2026, 1, 20)))
    refuse(
        book,
        services.record_reversal,
        reversal("r-1", "d-1", date=dt.date(2026, 2, 3)),
        "date",
        "period_closed",
    )
    services.record_reversal(book, reversal("r-1", "d-1", date=dt.date(2026, 3, 3)))


def test_a_date_before_the_accounts_were_opened_is_refused(book: Book) -> None:
    error = refuse(
        book,
        services.record_donation,
        donation("d-1", date=dt.date(2019, 12, 31)),
        "account",
        "account_closed",
    )
    assert "2019-12-31" in error.message
    assert not (book.store.txns / "2019.beancount").exists()


def test_a_date_before_the_fund_was_set_up_is_refused(tmp_path: Path) -> None:
    late = '2026-03-10 custom "fund" "late" "晚设基金" "unrestricted"\n  purpose: "x"\n'
    store = make_store(tmp_path / "ledger", extra_accounts_text=late)
    book = Book(store, clock=fixed_clock).open()
    refuse(book, services.record_donation, donation("d-1", fund="late"), "fund")
    services.record_donation(book, donation("d-2", fund="late", date=dt.date(2026, 3, 10)))


def test_a_closed_account_is_refused_from_its_closing_date(tmp_path: Path) -> None:
    closing = "2026-03-01 close Assets:1009-其他货币资金:支付宝\n"
    store = make_store(tmp_path / "ledger", extra_accounts_text=closing)
    book = Book(store, clock=fixed_clock).open()
    refuse(book, services.record_donation, donation("d-1", channel="alipay"), "account")
    services.record_donation(book, donation("d-2", channel="alipay", date=dt.date(2026, 2, 28)))


# -- money out ------------------------------------------------------------------------------------


def test_spending_more_than_a_restricted_fund_holds_is_refused_naming_fund_and_balance(
    funded: Book,
) -> None:
    error = refuse(
        funded,
        services.record_expense,
        expense("e-2", "100.01", fund="zhulaocan"),
        "amount",
        "fund_overdrawn",
    )
    assert "助老餐" in error.message
    assert "¥100.00" in error.message
    assert "¥100.01" in error.message
    assert services.record_expense(funded, expense("e-3", "100", fund="zhulaocan")).created
    error = refuse(
        funded,
        services.record_expense,
        expense("e-4", "0.01", fund="zhulaocan"),
        "amount",
        "fund_overdrawn",
    )
    assert "¥0.00" in error.message


def test_a_restricted_fund_is_never_spent_by_another_funds_money(funded: Book) -> None:
    # 500 sit in the general fund and the bank, but 美院子 holds nothing.
    error = refuse(
        funded,
        services.record_expense,
        expense("e-2", "1", fund="meiyuanzi"),
        "amount",
        "fund_overdrawn",
    )
    assert "美院子" in error.message


def test_the_general_fund_cannot_be_overdrawn_either(funded: Book) -> None:
    refuse(
        funded,
        services.record_expense,
        expense("e-2", "420.01", fund="general"),
        "amount",
        "fund_overdrawn",
    )


def test_the_canteen_may_run_a_deficit(book: Book) -> None:
    result = services.record_expense(book, expense("e-1", "300", fund="canteen"))
    assert result.created
    assert book.fund_balance("canteen") == Decimal("-300.00")


def test_refunding_a_donation_that_was_already_spent_is_refused(funded: Book) -> None:
    services.record_expense(funded, expense("e-2", "60", fund="zhulaocan"))
    refuse(
        funded,
        services.record_reversal,
        reversal("r-1", "gift-zlc"),
        "original_id",
        "fund_overdrawn",
    )


def test_an_expense_without_an_approver_is_refused(funded: Book) -> None:
    refuse(
        funded,
        services.record_expense,
        expense("e-2", approved_by=""),
        "approved_by",
        "approval_required",
    )


def test_the_maker_cannot_approve_their_own_expense(funded: Book) -> None:
    refuse(
        funded,
        services.record_expense,
        expense("e-2", entered_by="li", approved_by="li"),
        "approved_by",
        "same_person",
    )


def test_a_reversal_needs_an_approver_other_than_its_maker(funded: Book) -> None:
    refuse(
        funded, services.record_reversal, reversal("r-1", "exp-1", approved_by=""), "approved_by"
    )
    refuse(
        funded,
        services.record_reversal,
        reversal("r-1", "exp-1", entered_by="li", approved_by="li"),
        "approved_by",
        "same_person",
    )


def test_a_bad_amount_is_refused(book: Book) -> None:
    for amount in ("0", "-5", "1.234", "NaN", "1E+3", "２００", "", "10000000.01"):
        refuse(book, services.record_donation, donation("d-1", amount), "amount")
    refuse(book, services.record_donation, donation("d-1", 200.0), "amount")  # type: ignore[arg-type]


# -- reversals ------------------------------------------------------------------------------------


def test_a_reversal_of_a_reversal_is_refused(funded: Book) -> None:
    services.record_reversal(funded, reversal("r-1", "exp-1"))
    refuse(funded, services.record_reversal, reversal("r-2", "r-1"), "original_id")


def test_an_entry_cannot_be_reversed_twice(funded: Book) -> None:
    services.record_reversal(funded, reversal("r-1", "exp-1"))
    error = refuse(
        funded,
        services.record_reversal,
        reversal("r-2", "exp-1"),
        "original_id",
        "already_reversed",
    )
    assert "r-1" in error.message


def test_a_reversal_without_a_reason_is_refused(funded: Book) -> None:
    for reason in ("", "   "):
        refuse(
            funded,
            services.record_reversal,
            reversal("r-1", "exp-1", reason=reason),
            "reason",
            "required",
        )


def test_a_reversal_of_an_unknown_entry_is_refused_as_not_found(funded: Book) -> None:
    before = snapshot(funded.path)
    with pytest.raises(EntryNotFoundError):
        services.record_reversal(funded, reversal("r-1", "no-such-entry"))
    assert snapshot(funded.path) == before


def test_a_reversal_undoes_every_posting_and_links_to_the_original(funded: Book) -> None:
    services.record_reversal(funded, reversal("r-1", "exp-1", reason="重复报销"))
    txn = funded.get("r-1")
    original = funded.get("exp-1")
    assert txn is not None
    assert original is not None
    assert {(p.account, -p.units.number) for p in txn.postings} == {
        (p.account, p.units.number) for p in original.postings
    }
    assert txn.links == {"r-1", "exp-1"}
    assert txn.meta["reverses"] == "exp-1"
    assert txn.meta["reason"] == "重复报销"
    assert funded.reversed_by("exp-1") == "r-1"
    assert funded.fund_balance("general") == Decimal("500.00")


# -- ids ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_id",
    ["", " ", "a b", "a/b", "-lead", ".lead", "中文", "a\nb", "^x", "a#b", "a:b", "x" * 65, 'a"b'],
)
def test_an_id_outside_the_link_alphabet_is_refused(book: Book, bad_id: str) -> None:
    refuse(book, services.record_donation, donation(bad_id), "id")


def test_the_longest_id_is_accepted(book: Book) -> None:
    assert services.record_donation(book, donation("x" * 64)).created


def test_a_reused_id_with_a_different_amount_is_an_id_conflict(funded: Book) -> None:
    error = refuse(
        funded,
        services.record_donation,
        donation("gift-gen", "501", fund="general"),
        "id",
        "id_conflict",
    )
    assert isinstance(error, IdConflictError)


@pytest.mark.parametrize(
    "change",
    [
        {"date": dt.date(2026, 3, 2)},
        {"fund": "meiyuanzi"},
        {"channel": "cash"},
        {"donor_public": "李*"},
        {"donor_ref": "D0002"},
        {"note": "另一笔"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_reused_id_with_any_other_difference_is_an_id_conflict(
    funded: Book, change: dict[str, object]
) -> None:
    cmd = dataclasses.replace(donation("gift-zlc", "100", fund="zhulaocan"), **change)
    refuse(funded, services.record_donation, cmd, "id", "id_conflict")


def test_a_reused_id_of_another_kind_is_an_id_conflict(funded: Book) -> None:
    refuse(funded, services.record_expense, expense("gift-gen", "500"), "id", "id_conflict")


# -- the generic rules of every entry -------------------------------------------------------------


def _entry(
    *postings: Posting, entry_id: str = "raw-1", tags: frozenset[str] = frozenset()
) -> NewEntry:
    return NewEntry(
        id=entry_id,
        date=dt.date(2026, 3, 5),
        payee="甲",
        narration="乙",
        postings=postings,
        tags=tags or frozenset({"fund-general"}),
        meta=(("entered-by", "clerk"),),
    )


@pytest.mark.parametrize(
    ("postings", "field"),
    [
        ((Posting(BANK, Decimal("10.00")),), "postings"),
        ((Posting(BANK, Decimal("10.00")), Posting(GIFTS, Decimal("-9.99"))), "postings"),
        ((Posting(BANK, Decimal("10.001")), Posting(GIFTS, Decimal("-10.001"))), "amount"),
        ((Posting(BANK, Decimal("0")), Posting(GIFTS, Decimal("0"))), "amount"),
        ((Posting(BANK, Decimal("2E+7")), Posting(GIFTS, Decimal("-2E+7"))), "amount"),
        ((Posting("Assets:Evil", Decimal("1.00")), Posting(GIFTS, Decimal("-1.00"))), "account"),
        (
            (Posting(BANK, Decimal("1.00")), Posting(GIFTS, Decimal("-1.00"), (("fund", "x"),))),
            "fund",
        ),
        (
            (Posting(BANK, Decimal("1.00")), Posting(GIFTS, Decimal("-1.00"), (("note", "\n"),))),
            "note",
        ),
    ],
    ids=["one-posting", "unbalanced", "sub-cent", "zero", "huge", "no-account", "bad-fund", "text"],
)
def test_an_entry_breaking_a_common_rule_is_refused(
    book: Book, postings: tuple[Posting, ...], field: str
) -> None:
    refuse(book, lambda b, e: b.write(e), _entry(*postings), field)


def test_an_income_posting_without_a_fund_is_refused(book: Book) -> None:
    entry = dataclasses.replace(
        _entry(Posting(BANK, Decimal("1.00")), Posting(GIFTS, Decimal("-1.00"))),
        tags=frozenset({"fund-general", "fund-canteen"}),  # two fund tags: neither applies
    )
    refuse(book, lambda b, e: b.write(e), entry, "fund")
    entry = dataclasses.replace(entry, tags=frozenset())
    refuse(book, lambda b, e: b.write(e), entry, "fund")


def test_a_hostile_narration_is_refused_at_the_book(book: Book) -> None:
    entry = dataclasses.replace(
        _entry(Posting(CASH, Decimal("1.00")), Posting(GIFTS, Decimal("-1.00"))),
        narration='x"\n2026-01-01 open Assets:Evil',
    )
    refuse(book, lambda b, e: b.write(e), entry, "narration", "bad_character")


def test_a_caller_check_that_refuses_leaves_the_files_unchanged(book: Book) -> None:
    def check(_book: Book, _entry: NewEntry) -> None:
        raise RuleError("budget", "超出预算")

    entry = _entry(Posting(CASH, Decimal("1.00")), Posting(GIFTS, Decimal("-1.00")))
    refuse(book, lambda b, e: b.write(e, check=check), entry, "budget")


def test_a_dry_run_checks_everything_but_writes_nothing(funded: Book) -> None:
    before = snapshot(funded.path)
    services.check_expense_request(funded, expense("e-9", "10", approved_by=""))
    with pytest.raises(RuleError) as info:
        services.check_expense_request(funded, expense("e-9", "101", fund="zhulaocan"))
    assert info.value.field == "amount"
    services.check_reversal_request(funded, reversal("r-9", "exp-1", approved_by=""))
    assert snapshot(funded.path) == before
    assert ids_in_files(funded.store) == ["gift-zlc", "gift-gen", "exp-1"]


def test_a_refused_write_does_not_disturb_the_next_one(store: LedgerStore) -> None:
    book = Book(store, clock=fixed_clock).open()
    with pytest.raises(RuleError):
        services.record_donation(book, donation("d-1", fund="nope"))
    result = services.record_donation(book, donation("d-1"))
    assert (result.created, result.seq) == (True, 1)


def test_a_back_dated_spend_that_would_overdraw_an_earlier_month_is_refused(book: Book) -> None:
    import datetime as dt

    from ledger_testkit import donation, expense, snapshot

    services.record_donation(
        book, donation("late-gift", "500", fund="zhulaocan", date=dt.date(2026, 3, 10))
    )
    services.record_donation(
        book, donation("early-gift", "100", fund="zhulaocan", date=dt.date(2026, 1, 5))
    )
    before = snapshot(book.store.root)
    with pytest.raises(RuleError) as info:
        services.record_expense(
            book, expense("back-dated", "300", fund="zhulaocan", date=dt.date(2026, 1, 20))
        )
    assert info.value.field == "amount"
    assert info.value.code == "fund_overdrawn"
    assert "2026-01 月末仅余 ¥100.00" in info.value.message
    assert snapshot(book.store.root) == before
    services.record_expense(
        book, expense("in-march", "300", fund="zhulaocan", date=dt.date(2026, 3, 12))
    )
