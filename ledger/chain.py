"""The hash chain that makes edits to past entries evident.

Each entry the app writes carries ``seq`` (its place in the order of writing) and ``hash`` =
sha256(previous entry's hash + newline + the entry's canonical text without the hash line). The
head hash — the last entry's — is printed on every public page and statement; :func:`verify`
recomputes the chain from the parsed files and names the first entry that no longer matches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from ledger.render import render_parsed

GENESIS = "0" * 64
_SKIP = frozenset({"hash"})


def entry_hash(prev: str, canonical_text: str) -> str:
    """The chained hash of one entry."""
    return hashlib.sha256(f"{prev}\n{canonical_text}".encode()).hexdigest()


def canonical_text(txn: data.Transaction) -> str:
    """The text that is hashed: the entry as rendered, without its ``hash`` line."""
    return render_parsed(txn, skip=_SKIP)


def seq_of(txn: data.Directive) -> int | None:
    """The write sequence number of an app-written entry, or None for hand-written ones."""
    value = (txn.meta or {}).get("seq")
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return int(value)
    return None


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a verification."""

    ok: bool
    entries: int
    head: str
    problem: str = ""
    entry_id: str = ""
    location: str = ""
    unchained: int = 0


def verify(entries: Iterable[data.Directive]) -> ChainReport:
    """Recompute the chain over every app-written transaction, in ``seq`` order.

    Returns:
        ``ok`` with the head hash, or the first problem: a changed entry (its text no longer
        gives its hash), a missing entry (a gap in ``seq``) or a repeated ``seq``.
    """
    chained: list[tuple[int, data.Transaction]] = []
    unchained = 0
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        seq = seq_of(entry)
        if seq is None:
            unchained += 1
        else:
            chained.append((seq, entry))
    chained.sort(key=lambda pair: pair[0])
    prev = GENESIS
    for expected, (seq, txn) in enumerate(chained, start=1):
        meta = txn.meta or {}
        where = f"{meta.get('filename', '?')}:{meta.get('lineno', '?')}"
        ident = str(meta.get("id", ""))
        if seq != expected:
            what = "重复的序号" if seq < expected else f"缺少第 {expected} 笔分录（被删除？）"
            return ChainReport(
                False, expected - 1, prev, f"seq {seq}: {what}", ident, where, unchained
            )
        recorded = meta.get("hash")
        computed = entry_hash(prev, canonical_text(txn))
        if recorded != computed:
            return ChainReport(
                False,
                expected - 1,
                prev,
                f"seq {seq}: 分录内容与其哈希不符，已被改动（entry changed after it was written）",
                ident,
                where,
                unchained,
            )
        prev = computed
    return ChainReport(True, len(chained), prev, unchained=unchained)


def head_of(txns: Iterable[data.Transaction]) -> tuple[int, str]:
    """The highest ``seq`` among app-written entries and that entry's recorded hash (0 and the
    genesis hash when there are none)."""
    seq, head = 0, GENESIS
    for txn in txns:
        number = seq_of(txn)
        if number is not None and number > seq:
            seq, head = number, str((txn.meta or {}).get("hash", ""))
    return seq, head
