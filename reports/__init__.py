"""PDF reports: each takes finished view data from ``ledger.queries`` and returns PDF bytes."""

from reports.fund_statement import build_fund_statement

__all__ = ["build_fund_statement"]
