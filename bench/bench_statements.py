"""Benchmark the statements an auditor opens: each of the four forms for a year, and one trace.

Not a test. Run from the project root::

    .venv/bin/python bench/bench_statements.py [--sizes 10000,100000] [--repeat 5]

Each size's ledger is built once with ``bench_ledger.build_ledger`` (the synthetic ledger of the
ledger benchmark), loaded into a Book, and then each of ``ledger.financials.build_statement``
(balance sheet, activities, cash flow, trial balance) for the last full year, and one
``trace`` of 货币资金 at the year's end, is timed; the median of ``--repeat`` runs is printed with
the 100k/10k ratio. The statements walk every transaction once (a statement is a sum of what every
posting contributes), so their cost grows with the ledger; this says how much.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_ledger import build_ledger, machine  # noqa: E402

from ledger import financials  # noqa: E402
from ledger.book import Book  # noqa: E402


def _median_ms(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def run_size(n: int, repeat: int, tmp: Path) -> dict[str, float]:
    store = build_ledger(tmp / f"ledger-{n}", n)
    book = Book(store).open()
    year = dt.date.today().year - 1  # noqa: DTZ011 - the synthetic ledger is dated up to today
    period = financials.parse_period(str(year))
    out: dict[str, float] = {"entries": float(len(book.transactions()))}
    for kind in financials.KINDS:
        out[f"{kind}_ms"] = _median_ms(
            lambda kind=kind: financials.build_statement(book, kind, period), repeat
        )
    out["trace_ms"] = _median_ms(
        lambda: financials.trace(book, "balance_sheet", "货币资金", 1, period), repeat
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(machine())
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            results[n] = run_size(n, args.repeat, Path(tmp))
            print(n, {k: round(v, 1) for k, v in results[n].items()}, flush=True)
    keys = [k for k in results[sizes[0]] if k.endswith("_ms")]
    print(
        f"\n| what | {' | '.join(f'{n:,} entries' for n in sizes)} |"
        + (" ratio |" if len(sizes) > 1 else "")
    )
    print("|---|" + "---|" * len(sizes) + ("---|" if len(sizes) > 1 else ""))
    for key in keys:
        cells = " | ".join(f"{results[n][key]:.0f} ms" for n in sizes)
        ratio = (
            f" {results[sizes[-1]][key] / results[sizes[0]][key]:.1f}x |" if len(sizes) > 1 else ""
        )
        print(f"| {key.removesuffix('_ms')} | {cells} |{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
