"""The Book: the ledger's state in memory, loaded once and kept current.

A Book loads the files with beancount's loader once, keeps running totals by account, fund and
month, and takes each of this process's writes in place. Before answering it compares a few
``stat`` results with what it last saw; if another process appended (its record in the state file
matches the files) it parses just the new bytes, and if a person edited the files it reloads them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from beancount import loader
from beancount.core import data
from beancount.parser import parser

from ledger import chain, render
from ledger.errors import IdConflictError, LedgerUnavailableError, RuleError
from ledger.model import AccountInfo, Fund, NewEntry, WriteResult
from ledger.store import Appended, LedgerStore, Repair, Signature

log = logging.getLogger(__name__)

# A server must not write pickle caches beside the ledger (STYLE.md): load uncached.
loader.initialize(use_cache=False)

TZ = ZoneInfo("Asia/Shanghai")
#: The net-asset sub-accounts holding what awarded grants have committed (see ledger.chart).
COMMITTED_SUFFIX = ":已承诺资助"
ZERO = Decimal("0.00")
FUND_TAG = "fund-"
_FUND_ROOTS = ("Income", "Expenses", "Equity")

Clock = Callable[[], dt.datetime]
_D = TypeVar("_D", bound=data.Directive)


def china_now() -> dt.datetime:
    """The current time in China, where the fund keeps its books."""
    return dt.datetime.now(TZ)


@dataclass(frozen=True)
class FundTotals:
    """Income, spending, transfers and balance of one fund over some span."""

    income: Decimal
    spent: Decimal
    transfers: Decimal

    @property
    def balance(self) -> Decimal:
        """What the fund holds: income less spending, plus transfers in."""
        return self.income - self.spent + self.transfers


def fund_of_posting(txn: data.Transaction, posting: data.Posting) -> str | None:
    """The fund a posting belongs to: its own ``fund`` metadata, else the entry's fund tag."""
    value = (posting.meta or {}).get("fund")
    if isinstance(value, str):
        return value
    tags = [t[len(FUND_TAG) :] for t in (txn.tags or ()) if t.startswith(FUND_TAG)]
    return tags[0] if len(tags) == 1 else None


class Book:
    """In-memory state of one ledger folder, shared by the requests of one process."""

    def __init__(self, store: LedgerStore, *, clock: Clock = china_now) -> None:
        self.store = store
        self.clock = clock
        self._mutex = threading.RLock()
        #: What the last start-up repair cut off (kept across reloads, which call _reset).
        self.repairs: list[Repair] = []
        self._reset()

    def _reset(self) -> None:
        self.entries: list[data.Directive] = []
        self.errors: list[str] = []
        self.accounts: dict[str, AccountInfo] = {}
        self.funds: dict[str, Fund] = {}
        self.closed_months: set[str] = set()
        #: Account -> date of its latest ``balance`` assertion (a reconciled statement).
        self.asserted: dict[str, dt.date] = {}
        self.title = ""
        self.seq = 0
        self.head_hash = chain.GENESIS
        self.head_at = ""
        self._by_id: dict[str, data.Transaction] = {}
        self._reversed: dict[str, str] = {}
        # Donation confirmation numbers "YYYY-NNNNNN": number -> entry id, and the last per year.
        self._receipts: dict[str, str] = {}
        self._receipt_last: dict[int, int] = {}
        # External transaction ids (bank / WeChat Pay / Alipay statement rows) -> entry id.
        self._ext_ids: dict[str, str] = {}
        # (month, donor kind of the entry or of the entry it reverses, "" if none) -> income
        # (credits positive), so the public "income by source" never walks every entry.
        self._income_by_donor_kind: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        # fund -> what awarded grants still commit (kept as entries are taken: O(1) to read).
        self._committed: dict[str, Decimal] = defaultdict(Decimal)
        # Micro-grant id -> its entries (award, tranches, expense reports, close), in order taken.
        self._grants: dict[str, list[data.Transaction]] = defaultdict(list)
        # (account, fund, "YYYY-MM") -> sum of CNY units
        self._totals: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        self._txns: list[data.Transaction] = []
        # fund -> month -> [income, spent, transfers]: fund figures cost O(months), not O(keys).
        self._fund_months: dict[str, dict[str, list[Decimal]]] = defaultdict(dict)
        # Transactions by (date, seq), overall (key None) and per fund: the latest N are a slice.
        self._ordered: dict[str | None, list[data.Transaction]] = defaultdict(list)
        self._sig: Signature = {}
        self._gen = 0
        # Year file -> (size, newlines) as last seen, so an appended entry gets its real line
        # number without the file being read again on every write.
        self._line_counts: dict[str, tuple[int, int]] = {}

    # -- loading ------------------------------------------------------------------------------

    def open(self) -> Book:
        """Repair torn tails under the writers' lock and load the files; returns self."""
        with self._mutex, self.store.locked():
            self.repairs = self.store.repair_torn_tails()
            self._load_locked()
        return self

    def _load_locked(self) -> None:
        sig = self.store.signature()
        state = self.store.read_state()
        entries, errors, options = loader.load_file(str(self.store.main))
        self._reset()
        self.title = str(options.get("title") or "")
        self.errors = [_error_text(e) for e in errors]
        for entry in entries:
            self._take(entry, ordered=False)
        for txns in self._ordered.values():
            txns.sort(key=_order_key)
        self.entries = entries
        self._sig = sig
        # Count each year file's lines now (a plain read, cheap beside the parse above), so the
        # first append after a load does not have to.
        for rel, (size, _mtime) in sig.items():
            if rel.startswith("txns/"):
                with (self.store.root / rel).open("rb") as fh:
                    self._line_counts[rel] = (size, fh.read(size).count(b"\n"))
        self._gen = _gen_of(state)
        if state is None or state.get("files") != _as_state(sig):
            # The files changed other than by an app append (a hand edit, a repair): a Book that
            # loaded before must not catch up by reading only the new bytes, so start a generation.
            self._gen += 1
            self.store.write_state(self.seq, self.head_hash, sig, self._gen)

    def refresh(self) -> None:
        """Catch up with changes made by other processes or by hand; cheap when there are none."""
        with self._mutex:
            if self.store.signature() == self._sig:
                return
            with self.store.locked(shared=True):
                if self._catch_up_locked():
                    return
            with self.store.locked():
                self.repairs = self.store.repair_torn_tails()
                self._load_locked()

    def _catch_up_locked(self) -> bool:
        """Read only what other writers appended; False if the change is not of that kind."""
        sig = self.store.signature()
        if sig == self._sig:
            return True
        state = self.store.read_state()
        if not state or state.get("files") != _as_state(sig) or _gen_of(state) != self._gen:
            return False
        for rel, (size, _mtime) in sig.items():
            old = self._sig.get(rel)
            if old == (size, _mtime):
                continue
            if not rel.startswith("txns/") or (old is not None and size < old[0]):
                return False
        for rel, (size, _mtime) in sig.items():
            old = self._sig.get(rel)
            if old == (size, _mtime):
                continue
            start = old[0] if old else 0
            path = self.store.root / rel
            with path.open("rb") as fh:
                fh.seek(start)
                chunk = fh.read(size - start).decode("utf-8")
            new_entries, errors, _ = parser.parse_string(chunk, report_filename=str(path))
            if errors:
                return False
            before = self._lines_before(path, start)
            self._line_counts[rel] = (size, before + chunk.count("\n"))
            for entry in new_entries:
                self._add(_shift_lines(entry, before))
        self._sig = sig
        return True

    # -- taking entries into the totals -------------------------------------------------------

    def _take(self, entry: data.Directive, *, ordered: bool = True) -> None:
        if isinstance(entry, data.Open):
            meta = entry.meta or {}
            self.accounts[entry.account] = AccountInfo(
                entry.account,
                str(meta.get("name", entry.account)),
                str(meta.get("statement", "")),
                entry.date,
            )
        elif isinstance(entry, data.Close):
            info = self.accounts.get(entry.account)
            if info:
                self.accounts[entry.account] = AccountInfo(
                    info.name, info.display, info.statement_line, info.opened, entry.date
                )
        elif isinstance(entry, data.Custom):
            self._take_custom(entry)
        elif isinstance(entry, data.Transaction):
            self._take_txn(entry, ordered)
        elif isinstance(entry, data.Balance):
            last = self.asserted.get(entry.account)
            if last is None or entry.date > last:
                self.asserted[entry.account] = entry.date

    def _take_custom(self, entry: data.Custom) -> None:
        values = [v.value for v in entry.values]
        meta = entry.meta or {}
        if entry.type == "fund" and len(values) >= 3:
            self.funds[str(values[0])] = Fund(
                slug=str(values[0]),
                name=str(values[1]),
                restricted=values[2] == "restricted",
                purpose=str(meta.get("purpose", "")),
                may_overdraw=bool(meta.get("may-overdraw")),
                opened=entry.date,
                name_en=str(meta.get("name-en", "")),
            )
        elif entry.type == "period-close" and values:
            self.closed_months.add(str(values[0]))
        elif entry.type == "period-reopen" and values:
            self.closed_months.discard(str(values[0]))

    def _take_txn(self, txn: data.Transaction, ordered: bool) -> None:
        month = txn.date.strftime("%Y-%m")
        funds: set[str | None] = {None}
        for posting in txn.postings:
            if posting.units is None or posting.units.number is None:
                continue
            fund = fund_of_posting(txn, posting) or ""
            funds.add(fund or None)
            self._totals[(posting.account, fund, month)] += posting.units.number
            if posting.account.endswith(COMMITTED_SUFFIX) and fund:
                self._committed[fund] -= posting.units.number
            root = _FLOW_INDEX.get(posting.account.split(":", 1)[0])
            if fund and root is not None:
                flows = self._fund_months[fund].setdefault(month, [ZERO, ZERO, ZERO])
                flows[root] += -posting.units.number if root != 1 else posting.units.number
        self._txns.append(txn)
        self._take_income_source(txn, month)
        for key in funds:
            if ordered:
                bisect.insort(self._ordered[key], txn, key=_order_key)
            else:
                self._ordered[key].append(txn)
        meta = txn.meta or {}
        entry_id = meta.get("id")
        if isinstance(entry_id, str):
            self._by_id[entry_id] = txn
        reverses = meta.get("reverses")
        if isinstance(reverses, str) and isinstance(entry_id, str):
            self._reversed[reverses] = entry_id
        receipt = meta.get("receipt")
        if isinstance(receipt, str) and isinstance(entry_id, str):
            self._receipts[receipt] = entry_id
            year, _, number = receipt.partition("-")
            if year.isdigit() and number.isdigit():
                last = self._receipt_last.get(int(year), 0)
                self._receipt_last[int(year)] = max(last, int(number))
        ext_id = meta.get("ext-id")
        if isinstance(ext_id, str) and isinstance(entry_id, str):
            self._ext_ids[ext_id] = entry_id
        grant = meta.get("grant")
        if isinstance(grant, str):
            self._grants[grant].append(txn)
        seq = chain.seq_of(txn)
        if seq is not None and seq > self.seq:
            self.seq = seq
            self.head_hash = str(meta.get("hash", ""))
            self.head_at = str(meta.get("entered-at", ""))

    def _take_income_source(self, txn: data.Transaction, month: str) -> None:
        meta = txn.meta or {}
        source = meta
        if meta.get("kind") == "reversal":
            original = self._by_id.get(str(meta.get("reverses", "")))
            source = (original.meta or {}) if original is not None else {}
        elif meta.get("kind") != "donation":
            source = {}
        kind = source.get("donor-kind")
        key = (month, kind if isinstance(kind, str) else "")
        for posting in txn.postings:
            number = posting.units.number if posting.units is not None else None
            if number is not None and posting.account.startswith("Income:"):
                self._income_by_donor_kind[key] -= number

    def income_by_donor_kind(self, start: str, end: str) -> dict[str, Decimal]:
        """Income of months ``start``..``end`` by the donor kind of the donation behind it
        ("" for income that is not a donation)."""
        out: dict[str, Decimal] = defaultdict(Decimal)
        for (month, kind), amount in self._income_by_donor_kind.items():
            if start <= month <= end:
                out[kind] += amount
        return dict(out)

    def income_and_spending_by_month(
        self, start: str, end: str
    ) -> dict[str, tuple[Decimal, Decimal]]:
        """Income and spending of all accounts for each month ``start``..``end`` that has any."""
        out: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for (account, _fund, month), amount in self._totals.items():
            if start <= month <= end:
                if account.startswith("Income:"):
                    out[month][0] -= amount
                elif account.startswith("Expenses:"):
                    out[month][1] += amount
        return {m: (v[0], v[1]) for m, v in out.items()}

    def _add(self, entry: data.Directive) -> None:
        """Take an entry appended after the load (ours or another process's)."""
        self._take(entry)
        self.entries.append(entry)

    # -- writing ------------------------------------------------------------------------------

    def write(
        self,
        entry: NewEntry,
        *,
        check: Callable[[Book, NewEntry], None] | None = None,
        receipt: bool = False,
    ) -> WriteResult:
        """Append one entry: lock, catch up, check the rules, render, parse back, append, fsync.

        The same ``id`` with the same content returns the entry already written
        (``created=False``); the same id with different content is refused.

        Args:
            entry: the entry to write.
            check: the use case's rules, run against the current state under the lock.
            receipt: give the entry the next donation confirmation number of its year
                (``receipt`` metadata, ``YYYY-NNNNNN``). It is taken under the lock in the same
                step as the append, so the yearly sequence has no gaps and no repeats.

        Raises:
            RuleError: a rule refused the entry; nothing was written.
            LedgerUnavailableError: the files fail their checks; writes wait for a person.
        """
        from ledger import rules  # rules needs Book's queries; imported late to avoid a cycle

        with self._mutex, self.store.locked():
            if self.store.signature() != self._sig and not self._catch_up_locked():
                self.repairs = self.store.repair_torn_tails()
                self._load_locked()
            if self.errors:
                raise LedgerUnavailableError(self.errors)
            existing = self._by_id.get(entry.id)
            if existing is not None:
                if rules.fingerprint_parsed(existing) != rules.fingerprint_new(entry):
                    raise IdConflictError(entry.id)
                old = (existing.meta or {}).get("receipt")
                return WriteResult(
                    entry.id,
                    self.head_hash,
                    chain.seq_of(existing) or 0,
                    created=False,
                    extra={"receipt": old} if isinstance(old, str) else {},
                )
            now = self.clock()
            rules.check_entry(self, entry, today=now.date())
            if check is not None:
                check(self, entry)
            seq = self.seq + 1
            meta: list[tuple[str, Any]] = [("id", entry.id), ("seq", seq), *entry.meta]
            extra: dict[str, str] = {}
            if receipt:
                year = entry.date.year
                extra["receipt"] = f"{year:04d}-{self._receipt_last.get(year, 0) + 1:06d}"
                meta.append(("receipt", extra["receipt"]))
            if not any(k == "entered-at" for k, _ in entry.meta):
                meta.append(("entered-at", now.isoformat(timespec="seconds")))
            unhashed = render.render_new(entry, meta)
            digest = chain.entry_hash(self.head_hash, unhashed)
            meta.append(("hash", digest))
            text = render.render_new(entry, meta)
            txn = render.parse_back(text, entry, meta)
            appended = self.store.append(entry.date.year, seq, text)
            # parse_back read the entry alone (its first line is line 1); count from the file's top.
            txn = _shift_lines(txn, self._took_block(appended))
            sig = self.store.signature()
            self.store.write_state(seq, digest, sig, self._gen)
            self._sig = sig
            txn = txn._replace(meta={**(txn.meta or {}), "filename": str(appended.path)})
            self._add(txn)
            return WriteResult(entry.id, digest, seq, extra=extra)

    def write_directives(
        self, label: str, render_text: Callable[[Book], str], *, check: Callable[[Book], None]
    ) -> list[data.Directive]:
        """Append non-transaction directives (``balance``, ``custom``) under the writers' lock.

        ``check`` runs against the current state first; ``render_text`` builds the text, which
        must parse back to balance and custom directives only. Used by the month close.
        """
        with self._mutex, self.store.locked():
            if self.store.signature() != self._sig and not self._catch_up_locked():
                self.repairs = self.store.repair_torn_tails()
                self._load_locked()
            if self.errors:
                raise LedgerUnavailableError(self.errors)
            check(self)
            text = render_text(self)
            entries, errors, _ = parser.parse_string(text)
            if (
                errors
                or not entries
                or not all(isinstance(e, data.Balance | data.Custom) for e in entries)
            ):
                raise RuleError(
                    "entry", "指令无法安全写入账本（the directives do not render safely）"
                )
            year = max(e.date for e in entries).year
            appended = self.store.append(year, label, text)
            first = self._took_block(appended)
            sig = self.store.signature()
            self.store.write_state(self.seq, self.head_hash, sig, self._gen)
            self._sig = sig
            added = []
            for entry in entries:
                shifted = _shift_lines(entry, first)
                added.append(
                    shifted._replace(meta={**(shifted.meta or {}), "filename": str(appended.path)})
                )
            for entry in added:
                self._add(entry)
            return added

    def _lines_before(self, path: Path, offset: int) -> int:
        """Newlines in ``path`` before byte ``offset``: from what this Book last saw of the file
        when it ends there (the usual case), else counted once."""
        cached = self._line_counts.get(self.store.relative(path))
        if cached is not None and cached[0] == offset:
            return cached[1]
        with path.open("rb") as fh:
            return fh.read(offset).count(b"\n")

    def _took_block(self, appended: Appended) -> int:
        """Remember the lines a block added; returns the lines before the entry's own text."""
        before = self._lines_before(appended.path, appended.offset)
        size = appended.path.stat().st_size
        self._line_counts[self.store.relative(appended.path)] = (size, before + appended.lines)
        return before + appended.head_lines

    def dry_run(
        self, entry: NewEntry, *, check: Callable[[Book, NewEntry], None] | None = None
    ) -> None:
        """Run every rule a write would run, without writing (for requests awaiting approval)."""
        from ledger import rules

        with self._mutex:
            self.refresh()
            if self.errors:
                raise LedgerUnavailableError(self.errors)
            rules.check_entry(self, entry, today=self.clock().date())
            if check is not None:
                check(self, entry)

    # -- reading ------------------------------------------------------------------------------

    def get(self, entry_id: str) -> data.Transaction | None:
        """The transaction written with this id, if any."""
        return self._by_id.get(entry_id)

    def by_receipt(self, number: str) -> data.Transaction | None:
        """The donation that carries this confirmation number, if any."""
        entry_id = self._receipts.get(number)
        return self._by_id.get(entry_id) if entry_id else None

    def by_ext_id(self, ext_id: str) -> str | None:
        """The id of the entry recorded from this external transaction id, if any."""
        return self._ext_ids.get(ext_id)

    def grant_entries(self, grant: str) -> list[data.Transaction]:
        """The entries of one micro-grant (do not mutate)."""
        return self._grants.get(grant, [])

    def grant_ids(self) -> list[str]:
        """Every micro-grant the ledger has entries for."""
        return list(self._grants)

    def committed(self, fund: str) -> Decimal:
        """What a fund has committed to awarded grants and not yet spent or released."""
        return self._committed.get(fund, ZERO)

    def receipts_issued(self, year: int) -> int:
        """The last confirmation number given in ``year`` (0 if none)."""
        return self._receipt_last.get(year, 0)

    def reversed_by(self, entry_id: str) -> str | None:
        """The id of the entry that reversed this one, if any."""
        return self._reversed.get(entry_id)

    def transactions(self) -> list[data.Transaction]:
        """Every transaction, in the order taken (file order at load, then appends)."""
        return self._txns

    def latest(self, n: int, *, fund: str | None = None) -> list[data.Transaction]:
        """The ``n`` most recent transactions by date (then by order of writing)."""
        ordered = self._ordered.get(fund, [])
        return ordered[: -n - 1 : -1] if n > 0 else []

    def ordered(self, fund: str | None = None) -> list[data.Transaction]:
        """Transactions sorted by date and order of writing, all or of one fund (do not mutate)."""
        return self._ordered.get(fund, [])

    def account_balance(self, account: str, *, until: str | None = None) -> Decimal:
        """Balance of an account and its sub-accounts (months up to ``until``, "YYYY-MM")."""
        total = ZERO
        prefix = account + ":"
        for (acc, _fund, month), amount in self._totals.items():
            if (acc == account or acc.startswith(prefix)) and (until is None or month <= until):
                total += amount
        return total

    def fund_totals(
        self, fund: str, *, start: str | None = None, end: str | None = None
    ) -> FundTotals:
        """A fund's income, spending and transfers over months ``start``..``end`` (inclusive)."""
        income = spent = transfers = ZERO
        for month, (i, s, t) in self._fund_months.get(fund, {}).items():
            if (start and month < start) or (end and month > end):
                continue
            income += i
            spent += s
            transfers += t
        return FundTotals(income, spent, transfers)

    def fund_lowest_balance_from(self, fund: str, month: str) -> tuple[Decimal, str]:
        """The lowest month-end balance of a fund from ``month`` ("YYYY-MM") on, and its month.

        Costs O(months of the fund's life), not O(entries): a back-dated spend is checked against
        every later month end without reading the entries.
        """
        running = ZERO
        lowest: Decimal | None = None
        lowest_month = month
        for m, (income, spent, transfers) in sorted(self._fund_months.get(fund, {}).items()):
            running += income - spent + transfers
            if m >= month and (lowest is None or running < lowest):
                lowest, lowest_month = running, m
        if lowest is None:  # no activity from that month on: the balance now applies
            return running, month
        return lowest, lowest_month

    def fund_balance(self, fund: str) -> Decimal:
        """What a fund holds now."""
        return self.fund_totals(fund).balance

    def totals_by(
        self, *, root: str, start: str | None = None, end: str | None = None
    ) -> dict[tuple[str, str, str], Decimal]:
        """Raw totals (account, fund, month) under one root account, for reports."""
        return {
            key: amount
            for key, amount in self._totals.items()
            if key[0].split(":", 1)[0] == root
            and (start is None or key[2] >= start)
            and (end is None or key[2] <= end)
        }

    def is_closed(self, day: dt.date) -> bool:
        """Whether the month of ``day`` has been closed."""
        return day.strftime("%Y-%m") in self.closed_months

    @property
    def path(self) -> Path:
        """The ledger folder."""
        return self.store.root


#: Root account -> position in a fund's [income, spent, transfers] (signs: income and transfers in
#: are credits, so negated; spending is a debit).
_FLOW_INDEX = {"Income": 0, "Expenses": 1, "Equity": 2}


def _shift_lines(entry: _D, lines: int) -> _D:
    """An entry parsed from a piece of a file, with line numbers counted from the file's top."""
    meta = entry.meta or {}
    lineno = meta.get("lineno")
    if not isinstance(lineno, int) or not lines:
        return entry
    shifted = {**meta, "lineno": lineno + lines}
    if isinstance(entry, data.Transaction):
        postings = [
            p._replace(meta={**p.meta, "lineno": p.meta["lineno"] + lines})
            if p.meta and isinstance(p.meta.get("lineno"), int)
            else p
            for p in entry.postings
        ]
        return entry._replace(meta=shifted, postings=postings)
    # _replace of a union-bound TypeVar: mypy sees the union, the value is the same type.
    return entry._replace(meta=shifted)  # type: ignore[return-value]


def _order_key(txn: data.Transaction) -> tuple[dt.date, int]:
    return (txn.date, chain.seq_of(txn) or 0)


def funds_of(txn: data.Transaction) -> set[str]:
    """Every fund a transaction touches."""
    return {f for p in txn.postings if (f := fund_of_posting(txn, p))}


def _as_state(sig: Signature) -> dict[str, list[int]]:
    """A signature as it reads back from the JSON state file."""
    return {k: list(v) for k, v in sig.items()}


def _gen_of(state: dict[str, object] | None) -> int:
    gen = (state or {}).get("gen", 0)
    return gen if isinstance(gen, int) and not isinstance(gen, bool) else 0


def _error_text(error: Any) -> str:
    source = getattr(error, "source", None) or {}
    where = f"{Path(str(source.get('filename', '?'))).name}:{source.get('lineno', '?')}"
    return f"{where}: {getattr(error, 'message', error)}"
