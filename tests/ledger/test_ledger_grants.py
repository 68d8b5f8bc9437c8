"""微创投 in the ledger: one grant's whole life, and every money rule refusing with nothing written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from beanquery_helpers import bean_query_sum
from ledger_testkit import assert_bean_check_passes, donation, load, snapshot

from ledger import chain, grants, services
from ledger.book import Book
from ledger.errors import RuleError

D = Decimal
GRANT = "2026-01"


def _award(amount: str = "5000", **kw: object) -> grants.AwardCommand:
    args: dict[str, object] = {
        "id": "award-1",
        "grant": GRANT,
        "date": dt.date(2026, 2, 1),
        "amount": amount,
        "fund": "meiyuanzi",
        "grantee": "3号院居民自治小组",
        "project": "3号院花台与扶手",
        "entered_by": "clerk",
        "approved_by": "chair",
    }
    args.update(kw)
    return grants.AwardCommand(**args)  # type: ignore[arg-type]


def _pay(entry_id: str, amount: str, day: int, **kw: object) -> grants.DisbursementCommand:
    args: dict[str, object] = {
        "id": entry_id,
        "grant": GRANT,
        "date": dt.date(2026, 2, day),
        "amount": amount,
        "entered_by": "clerk",
        "approved_by": "chair",
    }
    args.update(kw)
    return grants.DisbursementCommand(**args)  # type: ignore[arg-type]


def _report(entry_id: str, amount: str, day: int) -> grants.ExpenseReportCommand:
    return grants.ExpenseReportCommand(
        id=entry_id,
        grant=GRANT,
        date=dt.date(2026, 3, day),
        amount=amount,
        summary="花台砖石、扶手材料",
        receipts=6,
        entered_by="clerk",
        approved_by="chair",
    )


@pytest.fixture
def funded(book: Book) -> Book:
    services.record_donation(
        book, donation("gift", "8000", fund="meiyuanzi", date=dt.date(2026, 1, 5))
    )
    return book


def _q(book: Book, where: str) -> Decimal:
    return bean_query_sum(book.store.main, where)


def test_a_grant_lives_from_award_through_tranches_to_a_partial_return(funded: Book) -> None:
    book = funded
    grants.award_grant(book, _award("5000"))
    assert book.fund_balance("meiyuanzi") == D("8000.00")  # an award moves no money
    assert book.committed("meiyuanzi") == D("5000.00")
    assert grants.uncommitted_balance(book, "meiyuanzi") == D("3000.00")
    grants.disburse(book, _pay("pay-1", "2000", 3))
    grants.disburse(book, _pay("pay-2", "2500", 20))
    grants.accept_expense_report(book, _report("rep-1", "3600", 10))
    totals = grants.grant_totals(book, GRANT)
    assert totals is not None
    assert (totals.awarded, totals.disbursed, totals.reported, totals.outstanding) == (
        D("5000.00"),
        D("4500.00"),
        D("3600.00"),
        D("900.00"),
    )
    assert totals.tranches == 2
    grants.close_grant(
        book,
        grants.CloseCommand(
            id="close-1",
            grant=GRANT,
            date=dt.date(2026, 3, 14),
            returned="900",
            leftover="剩余扶手材料2根移交社区仓库",
            entered_by="clerk",
            approved_by="chair",
        ),
    )
    totals = grants.grant_totals(book, GRANT)
    assert totals is not None
    assert totals.closed
    assert totals.returned == D("900.00")
    # The fund paid 3,600 for the project and holds the rest; nothing stays committed.
    assert book.fund_balance("meiyuanzi") == D("4400.00")
    assert book.committed("meiyuanzi") == D("0.00")

    # Every figure is what bean-query computes from the files.
    grant = f"'grant-{GRANT}' IN links"
    assert _q(book, f"{grant} AND account ~ '^Expenses'") == totals.reported
    assert _q(book, f"{grant} AND account = 'Assets:1141-预付账款'") == D("0.00")
    assert (
        _q(
            book,
            f"{grant} AND account = 'Assets:1141-预付账款' AND entry_meta('kind') = 'grant-disbursement'",
        )
        == totals.disbursed
    )
    assert -_q(book, "account ~ ':已承诺资助$' AND meta('fund') = 'meiyuanzi'") == book.committed(
        "meiyuanzi"
    )
    balance = -_q(book, "account ~ '^(Income|Expenses|Equity)' AND meta('fund') = 'meiyuanzi'")
    assert balance == book.fund_balance("meiyuanzi")
    assert_bean_check_passes(book.store)
    entries, _ = load(book.store)
    assert chain.verify(entries).ok
    kinds = [t.meta["kind"] for t in book.grant_entries(GRANT)]
    assert kinds == [
        "grant-award",
        "grant-disbursement",
        "grant-disbursement",
        "grant-expense",
        "grant-close",
    ]
    assert all(f"grant-{GRANT}" in t.links for t in book.grant_entries(GRANT))


def _refused(book: Book, call: object, cmd: object, field: str, code: str) -> RuleError:
    before = snapshot(book.store.root)
    with pytest.raises(RuleError) as info:
        call(book, cmd)  # type: ignore[operator]
    assert info.value.field == field
    assert info.value.code == code
    assert snapshot(book.store.root) == before
    return info.value


def test_an_award_above_the_funds_uncommitted_balance_is_refused(funded: Book) -> None:
    grants.award_grant(funded, _award("5000"))
    error = _refused(
        funded,
        grants.award_grant,
        _award("3500", id="award-2", grant="2026-02"),
        "amount",
        "over_committed",
    )
    assert "可承诺余额 ¥3,000.00" in error.message


def test_the_same_grant_cannot_be_awarded_twice(funded: Book) -> None:
    grants.award_grant(funded, _award("1000"))
    _refused(funded, grants.award_grant, _award("1000", id="award-2"), "grant", "already_awarded")


def test_a_disbursement_above_what_remains_of_the_award_is_refused(funded: Book) -> None:
    grants.award_grant(funded, _award("5000"))
    grants.disburse(funded, _pay("pay-1", "4000", 3))
    error = _refused(funded, grants.disburse, _pay("pay-2", "1500", 4), "amount", "over_award")
    assert "¥1,000.00" in error.message


def test_a_disbursement_approved_by_the_person_who_requested_it_is_refused(funded: Book) -> None:
    grants.award_grant(funded, _award("5000"))
    _refused(
        funded,
        grants.disburse,
        _pay("pay-1", "100", 3, approved_by="clerk"),
        "approved_by",
        "same_person",
    )


def test_a_disbursement_before_any_award_is_refused(funded: Book) -> None:
    _refused(funded, grants.disburse, _pay("pay-1", "100", 3), "grant", "not_awarded")


def test_an_expense_report_larger_than_what_was_disbursed_is_refused(funded: Book) -> None:
    grants.award_grant(funded, _award("5000"))
    grants.disburse(funded, _pay("pay-1", "2000", 3))
    _refused(
        funded,
        grants.accept_expense_report,
        _report("rep-1", "2000.01", 10),
        "amount",
        "over_disbursed",
    )


def test_a_close_out_that_leaves_money_unaccounted_for_is_refused(funded: Book) -> None:
    grants.award_grant(funded, _award("5000"))
    grants.disburse(funded, _pay("pay-1", "2000", 3))
    grants.accept_expense_report(funded, _report("rep-1", "1500", 10))
    close = grants.CloseCommand(
        id="close-1",
        grant=GRANT,
        date=dt.date(2026, 3, 14),
        returned="300",
        leftover="无",
        entered_by="clerk",
        approved_by="chair",
    )
    error = _refused(funded, grants.close_grant, close, "returned", "unaccounted")
    assert "应退回 ¥500.00" in error.message


def test_nothing_more_is_accepted_for_a_closed_grant(funded: Book) -> None:
    grants.award_grant(funded, _award("1000"))
    grants.close_grant(
        funded,
        grants.CloseCommand(
            id="close-1",
            grant=GRANT,
            date=dt.date(2026, 2, 2),
            returned="0",
            leftover="项目取消",
            entered_by="clerk",
            approved_by="chair",
        ),
    )
    assert funded.committed("meiyuanzi") == D("0.00")
    _refused(funded, grants.disburse, _pay("pay-1", "100", 3), "grant", "closed")
