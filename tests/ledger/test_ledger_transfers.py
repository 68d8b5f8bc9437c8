"""资金划转: money moved between the fund's own accounts, approved, never more than is there."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from beanquery_helpers import bean_query_sum
from ledger_testkit import assert_bean_check_passes, donation, snapshot

from ledger import services
from ledger.book import Book
from ledger.errors import RuleError
from ledger.transfers import TransferCommand, record_transfer


def _transfer(entry_id: str = "trf-1", amount: str = "150.00", **kw: object) -> TransferCommand:
    values: dict[str, object] = {
        "id": entry_id,
        "date": dt.date(2026, 3, 10),
        "amount": Decimal(amount),
        "from_channel": "wechat",
        "to_channel": "bank",
        "entered_by": "clerk",
        "approved_by": "checker",
    }
    values.update(kw)
    return TransferCommand(**values)  # type: ignore[arg-type]


def test_a_withdrawal_moves_money_between_accounts_and_leaves_every_fund_as_it_was(
    book: Book,
) -> None:
    services.record_donation(book, donation("don-1", "200"))
    before = book.fund_balance("general")
    result = record_transfer(book, _transfer(note="提现单号 4200001"))
    assert result.created
    main = book.store.main
    assert bean_query_sum(main, "account ~ '微信支付'") == Decimal("50.00")
    assert bean_query_sum(main, "account ~ '银行存款'") == Decimal("150.00")
    assert book.fund_balance("general") == before
    txn = book.get("trf-1")
    assert txn is not None
    assert txn.meta["kind"] == "transfer"
    assert txn.meta["approved-by"] == "checker"
    assert_bean_check_passes(book.store)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"amount": Decimal("200.01")}, "amount", "余额只有 ¥200.00"),
        ({"to_channel": "wechat"}, "to_channel", "同一个账户"),
        ({"from_channel": "paypal"}, "from_channel", "账户须为"),
        ({"approved_by": ""}, "approved_by", "须经审批"),
        ({"approved_by": "clerk"}, "approved_by", "不能审批自己"),
        ({"note": "a\u202eb"}, "note", ""),
        ({"amount": Decimal("0")}, "amount", "大于零"),
    ],
)
def test_a_bad_transfer_is_refused_by_name_and_writes_nothing(
    book: Book, tmp_path: Path, changes: dict[str, object], field: str, words: str
) -> None:
    services.record_donation(book, donation("don-1", "200"))
    before = snapshot(book.store.root)
    with pytest.raises(RuleError) as refused:
        record_transfer(book, _transfer(**changes))
    assert refused.value.field == field
    assert words in refused.value.message
    assert snapshot(book.store.root) == before
    assert book.get("trf-1") is None
