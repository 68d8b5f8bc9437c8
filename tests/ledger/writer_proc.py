"""A ledger writer in a process of its own, for the multi-process and crash tests.

Usage::

    python writer_proc.py LEDGER_DIR batch INDEX UNIQUE SHARED
        opens a Book, prints "ready", waits for a line on stdin, then writes UNIQUE donations with
        ids "p<INDEX>-<n>" and SHARED donations with ids "shared-<n>" (the same content in every
        process), interleaved; prints "<id> <created> <seq>" after each write returns.
    python writer_proc.py LEDGER_DIR loop PREFIX
        writes donations "<PREFIX>-<n>" forever, printing each id once the write has returned
        (an acknowledged write), until it is killed.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent)]

from ledger_testkit import donation, fixed_clock  # noqa: E402

from ledger import services  # noqa: E402
from ledger.book import Book  # noqa: E402
from ledger.store import LedgerStore  # noqa: E402


def shared_donation(n: int) -> services.DonationCommand:
    """The one content every process writes under the shared id number ``n``."""
    return donation(f"shared-{n}", f"{n + 1}0.00", fund="meiyuanzi", donor_ref=f"S{n}")


def batch(book: Book, index: int, unique: int, shared: int) -> None:
    cmds = [
        donation(f"p{index}-{n}", f"{index + 1}.{n + 1:02d}", donor_ref=f"P{index}")
        for n in range(unique)
    ]
    cmds += [shared_donation(n) for n in range(shared)]
    random.Random(index).shuffle(cmds)
    print("ready", flush=True)
    sys.stdin.readline()
    for cmd in cmds:
        result = services.record_donation(book, cmd)
        print(result.id, int(result.created), result.seq, flush=True)


def loop(book: Book, prefix: str) -> None:
    n = 0
    while True:
        services.record_donation(book, donation(f"{prefix}-{n}", "1.00"))
        print(f"{prefix}-{n}", flush=True)
        n += 1


def main(argv: list[str]) -> None:
    book = Book(LedgerStore(argv[1]), clock=fixed_clock).open()
    if argv[2] == "batch":
        batch(book, int(argv[3]), int(argv[4]), int(argv[5]))
    elif argv[2] == "loop":
        loop(book, argv[3])
    else:
        raise SystemExit(f"unknown mode {argv[2]!r}")


if __name__ == "__main__":
    main(sys.argv)
