"""共享食堂 on real ledger folders: daily sales, costs, stock, the month view and 反哺."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from beancount.core import data
from beanquery_helpers import FUND_ROOTS, bean_query_sum, connect, fund_where
from ledger_testkit import assert_bean_check_passes, reversal, snapshot

from ledger import canteen, services
from ledger.book import Book
from ledger.canteen import (
    CanteenCost,
    CanteenDay,
    FeedbackCommand,
    FeedbackRule,
    SalesLine,
    SubsidyLine,
)
from ledger.errors import RuleError
from ledger.store import LedgerStore

RULE = FeedbackRule("2025-01", Decimal("0.5"), Decimal("500"), "zhulaocan")


def day(date: dt.date, **changes: object) -> CanteenDay:
    """A day: 120 elder meals (¥600), 40 standard (¥600), 10 staff (¥80), ¥3 subsidy per elder meal.

    Income of the day: ¥1,640.00.
    """
    sales = (
        SalesLine("elder", "wechat", 100, "500.00"),
        SalesLine("elder", "cash", 20, "100"),
        SalesLine("standard", "alipay", 40, "600"),
        SalesLine("staff", "cash", 10, "80"),
        SalesLine("group", "bank", 0, "0"),
    )
    fields: dict[str, object] = {
        "date": date,
        "sales": sales,
        "entered_by": "manager",
        "subsidies": (SubsidyLine("街道办事处", 120, "3"),),
    }
    fields.update(changes)
    return CanteenDay(**fields)  # type: ignore[arg-type]


def cost(
    entry_id: str,
    date: dt.date,
    kind: str,
    amount: str,
    *,
    paid_from: str = "bank",
    approved_by: str = "treasurer",
    to_stock: bool = False,
) -> CanteenCost:
    """An approved canteen cost."""
    return CanteenCost(
        id=entry_id,
        date=date,
        kind=kind,
        amount=amount,
        payee="供应商",
        entered_by="manager",
        approved_by=approved_by,
        paid_from=paid_from,
        to_stock=to_stock,
    )


def january(book: Book) -> None:
    """Three days of sales (¥4,920) and ¥3,500 of costs: a surplus of ¥1,420."""
    for d in (5, 6, 7):
        canteen.record_canteen_day(book, day(dt.date(2026, 1, d)))
    canteen.record_canteen_cost(book, cost("c-2601-food", dt.date(2026, 1, 8), "food", "1500"))
    canteen.record_canteen_cost(
        book, cost("c-2601-wages", dt.date(2026, 1, 31), "wages", "1200", paid_from="payable")
    )
    canteen.record_canteen_cost(book, cost("c-2601-rent", dt.date(2026, 1, 31), "rent", "800"))


def december_loss(book: Book) -> None:
    """One day of sales (¥1,640) against ¥2,000 of costs: a loss of ¥360."""
    canteen.record_canteen_day(book, day(dt.date(2025, 12, 20)))
    canteen.record_canteen_cost(book, cost("c-2512-rent", dt.date(2025, 12, 31), "rent", "2000"))


def february_loss(book: Book) -> None:
    """Spring Festival: one day of sales (¥1,640) against ¥4,000 of costs, a loss of ¥2,360."""
    canteen.record_canteen_day(book, day(dt.date(2026, 2, 3)))
    canteen.record_canteen_cost(book, cost("c-2602-wages", dt.date(2026, 2, 27), "wages", "4000"))


def units(posting: data.Posting) -> Decimal:
    """A posting's amount."""
    assert posting.units is not None
    assert isinstance(posting.units.number, Decimal)
    return posting.units.number


def refused(book: Book, store: LedgerStore, call: object) -> RuleError:
    """Run ``call``, expect a RuleError, and check the ledger files did not change at all."""
    before = snapshot(store.root)
    with pytest.raises(RuleError) as info:
        call()  # type: ignore[operator]
    assert snapshot(store.root) == before
    return info.value


def test_a_day_is_one_balanced_entry_with_meals_by_class_on_the_income_postings(
    book: Book, store: LedgerStore
) -> None:
    result = canteen.record_canteen_day(book, day(dt.date(2026, 3, 2)))
    assert result.id == "canteen-2026-03-02"
    txn = book.get(result.id)
    assert txn is not None
    assert txn.meta["kind"] == "canteen-day"
    assert "fund-canteen" in txn.tags
    income = {
        (p.meta or {})["meal-class"]: (units(p), (p.meta or {})["meals"])
        for p in txn.postings
        if p.account == canteen.SALES_INCOME
    }
    assert income == {
        "elder": (Decimal("-600.00"), 120),
        "standard": (Decimal("-600.00"), 40),
        "staff": (Decimal("-80.00"), 10),
    }
    incomes = [p for p in txn.postings if p.account.startswith("Income")]
    assert all((p.meta or {}).get("fund") == "canteen" for p in incomes)
    assert sum(units(p) for p in txn.postings) == 0
    assert book.fund_balance("canteen") == Decimal("1640.00")
    assert_bean_check_passes(store)


def test_the_month_view_shows_meals_revenue_subsidy_costs_and_earlier_months(
    book: Book,
) -> None:
    december_loss(book)
    january(book)
    month = canteen.canteen_month(book, "2026-01")
    assert month.meals == {"elder": 360, "standard": 120, "staff": 30, "group": 0}
    assert month.total_meals == 510
    assert month.revenue["elder"] == Decimal("1800.00")
    assert month.total_revenue == Decimal("3840.00")
    assert month.subsidies == {"街道办事处": Decimal("1080.00")}
    assert month.subsidy_per_elder_meal == Decimal("3.00")
    assert month.costs["food"] == Decimal("1500.00")
    assert month.costs["wages"] == Decimal("1200.00")
    assert month.total_costs == Decimal("3500.00")
    assert month.surplus == Decimal("1420.00")
    assert month.cost_per_meal == (Decimal("3500") / 510).quantize(Decimal("0.01"))
    assert [m.month for m in month.previous] == ["2025-12", "2025-11", "2025-10"]
    assert month.previous[0].surplus == Decimal("-360.00")
    assert month.previous[1].total_meals == 0
    assert month.previous[1].cost_per_meal is None


def test_a_surplus_month_proposes_the_rules_share_and_the_approved_transfer_matches_bean_query(
    book: Book, store: LedgerStore
) -> None:
    january(book)
    proposal = canteen.propose_feedback(book, "2026-01", [RULE])
    assert proposal.surplus == Decimal("1420.00")
    assert proposal.carried_loss == 0
    assert proposal.amount == Decimal("460.00")  # (1420 − 500) × 0.5
    assert proposal.target_fund == "zhulaocan"
    result = canteen.record_feedback(
        book,
        FeedbackCommand("2026-01", "460.00", "zhulaocan", "manager", "treasurer"),
        [RULE],
    )
    txn = book.get(result.id)
    assert txn is not None
    assert txn.meta["kind"] == "canteen-feedback"
    assert txn.meta["month"] == "2026-01"
    assert book.fund_balance("canteen") == Decimal("960.00")
    assert book.fund_balance("zhulaocan") == Decimal("460.00")
    assert canteen.total_fed_back(book) == {"zhulaocan": Decimal("460.00")}
    conn = connect(store.main)
    for slug in ("canteen", "zhulaocan"):
        ledger_sum = -bean_query_sum(conn, f"{FUND_ROOTS} AND {fund_where(slug)}")
        assert ledger_sum == book.fund_balance(slug)
    moved = bean_query_sum(
        conn, "entry_meta('kind') = 'canteen-feedback' AND meta('fund') = 'zhulaocan'"
    )
    assert moved == Decimal("-460.00")
    assert bean_query_sum(conn, "account ~ '3102' AND meta('fund') = 'zhulaocan'") == -460
    surplus = -bean_query_sum(
        conn,
        "account ~ '^(Income|Expenses):' AND meta('fund') = 'canteen' "
        "AND date >= 2026-01-01 AND date < 2026-02-01",
    )
    assert surplus == canteen.canteen_month(book, "2026-01").surplus
    assert canteen.canteen_month(book, "2026-01").fed_back == Decimal("460.00")
    assert_bean_check_passes(store)


def test_a_loss_is_carried_forward_before_any_transfer(book: Book, store: LedgerStore) -> None:
    december_loss(book)
    assert canteen.propose_feedback(book, "2025-12", [RULE]).amount == 0
    january(book)
    jan = canteen.propose_feedback(book, "2026-01", [RULE])
    assert jan.carried_loss == Decimal("360.00")
    assert jan.amount == Decimal("280.00")  # (1420 − 360 − 500) × 0.5
    canteen.record_feedback(
        book, FeedbackCommand("2026-01", "280", "zhulaocan", "manager", "treasurer"), [RULE]
    )
    february_loss(book)
    feb = canteen.propose_feedback(book, "2026-02", [RULE])
    assert feb.surplus == Decimal("-2360.00")
    assert feb.amount == 0
    assert feb.carried_loss == 0  # January's transfer came after December's loss was recovered
    assert feb.loss_after == Decimal("2360.00")
    assert "亏损" in feb.explanation
    # A loss month has nothing to transfer: any amount is refused.
    err = refused(
        book,
        store,
        lambda: canteen.record_feedback(
            book, FeedbackCommand("2026-02", "1", "zhulaocan", "manager", "treasurer"), [RULE]
        ),
    )
    assert err.field == "amount"
    for d in (2, 3, 4):
        canteen.record_canteen_day(book, day(dt.date(2026, 3, d)))
    canteen.record_canteen_cost(book, cost("c-2603-food", dt.date(2026, 3, 5), "food", "500"))
    march = canteen.propose_feedback(book, "2026-03", [RULE])
    assert march.surplus == Decimal("4420.00")
    assert march.carried_loss == Decimal("2360.00")
    assert march.amount == Decimal("780.00")  # (4420 − 2360 − 500) × 0.5
    assert_bean_check_passes(store)


def test_a_rule_change_between_months_leaves_the_earlier_months_proposal_unchanged(
    book: Book,
) -> None:
    january(book)
    before = canteen.propose_feedback(book, "2026-01", [RULE])
    new_rule = FeedbackRule("2026-02", Decimal("0.3"), Decimal("0"), "general")
    rules = [new_rule, RULE]
    after = canteen.propose_feedback(book, "2026-01", rules)
    assert after == before
    assert after.rule == RULE
    for d in (2, 3):
        canteen.record_canteen_day(book, day(dt.date(2026, 2, d)))
    feb = canteen.propose_feedback(book, "2026-02", rules)
    assert feb.rule == new_rule
    assert feb.target_fund == "general"
    assert feb.amount == Decimal("984.00")  # 3280 × 0.3, no reserve
    with pytest.raises(RuleError) as info:
        canteen.propose_feedback(book, "2024-12", rules)
    assert info.value.field == "rules"


def test_a_rounded_down_share_never_transfers_more_than_the_rule_allows(book: Book) -> None:
    canteen.record_canteen_day(book, day(dt.date(2026, 1, 5)))  # surplus 1640
    rule = FeedbackRule("2026-01", Decimal("0.333"), Decimal("0"), "general")
    assert canteen.propose_feedback(book, "2026-01", [rule]).amount == Decimal("546.12")


def test_month_end_stock_moves_unused_food_out_of_cost(book: Book, store: LedgerStore) -> None:
    january(book)
    canteen.record_closing_stock(book, "2026-01", "300", entered_by="manager")
    jan = canteen.canteen_month(book, "2026-01")
    assert jan.costs["food"] == Decimal("1200.00")
    assert canteen.stock_balance(book, dt.date(2026, 1, 31)) == Decimal("300.00")
    canteen.record_canteen_cost(
        book, cost("c-2602-food", dt.date(2026, 2, 2), "food", "400", to_stock=True)
    )
    assert canteen.canteen_month(book, "2026-02").costs["food"] == 0
    canteen.record_closing_stock(book, "2026-02", "100")
    assert canteen.canteen_month(book, "2026-02").costs["food"] == Decimal("600.00")
    assert canteen.stock_balance(book, dt.date(2026, 2, 28)) == Decimal("100.00")
    assert canteen.record_closing_stock(book, "2025-11", "0") is None
    err = refused(book, store, lambda: canteen.record_closing_stock(book, "2026-02", "50"))
    assert err.field == "month"
    err = refused(book, store, lambda: canteen.record_closing_stock(book, "2026-03", "50"))
    assert err.field == "month"
    assert err.code == "month_open"
    assert_bean_check_passes(store)


def test_a_day_recorded_twice_is_refused_and_names_the_date(book: Book, store: LedgerStore) -> None:
    canteen.record_canteen_day(book, day(dt.date(2026, 3, 2)))
    for again in (day(dt.date(2026, 3, 2)), day(dt.date(2026, 3, 2), note="补录")):
        err = refused(book, store, lambda a=again: canteen.record_canteen_day(book, a))
        assert err.field == "date"
        assert err.code == "day_recorded"
        assert "冲销" in err.message
        assert "reversal" in err.message


def test_a_reversed_day_can_be_entered_again_and_counts_once(
    book: Book, store: LedgerStore
) -> None:
    canteen.record_canteen_day(book, day(dt.date(2026, 3, 2)))
    services.record_reversal(
        book, reversal("rev-1", "canteen-2026-03-02", date=dt.date(2026, 3, 3))
    )
    assert canteen.canteen_month(book, "2026-03").total_meals == 0
    fixed = day(dt.date(2026, 3, 2), sales=(SalesLine("standard", "cash", 10, "150"),))
    result = canteen.record_canteen_day(book, fixed)
    assert result.id == "canteen-2026-03-02-2"
    month = canteen.canteen_month(book, "2026-03")
    assert month.meals["standard"] == 10
    assert month.meals["elder"] == 0
    assert month.total_revenue == Decimal("150.00")
    assert_bean_check_passes(store)


@pytest.mark.parametrize(
    ("sales", "field", "code"),
    [
        ((SalesLine("elder", "cash", -3, "10"),), "sales[0].meals", "negative"),
        (
            (SalesLine("staff", "cash", 1, "8"), SalesLine("elder", "cash", 2, "10.005")),
            "sales[1].amount",
            "invalid",
        ),
        ((SalesLine("group", "bank", 0, "300"),), "sales[0].meals", "no_meals"),
        ((SalesLine("vip", "cash", 1, "30"),), "sales[0].meal_class", "invalid"),
        ((SalesLine("elder", "cheque", 1, "5"),), "sales[0].channel", "invalid"),
        ((), "sales", "required"),
    ],
)
def test_bad_day_figures_are_refused_naming_the_line_and_field(
    book: Book, store: LedgerStore, sales: tuple[SalesLine, ...], field: str, code: str
) -> None:
    cmd = day(dt.date(2026, 3, 2), sales=sales)
    err = refused(book, store, lambda: canteen.record_canteen_day(book, cmd))
    assert (err.field, err.code) == (field, code)


def test_a_negative_subsidy_count_is_refused(book: Book, store: LedgerStore) -> None:
    cmd = day(dt.date(2026, 3, 2), subsidies=(SubsidyLine("街道办事处", -1, "3"),))
    err = refused(book, store, lambda: canteen.record_canteen_day(book, cmd))
    assert err.field == "subsidies[0].meals"


def test_a_cost_approved_by_its_maker_is_refused(book: Book, store: LedgerStore) -> None:
    for approver in ("manager", ""):
        bad = cost("c-1", dt.date(2026, 3, 2), "food", "100", approved_by=approver)
        err = refused(book, store, lambda b=bad: canteen.record_canteen_cost(book, b))
        assert err.field == "approved_by"


def test_costs_go_to_programme_cost_with_their_kind_or_to_payables(book: Book) -> None:
    canteen.record_canteen_cost(
        book, cost("c-w", dt.date(2026, 3, 2), "wages", "900", paid_from="payable")
    )
    canteen.record_canteen_cost(
        book, cost("c-u", dt.date(2026, 3, 2), "utilities", "120", paid_from="payable")
    )
    assert book.account_balance(canteen.WAGES_PAYABLE) == Decimal("-900.00")
    assert book.account_balance(canteen.PAYABLE) == Decimal("-120.00")
    txn = book.get("c-w")
    assert txn is not None
    assert txn.meta["cost-kind"] == "wages"
    assert canteen.canteen_month(book, "2026-03").costs["utilities"] == Decimal("120.00")
    with pytest.raises(RuleError) as info:
        canteen.record_canteen_cost(book, cost("c-x", dt.date(2026, 3, 2), "fuel", "1"))
    assert info.value.field == "kind"


def test_every_feedback_refusal_leaves_the_ledger_unchanged_and_names_the_field(
    book: Book, store: LedgerStore
) -> None:
    january(book)
    cases = [
        (FeedbackCommand("2026-01", "460", "zhulaocan", "manager", "manager"), "approved_by"),
        (FeedbackCommand("2026-01", "461", "zhulaocan", "manager", "treasurer"), "amount"),
        (FeedbackCommand("2026-01", "460", "general", "manager", "treasurer"), "target_fund"),
        (FeedbackCommand("2026-03", "460", "zhulaocan", "manager", "treasurer"), "month"),
        (FeedbackCommand("2026-1", "460", "zhulaocan", "manager", "treasurer"), "month"),
    ]
    for cmd, field in cases:
        err = refused(book, store, lambda c=cmd: canteen.record_feedback(book, c, [RULE]))
        assert err.field == field, cmd
    good = FeedbackCommand("2026-01", "460", "zhulaocan", "manager", "treasurer")
    canteen.record_feedback(book, good, [RULE])
    again = FeedbackCommand("2026-01", "460", "zhulaocan", "clerk", "chair")
    err = refused(book, store, lambda: canteen.record_feedback(book, again, [RULE]))
    assert (err.field, err.code) == ("month", "already_fed_back")
    assert canteen.total_fed_back(book) == {"zhulaocan": Decimal("460.00")}
    assert_bean_check_passes(store)
