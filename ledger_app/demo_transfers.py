"""Demo transfers: at each month end the WeChat Pay and Alipay balances are withdrawn to the bank
and the cash box is paid in down to a small float, as a fund's treasurer does before the month
is reconciled. Entered by ``admin`` and approved by ``approver`` through the approvals workflow.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ledger import chart, periods
from ledger.book import Book
from ledger_app import workflow

#: Cash kept in the box for petty spending after each month's paying-in.
CASH_FLOAT = Decimal("2000.00")


def _balance_until(book: Book, account: str, day: dt.date) -> Decimal:
    """The account's balance at the end of ``day`` (cents)."""
    total = Decimal("0.00")
    for txn in book.ordered():
        if txn.date > day:
            break
        for posting in txn.postings:
            if posting.account == account and posting.units is not None:
                total += Decimal(posting.units.number or 0)
    return total


def sweep_demo_months(book: Book, days: list[dt.date]) -> str:
    """One withdrawal per e-wallet and one paying-in of cash at each month end of the demo."""
    if not days:
        return "0 transfers"
    count = 0
    day = days[0].replace(day=1)
    while True:
        _first, end = periods.month_bounds(day.strftime("%Y-%m"))
        if end > days[-1]:
            break
        for channel, keep in (("wechat", Decimal(0)), ("alipay", Decimal(0)), ("cash", CASH_FLOAT)):
            book.refresh()
            held = _balance_until(book, chart.CHANNEL_ACCOUNTS[channel], end)
            amount = (held - keep).quantize(Decimal("0.01"))
            if amount <= 0:
                continue
            req = workflow.request_transfer(
                book,
                workflow.TransferInput(
                    id=f"demo-trf-{end:%Y%m}-{channel}",
                    date=end,
                    amount=amount,
                    from_channel=channel,
                    to_channel="bank",
                    note="月末归集到银行账户",
                ),
                "admin",
                source="demo",
            )
            workflow.approve_request(book, req.id, "approver")
            count += 1
        day = end + dt.timedelta(days=1)
    return f"{count} month-end transfers to the bank"
