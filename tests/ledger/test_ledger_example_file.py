"""The shared example ledger in tests/data documents the conventions; the writer must produce it
byte for byte (whole-file assertions, as Fava's tests do)."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

from ledger_testkit import fixed_clock, make_store

from ledger import services
from ledger.book import Book

DATA = Path(__file__).resolve().parents[1] / "data"


def _write_example(root: Path) -> Path:
    store = make_store(root)
    book = Book(store, clock=fixed_clock).open()
    services.record_donation(
        book,
        services.DonationCommand(
            id="don-20260301-0001",
            date=dt.date(2026, 3, 1),
            amount=Decimal("200.00"),
            fund="zhulaocan",
            channel="wechat",
            donor_ref="d-3f9a1c2b07e4",
            donor_public='张* "老师"',
            entered_by="admin",
            note="重阳节 \\ 助老餐",
            verify="7K3Q9XZ2",
        ),
    )
    services.record_donation(
        book,
        services.DonationCommand(
            id="don-20260302-0002",
            date=dt.date(2026, 3, 2),
            amount=Decimal("30000.00"),
            fund="general",
            channel="bank",
            donor_ref="d-0a1b2c3d4e5f",
            donor_public="督院街街道办事处",
            entered_by="admin",
            note="季度补充资金",
            donor_kind="government",
            display="name",
            verify="M4R8T2WQ",
        ),
    )
    services.record_expense(
        book,
        services.ExpenseCommand(
            id="exp-20260305-0001",
            date=dt.date(2026, 3, 5),
            amount=Decimal("150.00"),
            fund="zhulaocan",
            payee="督院街共享食堂",
            purpose="助老餐补贴（3月第1周）",
            entered_by="admin",
            approved_by="approver",
            request="exp-20260305-0001",
        ),
    )
    services.record_reversal(
        book,
        services.ReversalCommand(
            id="rev-20260306-0001",
            date=dt.date(2026, 3, 6),
            original_id="don-20260302-0002",
            reason="银行到账金额有误，重新录入",
            entered_by="admin",
            approved_by="approver",
        ),
    )
    return store.year_file(2026)


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text("utf-8")
        for p in sorted(root.rglob("*.beancount"))
    }


def test_the_writer_produces_the_example_ledger_byte_for_byte(tmp_path: Path) -> None:
    root = tmp_path / "ledger"
    _write_example(root)
    expected = DATA / "example-ledger"
    if os.environ.get("UPDATE_EXAMPLE_LEDGER") == "1":  # regenerate after a deliberate change
        for rel, text in _tree(root).items():
            (expected / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected / rel).write_text(text, "utf-8")
    assert _tree(root) == _tree(expected)


def test_the_example_ledger_passes_bean_check_and_its_chain_verifies() -> None:
    from beancount import loader

    from ledger import chain

    entries, errors, _ = loader.load_file(str(DATA / "example-ledger" / "main.beancount"))
    assert errors == []
    report = chain.verify(entries)
    assert report.ok
    assert report.entries == 4
