"""Recompute figures with bean-query's engine, the public tool an auditor uses (DESIGN.md §6.3).

Every figure the app shows must equal what beanquery computes from the files alone. These helpers
give tests across the suites one way to ask::

    from beanquery_helpers import bean_query_sum, fund_where

    income = -bean_query_sum(main, f"account ~ '^Income' AND {fund_where('zhulaocan')}")

Notes on beanquery 0.2 (checked against its source): the default table is ``postings``;
``meta('key')`` reads a *posting's* metadata, ``entry_meta('key')`` the transaction's and
``any_meta('key')`` the posting's falling back to the transaction's; ``tags`` is the entry's tag
set (``'fund-x' IN tags``); dates are written as bare literals (``date < 2026-03-01``); and
``sum(number)`` over no rows returns no row at all, which :func:`bean_query_sum` turns into 0.
"""

from __future__ import annotations

import re
from decimal import Decimal
from os import PathLike
from typing import Any

import beanquery

_SLUG = re.compile(r"[a-z][a-z0-9-]{0,31}")
_ZERO = Decimal("0.00")


def connect(main_path: str | PathLike[str]) -> beanquery.Connection:
    """A beanquery connection on a ledger's main file; fails if Beancount reports any error."""
    conn = beanquery.connect("beancount:" + str(main_path))
    if conn.errors:
        raise AssertionError(f"the ledger does not load cleanly: {conn.errors[:3]}")
    return conn


def bean_query(
    main_path: str | PathLike[str] | beanquery.Connection,
    query: str,
    params: dict[str, Any] | tuple[Any, ...] | None = None,
) -> list[tuple[Any, ...]]:
    """Run one BQL query and return its rows (pass a connection to avoid reloading the files)."""
    conn = main_path if isinstance(main_path, beanquery.Connection) else connect(main_path)
    return list(conn.execute(query, params).fetchall())


def bean_query_sum(
    main_path: str | PathLike[str] | beanquery.Connection,
    where: str,
    params: dict[str, Any] | tuple[Any, ...] | None = None,
) -> Decimal:
    """``SELECT sum(number) WHERE <where>`` over all postings, in cents; 0 when nothing matches."""
    rows = bean_query(main_path, f"SELECT sum(number) AS total WHERE {where}", params)
    total = rows[0][0] if rows else None
    return _ZERO if total is None else Decimal(total).quantize(_ZERO)


def fund_where(slug: str) -> str:
    """A BQL condition: the posting belongs to fund ``slug``, the way ledger.book decides it.

    A posting's own ``fund`` metadata wins; otherwise the entry's ``#fund-<slug>`` tag (the ledger
    takes the tag only when an entry carries exactly one fund tag; entries here always do).
    """
    if not _SLUG.fullmatch(slug):
        raise ValueError(f"not a fund slug: {slug!r}")
    return f"(meta('fund') = '{slug}' OR (meta('fund') IS NULL AND 'fund-{slug}' IN tags))"


FUND_ROOTS = "account ~ '^(Income|Expenses|Equity):'"
