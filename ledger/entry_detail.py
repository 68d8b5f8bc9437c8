"""One entry as an auditor inspects it: the transaction with every metadata key, its postings with
Chinese account and fund names, where it sits in the files, the entries linked to it (the same
``^link``, what it reverses and what reversed it, the same micro-grant) and the documents it
references under the ledger's ``documents/`` folder.

What the app's database knows about the entry (the approval request, the audit log, uploaded
attachments) is added by the web layer; this module reads only the ledger.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from beancount.core import data

from ledger.book import ZERO, Book, fund_of_posting
from ledger.chain import seq_of
from ledger.errors import EntryNotFoundError, RuleError

#: Metadata Beancount adds to every directive (shown as the source, not as metadata).
_LOCATION = ("filename", "lineno")
_HASH_CHUNK = 1 << 16


@dataclass(frozen=True)
class PostingLine:
    """One posting: the account with its Chinese name, its fund, debit or credit, metadata."""

    account: str
    account_name: str
    fund: str
    fund_name: str
    debit: Decimal | None
    credit: Decimal | None
    meta: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LinkedEntry:
    """Another entry connected to this one, and how (``relations``, in Chinese)."""

    id: str
    date: dt.date
    payee: str
    narration: str
    kind: str
    relations: tuple[str, ...]


@dataclass(frozen=True)
class DocumentRef:
    """A document an entry's ``document`` metadata names.

    Attributes:
        index: its position among the entry's documents (what a download link names).
        name: the metadata value as written.
        key: the metadata key (``document``, or ``document`` on a posting).
        path: the file, when it exists inside the ledger's ``documents/`` folder.
        problem: why it cannot be opened (missing, outside ``documents/``), else "".
    """

    index: int
    name: str
    key: str
    path: Path | None
    size: int | None
    sha256: str
    problem: str = ""


@dataclass(frozen=True)
class EntryDetail:
    """Everything the ledger says about one entry, ready for a page."""

    id: str
    seq: int | None
    date: dt.date
    flag: str
    payee: str
    narration: str
    kind: str
    tags: tuple[str, ...]
    links: tuple[str, ...]
    meta: tuple[tuple[str, str], ...]
    postings: tuple[PostingLine, ...]
    debit_total: Decimal
    credit_total: Decimal
    source_file: str
    source_line: int | None
    entered_by: str
    entered_at: str
    approved_by: str
    request: str
    grant: str
    reverses: str
    reversed_by: str
    linked: tuple[LinkedEntry, ...]
    documents: tuple[DocumentRef, ...]


def meta_text(value: object) -> str:
    """A metadata value as the ledger file reads (dates ISO, booleans TRUE/FALSE)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _meta_items(meta: dict[str, object] | None) -> tuple[tuple[str, str], ...]:
    # Beancount's own bookkeeping (``__tolerances__``, ``__automatic__``) is not the ledger's text.
    return tuple(
        (k, meta_text(v))
        for k, v in (meta or {}).items()
        if k not in _LOCATION and not k.startswith("__")
    )


def _posting_line(book: Book, txn: data.Transaction, posting: data.Posting) -> PostingLine:
    units = posting.units
    number = Decimal(units.number) if units is not None and units.number is not None else None
    info = book.accounts.get(posting.account)
    fund = fund_of_posting(txn, posting) or ""
    return PostingLine(
        account=posting.account,
        account_name=info.display if info is not None else "",
        fund=fund,
        fund_name=book.funds[fund].name if fund in book.funds else "",
        debit=number if number is not None and number >= 0 else None,
        credit=-number if number is not None and number < 0 else None,
        meta=_meta_items(posting.meta),
    )


def _source(book: Book, txn: data.Transaction) -> tuple[str, int | None]:
    """The file (relative to the ledger folder) and line where the entry starts."""
    meta = txn.meta or {}
    filename = str(meta.get("filename", ""))
    lineno = meta.get("lineno")
    line = int(lineno) if isinstance(lineno, int) and lineno > 0 else None
    if not filename:
        return "", line
    path = Path(filename).resolve()
    root = book.store.root.resolve()
    return (path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name), line


def _linked(book: Book, txn: data.Transaction, entry_id: str) -> tuple[LinkedEntry, ...]:
    meta = txn.meta or {}
    relations: dict[str, list[str]] = {}

    def add(other_id: str, relation: str) -> None:
        if other_id and other_id != entry_id and book.get(other_id) is not None:
            relations.setdefault(other_id, [])
            if relation not in relations[other_id]:
                relations[other_id].append(relation)

    reverses = meta.get("reverses")
    if isinstance(reverses, str):
        add(reverses, "本分录冲销的原分录（reversed by this entry）")
    add(book.reversed_by(entry_id) or "", "冲销本分录的分录（reverses this entry）")
    grant = meta.get("grant")
    if isinstance(grant, str):
        for other in book.grant_entries(grant):
            add(str((other.meta or {}).get("id", "")), f"同一微创投项目 {grant}（same grant）")
    # Links other than the entry's own id (which every app-written entry carries).
    links = set(txn.links or ()) - {entry_id}
    if links:
        for other in book.transactions():
            shared = links & set(other.links or ())
            for link in sorted(shared):
                add(str((other.meta or {}).get("id", "")), f"同一链接 ^{link}（same link）")
    out = []
    for other_id, rels in relations.items():
        found = book.get(other_id)
        assert found is not None  # add() only keeps ids the Book holds
        out.append(
            LinkedEntry(
                other_id,
                found.date,
                found.payee or "",
                found.narration or "",
                str((found.meta or {}).get("kind", "")),
                tuple(rels),
            )
        )
    seqs = {e.id: seq_of(book.get(e.id) or txn) or 0 for e in out}
    out.sort(key=lambda e: (e.date, seqs[e.id], e.id))
    return tuple(out)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _document(book: Book, index: int, key: str, name: str) -> DocumentRef:
    """Resolve a ``document`` value inside ``documents/``: never a path outside it, so a hand
    edit naming ``../../etc/passwd`` cannot make the app serve that file."""
    root = book.store.root.resolve()
    folder = (root / "documents").resolve()
    text = name.strip()
    candidate = root / text if text.startswith("documents/") else folder / text
    path = candidate.resolve()
    if not text or not path.is_relative_to(folder) or path == folder:
        return DocumentRef(index, name, key, None, None, "", "不在账本 documents/ 文件夹内")
    if not path.is_file():
        return DocumentRef(index, name, key, None, None, "", "文件不存在（missing）")
    return DocumentRef(index, name, key, path, path.stat().st_size, _sha256(path))


def _documents(book: Book, txn: data.Transaction) -> tuple[DocumentRef, ...]:
    found: list[tuple[str, str]] = []
    for where in (txn.meta, *(p.meta for p in txn.postings)):
        for key, value in (where or {}).items():
            if key == "document" or key.startswith("document-"):
                found.append((key, meta_text(value)))
    return tuple(_document(book, i, key, value) for i, (key, value) in enumerate(found))


def entry_detail(book: Book, entry_id: str) -> EntryDetail:
    """The entry written with ``entry_id``.

    Raises:
        EntryNotFoundError: (field ``entry_id``) no entry has that id.
    """
    book.refresh()
    txn = book.get(entry_id)
    if txn is None:
        raise EntryNotFoundError(entry_id[:64], field="entry_id")
    meta = txn.meta or {}
    postings = tuple(_posting_line(book, txn, p) for p in txn.postings)
    source_file, source_line = _source(book, txn)

    def text(key: str) -> str:
        value = meta.get(key)
        return meta_text(value) if value is not None else ""

    return EntryDetail(
        id=entry_id,
        seq=seq_of(txn),
        date=txn.date,
        flag=txn.flag or "",
        payee=txn.payee or "",
        narration=txn.narration or "",
        kind=text("kind"),
        tags=tuple(sorted(txn.tags or ())),
        links=tuple(sorted(txn.links or ())),
        meta=_meta_items(meta),
        postings=postings,
        debit_total=sum((p.debit for p in postings if p.debit is not None), ZERO),
        credit_total=sum((p.credit for p in postings if p.credit is not None), ZERO),
        source_file=source_file,
        source_line=source_line,
        entered_by=text("entered-by"),
        entered_at=text("entered-at"),
        approved_by=text("approved-by"),
        request=text("request"),
        grant=text("grant"),
        reverses=text("reverses"),
        reversed_by=book.reversed_by(entry_id) or "",
        linked=_linked(book, txn, entry_id),
        documents=_documents(book, txn),
    )


def document_path(book: Book, entry_id: str, index: int) -> Path:
    """The file of an entry's ``index``-th document, for download.

    Raises:
        EntryNotFoundError: no entry has that id.
        RuleError: (field ``document``) no such document, or it cannot be opened.
    """
    txn = book.get(entry_id)
    if txn is None:
        raise EntryNotFoundError(entry_id[:64], field="entry_id")
    documents = _documents(book, txn)
    if not 0 <= index < len(documents) or documents[index].path is None:
        raise RuleError("document", "该分录没有这份可打开的附件（no such document）", "not_found")
    path = documents[index].path
    assert path is not None
    return path
