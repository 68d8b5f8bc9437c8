"""Immutable records the domain passes around: new entries before they are written, and funds."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

#: Entry ids double as idempotency keys and Beancount links, so they use the link alphabet.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SLUG_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,31}")

MetaValue = str | Decimal | int | dt.date | bool


@dataclass(frozen=True)
class Posting:
    """One leg of a transaction: an account, a signed CNY amount and optional posting metadata."""

    account: str
    amount: Decimal
    meta: tuple[tuple[str, MetaValue], ...] = ()


@dataclass(frozen=True)
class NewEntry:
    """A transaction about to be written by the app.

    ``meta`` holds the caller's metadata (``entered-by``, ``donor`` …); the store adds ``id``,
    ``seq``, ``prev`` and ``hash`` when it appends.
    """

    id: str
    date: dt.date
    payee: str
    narration: str
    postings: tuple[Posting, ...]
    tags: frozenset[str] = frozenset()
    links: frozenset[str] = frozenset()
    meta: tuple[tuple[str, MetaValue], ...] = ()
    flag: str = "*"


@dataclass(frozen=True)
class Fund:
    """A fund: a dimension across accounts (the general micro-fund, a restricted purpose, the canteen).

    Declared in the ledger itself with ``custom "fund"`` directives, so the file describes itself.
    """

    slug: str
    name: str
    restricted: bool
    purpose: str = ""
    #: Operating units (the canteen) may run a deficit; donated money may never be overspent.
    may_overdraw: bool = False
    opened: dt.date = dt.date(2000, 1, 1)
    name_en: str = ""


@dataclass(frozen=True)
class AccountInfo:
    """An open account with the Chinese name and statement line its ``open`` metadata declares."""

    name: str
    display: str
    statement_line: str
    opened: dt.date
    closed: dt.date | None = None


@dataclass(frozen=True)
class WriteResult:
    """What a service returns after an entry is in the ledger (or already was)."""

    id: str
    head_hash: str
    seq: int
    created: bool = True
    extra: dict[str, str] = field(default_factory=dict)
