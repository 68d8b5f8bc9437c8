"""Demo month closes: every month of the demo year up to last month, reconciled and closed.

The ledger balances stand in for the bank, WeChat Pay, Alipay and cash statements (the demo has
no real statements); each close is requested by ``admin`` and approved by ``approver`` through
the same workflow the pages use, so the demo ledger carries ``balance`` assertions and
``custom "period-close"`` directives like a real one.
"""

from __future__ import annotations

import datetime as dt

from ledger import periods
from ledger.book import Book
from ledger_app import periods_workflow, workflow


def close_demo_months(book: Book, days: list[dt.date]) -> str:
    """Close each month from the demo's first day up to last month; returns a summary."""
    if not days:
        return "0 months closed"
    now = book.clock()
    last = min(days[-1], now.date() - dt.timedelta(days=1))
    months: list[str] = []
    day = days[0].replace(day=1)
    while True:
        month = day.strftime("%Y-%m")
        _first, end = periods.month_bounds(month)
        if end > last or end >= now.date():
            break
        months.append(month)
        day = end + dt.timedelta(days=1)
    closed = 0
    for month in months:
        book.refresh()
        if month in book.closed_months:
            continue
        statements = {
            account: book.account_balance(account, until=month)
            for account in periods.RECONCILED
            if account in book.accounts
        }
        req = periods_workflow.request_close(book, month, statements, "admin", source="demo")
        workflow.approve_request(book, req.id, "approver")
        closed += 1
    return f"{closed} months closed"
