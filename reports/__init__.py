"""PDF reports: each takes finished view data from ``ledger`` queries and returns PDF bytes."""

from reports.fund_statement import build_fund_statement
from reports.notice import build_notice
from reports.receipt import build_receipt

__all__ = ["build_fund_statement", "build_notice", "build_receipt"]
