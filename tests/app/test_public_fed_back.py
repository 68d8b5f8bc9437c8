"""The public home page shows what the shared canteen has fed back (反哺), as the ledger says."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app_testkit import main_file
from beanquery_helpers import bean_query_sum

from ledger import canteen
from ledger_app.books import get_book
from ledger_app.forms_common import today


def test_the_canteens_feedback_shows_on_the_home_page_as_bean_query(app, client):
    first = (today().replace(day=1) - dt.timedelta(days=40)).replace(day=1)
    month = f"{first:%Y-%m}"
    rule = canteen.FeedbackRule(month, Decimal("0.5"), Decimal("100.00"), "zhulaocan")
    with app.app_context():
        book = get_book()
        canteen.record_canteen_day(
            book,
            canteen.CanteenDay(
                date=first,
                entered_by="admin",
                sales=(canteen.SalesLine("standard", "wechat", 100, "1500.00"),),
            ),
        )
        canteen.record_canteen_cost(
            book,
            canteen.CanteenCost(
                id="food-1",
                date=first,
                kind="food",
                amount="700.00",
                payee="菜市场",
                entered_by="admin",
                approved_by="approver",
            ),
        )
        proposal = canteen.propose_feedback(book, month, [rule])
        assert proposal.amount == Decimal("350.00")  # (1500 − 700 − 100) × 0.5
        canteen.record_feedback(
            book,
            canteen.FeedbackCommand(month, proposal.amount, "zhulaocan", "admin", "approver"),
            [rule],
        )
    fed = -bean_query_sum(
        main_file(app),
        "entry_meta('kind') = 'canteen-feedback' AND meta('fund') = 'zhulaocan'",
    )
    assert fed == Decimal("350.00")
    page = client.get("/").get_data(as_text=True)
    section = page[page.index("共享食堂反哺") :]
    section = section[: section.index("</section>")]
    assert "助老餐" in section
    assert "¥350.00" in section
