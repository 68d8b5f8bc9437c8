"""The ledger folder on disk: its layout, one cross-process lock, and durable appends.

Layout (DESIGN.md §3)::

    main.beancount        options and includes
    accounts.beancount    open directives and fund declarations
    txns/YYYY.beancount   entries appended by the app, one file per year of the entry's date
    documents/            receipts and invoices referenced from entries

Each appended entry is framed by a ``; >>> entry N`` line before it and a ``; <<< entry N`` line
after it. Beancount ignores both (they are comments), and a crash that leaves half an entry at the
end of a file is recognised at start-up by a begin line without its end line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ledger import chart
from ledger.model import Fund
from ledger.render import BEGIN, END

log = logging.getLogger(__name__)

Signature = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class Appended:
    """Where :meth:`LedgerStore.append` put a block: the file, the byte offset the block starts
    at, the lines of the block before the entry's own text, and all the lines it added."""

    path: Path
    offset: int
    head_lines: int
    lines: int


@dataclass(frozen=True)
class Repair:
    """What a start-up repair removed from the end of one file."""

    path: str
    removed_bytes: int
    removed_text: str


class LedgerStore:
    """Paths, locking and appending for one ledger folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.main = self.root / "main.beancount"
        self.accounts = self.root / "accounts.beancount"
        self.txns = self.root / "txns"
        self.documents = self.root / "documents"
        self._lock_path = self.root / ".ledger.lock"
        self._state_path = self.root / ".ledger-state.json"

    # -- layout -----------------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether the folder holds an initialised ledger."""
        return self.main.is_file() and self.accounts.is_file()

    def init(
        self,
        *,
        title: str = "社区微基金账本",
        opened: dt.date = dt.date(2020, 1, 1),
        funds: tuple[Fund, ...] = chart.DEFAULT_FUNDS,
    ) -> bool:
        """Create the folder layout and the default chart; does nothing if it already exists.

        Returns:
            True if a new ledger was created.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with self.locked():
            if self.exists():
                return False
            self.txns.mkdir(exist_ok=True)
            self.documents.mkdir(exist_ok=True)
            _write_new(self.accounts, chart.render_accounts(opened, funds))
            year_file = self.year_file(dt.date.today().year)  # noqa: DTZ011 - local calendar year
            if not year_file.exists():
                _write_new(year_file, _year_header(year_file))
            _write_new(self.main, chart.render_main(title))  # last: exists() turns true only now
            return True

    def upgrade_chart(self, opened: dt.date = dt.date(2020, 1, 1)) -> int:
        """Open the default chart's accounts an older ledger lacks; returns how many were added.

        Appending ``open`` directives is the one change the app makes to accounts.beancount, and
        it is what a person would do by hand: the Books notice the change and reload.
        """
        with self.locked():
            text = self.accounts.read_text("utf-8")
            extra = chart.missing_opens(text, opened)
            if not extra:
                return 0
            with self.accounts.open("a", encoding="utf-8") as fh:
                fh.write(("" if text.endswith("\n") else "\n") + extra)
                fh.flush()
                os.fsync(fh.fileno())
            return extra.count(" open ")

    def year_file(self, year: int) -> Path:
        """The file entries dated in ``year`` are appended to."""
        return self.txns / f"{year:04d}.beancount"

    def files(self) -> list[Path]:
        """Every file the ledger includes, main first."""
        return [self.main, self.accounts, *sorted(self.txns.glob("*.beancount"))]

    def relative(self, path: Path) -> str:
        """A path relative to the ledger folder, as used in the state file and messages."""
        return path.relative_to(self.root).as_posix()

    def signature(self) -> Signature:
        """Size and modification time of every included file: cheap, a few stat calls."""
        sig: Signature = {}
        for path in self.files():
            with contextlib.suppress(FileNotFoundError):
                st = path.stat()
                sig[self.relative(path)] = (st.st_size, st.st_mtime_ns)
        return sig

    # -- locking ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, *, shared: bool = False) -> Iterator[None]:
        """Hold the ledger's lock: exclusive for writers, shared for readers catching up.

        An ``flock`` on a file holds across worker processes (a thread lock would not), and the
        kernel releases it if the holder dies.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # -- appending --------------------------------------------------------------------------

    def append(self, year: int, seq: int | str, text: str) -> Appended:
        """Append one framed entry to the year's file and fsync it; call with the lock held.

        Returns:
            The file written to, where the block starts and how many lines come before ``text``
            inside it (so the Book can give the entry its real line number).
        """
        path = self.year_file(year)
        is_new = not path.exists()
        block = f"{BEGIN}{seq}\n{text}{END}{seq}\n\n"
        if is_new:
            block = _year_header(path) + block
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                # A hand edit left no final newline: the begin line must start a line of its own,
                # or the start-up repair cannot find it.
                block = "\n" + block
            payload = block.encode("utf-8")
            written = 0
            while written < len(payload):
                written += os.write(fd, payload[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
        if is_new:
            _fsync_dir(self.txns)
        head = block[: block.index(text)]
        return Appended(path, size, head.count("\n"), block.count("\n"))

    # -- state shared between processes ----------------------------------------------------

    def read_state(self) -> dict[str, object] | None:
        """The last writer's record of sequence, head hash and file signature (a cache)."""
        try:
            state = json.loads(self._state_path.read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return state if isinstance(state, dict) else None

    def write_state(self, seq: int, head: str, signature: Signature, gen: int = 0) -> None:
        """Record what the files look like after this process's write (call with the lock held).

        ``gen`` counts the changes not made by an app append (hand edits, repairs); a Book that
        loaded in an older generation must reload rather than read only the new bytes.
        """
        tmp = self._state_path.with_suffix(".tmp")
        state = {"seq": seq, "head": head, "files": signature, "gen": gen}
        tmp.write_text(json.dumps(state, ensure_ascii=False), "utf-8")
        os.replace(tmp, self._state_path)

    # -- crash recovery ---------------------------------------------------------------------

    def repair_torn_tails(self) -> list[Repair]:
        """Cut a half-written entry off the end of each year file; call with the lock held.

        A torn tail is a begin line with no end line after it. Text after the last end line that
        does not start with a begin line (a hand edit) is left alone.
        """
        repairs = []
        for path in sorted(self.txns.glob("*.beancount")):
            repair = _repair_file(path, self.relative(path))
            if repair:
                log.warning(
                    "ledger: removed a half-written entry (%d bytes) from the end of %s: %r",
                    repair.removed_bytes,
                    repair.path,
                    repair.removed_text[:300],
                )
                repairs.append(repair)
        return repairs


def _repair_file(path: Path, rel: str) -> Repair | None:
    size = path.stat().st_size
    if size == 0:
        return None
    # Read back far enough to find the last framing line; entries are small.
    with path.open("rb") as fh:
        window = min(size, 1 << 20)
        fh.seek(size - window)
        tail = fh.read()
    begin = tail.rfind(b"\n" + BEGIN.encode())
    if begin < 0 and window == size and tail.startswith(BEGIN.encode()):
        begin = -1
    elif begin < 0:
        return None
    start = begin + 1
    after = tail[start:]
    if (b"\n" + END.encode()) in after:
        return None
    cut_at = size - window + start
    with path.open("r+b") as fh:
        fh.truncate(cut_at)
        fh.flush()
        os.fsync(fh.fileno())
    return Repair(rel, len(after), after.decode("utf-8", errors="replace"))


def _year_header(path: Path) -> str:
    return f"; Entries dated in {path.stem}, appended by the application.\n\n"


def _write_new(path: Path, text: str) -> None:
    if path.exists():
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
