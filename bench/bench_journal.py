"""Benchmark the journal PDF at 10k and 100k entries: wall time, pages per second, peak memory.

Not a test. Run from the project root::

    .venv/bin/python bench/bench_journal.py [--sizes 10000,100000] [--repeat 3] [--profile]

Each size's ledger is built once with ``bench_ledger.build_ledger`` (the same synthetic ledger
as the ledger benchmark: ~90% donations, ~10% approved expenses, dated 2021-01-01 .. today, text
and hash chain as ``Book.write`` appends them). Then, so that the sizes compare fairly, each size
is measured in a fresh Python process that loads the Book and builds the journal of the whole
ledger (``ledger.journal.journal_view`` → ``reports.journal.build_journal_pdf``) into a file:

* ``seconds``: wall time of one build (median of ``--repeat`` runs; ``--repeat-large`` runs for
  100k entries and more), ``pages`` and ``pages_per_s``;
* ``peak_mb``: how far the process's peak resident memory rose, during the first timed build,
  above what it held with the Book loaded and one small warm-up build done (which reads the
  font, tens of MB once per process). The peak is reset before each build
  (``/proc/self/clear_refs``), so it is the build's own, not the loader's;
  ``getrusage(RUSAGE_SELF).ru_maxrss`` reads it. Later builds reuse what the allocator kept
  from the first, so their figures (``peak_mb_all``) are near zero;
* ``warm_up_peak_mb``: the same for the warm-up build (a fixed cost: mostly the font);
* ``rss_mb_at``: resident memory (above that baseline) after 10, 25, 50, 75 and 100% of the pages
  of the first build, which shows whether memory grows page by page;
* ``tracemalloc_peak_mb``: in one more run under ``tracemalloc``, the peak of Python's own
  allocations during the build (slower; not timed).

The file is checked with ``pdfinfo`` (page count) and ``pdftoppm`` (the last page renders).
Each size prints one JSON line; a table and the 100k/10k ratios close the run.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ledger import build_ledger, machine, say

from ledger import journal
from ledger.book import Book
from ledger.financials import Period
from ledger.store import LedgerStore
from reports.journal import build_journal_pdf

TARGET_PAGES_PER_S = 50
MB = 1024 * 1024


# -- inside the measuring process ---------------------------------------------------------------


def _status_kb(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def _reset_peak() -> None:
    """Reset the kernel's high-water mark of this process's resident memory (Linux ≥ 4.0)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")


def _maxrss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux


def _whole_ledger(book: Book) -> Period:
    ordered = book.ordered()
    return Period(ordered[0].date, ordered[-1].date)


def _build(book: Book, out: Path, progress: Any = None) -> int:
    period = _whole_ledger(book)
    view = journal.journal_view(book, period)
    return build_journal_pdf(
        view,
        out,
        org_name="督院街社区微基金（基准测试）",
        period=period,
        generated_at=book.clock(),
        head_hash=book.head_hash,
        head_seq=book.seq,
        progress=progress,
    )


def measure(ledger_dir: Path, runs: int, out: Path, *, do_profile: bool) -> dict[str, Any]:
    """Load the Book, warm up, then time ``runs`` builds and track the first one's memory."""
    started = time.perf_counter()
    book = Book(LedgerStore(ledger_dir)).open()
    load_s = time.perf_counter() - started
    period = _whole_ledger(book)
    entries = journal.journal_count(book, period)
    # Warm up on the first day's entries: the font file is read and parsed (tens of MB, once per
    # process) and ReportLab's modules are imported, so that the peak below is the build's own.
    first_day = Period(period.start, period.start)
    gc.collect()
    loaded_kb = _status_kb("VmRSS")
    _reset_peak()
    build_journal_pdf(
        journal.journal_view(book, first_day),
        io.BytesIO(),
        org_name="warm-up",
        period=first_day,
        generated_at=book.clock(),
        head_hash=book.head_hash,
        head_seq=book.seq,
    )
    warm_up_mb = (_maxrss_kb() - loaded_kb) / 1024
    times: list[float] = []
    cpu: list[float] = []
    peaks: list[float] = []
    pages = 0
    samples: dict[str, float] = {}
    for run in range(runs):
        gc.collect()
        base_kb = _status_kb("VmRSS")
        _reset_peak()
        marks: dict[int, float] = {}

        def progress(
            done: int, total: int, marks: dict[int, float] = marks, base_kb: int = base_kb
        ) -> None:
            for share in (10, 25, 50, 75, 100):
                if done == max(1, total * share // 100) and share not in marks:
                    marks[share] = (_status_kb("VmRSS") - base_kb) / 1024

        started, cpu_started = time.perf_counter(), time.process_time()
        pages = _build(book, out, progress)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        peaks.append((_maxrss_kb() - base_kb) / 1024)
        if run == 0:
            samples = {f"{k}%": round(v, 1) for k, v in sorted(marks.items())}
    gc.collect()
    tracemalloc.start()
    _build(book, out)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    profile_text = ""
    if do_profile:
        prof = cProfile.Profile()
        prof.enable()
        _build(book, out)
        prof.disable()
        buffer = io.StringIO()
        pstats.Stats(prof, stream=buffer).strip_dirs().sort_stats("tottime").print_stats(20)
        profile_text = buffer.getvalue()
    seconds = statistics.median(times)
    return {
        "entries": entries,
        "load_s": round(load_s, 2),
        "runs": runs,
        "seconds": round(seconds, 3),
        "seconds_all": [round(t, 3) for t in times],
        "pages": pages,
        "pages_per_s": round(pages / seconds, 1),
        "cpu_seconds": round(statistics.median(cpu), 3),
        "pages_per_cpu_s": round(pages / statistics.median(cpu), 1),
        # The first build's: later ones reuse memory the allocator kept from it.
        "peak_mb": round(peaks[0], 1),
        "peak_mb_all": [round(p, 1) for p in peaks],
        "warm_up_peak_mb": round(warm_up_mb, 1),
        "rss_mb_at": samples,
        "tracemalloc_peak_mb": round(traced_peak / MB, 1),
        "file_mb": round(out.stat().st_size / MB, 1),
        "profile": profile_text,
    }


# -- the driver ---------------------------------------------------------------------------------


def check_pdf(path: Path, pages: int) -> str:
    """pdfinfo reports ``pages`` pages and pdftoppm renders the last one."""
    if shutil.which("pdfinfo") is None or shutil.which("pdftoppm") is None:
        return "pdfinfo/pdftoppm not installed: not checked"
    info = subprocess.run(
        ["pdfinfo", str(path)], check=True, capture_output=True, text=True, timeout=300
    ).stdout
    reported = int(next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1])
    assert reported == pages, (reported, pages)
    png = path.with_suffix("")
    last = str(pages)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "40",
            "-png",
            "-f",
            last,
            "-l",
            last,
            "-singlefile",
            str(path),
            str(png),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert png.with_suffix(".png").stat().st_size > 0
    return f"pdfinfo: {reported} pages; pdftoppm rendered page {pages}"


def run_size(n: int, runs: int, tmp: Path, *, do_profile: bool) -> dict[str, Any]:
    say(f"\n== {n:,} entries ==")
    ledger_dir = tmp / f"n{n}" / "ledger"
    started = time.perf_counter()
    build_ledger(ledger_dir, n)
    say(f"ledger built in {time.perf_counter() - started:.1f}s")
    out = tmp / f"n{n}" / "journal.pdf"
    command = [sys.executable, __file__, "--child", str(ledger_dir), "--repeat", str(runs)]
    command += ["--out", str(out)] + (["--profile"] if do_profile else [])
    child = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    profile_text = result.pop("profile")
    say(
        f"Book loaded in {result['load_s']}s; journal of {result['entries']:,} entries: "
        f"{result['pages']:,} pages, {result['file_mb']} MB"
    )
    say(
        f"build: median {result['seconds']}s of {runs} ({result['seconds_all']}), "
        f"{result['pages_per_s']} pages/s; CPU {result['cpu_seconds']}s, "
        f"{result['pages_per_cpu_s']} pages per CPU second"
    )
    say(
        f"peak memory above the loaded Book: {result['peak_mb']} MB (runs {result['peak_mb_all']}); "
        f"resident after 10/25/50/75/100% of the pages: {result['rss_mb_at']} MB; "
        f"tracemalloc peak {result['tracemalloc_peak_mb']} MB; the warm-up (font loaded, one "
        f"page) rose {result['warm_up_peak_mb']} MB above the loaded Book"
    )
    say(check_pdf(out, result["pages"]))
    if profile_text:
        say(profile_text)
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


def report(results: list[dict[str, Any]]) -> None:
    say("\n== summary ==")
    say(
        f"{'entries':>9} | {'pages':>6} | {'build s':>8} | {'pages/s':>7} | {'CPU s':>7} | "
        f"{'pages/CPU s':>11} | {'peak MB':>7} | {'tracemalloc MB':>14} | {'file MB':>7}"
    )
    say("-" * 104)
    for r in results:
        say(
            f"{r['entries']:>9,} | {r['pages']:>6,} | {r['seconds']:>8.2f} | "
            f"{r['pages_per_s']:>7.1f} | {r['cpu_seconds']:>7.2f} | {r['pages_per_cpu_s']:>11.1f} | "
            f"{r['peak_mb']:>7.1f} | {r['tracemalloc_peak_mb']:>14.1f} | {r['file_mb']:>7.1f}"
        )
    for r in results:
        verdict = "met" if r["pages_per_s"] >= TARGET_PAGES_PER_S else "MISSED"
        say(
            f"pages/s at {r['entries']:,} = {r['pages_per_s']} "
            f"(target >= {TARGET_PAGES_PER_S}: {verdict})"
        )
    if len(results) >= 2:
        small, big = results[0], results[-1]
        label = f"{big['entries'] // 1000}k/{small['entries'] // 1000}k"
        for key in ("pages", "seconds", "cpu_seconds", "peak_mb", "tracemalloc_peak_mb"):
            ratio = big[key] / small[key] if small[key] else float("inf")
            say(f"{key}({label}) = {big[key]} / {small[key]} = {ratio:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="entry counts (10000,100000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs below 100k (3)")
    parser.add_argument("--repeat-large", type=int, default=1, help="timed runs from 100k (1)")
    parser.add_argument("--profile", action="store_true", help="a cProfile table per size")
    parser.add_argument("--keep", action="store_true", help="keep the ledgers and PDFs")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = measure(Path(args.child), args.repeat, Path(args.out), do_profile=args.profile)
        print(json.dumps(result, ensure_ascii=False), flush=True)
        return 0
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    say(f"machine: {machine()}")
    tmp = Path(tempfile.mkdtemp(prefix="journal-bench-"))
    results = []
    try:
        for n in sizes:
            runs = args.repeat_large if n >= 100_000 else args.repeat
            results.append(run_size(n, runs, tmp, do_profile=args.profile))
            if not args.keep:
                shutil.rmtree(tmp / f"n{n}", ignore_errors=True)
        report(results)
    finally:
        if args.keep:
            say(f"kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
