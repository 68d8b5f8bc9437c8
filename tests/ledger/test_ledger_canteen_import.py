"""A point-of-sale daily summary imported into canteen days: all or nothing, row and column named."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from beanquery_helpers import bean_query_sum
from ledger_testkit import assert_bean_check_passes, snapshot

from ledger import canteen
from ledger.book import Book
from ledger.canteen_import import import_canteen_sales, parse_pos_summary
from ledger.errors import RuleError
from ledger.statements import StatementError

DATA = Path(__file__).resolve().parents[1] / "data" / "canteen"


def test_a_pos_summary_previews_then_posts_each_day_as_bean_query_sees_it(book: Book) -> None:
    raw = (DATA / "pos.csv").read_bytes()
    before = snapshot(book.store.root)
    preview = import_canteen_sales(book, raw, actor="clerk", post=False)
    assert [(d.date, d.meals, d.amount, d.status) for d in preview] == [
        (dt.date(2026, 3, 2), 310, Decimal("3530.00"), "new"),
        (dt.date(2026, 3, 3), 270, Decimal("3280.00"), "new"),
    ]
    assert snapshot(book.store.root) == before
    posted = import_canteen_sales(book, raw, actor="clerk", post=True)
    assert [d.status for d in posted] == ["posted", "posted"]
    income = -bean_query_sum(
        book.store.main, "entry_meta('kind') = 'canteen-day' AND account ~ '^Income:4301'"
    )
    assert income == Decimal("6810.00")
    assert canteen.canteen_month(book, "2026-03").total_meals == 580
    assert_bean_check_passes(book.store)


def test_importing_the_same_summary_again_posts_nothing(book: Book) -> None:
    raw = (DATA / "pos.csv").read_bytes()
    import_canteen_sales(book, raw, actor="clerk", post=True)
    before = snapshot(book.store.root)
    again = import_canteen_sales(book, raw, actor="clerk", post=False)
    assert {d.status for d in again} == {"recorded"}
    with pytest.raises(RuleError) as info:
        import_canteen_sales(book, raw, actor="clerk", post=True)
    assert info.value.code == "day_recorded"
    assert snapshot(book.store.root) == before


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("日期,餐别,支付方式,份数\n2026-03-02,标准,微信,1\n", "缺少「金额」列"),
        ("日期,餐别,支付方式,份数,金额\n2026-13-40,标准,微信,1,15\n", "第 2 行「日期」列"),
        ("日期,餐别,支付方式,份数,金额\n2026-03-02,夜宵,微信,1,15\n", "第 2 行「餐别」列"),
        ("日期,餐别,支付方式,份数,金额\n2026-03-02,标准,信用卡,1,15\n", "第 2 行「支付方式」列"),
        ("日期,餐别,支付方式,份数,金额\n2026-03-02,标准,微信,-1,15\n", "第 2 行「份数」列"),
        ("日期,餐别,支付方式,份数,金额\n2026-03-02,标准,微信,1,1E+3\n", "第 2 行「金额」列"),
        (
            "日期,餐别,支付方式,份数,金额\n2026-03-02,标准,微信,1,15\n2026-03-02,标准,微信,2,30\n",
            "第 3 行「餐别」列",
        ),
        ("", "文件是空的"),
    ],
)
def test_a_malformed_summary_names_row_and_column_and_posts_nothing(
    book: Book, text: str, where: str
) -> None:
    before = snapshot(book.store.root)
    with pytest.raises(StatementError) as info:
        import_canteen_sales(book, text.encode("utf-8"), actor="clerk", post=True)
    assert where in info.value.message
    assert info.value.field == "file"
    assert snapshot(book.store.root) == before


def test_a_gbk_summary_is_read(book: Book) -> None:
    raw = (DATA / "pos.csv").read_text("utf-8").encode("gbk")
    assert sorted(parse_pos_summary(raw)) == [dt.date(2026, 3, 2), dt.date(2026, 3, 3)]


def test_a_summary_with_a_bad_row_leaves_the_good_days_unposted(book: Book) -> None:
    before = snapshot(book.store.root)
    with pytest.raises(StatementError):
        import_canteen_sales(book, (DATA / "pos_bad.csv").read_bytes(), actor="clerk", post=True)
    assert snapshot(book.store.root) == before
