"""Render entries to Beancount text ourselves, and prove each rendering by parsing it back.

Beancount's printer escapes only some strings, so user text (payee, narration, metadata values)
goes through :func:`check_text` and :func:`quote` here. The same function renders an entry when it
is written and when the hash chain is verified, so the two can never disagree.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from beancount.core import data
from beancount.parser import parser

from ledger.errors import RuleError
from ledger.model import MetaValue, NewEntry, Posting

# Bidirectional controls can make text read differently from what it is (Trojan Source).
_BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
_META_KEY = re.compile(r"[a-z][a-zA-Z0-9_-]+")
_INTERNAL_META = frozenset({"filename", "lineno", "__tolerances__", "__automatic__"})
#: The line-level framing the store writes around each entry; see ledger.store.
BEGIN = "; >>> entry "
END = "; <<< entry "
MAX_TEXT = 500


def check_text(field: str, value: str, *, max_len: int = MAX_TEXT, required: bool = False) -> str:
    """Refuse text that could break out of a Beancount string or mislead a reader.

    Quotes and backslashes are fine (they are escaped when rendered); control characters
    (newlines, tabs, C1), line and paragraph separators, bidirectional controls, other invisible
    format characters, lone surrogates and unassigned code points are refused.

    Args:
        field: the field name for the error.
        value: the text as entered.
        max_len: the longest accepted text, in characters.
        required: whether empty text is refused.

    Returns:
        The text unchanged.

    Raises:
        RuleError: naming the field and the first offending character.
    """
    if not isinstance(value, str):
        raise RuleError(field, "须为文本（must be text）")
    if required and not value.strip():
        raise RuleError(field, "此项必填（required）", "required")
    if len(value) > max_len:
        raise RuleError(field, f"过长：最多 {max_len} 个字符（too long）", "too_long")
    for ch in value:
        cp = ord(ch)
        cat = unicodedata.category(ch)
        bad = cat in ("Cc", "Cs", "Cn", "Zl", "Zp") or cp in _BIDI or (cat == "Cf" and cp != 0x200D)
        if bad:
            raise RuleError(
                field,
                f"含有不允许的控制字符 U+{cp:04X}（control or invisible characters are not allowed）",
                "bad_character",
            )
    return value


def quote(text: str) -> str:
    """A Beancount string literal whose parse gives back exactly ``text`` (already checked)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_value(value: MetaValue | Any) -> str:
    """Render one metadata value in the type it should parse back as."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal | int):
        return format(Decimal(value), "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"unsupported metadata value {value!r}")


def _meta_lines(items: Iterable[tuple[str, Any]], indent: str) -> list[str]:
    lines = []
    for key, value in items:
        if key in _INTERNAL_META:
            continue
        if not _META_KEY.fullmatch(key):
            raise ValueError(f"bad metadata key {key!r}")
        lines.append(f"{indent}{key}: {render_value(value)}")
    return lines


def render_transaction(
    *,
    date: dt.date,
    flag: str,
    payee: str,
    narration: str,
    tags: Iterable[str],
    links: Iterable[str],
    meta: Iterable[tuple[str, Any]],
    postings: Iterable[tuple[str, Decimal, Iterable[tuple[str, Any]]]],
) -> str:
    """The canonical text of a transaction, ending with a newline.

    Tags and links are sorted; metadata keeps its order; amounts keep their exponent, so a
    rendering of the parsed text is identical to the text written.
    """
    head = f"{date.isoformat()} {flag} {quote(payee)} {quote(narration)}"
    marks = [f"#{t}" for t in sorted(tags)] + [f"^{link}" for link in sorted(links)]
    if marks:
        head += " " + " ".join(marks)
    lines = [head, *_meta_lines(meta, "  ")]
    for account, amount, pmeta in postings:
        lines.append(f"  {account}  {format(amount, 'f')} CNY")
        lines.extend(_meta_lines(pmeta, "    "))
    return "\n".join(lines) + "\n"


def render_new(entry: NewEntry, meta: Iterable[tuple[str, MetaValue]]) -> str:
    """Render an entry about to be written, with the store's metadata in front of the caller's."""
    return render_transaction(
        date=entry.date,
        flag=entry.flag,
        payee=entry.payee,
        narration=entry.narration,
        tags=entry.tags,
        links=entry.links,
        meta=meta,
        postings=((p.account, p.amount, p.meta) for p in entry.postings),
    )


def render_parsed(txn: data.Transaction, *, skip: frozenset[str] = frozenset()) -> str:
    """Render a transaction read back from a file, leaving out the metadata keys in ``skip``."""
    return render_transaction(
        date=txn.date,
        flag=txn.flag or "*",
        payee=txn.payee or "",
        narration=txn.narration or "",
        tags=txn.tags or (),
        links=txn.links or (),
        meta=((k, v) for k, v in (txn.meta or {}).items() if k not in skip),
        postings=(
            (p.account, p.units.number, (p.meta or {}).items())
            for p in txn.postings
            if p.units is not None and p.units.number is not None
        ),
    )


def _clean(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (meta or {}).items() if k not in _INTERNAL_META}


def _norm(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value


def parse_back(
    text: str, entry: NewEntry, meta: Iterable[tuple[str, MetaValue]]
) -> data.Transaction:
    """Parse rendered text and require exactly the one intended transaction.

    Raises:
        RuleError: if the text does not parse to exactly that entry (field ``entry``); this would
            mean a rendering bug or hostile input that slipped past :func:`check_text`.
    """
    entries, errors, _ = parser.parse_string(text)
    txns = [e for e in entries if isinstance(e, data.Transaction)]
    if errors or len(entries) != 1 or len(txns) != 1:
        raise RuleError(
            "entry", "分录无法安全写入账本（the entry does not render safely）", "unsafe"
        )
    txn = txns[0]
    want_meta = {k: _norm(v) for k, v in meta}
    same = (
        txn.date == entry.date
        and txn.flag == entry.flag
        and (txn.payee or "") == entry.payee
        and (txn.narration or "") == entry.narration
        and set(txn.tags or ()) == set(entry.tags)
        and set(txn.links or ()) == set(entry.links)
        and _clean(txn.meta) == want_meta
        and len(txn.postings) == len(entry.postings)
        and all(_same_posting(a, b) for a, b in zip(txn.postings, entry.postings, strict=True))
    )
    if not same:
        raise RuleError("entry", "分录解析结果与输入不一致（round trip mismatch）", "unsafe")
    return txn


def _same_posting(parsed: data.Posting, want: Posting) -> bool:
    return (
        parsed.account == want.account
        and parsed.units is not None
        and parsed.units.number == want.amount
        and parsed.units.currency == "CNY"
        and parsed.cost is None
        and parsed.price is None
        and _clean(parsed.meta) == {k: _norm(v) for k, v in want.meta}
    )
