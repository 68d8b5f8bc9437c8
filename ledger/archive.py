"""The canonical ledger files as one zip an auditor can check, open in Fava and query.

The archive holds every file the ledger includes (and the ``documents/`` folder) under ``ledger/``,
copied under the store's shared lock so no append lands halfway through the copy, with:

- ``MANIFEST.txt``: ``sha256sum -c`` reads it as it is (its ``#`` lines are comments to
  ``sha256sum``) and a person reads the head hash, sequence number, sizes and time at the top;
- ``MANIFEST.json``: the same facts for a program;
- ``README.txt``: how to check the archive and open the ledger, in Chinese and English.

The head hash and the counts are computed from the bytes in the archive, not from the Book, so
they describe exactly what was copied.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import io
import json
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from beancount.core import data
from beancount.parser import parser

from ledger import chain
from ledger.book import Book
from ledger.store import LedgerStore

#: The folder inside the zip that holds the ledger's files.
PREFIX = "ledger/"
MANIFEST_TXT = "MANIFEST.txt"
MANIFEST_JSON = "MANIFEST.json"
README_TXT = "README.txt"
#: zip cannot record times before 1980.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class FileDigest:
    """One file of the ledger folder: where it is, how big, and its sha256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class HeadFacts:
    """Where the hash chain stands in a set of ledger files."""

    head_hash: str
    seq: int
    entries: int
    chain_ok: bool
    chain_problem: str


@dataclass(frozen=True)
class Manifest:
    """What an archive holds and where the ledger stood when it was made."""

    title: str
    generated_at: str
    app_version: str
    head: HeadFacts
    files: tuple[FileDigest, ...]

    def to_json(self) -> str:
        """The manifest as pretty, stable JSON (keys in a fixed order)."""
        body = {
            "format": "community-fund-ledger-archive/1",
            "title": self.title,
            "generated_at": self.generated_at,
            "app_version": self.app_version,
            "head_hash": self.head.head_hash,
            "seq": self.head.seq,
            "entries": self.head.entries,
            "chain_ok": self.head.chain_ok,
            "chain_problem": self.head.chain_problem,
            "files": [asdict(f) for f in self.files],
        }
        return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


def ledger_paths(store: LedgerStore) -> list[Path]:
    """Every file that belongs in a copy of the ledger, in a fixed order.

    The files the ledger includes (main first, as :meth:`LedgerStore.files` gives them), then
    every regular file under ``documents/`` sorted by path. Symbolic links are left out: a link
    could point outside the ledger folder, and an archive must hold only the ledger.
    """
    paths = [p for p in store.files() if p.is_file()]
    if store.documents.is_dir():
        docs = [
            p
            for p in store.documents.rglob("*")
            if p.is_file() and not p.is_symlink() and not _hidden(store.relative(p))
        ]
        paths += sorted(docs, key=lambda p: store.relative(p))
    return paths


def _hidden(rel: str) -> bool:
    # Lock, state and editor backup files start with a dot; they are not part of the ledger.
    return any(part.startswith(".") for part in rel.split("/"))


def digest(path: str, content: bytes) -> FileDigest:
    """The size and sha256 of one file's bytes."""
    return FileDigest(path, len(content), hashlib.sha256(content).hexdigest())


def snapshot(book: Book) -> dict[str, bytes]:
    """The bytes of every ledger file, read under the shared lock, keyed by relative path.

    The shared lock keeps the app's writers out while the files are read, so the copy is one
    consistent state of the ledger (every entry whole, the chain unbroken at the end).
    """
    store = book.store
    with store.locked(shared=True):
        return {store.relative(p): p.read_bytes() for p in ledger_paths(store)}


def head_of(files: dict[str, bytes]) -> HeadFacts:
    """The head hash, sequence number and entry count of a set of ledger files' bytes.

    The head is the recorded hash of the entry with the highest ``seq`` (as the Book reports it);
    ``chain_ok`` says whether recomputing the chain over these files reproduces it.
    """
    entries: list[data.Directive] = []
    for rel, content in files.items():
        if rel.endswith(".beancount"):
            parsed, _errors, _ = parser.parse_string(content.decode("utf-8"), report_filename=rel)
            entries += parsed
    txns = [e for e in entries if isinstance(e, data.Transaction)]
    report = chain.verify(txns)
    seq, head = chain.head_of(txns)
    problem = "" if report.ok else f"{report.entry_id} {report.location}: {report.problem}".strip()
    return HeadFacts(head, seq, len(txns), report.ok, problem)


def app_version() -> str:
    """The installed version of this program, or ``unknown`` when it runs uninstalled."""
    try:
        return importlib.metadata.version("community-fund-ledger")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def build_manifest(book: Book, files: dict[str, bytes], generated_at: dt.datetime) -> Manifest:
    """The manifest of a snapshot taken by :func:`snapshot`."""
    return Manifest(
        title=book.title,
        generated_at=generated_at.isoformat(timespec="seconds"),
        app_version=app_version(),
        head=head_of(files),
        files=tuple(digest(PREFIX + rel, content) for rel, content in files.items()),
    )


def build_archive(book: Book) -> bytes:
    """The ledger's files as a zip with ``MANIFEST.txt``, ``MANIFEST.json`` and ``README.txt``.

    Args:
        book: the Book of the ledger to copy; only its store, title and clock are used, so the
            archive reflects the files on disk even if the Book is behind.

    Returns:
        The zip file's bytes. The files appear in the manifest's order, after the README and
        the manifests.
    """
    files = snapshot(book)
    now = book.clock()
    manifest = build_manifest(book, files, now)
    stamp = _zip_time(now)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        _add(zf, README_TXT, render_readme(manifest).encode("utf-8"), stamp)
        _add(zf, MANIFEST_TXT, render_manifest_txt(manifest).encode("utf-8"), stamp)
        _add(zf, MANIFEST_JSON, manifest.to_json().encode("utf-8"), stamp)
        for rel, content in files.items():
            _add(zf, PREFIX + rel, content, stamp)
    return buf.getvalue()


def _zip_time(moment: dt.datetime) -> tuple[int, int, int, int, int, int]:
    stamp = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    return max(stamp, _ZIP_EPOCH)


def _add(
    zf: zipfile.ZipFile, name: str, content: bytes, stamp: tuple[int, int, int, int, int, int]
) -> None:
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16  # a plain readable file when unzipped
    zf.writestr(info, content)


def sha256sum_line(item: FileDigest) -> str:
    """One line in the format ``sha256sum -c`` reads: ``<hex>  <path>``.

    GNU coreutils marks a name holding a backslash or a newline with a leading backslash and
    escapes those characters; doing the same keeps such a (rare) name checkable.
    """
    name = item.path
    if "\\" in name or "\n" in name or "\r" in name:
        escaped = name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return f"\\{item.sha256}  {escaped}"
    return f"{item.sha256}  {name}"


def render_manifest_txt(manifest: Manifest) -> str:
    """``MANIFEST.txt``: a commented header for people, then one ``sha256sum`` line per file."""
    head = manifest.head
    width = max((len(f"{f.size:,}") for f in manifest.files), default=1)
    lines = [
        "# 账本文件清单 · Ledger archive manifest",
        f"# 账本 ledger: {_one_line(manifest.title)}",
        f"# 生成时间 generated at: {manifest.generated_at}",
        f"# 程序版本 app version: {manifest.app_version}",
        f"# 链头哈希 head hash: {head.head_hash}",
        f"# 序号 seq: {head.seq}",
        f"# 分录数 entries: {head.entries}",
        "# 哈希链 hash chain: "
        + (
            "通过 verifies" if head.chain_ok else f"未通过 BROKEN — {_one_line(head.chain_problem)}"
        ),
        "#",
        "# 在解压后的文件夹中运行 · In the unzipped folder run:  sha256sum -c MANIFEST.txt",
        "#",
        "# 大小（字节）· size (bytes)   文件 · file",
    ]
    lines += [f"#   {f'{f.size:,}':>{width}}  {_one_line(f.path)}" for f in manifest.files]
    lines.append("#")
    lines += [sha256sum_line(f) for f in manifest.files]
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    # A title or path with a line break must not end a comment line and start a checksum line.
    return " ".join(text.splitlines())


def render_readme(manifest: Manifest) -> str:
    """``README.txt``: what the archive is and how to check and open it, Chinese then English."""
    head = manifest.head
    return "\n".join(
        [
            f"{_one_line(manifest.title) or '社区微基金账本'} — 账本文件归档",
            "",
            f"生成时间：{manifest.generated_at}",
            f"链头哈希：{head.head_hash}",
            f"序号 {head.seq}，共 {head.entries} 笔分录。",
            "",
            "一、核对文件是否完整未改动（在解压后的文件夹中）：",
            "    sha256sum -c MANIFEST.txt",
            "  每个文件都应显示“成功 / OK”。MANIFEST.json 中有相同的内容，供程序读取。",
            "二、用 Beancount 检查账本（pip install beancount beanquery fava）：",
            "    bean-check ledger/main.beancount",
            "  没有任何输出即表示通过。",
            "三、自行查询任意数字，例如各科目余额：",
            '    bean-query ledger/main.beancount "SELECT account, sum(position) GROUP BY account"',
            "四、在浏览器中浏览账本：",
            "    fava ledger/main.beancount",
            "五、链头哈希印在每一份报表与完整性证明上：若与上面的值相同，则自那时起账本未被改动。",
            "  本程序的“账本完整性”页面（/audit/integrity）会重新计算哈希链并指出第一笔不符的分录。",
            "",
            "----------------------------------------------------------------------",
            "",
            f"{_one_line(manifest.title) or 'Community micro-fund ledger'} — ledger archive",
            "",
            f"Generated at: {manifest.generated_at}",
            f"Head hash:    {head.head_hash}",
            f"Sequence {head.seq}, {head.entries} entries.",
            "",
            "1. Check that every file is complete and unchanged (in the unzipped folder):",
            "       sha256sum -c MANIFEST.txt",
            "   Every file must say OK. MANIFEST.json holds the same facts for programs.",
            "2. Check the ledger with Beancount (pip install beancount beanquery fava):",
            "       bean-check ledger/main.beancount",
            "   No output means it passes.",
            "3. Reproduce any figure yourself, for example every account's balance:",
            '       bean-query ledger/main.beancount "SELECT account, sum(position) GROUP BY account"',
            "4. Browse the ledger:",
            "       fava ledger/main.beancount",
            "5. The head hash is printed on every statement and on the integrity attestation: if it",
            "   equals the value above, the books have not changed since. The app's integrity page",
            "   (/audit/integrity) recomputes the chain and names the first entry that differs.",
            "",
        ]
    )
