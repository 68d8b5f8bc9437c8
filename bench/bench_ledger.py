"""Benchmark the ledger at 1k, 10k and 100k entries: load, write and public page.

Not a test. Run from the project root::

    .venv/bin/python bench/bench_ledger.py [--sizes 1000,10000,100000] [--repeat N] [--profile]

For each size N it builds a ledger folder in a temporary directory with N entries (donations
mostly, some approved expenses, dated 2021-01-01 .. today) whose text, framing and hash chain are
exactly what :meth:`ledger.book.Book.write` produces, but written in one go per year file instead
of one fsync per entry. Then it measures:

* ``beancount_load_s``: ``beancount.loader.load_file`` on the same files (no pickle cache);
* ``cold_load_s``: ``Book(store).open()``, what a worker does on its first request;
* ``write_ms``: one ``services.record_donation`` on an opened Book (lock, rules, fsync);
* ``page_ms``: ``GET /`` through the Flask test client right after a write made with
  ``ledger_app.workflow.record_donation`` on the app's own Book.

Each size's section ends with exactly one JSON line; the ratios against the targets
(write and page at 100k within 2x of 1k, cold load within 1.3x of beancount's loader) follow.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import gc
import io
import json
import logging
import os
import platform
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

from beancount import loader

from ledger import chain, chart, render, services
from ledger.book import TZ, Book, china_now
from ledger.model import NewEntry
from ledger.render import BEGIN, END
from ledger.store import LedgerStore, _year_header

WRITES = 20  # timed writes (and page requests) per size
FIRST_DAY = dt.date(2021, 1, 1)
OPENED = dt.date(2020, 1, 1)
FUNDS = chart.DEFAULT_FUNDS + chart.DEMO_RESTRICTED_FUNDS

# -- realistic data -------------------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
    "肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = (
    "秀英", "桂兰", "建国", "淑芬", "志强", "丽华", "德明", "玉珍", "国庆",
    "春梅", "文华", "小红", "明", "静", "伟", "芳", "军", "敏", "勇", "艳",
    "杰", "娟", "涛", "霞", "婷", "磊",
)  # fmt: skip
MERCHANTS = (
    "春熙路口老灶火锅", "督院街便民超市", "蜀味小馆", "红星路药房",
    "锦江理发店", "天府茶社", "老成都面馆", "平安家政服务部",
)  # fmt: skip
COMPANIES = (
    "成都锦城物业服务有限公司",
    "四川蓉和餐饮管理有限公司",
    "督院街党建联盟单位·某银行支行",
)
STREET_OFFICE = "四川省成都市锦江区督院街街道办事处"
NOTES = (
    "", "", "", "", "", "", "定向支持", "街道季度补充资金", "中秋节义卖",
    "重阳节敬老活动捐款",
)  # fmt: skip
# fund -> (payee, purpose, amounts, line)
EXPENSES: dict[str, tuple[tuple[str, str, tuple[int, ...], str], ...]] = {
    "zhulaocan": (
        ("督院街共享食堂", "助老餐补贴（本周老人用餐）", (600, 800, 900, 1200), "programme"),
    ),
    "meiyuanzi": (
        ("成都安居建材经营部", "美院子：院落花台与扶手材料", (2500, 3800, 4600), "programme"),
        ("锦江区适老化改造工作室", "美院子：楼道扶手安装", (1200, 1800), "programme"),
    ),
    "general": (
        ("社区志愿者服务队", "邻里节活动物资", (300, 450, 800), "programme"),
        ("锦江区某打印店", "信息公示栏印刷与张贴", (120, 180), "admin"),
        ("成都某会务公司", "年度公益募捐活动场地", (1500, 2000), "fundraising"),
    ),
}
EXPENSE_SHARE = 0.1
APPROVERS = (("admin", "approver"), ("treasurer", "chair"))


@dataclass(frozen=True)
class Donor:
    ref: str
    public: str
    channel_weights: tuple[int, int, int, int]
    amounts: tuple[int, ...]


def _donors(rng: random.Random, count: int) -> list[Donor]:
    donors = []
    for i in range(count):
        ref = f"d-{rng.getrandbits(40):010x}{i % 256:02x}"
        roll = rng.random()
        if roll < 0.01:
            donors.append(Donor(ref, rng.choice(COMPANIES), (0, 0, 0, 1), (5000, 8000, 10000)))
        elif roll < 0.15:
            amounts = (200, 300, 500, 800, 1000)
            donors.append(Donor(ref, rng.choice(MERCHANTS), (4, 2, 1, 2), amounts))
        else:
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            display = rng.choices(["masked", "name", "anonymous"], [6, 2, 2])[0]
            masked = name[0] + "*" * (len(name) - 1)
            public = {"name": name, "anonymous": "匿名"}.get(display, masked)
            donors.append(
                Donor(ref, public, (6, 2, 2, 1), (10, 20, 50, 50, 66, 88, 100, 100, 200, 200, 500))
            )
    return donors


def _entered_at(rng: random.Random, day: dt.date) -> str:
    moment = dt.datetime.combine(
        day, dt.time(8 + rng.randrange(12), rng.randrange(60), rng.randrange(60)), tzinfo=TZ
    )
    return moment.isoformat(timespec="seconds")


def _cny(value: int) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def _entries(book: Book, n: int, rng: random.Random, today: dt.date) -> Iterator[NewEntry]:
    """N entries in date order: donations, and expenses that never overdraw a donated fund."""
    span = (today - FIRST_DAY).days
    days = sorted(FIRST_DAY + dt.timedelta(days=rng.randrange(span + 1)) for _ in range(n))
    donors = _donors(rng, max(50, n // 20))
    balance: dict[str, Decimal] = defaultdict(Decimal)
    channels = list(chart.CHANNEL_ACCOUNTS)
    for seq, day in enumerate(days, start=1):
        fund = rng.choices(["general", "zhulaocan", "meiyuanzi"], [5, 4, 2])[0]
        if rng.random() < EXPENSE_SHARE:
            payee, purpose, amounts, line = rng.choice(EXPENSES[fund])
            amount = _cny(rng.choice(amounts))
            if balance[fund] >= amount:
                maker, approver = rng.choice(APPROVERS)
                entry_id = f"exp-{day:%Y%m%d}-{seq:08x}"
                balance[fund] -= amount
                yield services.expense_entry(
                    book,
                    services.ExpenseCommand(
                        id=entry_id,
                        date=day,
                        amount=amount,
                        fund=fund,
                        payee=payee,
                        purpose=purpose,
                        entered_by=maker,
                        approved_by=approver,
                        line=line,
                        paid_from=rng.choices(["bank", "cash", "wechat"], [6, 2, 1])[0],
                        request=entry_id,
                    ),
                )
                continue
        donor = rng.choice(donors)
        if day.day == 5 and day.month in (1, 4, 7, 10) and rng.random() < 0.2:
            donor = Donor(donor.ref, STREET_OFFICE, (0, 0, 0, 1), (30000,))
            fund = "general"
        amount = _cny(rng.choice(donor.amounts))
        balance[fund] += amount
        yield services.donation_entry(
            book,
            services.DonationCommand(
                id=f"don-{day:%Y%m%d}-{seq:08x}",
                date=day,
                amount=amount,
                fund=fund,
                channel=rng.choices(channels, donor.channel_weights)[0],
                donor_ref=donor.ref,
                donor_public=donor.public,
                entered_by=rng.choice(("admin", "treasurer")),
                note=rng.choice(NOTES),
            ),
        )


def entry_text(entry: NewEntry, seq: int, prev_hash: str, entered_at: str) -> tuple[str, str]:
    """The text Book.write renders for ``entry`` as entry ``seq`` after ``prev_hash``.

    Returns:
        (text with its hash line, the hash).
    """
    meta: list[tuple[str, Any]] = [("id", entry.id), ("seq", seq), *entry.meta]
    if not any(k == "entered-at" for k, _ in entry.meta):
        meta.append(("entered-at", entered_at))
    digest = chain.entry_hash(prev_hash, render.render_new(entry, meta))
    meta.append(("hash", digest))
    return render.render_new(entry, meta), digest


def framed(seq: int, text: str) -> str:
    """One entry as LedgerStore.append frames it."""
    return f"{BEGIN}{seq}\n{text}{END}{seq}\n\n"


def build_ledger(root: Path, n: int, *, seed: int = 2026) -> LedgerStore:
    """A fresh ledger folder holding ``n`` chained entries, written with one fsync per year file."""
    store = LedgerStore(root)
    store.init(funds=FUNDS, opened=OPENED)
    book = Book(store).open()  # for the fund lookups of the services' entry builders
    rng = random.Random(seed)
    today = china_now().date()
    head = chain.GENESIS
    blocks: dict[int, list[str]] = defaultdict(list)
    for seq, entry in enumerate(_entries(book, n, rng, today), start=1):
        text, head = entry_text(entry, seq, head, _entered_at(rng, entry.date))
        blocks[entry.date.year].append(framed(seq, text))
    for year, parts in sorted(blocks.items()):
        path = store.year_file(year)
        header = "" if path.exists() else _year_header(path)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(header + "".join(parts))
            fh.flush()
            os.fsync(fh.fileno())
    return store


def check_helper_matches_book_write(root: Path) -> None:
    """The text this script generates is byte for byte what Book.write appends."""
    store = LedgerStore(root)
    store.init(funds=FUNDS, opened=OPENED)
    now = china_now().replace(microsecond=0)
    book = Book(store, clock=lambda: now).open()
    rng = random.Random(1)
    head = chain.GENESIS
    kinds = set()
    for seq, entry in enumerate(_entries(book, 60, rng, now.date()), start=1):
        kinds.add(dict(entry.meta)["kind"])
        path = store.year_file(entry.date.year)
        before = path.read_text("utf-8") if path.exists() else _year_header(path)
        book.write(entry)
        text, head = entry_text(entry, seq, head, now.isoformat(timespec="seconds"))
        assert path.read_text("utf-8") == before + framed(seq, text), entry.id
        assert head == book.head_hash, entry.id
    assert kinds == {"donation", "expense"}, kinds


def sanity_check(store: LedgerStore, n: int) -> Book:
    """The built ledger loads clean, chains, and no donated fund is overdrawn."""
    book = Book(store).open()
    assert not book.errors, book.errors[:5]
    assert book.seq == n, (book.seq, n)
    report = chain.verify(book.entries)
    assert report.ok, report
    assert report.head == book.head_hash, (report.head, book.head_hash)
    for fund in book.funds.values():
        assert fund.may_overdraw or book.fund_balance(fund.slug) >= 0, fund.slug
    return book


# -- measuring ------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` takes (after a collection, so earlier garbage is not billed)."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def medians_interleaved(fns: list[Callable[[], Any]], runs: int) -> list[float]:
    """The median time of each function over ``runs`` rounds, taking turns (a, b, a, b, ...)
    so that drift (CPU frequency, page cache, a noisy neighbour) is shared between them."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, out in zip(fns, times, strict=True):
            out.append(timed(fn))
    return [statistics.median(t) for t in times]


def beancount_load(store: LedgerStore) -> None:
    _, errors, _ = loader.load_file(str(store.main))
    assert not errors, errors[:3]


def cold_load(store: LedgerStore) -> None:
    Book(store).open()


def donation_cmd(i: int, tag: str) -> services.DonationCommand:
    return services.DonationCommand(
        id=f"bench-{tag}-{i:04d}",
        date=china_now().date(),
        amount=Decimal("50.00"),
        fund="general",
        channel="wechat",
        donor_ref="d-bench000001",
        donor_public="张*",
        entered_by="bench",
        note="",
    )


def measure_writes(store: LedgerStore, count: int, tag: str) -> list[float]:
    """Seconds of each of ``count`` writes through services.record_donation, with fsync."""
    book = Book(store).open()
    times = []
    for i in range(count):
        cmd = donation_cmd(i, tag)
        times.append(timed(lambda cmd=cmd: services.record_donation(book, cmd)))
    return times


@contextlib.contextmanager
def flask_app(ledger_dir: Path, work: Path) -> Iterator[Any]:
    """The real app on this ledger folder, with its database migrated (``flask init``)."""
    os.environ["LEDGER_INSTANCE"] = str(work / "instance")  # keep instance/ out of the checkout
    from flask_migrate import upgrade

    from ledger_app import create_app

    app = create_app(
        {
            "TESTING": True,
            "LEDGER_DIR": str(ledger_dir),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'db.sqlite3'}",
            "WTF_CSRF_ENABLED": False,
        }
    )
    logging.disable(logging.WARNING)  # alembic's fileConfig turns on INFO logging
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
    try:
        yield app
    finally:
        logging.disable(logging.NOTSET)
        with app.app_context():
            from ledger_app.extensions import db

            db.engine.dispose()


def app_write(app: Any, i: int) -> None:
    from ledger_app import workflow
    from ledger_app.books import get_book

    with app.app_context():
        workflow.record_donation(
            get_book(),
            workflow.DonationInput(
                id=f"bench-page-{i:04d}",
                date=china_now().date(),
                amount="88.00",
                fund="zhulaocan",
                channel="alipay",
                donor=workflow.DonorInput(f"李{GIVEN[i % len(GIVEN)]}", f"139{i:08d}"),
            ),
            "bench",
        )


def get_page(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200, response.status_code
    assert response.data


def measure_pages(app: Any, count: int) -> list[float]:
    """Seconds of ``GET /`` right after each of ``count`` writes through the app's own Book."""
    client = app.test_client()
    get_page(client)  # the worker's first request opens the Book: a cold load, not timed here
    times = []
    for i in range(count):
        app_write(app, i)
        times.append(timed(lambda: get_page(client)))
    return times


def profile(label: str, fn: Callable[[], Any], *, top: int = 25) -> str:
    """cProfile one call; the top functions by own time and by cumulative time."""
    prof = cProfile.Profile()
    gc.collect()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    out.write(f"\n--- profile: {label} ---\n")
    stats = pstats.Stats(prof, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# -- driver ---------------------------------------------------------------------------------------


def run_size(n: int, repeat: int, tmp: Path, *, do_profile: bool) -> dict[str, Any]:
    work = tmp / f"n{n}"
    ledger_dir = work / "ledger"
    say(f"\n== {n:,} entries ==")
    started = time.perf_counter()
    store = build_ledger(ledger_dir, n)
    size_mb = sum(p.stat().st_size for p in store.files()) / 1e6
    files = len(store.files())
    say(f"built in {time.perf_counter() - started:.1f}s ({size_mb:.1f} MB in {files} files)")
    started = time.perf_counter()
    book = sanity_check(store, n)
    say(
        f"checked in {time.perf_counter() - started:.1f}s: loads clean, chain ok, "
        f"head {book.head_hash[:12]}…, no donated fund overdrawn"
    )
    del book

    bean, cold = medians_interleaved(
        [lambda: beancount_load(store), lambda: cold_load(store)], repeat
    )
    say(f"beancount loader     median of {repeat}: {bean:8.3f} s")
    say(f"Book cold load       median of {repeat}: {cold:8.3f} s   ({cold / bean:.2f}x beancount)")
    writes = measure_writes(store, WRITES, f"w{n}")
    write_ms = statistics.median(writes) * 1000
    say(
        f"write (fsync)        median of {WRITES}: {write_ms:8.2f} ms  "
        f"(min {min(writes) * 1000:.2f}, max {max(writes) * 1000:.2f})"
    )
    with flask_app(ledger_dir, work) as app:
        pages = measure_pages(app, WRITES)
        page_ms = statistics.median(pages) * 1000
        say(
            f"GET / after a write  median of {WRITES}: {page_ms:8.2f} ms  "
            f"(min {min(pages) * 1000:.2f}, max {max(pages) * 1000:.2f})"
        )
        if do_profile:
            say(profile(f"Book cold load, {n:,} entries", lambda: cold_load(store)))
            say(profile(f"beancount loader, {n:,} entries", lambda: beancount_load(store)))
            book = Book(store).open()
            cmd = donation_cmd(0, f"p{n}")
            say(profile(f"one write, {n:,} entries", lambda: services.record_donation(book, cmd)))
            del book
            app_write(app, WRITES)
            client = app.test_client()
            say(profile(f"GET / after a write, {n:,} entries", lambda: get_page(client)))
    result = {
        "entries": n,
        "beancount_load_s": round(bean, 4),
        "cold_load_s": round(cold, 4),
        "write_ms": round(write_ms, 3),
        "page_ms": round(page_ms, 3),
        "cold_load_ratio": round(cold / bean, 3),
    }
    print(json.dumps(result), flush=True)
    return result


def say(text: str) -> None:
    print(text, flush=True)


def machine() -> str:
    return (
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"beancount {metadata.version('beancount')}, flask {metadata.version('flask')}, "
        f"{os.cpu_count()} CPUs (nproc), {platform.system()} {platform.release()} "
        f"{platform.machine()}"
    )


def report(results: list[dict[str, Any]]) -> None:
    say("\n== summary ==")
    say(
        f"{'entries':>9} | {'beancount load s':>16} | {'cold load s':>11} | {'ratio':>5} | "
        f"{'write ms':>8} | {'page ms':>8}"
    )
    say("-" * 74)
    for r in results:
        say(
            f"{r['entries']:>9,} | {r['beancount_load_s']:>16.3f} | {r['cold_load_s']:>11.3f} | "
            f"{r['cold_load_ratio']:>5.2f} | {r['write_ms']:>8.2f} | {r['page_ms']:>8.2f}"
        )
    say(
        "\n== ratios (targets: write and page at the largest size within 2x of the smallest; "
        "cold load within 1.3x of beancount's loader) =="
    )
    if len(results) >= 2:
        small, big = results[0], results[-1]
        label = f"{big['entries'] // 1000}k/{small['entries'] // 1000}k"
        for key, target in (("write_ms", 2.0), ("page_ms", 2.0)):
            ratio = big[key] / small[key]
            verdict = "met" if ratio <= target else "MISSED"
            say(
                f"{key}({label}) = {big[key]:.2f} / {small[key]:.2f} = {ratio:.2f}x "
                f"(target <= {target}x: {verdict})"
            )
    for r in results:
        verdict = "met" if r["cold_load_ratio"] <= 1.3 else "MISSED"
        say(
            f"cold_load_s/beancount_load_s at {r['entries']:,} = {r['cold_load_ratio']:.2f}x "
            f"(target <= 1.3x: {verdict})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000",
        help="comma-separated entry counts (default: 1000,10000,100000)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=0,
        help="runs per load measurement (default: 5, or 3 from 100k entries)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also print cProfile tables of one load, write and page per size",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary ledgers")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    say(f"machine: {machine()}")
    tmp = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    results = []
    try:
        check_helper_matches_book_write(tmp / "framing")
        say("generated text, framing and hash chain match Book.write byte for byte")
        for n in sizes:
            repeat = args.repeat or (3 if n >= 100_000 else 5)
            results.append(run_size(n, repeat, tmp, do_profile=args.profile))
            if not args.keep:
                shutil.rmtree(tmp / f"n{n}", ignore_errors=True)
        report(results)
    finally:
        if args.keep:
            say(f"ledgers kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
