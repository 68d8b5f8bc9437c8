"""Several processes write at once, and a writer is killed mid-stream (§6.1, §6.2, §6.6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from ledger_testkit import (
    HERE,
    append_text,
    assert_bean_check_passes,
    fixed_clock,
    ids_in_files,
    load,
    subprocess_env,
)

from ledger import chain
from ledger.book import Book
from ledger.store import LedgerStore

WRITER = HERE / "writer_proc.py"
PROCESSES = 4
UNIQUE = 20
SHARED = 5


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )


def _chain_of(store: LedgerStore) -> tuple[chain.ChainReport, list[int]]:
    entries, errors = load(store)
    assert errors == []
    seqs = sorted(s for e in entries if (s := chain.seq_of(e)) is not None)
    return chain.verify(entries), seqs


@pytest.mark.slow
def test_four_processes_writing_at_once_lose_nothing_and_repeat_nothing(
    store: LedgerStore,
) -> None:
    procs = [
        _spawn(str(store.root), "batch", str(i), str(UNIQUE), str(SHARED)) for i in range(PROCESSES)
    ]
    try:
        for proc in procs:  # every writer has its Book open before any of them writes
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.stderr
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err

    reports = [line.split() for out, _ in outputs for line in out.splitlines()]
    assert len(reports) == PROCESSES * (UNIQUE + SHARED)
    created = Counter(entry_id for entry_id, was_created, _seq in reports if was_created == "1")
    assert all(n == 1 for n in created.values())
    for n in range(SHARED):  # each shared id: written once, acknowledged to all four
        assert created[f"shared-{n}"] == 1
        assert {seq for entry_id, _, seq in reports if entry_id == f"shared-{n}"} == {
            next(seq for entry_id, c, seq in reports if entry_id == f"shared-{n}" and c == "1")
        }

    ids = ids_in_files(store)
    expected = {f"p{i}-{n}" for i in range(PROCESSES) for n in range(UNIQUE)}
    expected |= {f"shared-{n}" for n in range(SHARED)}
    assert len(ids) == len(set(ids)) == PROCESSES * UNIQUE + SHARED
    assert set(ids) == expected

    assert_bean_check_passes(store)
    report, seqs = _chain_of(store)
    assert report.ok, report
    assert seqs == list(range(1, PROCESSES * UNIQUE + SHARED + 1))

    book = Book(store, clock=fixed_clock).open()
    assert book.seq == len(seqs)
    assert book.head_hash == report.head
    shared_total = sum(Decimal(f"{n + 1}0.00") for n in range(SHARED))
    assert book.fund_balance("meiyuanzi") == shared_total

    # Confirmation numbers: one per donation, the yearly sequence with no gap and no repeat.
    entries, _errors = load(store)
    receipts = sorted(str(e.meta["receipt"]) for e in entries if "receipt" in (e.meta or {}))
    total = PROCESSES * UNIQUE + SHARED
    assert receipts == [f"2026-{n:06d}" for n in range(1, total + 1)]
    assert book.receipts_issued(2026) == total


@pytest.mark.slow
def test_a_writer_killed_mid_stream_loses_no_acknowledged_entry(store: LedgerStore) -> None:
    proc = _spawn(str(store.root), "loop", "crash")
    acknowledged: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while len(acknowledged) < 8 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acknowledged.append(line.strip())
        assert len(acknowledged) >= 8, proc.stderr.read() if proc.stderr else ""
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        out, _err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # lines printed before the kill were acknowledged too; a cut-off last line was not
    acknowledged += [line for line in out.splitlines(keepends=True) if line.endswith("\n")]
    acknowledged = [a.strip() for a in acknowledged]

    # and as if the machine died inside a write: half a framed entry at the end of the file
    append_text(
        store,
        "; >>> entry 999999\n"
        '2026-03-09 * "半截" "捐赠" #donation #fund-general ^torn\n'
        '  id: "torn"\n'
        "  Assets:1009-其他货币资金:微信支付  10.00 CNY\n",
    )

    book = Book(store, clock=fixed_clock).open()
    assert any('id: "torn"' in repair.removed_text for repair in book.repairs)
    assert book.errors == []
    ids = ids_in_files(store)
    assert set(acknowledged) <= set(ids)
    assert len(ids) == len(set(ids))
    assert "torn" not in ids
    assert_bean_check_passes(store)
    report, seqs = _chain_of(store)
    assert report.ok, report
    assert seqs == list(range(1, len(ids) + 1))
    assert book.seq == len(ids)


@pytest.mark.slow
def test_a_book_in_this_process_follows_writers_in_others(store: LedgerStore) -> None:
    book = Book(store, clock=fixed_clock).open()
    proc = _spawn(str(store.root), "batch", "0", "10", "0")
    assert proc.stdout is not None
    assert proc.stdin is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.stdin.write("go\n")
    proc.stdin.flush()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    book.refresh()
    assert book.seq == 10
    assert book.fund_balance("general") == sum(Decimal(f"1.{n + 1:02d}") for n in range(10))
    assert {t.meta["id"] for t in book.transactions()} == {f"p0-{n}" for n in range(10)}
    assert Path(store.year_file(2026)).exists()
