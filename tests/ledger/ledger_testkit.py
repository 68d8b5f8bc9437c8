"""Helpers shared by the domain tests (and by writer_proc.py, which runs in other processes)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from beancount import loader
from beancount.core import data

from ledger import chart, services
from ledger.book import TZ
from ledger.store import LedgerStore

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

#: The Books in these tests live on 2026-03-15, so every date up to then is "not in the future".
NOW = dt.datetime(2026, 3, 15, 10, 0, tzinfo=TZ)
TODAY = NOW.date()
FUNDS = chart.DEFAULT_FUNDS + chart.DEMO_RESTRICTED_FUNDS
OPENED = dt.date(2020, 1, 1)


def fixed_clock() -> dt.datetime:
    """The clock of every Book in these tests."""
    return NOW


def make_store(
    root: Path, *, closed_months: Iterable[str] = (), extra_accounts_text: str = ""
) -> LedgerStore:
    """Create a ledger folder: default chart, four funds, optionally closed months.

    Closed months and any extra declarations go into accounts.beancount before any Book opens it,
    the way an administrator's close (or a hand edit) would leave them.
    """
    store = LedgerStore(root)
    store.init(opened=OPENED, funds=FUNDS)
    extra = "".join(f'2026-03-01 custom "period-close" "{month}"\n' for month in closed_months)
    extra += extra_accounts_text
    if extra:
        with store.accounts.open("a", encoding="utf-8") as fh:
            fh.write("\n" + extra)
    return store


def donation(
    entry_id: str,
    amount: str = "100",
    *,
    fund: str = "general",
    date: dt.date = dt.date(2026, 3, 1),
    channel: str = "wechat",
    donor_ref: str = "D0001",
    donor_public: str = "张*",
    note: str = "",
    entered_by: str = "clerk",
) -> services.DonationCommand:
    """A donation command with sensible defaults."""
    return services.DonationCommand(
        id=entry_id,
        date=date,
        amount=amount,
        fund=fund,
        channel=channel,
        donor_ref=donor_ref,
        donor_public=donor_public,
        entered_by=entered_by,
        note=note,
    )


def expense(
    entry_id: str,
    amount: str = "50",
    *,
    fund: str = "general",
    date: dt.date = dt.date(2026, 3, 2),
    payee: str = "菜市场",
    purpose: str = "助老餐食材",
    entered_by: str = "clerk",
    approved_by: str = "chair",
    line: str = "programme",
    paid_from: str = "bank",
) -> services.ExpenseCommand:
    """An approved expense command with sensible defaults."""
    return services.ExpenseCommand(
        id=entry_id,
        date=date,
        amount=amount,
        fund=fund,
        payee=payee,
        purpose=purpose,
        entered_by=entered_by,
        approved_by=approved_by,
        line=line,
        paid_from=paid_from,
    )


def reversal(
    entry_id: str,
    original_id: str,
    *,
    reason: str = "录入有误",
    date: dt.date = dt.date(2026, 3, 3),
    entered_by: str = "clerk",
    approved_by: str = "chair",
) -> services.ReversalCommand:
    """An approved reversal command with sensible defaults."""
    return services.ReversalCommand(
        id=entry_id,
        date=date,
        original_id=original_id,
        reason=reason,
        entered_by=entered_by,
        approved_by=approved_by,
    )


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under the ledger folder with its exact bytes (lock and state files included)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def load(store: LedgerStore) -> tuple[list[data.Directive], list[object]]:
    """The ledger as Beancount's own loader sees it: entries and errors."""
    entries, errors, _ = loader.load_file(str(store.main))
    return entries, errors


def transactions(store: LedgerStore) -> list[data.Transaction]:
    """Every transaction in the files, as loaded by Beancount."""
    entries, errors = load(store)
    assert errors == []
    return [e for e in entries if isinstance(e, data.Transaction)]


def ids_in_files(store: LedgerStore) -> list[str]:
    """The ``id`` of every app-written transaction, in file order (duplicates kept)."""
    return [str(t.meta["id"]) for t in transactions(store) if "id" in t.meta]


def bean_check(main: Path) -> subprocess.CompletedProcess[str]:
    """Run the real ``bean-check`` (no pickle cache beside the ledger) and return its outcome."""
    exe = Path(sys.executable).with_name("bean-check")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "beancount.scripts.check"]
    return subprocess.run(
        [*cmd, "--no-cache", str(main)], capture_output=True, text=True, timeout=60, check=False
    )


def assert_bean_check_passes(store: LedgerStore) -> None:
    """bean-check exits 0 and prints nothing."""
    result = bean_check(store.main)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def subprocess_env() -> dict[str, str]:
    """Environment for child processes that import ``ledger`` and these helpers."""
    env = dict(os.environ)
    paths = [str(ROOT), str(HERE)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def year_text(store: LedgerStore, year: int = 2026) -> str:
    """The text of one year file."""
    return store.year_file(year).read_text("utf-8")


def append_text(store: LedgerStore, text: str, year: int = 2026) -> None:
    """Append text to a year file by hand, as a person with an editor would."""
    with store.year_file(year).open("a", encoding="utf-8") as fh:
        fh.write(text)


def cny(value: str) -> Decimal:
    """A Decimal amount in cents."""
    return Decimal(value).quantize(Decimal("0.01"))
