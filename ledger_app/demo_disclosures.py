"""Demo 信息公开: the disclosures a careful but busy fund would have published over the demo year.

Published through the same :func:`ledger_app.disclosure_workflow.publish` as the form, on dates
within each duty's window: the closed spring project's close-out on time, the homework corner's
quarterly progress on time, the repair days' first quarterly late and its second not at all (so
the calendar shows something overdue), and the annual report of the year before.
"""

from __future__ import annotations

import datetime as dt

from ledger import disclosure_due as due
from ledger.book import TZ, ZERO, Book
from ledger.money import format_cny
from ledger_app import disclosure_workflow as dw

#: Days after a duty's window opens (or before its due date, when negative) each one is met.
#: Grants: 2026-S01 the courtyard (closed), 2026-S02 the homework corner, 2026-S03 repair days.
_PLAN = {
    ("closeout", "2026-S01", 1): 16,
    ("quarterly", "2026-S02", 1): -9,
    ("quarterly", "2026-S02", 2): -4,
    ("quarterly", "2026-S03", 1): 103,  # eleven days after it was due: published late
}
_ANNUAL_ON = (4, 28)


def _at(day: dt.date) -> dt.datetime:
    """10:00 in China on ``day``, as the database's naive UTC."""
    return (
        dt.datetime(day.year, day.month, day.day, 10, tzinfo=TZ)
        .astimezone(dt.UTC)
        .replace(tzinfo=None)
    )


def _body(o: due.Obligation) -> str:
    if o.kind == "closeout":
        return (
            f"项目已于 {o.period} 结项。结余资金 {format_cny(o.returned or ZERO)} 已退回社区微基金。\n"
            f"剩余物资：{o.leftover or '无'}。\n"
            "花台与扶手已交付使用，60户居民、12位高龄老人受益，居民满意度 92%。"
        )
    if o.kind == "quarterly":
        return (
            f"本期（{o.opens} 至 {o.due}）开展活动 12 次，参与居民约 30 人次。\n"
            "拨付款项按预算使用，票据已交社区财务审核。"
        )
    return (
        f"{o.subject}年度工作报告和财务会计报告：资产负债表、业务活动表、现金流量表"
        "按《民间非营利组织会计制度》编制，全文可在社区公示栏和本网站查阅。"
    )


def load_demo_disclosures(book: Book, days: list[dt.date]) -> str:
    """Publish the demo's disclosures as of the demo's last day; returns a summary."""
    today = days[-1]
    cal = dw.calendar(book, today)
    published = 0
    overdue = len(cal.overdue)
    counters: dict[tuple[str, str], int] = {}
    duties = sorted(cal.obligations, key=lambda o: (o.kind, o.subject, o.opens))
    for o in duties:
        if o.done:
            continue
        key = (o.kind, o.subject)
        counters[key] = counters.get(key, 0) + 1
        if o.kind == "annual":
            day = dt.date(o.opens.year, *_ANNUAL_ON)
        else:
            offset = _PLAN.get((o.kind, o.subject, counters[key]))
            if offset is None:
                continue
            day = (
                o.opens + dt.timedelta(days=offset) if offset > 0 else o.due + dt.timedelta(offset)
            )
        if day > today:
            continue
        dw.publish(
            book,
            due.Draft(o.kind, o.subject, o.period, o.title, _body(o)),
            "admin",
            day,
            published_at=_at(day),
        )
        published += 1
    overdue = len(dw.calendar(book, today).overdue)
    return f"disclosures: {published} published, {overdue} overdue"
