"""Integrity verification on the files as they are on disk, and the ledger archive with its manifest.

Every test works on a copy of the demo year (``demo_ledger`` is shared and read-only), edits it by
hand the way a person with a text editor would, and checks that the verification names what
changed.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data

from ledger import archive, chain
from ledger.book import Book
from ledger.integrity import verify_integrity
from ledger.store import LedgerStore


@pytest.fixture
def book(demo_ledger: Path, tmp_path: Path) -> Book:
    """A Book on a private copy of the demo year."""
    root = tmp_path / "ledger"
    shutil.copytree(demo_ledger, root)
    return Book(LedgerStore(root)).open()


def chained(book: Book) -> list[data.Transaction]:
    """The app-written transactions of the files, in seq order."""
    entries, errors, _ = loader.load_file(str(book.store.main))
    assert errors == []
    txns = [e for e in entries if isinstance(e, data.Transaction) and chain.seq_of(e)]
    return sorted(txns, key=lambda t: chain.seq_of(t) or 0)


def where(txn: data.Transaction, root: Path) -> tuple[Path, int]:
    """The file and 1-based line of an entry's header line."""
    meta = txn.meta or {}
    return Path(meta["filename"]), int(meta["lineno"])


def replace_line(path: Path, lineno: int, old: str, new: str) -> None:
    """Change ``old`` to ``new`` on one line of a file, as an editor would."""
    lines = path.read_text("utf-8").split("\n")
    assert old in lines[lineno - 1], lines[lineno - 1]
    lines[lineno - 1] = lines[lineno - 1].replace(old, new, 1)
    path.write_text("\n".join(lines), "utf-8")


def entry_block(text: str, seq: int) -> str:
    match = re.search(rf"; >>> entry {seq}\n.*?; <<< entry {seq}\n\n", text, flags=re.S)
    assert match, f"no block for entry {seq}"
    return match.group(0)


# -- verification -----------------------------------------------------------------------------


def test_the_untouched_demo_year_verifies_with_the_books_head_hash(book: Book) -> None:
    report = verify_integrity(book)
    assert report.ok
    assert report.chain_ok
    assert report.beancheck_ok
    assert report.rules_ok
    assert report.chain_break is None
    assert report.head_hash == book.head_hash == report.verified_head
    assert report.seq == book.seq
    assert report.entries == len(book.transactions())
    assert report.chained == report.seq
    assert report.unchained == 0
    assert report.beancount_errors == ()
    assert report.rule_problems == ()
    assert report.tool.ran
    assert report.tool.ok
    assert report.tool.errors == ()
    assert report.title == book.title
    assert report.checked_at.tzinfo is not None


def test_the_report_lists_the_sha256_of_every_file(book: Book) -> None:
    report = verify_integrity(book)
    store = book.store
    expected = {
        store.relative(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in store.files()
    }
    assert {f.path: f.sha256 for f in report.files} == expected
    assert [f.path for f in report.files][:2] == ["main.beancount", "accounts.beancount"]
    for item in report.files:
        assert item.size == (store.root / item.path).stat().st_size


def test_a_narration_changed_by_hand_breaks_the_chain_at_that_entry(book: Book) -> None:
    target = chained(book)[40]
    path, line = where(target, book.store.root)
    replace_line(path, line, f'"{target.narration}"', f'"{target.narration}（改）"')

    report = verify_integrity(book)  # the Book opened before the edit: the files are read afresh
    assert not report.ok
    assert not report.chain_ok
    assert report.beancheck_ok
    assert report.rules_ok
    brk = report.chain_break
    assert brk is not None
    assert brk.entry_id == target.meta["id"]
    assert brk.seq == chain.seq_of(target)
    assert brk.file == book.store.relative(path)
    assert brk.line == line
    assert brk.location == f"{brk.file}:{line}"
    assert brk.missing_seq is None
    assert "已被改动" in brk.problem
    # The chain up to the entry before still verifies, and that is what the report says.
    assert report.verified_head == chained(book)[39].meta["hash"]


def test_an_amount_changed_on_both_postings_passes_bean_check_but_not_the_chain(
    book: Book,
) -> None:
    # An entry between equity accounts: no balance assertion notices a changed amount.
    target = next(
        t
        for t in chained(book)
        if len(t.postings) == 2
        and all(p.account.startswith("Equity:") for p in t.postings)
        and (t.meta or {}).get("kind") == "grant-award"
    )
    path, _ = where(target, book.store.root)
    old = abs(target.postings[0].units.number)
    new = old + 1
    for posting in target.postings:
        number = posting.units.number
        replace_line(
            path,
            int(posting.meta["lineno"]),
            f"{number} CNY",
            f"{new if number > 0 else -new} CNY",
        )

    report = verify_integrity(book)
    assert report.beancheck_ok, report.beancount_errors
    assert report.tool.ok, report.tool.errors
    assert not report.chain_ok
    assert not report.ok
    assert report.chain_break is not None
    assert report.chain_break.entry_id == target.meta["id"]
    assert report.chain_break.line == target.meta["lineno"]


def test_a_deleted_entry_is_named_as_the_gap_in_the_sequence(book: Book) -> None:
    txns = chained(book)
    gone, after = txns[100], txns[101]
    seq = chain.seq_of(gone)
    path, _ = where(gone, book.store.root)
    text = path.read_text("utf-8")
    path.write_text(text.replace(entry_block(text, seq), "", 1), "utf-8")

    report = verify_integrity(book)
    assert not report.chain_ok
    brk = report.chain_break
    assert brk is not None
    assert brk.missing_seq == seq
    assert f"缺少第 {seq} 笔" in brk.problem
    # The entry now following the gap is named, with where it stands.
    assert brk.entry_id == after.meta["id"]
    assert brk.seq == chain.seq_of(after)
    assert brk.file == book.store.relative(where(after, book.store.root)[0])
    # The files still pass bean-check only if nothing depended on the entry; the chain speaks.
    assert report.seq == book.seq


def test_an_unbalanced_edit_is_reported_by_bean_check_with_its_place(book: Book) -> None:
    target = next(t for t in chained(book) if len(t.postings) == 2)
    path, _ = where(target, book.store.root)
    posting = target.postings[0]
    number = posting.units.number
    replace_line(path, int(posting.meta["lineno"]), f"{number} CNY", f"{number + 1} CNY")

    report = verify_integrity(book)
    assert not report.beancheck_ok
    assert not report.ok
    assert report.beancount_errors
    rel = book.store.relative(path)
    assert any(e.startswith(f"{rel}:") for e in report.beancount_errors), report.beancount_errors
    assert any("balance" in e.lower() for e in report.beancount_errors)
    # The bean-check program, run as an auditor would, agrees.
    assert report.tool.ran
    assert not report.tool.ok
    assert report.tool.errors
    # Absolute paths of the server are not shown.
    assert not any(str(book.store.root) in e for e in report.beancount_errors)
    # The chain breaks too, at the same entry, and the rules list neither problem again.
    assert report.chain_break is not None
    assert report.chain_break.entry_id == target.meta["id"]
    assert not any("balance" in p.lower() for p in report.rule_problems)


def test_a_hand_written_entry_outside_any_fund_fails_the_project_rules(book: Book) -> None:
    with book.store.year_file(2026).open("a", encoding="utf-8") as fh:
        fh.write(
            # Between net-asset accounts, so no bank or cash balance assertion is disturbed.
            '\n2026-06-30 * "手工" "没有基金的划转"\n'
            "  Equity:3101-非限定性净资产  1.00 CNY\n"
            "  Equity:3102-限定性净资产  -1.00 CNY\n"
        )
    report = verify_integrity(book)
    assert report.chain_ok  # a hand-written entry carries no seq: the chain cannot see it
    assert report.unchained == 1
    assert report.beancheck_ok
    assert not report.rules_ok
    assert not report.ok
    assert any("Equity:3101-非限定性净资产" in p and "no fund" in p for p in report.rule_problems)
    assert not any(str(book.store.root) in p for p in report.rule_problems)


def test_verification_without_the_bean_check_program_says_so(book: Book) -> None:
    report = verify_integrity(book, run_bean_check=False)
    assert report.ok
    assert not report.tool.ran


# -- the archive -------------------------------------------------------------------------------


def unzip(content: bytes, into: Path) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        zf.extractall(into)
        return zf.namelist()


def test_the_archive_holds_the_ledger_with_a_manifest_that_checks(
    book: Book, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    names = unzip(archive.build_archive(book), out)
    files = list(book.store.files())
    assert names == [
        "README.txt",
        "MANIFEST.txt",
        "MANIFEST.json",
        *(f"ledger/{book.store.relative(p)}" for p in files),
    ]
    manifest = json.loads((out / "MANIFEST.json").read_text("utf-8"))
    assert manifest["head_hash"] == book.head_hash
    assert manifest["seq"] == book.seq
    assert manifest["entries"] == len(book.transactions())
    assert manifest["chain_ok"] is True
    assert manifest["app_version"]
    assert manifest["generated_at"].startswith(book.clock().date().isoformat()[:4])
    assert [f["path"] for f in manifest["files"]] == names[3:]
    for item in manifest["files"]:
        content = (out / item["path"]).read_bytes()
        assert hashlib.sha256(content).hexdigest() == item["sha256"]
        assert len(content) == item["size"]
        # ... and byte for byte the file in the ledger folder.
        assert content == (book.store.root / item["path"].removeprefix("ledger/")).read_bytes()

    text = (out / "MANIFEST.txt").read_text("utf-8")
    assert book.head_hash in text
    assert f"seq: {book.seq}" in text

    # The extracted ledger stands on its own and carries the same head.
    entries, errors, _ = loader.load_file(str(out / "ledger" / "main.beancount"))
    assert errors == []
    report = chain.verify(entries)
    assert report.ok
    assert report.head == book.head_hash


def test_sha256sum_checks_the_manifest_as_it_is_and_notices_a_change(
    book: Book, tmp_path: Path
) -> None:
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum (coreutils) is not installed")
    out = tmp_path / "out"
    unzip(archive.build_archive(book), out)
    check = subprocess.run(
        ["sha256sum", "--strict", "-c", "MANIFEST.txt"],
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == len(book.store.files())

    year = out / "ledger" / "txns" / "2026.beancount"
    year.write_text(year.read_text("utf-8").replace("捐赠", "捐增", 1), "utf-8")
    check = subprocess.run(
        ["sha256sum", "-c", "MANIFEST.txt"], cwd=out, capture_output=True, text=True, check=False
    )
    assert check.returncode != 0
    assert "ledger/txns/2026.beancount: FAILED" in check.stdout


def test_the_archive_has_a_bilingual_readme_with_the_commands(book: Book) -> None:
    with zipfile.ZipFile(io.BytesIO(archive.build_archive(book))) as zf:
        readme = zf.read("README.txt").decode("utf-8")
    for command in (
        "sha256sum -c MANIFEST.txt",
        "bean-check ledger/main.beancount",
        "bean-query ledger/main.beancount",
        "fava ledger/main.beancount",
    ):
        assert readme.count(command) == 2, command  # once in Chinese, once in English
    assert "链头哈希" in readme
    assert "Head hash" in readme
    assert book.head_hash in readme


def test_documents_are_archived_in_order_and_links_and_hidden_files_are_not(
    book: Book, tmp_path: Path
) -> None:
    docs = book.store.documents
    (docs / "2026" / "b").mkdir(parents=True)
    (docs / "2026" / "b" / "发票-2.pdf").write_bytes(b"%PDF-2")
    (docs / "2026" / "a.jpg").write_bytes(b"jpeg")
    (docs / ".~lock.a.jpg#").write_bytes(b"lock")
    outside = tmp_path / "secret.txt"
    outside.write_text("not part of the ledger", "utf-8")
    (docs / "link.txt").symlink_to(outside)

    content = archive.build_archive(book)
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("MANIFEST.json"))
    assert [n for n in names if n.startswith("ledger/documents/")] == [
        "ledger/documents/2026/a.jpg",
        "ledger/documents/2026/b/发票-2.pdf",
    ]
    assert "ledger/documents/2026/b/发票-2.pdf" in [f["path"] for f in manifest["files"]]
    # Two archives list the same files in the same order.
    with zipfile.ZipFile(io.BytesIO(archive.build_archive(book))) as zf:
        assert zf.namelist() == names


def test_the_archive_waits_for_a_writer_holding_the_lock(book: Book) -> None:
    done = threading.Event()
    result: list[bytes] = []

    def build() -> None:
        result.append(archive.build_archive(book))
        done.set()

    with book.store.locked():
        worker = threading.Thread(target=build)
        worker.start()
        time.sleep(0.3)
        assert not done.is_set(), "the copy must not be taken while a writer holds the lock"
    worker.join(timeout=30)
    assert done.is_set()
    assert result[0].startswith(b"PK")


def test_the_manifest_of_a_broken_chain_says_so(book: Book) -> None:
    target = chained(book)[10]
    path, line = where(target, book.store.root)
    replace_line(path, line, f'"{target.narration}"', '"改过的摘要"')
    with zipfile.ZipFile(io.BytesIO(archive.build_archive(book))) as zf:
        manifest = json.loads(zf.read("MANIFEST.json"))
        text = zf.read("MANIFEST.txt").decode("utf-8")
    assert manifest["chain_ok"] is False
    assert target.meta["id"] in manifest["chain_problem"]
    assert "BROKEN" in text
    assert target.meta["id"] in text


def test_a_file_name_with_a_backslash_or_newline_is_written_the_way_sha256sum_reads_it() -> None:
    plain = archive.FileDigest("ledger/documents/a b.pdf", 1, "ab" * 32)
    assert archive.sha256sum_line(plain) == f"{'ab' * 32}  ledger/documents/a b.pdf"
    odd = archive.FileDigest("ledger/documents/a\\b\nc.pdf", 1, "cd" * 32)
    assert archive.sha256sum_line(odd) == f"\\{'cd' * 32}  ledger/documents/a\\\\b\\nc.pdf"
