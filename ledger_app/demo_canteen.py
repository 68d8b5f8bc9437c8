"""Demo 共享食堂: a year of daily sales with seasons, elder share, subsidies and costs, and a loss
month around the Spring Festival, written through ledger.canteen's services."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from ledger import canteen
from ledger.book import Book

PRICES = {
    "elder": Decimal("8.00"),
    "standard": Decimal("15.00"),
    "staff": Decimal("10.00"),
    "group": Decimal("22.00"),
}
SPRING_FESTIVAL = {2026: dt.date(2026, 2, 17), 2027: dt.date(2027, 2, 6)}


def _volume(rng: random.Random, day: dt.date) -> int:
    """Meals on a day: busier on weekdays, quieter in summer heat, nearly shut at Spring Festival."""
    base = 300 if day.weekday() < 5 else 190
    season = {1: 1.0, 2: 0.75, 7: 0.85, 8: 0.85, 10: 0.95}.get(day.month, 1.0)
    festival = SPRING_FESTIVAL.get(day.year)
    if festival and -3 <= (day - festival).days <= 10:
        season = 0.12
    return max(20, int(base * season * rng.uniform(0.9, 1.1)))


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def load_demo_canteen(book: Book, days: list[dt.date], *, seed: int = 2026) -> str:
    """Write each day's sales and subsidies, weekly food purchases and monthly wages, rent and
    utilities; returns a one-line summary."""
    rng = random.Random(seed + 7)
    written = 0
    for day in days:
        meals = _volume(rng, day)
        elder = int(meals * rng.uniform(0.42, 0.5))
        staff = int(meals * 0.05)
        group = 30 if day.weekday() == 2 and rng.random() < 0.5 else 0
        standard = max(0, meals - elder - staff - group)
        sales = []
        for meal_class, count, split in (
            ("elder", elder, {"cash": 0.4, "wechat": 0.6}),
            ("standard", standard, {"wechat": 0.7, "alipay": 0.3}),
            ("staff", staff, {"wechat": 1.0}),
            ("group", group, {"bank": 1.0}),
        ):
            remaining = count
            for n, (channel, share) in enumerate(split.items()):
                part = remaining if n == len(split) - 1 else int(count * share)
                remaining -= part
                if part:
                    sales.append(
                        canteen.SalesLine(
                            meal_class, channel, part, _money(PRICES[meal_class] * part)
                        )
                    )
        subsidies = (
            (canteen.SubsidyLine("督院街街道办事处", elder, Decimal("3.00")),) if elder else ()
        )
        canteen.record_canteen_day(
            book,
            canteen.CanteenDay(
                date=day, sales=tuple(sales), subsidies=subsidies, entered_by="admin", source="demo"
            ),
        )
        written += 1
        if day.weekday() == 0:  # the weekly market run
            week_meals = meals * 6
            food = _money(
                Decimal(week_meals) * Decimal("7.50") * Decimal(str(rng.uniform(0.95, 1.05)))
            )
            canteen.record_canteen_cost(
                book,
                canteen.CanteenCost(
                    id=f"demo-food-{day:%Y%m%d}",
                    date=day,
                    kind="food",
                    amount=food,
                    payee="锦江区农贸市场",
                    entered_by="admin",
                    approved_by="approver",
                    source="demo",
                ),
            )
        if day.day == 28 or (day == days[-1] and day.day < 28):
            month = f"{day:%Y%m}"
            for kind, amount, payee in (
                ("wages", "28000.00", "食堂员工（5人）"),
                ("rent", "3000.00", "督院街社区居委会"),
                ("utilities", "1650.00", "国网成都供电公司等"),
            ):
                canteen.record_canteen_cost(
                    book,
                    canteen.CanteenCost(
                        id=f"demo-{kind}-{month}",
                        date=day,
                        kind=kind,
                        amount=amount,
                        payee=payee,
                        entered_by="admin",
                        approved_by="approver",
                        source="demo",
                    ),
                )
    return f"canteen: {written} days of sales"


def feed_back_demo_months(book: Book, days: list[dt.date]) -> str:
    """A 反哺 rule from the first month (half the surplus after a ¥5,000 reserve, to 助老餐),
    then each ended month's transfer asked by the administrator and approved by the approver.
    Loss months transfer nothing and their loss is carried first."""
    from ledger.errors import RuleError
    from ledger_app import canteen_workflow, workflow

    first = days[0].strftime("%Y-%m")
    canteen_workflow.add_rule(
        book, first, "0.5", "5000", "zhulaocan", "admin", note="盈余扣除5000元储备后，50%反哺助老餐"
    )
    months = sorted({d.strftime("%Y-%m") for d in days})[:-1]
    done = 0
    for month in months:
        try:
            req = canteen_workflow.request_feedback(book, month, "admin")
        except RuleError:
            continue  # a loss month, or nothing above the reserve: no transfer
        workflow.approve_request(book, req.id, "approver")
        done += 1
    return f"{done} months fed back"
