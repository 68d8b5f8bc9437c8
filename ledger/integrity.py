"""Verify the ledger files on disk: the hash chain, bean-check and the project's rules, in one report.

The files are loaded afresh with beancount's loader (not taken from the in-memory Book), so an edit
made by hand since the Book loaded is seen. The report also carries the head hash, the sequence
number, the entry count and the sha256 of every file, which is what an attestation states and a
later reader compares.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beancount import loader
from beancount.core import data
from beancount.ops import validation

from ledger import chain
from ledger.archive import FileDigest, digest, ledger_paths
from ledger.book import Book
from ledger.checks import rule_problems

#: How long the bean-check program may run before it counts as failed.
BEAN_CHECK_TIMEOUT = 300


@dataclass(frozen=True)
class ChainBreak:
    """The first entry where the hash chain no longer holds.

    Attributes:
        problem: what is wrong, a Chinese sentence with the English in brackets.
        entry_id: the ``id`` of the entry found at the break (for a deleted entry, the one that
            now follows the gap).
        seq: that entry's ``seq``.
        file: its file, relative to the ledger folder.
        line: its line number in that file.
        missing_seq: for a gap, the sequence number no entry carries any more.
    """

    problem: str
    entry_id: str
    seq: int | None
    file: str
    line: int | None
    missing_seq: int | None = None

    @property
    def location(self) -> str:
        """``file:line`` of the entry."""
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass(frozen=True)
class ToolRun:
    """The outcome of running the ``bean-check`` program on ``main.beancount``."""

    ran: bool
    ok: bool
    command: str
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class IntegrityReport:
    """Everything verified about the ledger files at one moment.

    ``ok`` is true only if the chain verifies, beancount's loader reports no error, the
    ``bean-check`` program (when it ran) agrees, and the project's own rules find nothing.
    """

    checked_at: dt.datetime
    title: str
    head_hash: str
    seq: int
    entries: int
    chained: int
    unchained: int
    chain_ok: bool
    chain_break: ChainBreak | None
    verified_head: str
    beancount_errors: tuple[str, ...]
    tool: ToolRun
    rule_problems: tuple[str, ...]
    files: tuple[FileDigest, ...] = field(default=())

    @property
    def beancheck_ok(self) -> bool:
        """Whether beancount finds the files valid (the loader and, if it ran, the program)."""
        return not self.beancount_errors and (self.tool.ok or not self.tool.ran)

    @property
    def rules_ok(self) -> bool:
        """Whether the project's own rules find nothing wrong."""
        return not self.rule_problems

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return self.chain_ok and self.beancheck_ok and self.rules_ok


def verify_integrity(book: Book, *, run_bean_check: bool = True) -> IntegrityReport:
    """Verify the ledger files as they are on disk now.

    The Book is refreshed first (so the fund balances the rules read are current); then, under
    the store's shared lock so no append lands in between, the files are hashed and loaded with
    beancount's loader (with bean-check's extra validations), and the chain is recomputed.

    Args:
        book: the Book of the ledger; its store gives the folder, its clock the time.
        run_bean_check: also run the ``bean-check`` program, as an auditor would.

    Returns:
        The report; nothing is raised for a broken ledger, the report says what is wrong.
    """
    book.refresh()
    store = book.store
    root = str(store.root)
    with store.locked(shared=True):
        files = tuple(digest(store.relative(p), p.read_bytes()) for p in ledger_paths(store))
        entries, errors, options = loader.load_file(
            str(store.main), extra_validations=validation.HARDCORE_VALIDATIONS
        )
        tool = _run_bean_check(store.main) if run_bean_check else ToolRun(False, True, "")
        rules = rule_problems(book, entries)
    txns = [e for e in entries if isinstance(e, data.Transaction)]
    report = chain.verify(txns)
    seq, head = chain.head_of(txns)
    return IntegrityReport(
        checked_at=book.clock(),
        title=str(options.get("title") or book.title),
        head_hash=head,
        seq=seq,
        entries=len(txns),
        chained=len(txns) - report.unchained,
        unchained=report.unchained,
        chain_ok=report.ok,
        chain_break=None if report.ok else _break_of(report, txns, root),
        verified_head=report.head,
        beancount_errors=tuple(_relative(_error_text(e), root) for e in errors),
        tool=ToolRun(
            tool.ran, tool.ok, tool.command, tuple(_relative(t, root) for t in tool.errors)
        ),
        rule_problems=tuple(_relative(str(p), root) for p in rules),
        files=files,
    )


def _break_of(report: chain.ChainReport, txns: list[data.Transaction], root: str) -> ChainBreak:
    """Where the chain broke, with the entry's seq and line, from the chain's report."""
    found: data.Transaction | None = None
    for txn in txns:
        meta = txn.meta or {}
        if f"{meta.get('filename', '?')}:{meta.get('lineno', '?')}" == report.location:
            found = txn
            break
    meta = (found.meta or {}) if found is not None else {}
    seq = chain.seq_of(found) if found is not None else None
    line = meta.get("lineno")
    # chain.verify has checked report.entries entries; a gap means the next number is missing.
    missing = report.entries + 1 if seq is not None and seq > report.entries + 1 else None
    return ChainBreak(
        problem=report.problem,
        entry_id=report.entry_id,
        seq=seq,
        file=_relative(str(meta.get("filename", "?")), root),
        line=line if isinstance(line, int) else None,
        missing_seq=missing,
    )


def _run_bean_check(main: Path) -> ToolRun:
    """Run the ``bean-check`` program beside this Python (the venv's), else the one on PATH."""
    exe = Path(sys.executable).parent / "bean-check"
    program = str(exe) if exe.exists() else shutil.which("bean-check")
    if program is None:
        return ToolRun(False, True, "bean-check")
    # --no-cache: a pickle cache must not be written beside the ledger (see ledger.book).
    args = [program, "--no-cache", "--json", str(main)]
    command = f"bean-check --no-cache {main.name}"
    try:
        # A fixed program and the ledger's own path: no user text reaches the command line.
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=BEAN_CHECK_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ToolRun(True, False, command, (f"bean-check 未能运行（could not run）: {exc}",))
    messages = _json_errors(done.stdout)
    if done.returncode != 0 and not messages:
        messages = [line for line in done.stderr.splitlines() if line.strip()][-5:] or [
            f"bean-check 退出码 {done.returncode}（exit status）"
        ]
    return ToolRun(True, done.returncode == 0 and not messages, command, tuple(messages))


def _json_errors(stdout: str) -> list[str]:
    try:
        body: Any = json.loads(stdout)
    except ValueError:
        return []
    out = []
    for item in body.get("errors", []) if isinstance(body, dict) else []:
        where = f"{item.get('filename') or '?'}:{item.get('lineno') or '?'}"
        out.append(f"{where}: {item.get('message', '')}".strip())
    return out


def _error_text(error: Any) -> str:
    source = getattr(error, "source", None) or {}
    message = str(getattr(error, "message", error)).strip()
    if isinstance(source, dict) and source.get("filename"):
        return f"{source['filename']}:{source.get('lineno', '?')}: {message}"
    return message


def _relative(text: str, root: str) -> str:
    """Message text with the ledger folder's absolute path left out (file paths read relative)."""
    return text.replace(root.rstrip("/") + "/", "")
