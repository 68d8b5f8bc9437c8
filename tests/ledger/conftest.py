"""Fixtures for the domain tests: a real ledger folder in tmp_path, a Book on a fixed clock."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The project is not necessarily installed: make ``ledger`` importable, and the shared helpers in
# tests/ (beanquery_helpers) too. tests/ goes last so its folders never shadow the real packages.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "tests") not in sys.path:
    sys.path.append(str(ROOT / "tests"))

from ledger_testkit import fixed_clock, make_store  # noqa: E402

from ledger.book import Book  # noqa: E402
from ledger.store import LedgerStore  # noqa: E402


@pytest.fixture
def store(tmp_path: Path) -> LedgerStore:
    """A new ledger: the default chart, the general and canteen funds, two restricted funds."""
    return make_store(tmp_path / "ledger")


@pytest.fixture
def book(store: LedgerStore) -> Book:
    """A Book open on ``store`` whose clock stands at 2026-03-15 10:00 in China."""
    return Book(store, clock=fixed_clock).open()
