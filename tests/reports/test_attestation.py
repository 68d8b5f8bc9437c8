"""The integrity attestation PDF: verdict, head hash, checks, break, files and how to re-verify in
its text; embedded fonts; user text shown literally; page 1 rendered for a person to look at."""

from __future__ import annotations

import datetime as dt
import io

from pdf_helpers import assert_fonts_embedded, flat, render_png, text_of
from pypdf import PdfReader

from ledger.archive import FileDigest
from ledger.integrity import ChainBreak, IntegrityReport, ToolRun
from reports.attestation import build_attestation

HEAD = "5e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
GOOD_HEAD = "1fc2ade4f1225b4d6ce343765a18db9f3ed8085e2b2b630a82652b9ff7fc5473"
TZ = dt.timezone(dt.timedelta(hours=8))
ORG = "督院街社区微基金"
FILES = (
    FileDigest(
        "main.beancount", 416, "23d361ab3740f8fe0ee7f0b063a9aa39bdf72d3f69651f7c5c09e29cb52186bf"
    ),
    FileDigest(
        "accounts.beancount",
        5380,
        "ccee4e73030ced563e092ab284160f0c601ec51d40aac9cd929b74420cf7ff8c",
    ),
    FileDigest(
        "txns/2026.beancount",
        666148,
        "8c0ec78da164c638e73e0300c19487ee675378f54e4f246deae4091e90a914f9",
    ),
)


def report(**changes: object) -> IntegrityReport:
    base: dict[str, object] = {
        "checked_at": dt.datetime(2026, 12, 1, 9, 30, tzinfo=TZ),
        "title": ORG,
        "head_hash": HEAD,
        "seq": 866,
        "entries": 866,
        "chained": 866,
        "unchained": 0,
        "chain_ok": True,
        "chain_break": None,
        "verified_head": HEAD,
        "beancount_errors": (),
        "tool": ToolRun(True, True, "bean-check --no-cache main.beancount"),
        "rule_problems": (),
        "files": FILES,
    }
    base.update(changes)
    return IntegrityReport(**base)  # type: ignore[arg-type]


BROKEN = report(
    chain_ok=False,
    chain_break=ChainBreak(
        problem="seq 30: 分录内容与其哈希不符，已被改动（entry changed after it was written）",
        entry_id="demo-don-20260102-ece30f",
        seq=30,
        file="txns/2026.beancount",
        line=20,
    ),
    verified_head=GOOD_HEAD,
)


def test_a_verified_ledger_attests_the_head_hash_and_every_check() -> None:
    pdf = build_attestation(report(), org_name=ORG, verified_by="auditor")
    text = flat(pdf)
    assert "账本完整性证明" in text
    assert "核验通过" in text
    assert "VERIFIED: all checks pass" in text
    assert HEAD in text
    assert "核验未通过" not in text
    assert text.count("通过 PASS") == 4  # the verdict and each of the three checks
    for name in ("哈希链", "bean-check", "项目规则"):
        assert name in text
    assert "auditor" in text
    assert "2026-12-01 09:30" in text


def test_the_file_manifest_and_the_steps_to_re_verify_are_printed() -> None:
    pdf = build_attestation(
        report(), org_name=ORG, archive_url="https://fund.example/audit/ledger.zip"
    )
    text = flat(pdf)
    for item in FILES:
        assert item.path in text
        assert item.sha256 in text
    assert "666,148" in text
    assert "sha256sum -c MANIFEST.txt" in text
    assert "bean-check ledger/main.beancount" in text
    assert "https://fund.example/audit/ledger.zip" in text
    assert "seq 866" in text


def test_a_broken_chain_names_the_entry_and_its_place() -> None:
    pdf = build_attestation(BROKEN, org_name=ORG)
    text = flat(pdf)
    assert "核验未通过" in text
    assert "NOT VERIFIED" in text
    assert "未通过 FAIL" in text
    assert "demo-don-20260102-ece30f" in text
    assert "txns/2026.beancount:20" in text
    assert "已被改动" in text
    assert GOOD_HEAD in text  # the head of the part that still verifies
    assert "未经核验" in text  # the recorded head cannot be vouched for


def test_bean_check_and_rule_problems_are_listed() -> None:
    pdf = build_attestation(
        report(
            beancount_errors=("txns/2026.beancount:88: Transaction does not balance: (1.00 CNY)",),
            tool=ToolRun(True, False, "bean-check --no-cache main.beancount", ("x",)),
            rule_problems=("txns/2026.beancount:99: Equity:3101 的过账不属于任何基金（no fund）",),
        ),
        org_name=ORG,
    )
    text = flat(pdf)
    assert "Transaction does not balance" in text
    assert "不属于任何基金" in text
    assert "核验未通过" in text


def test_user_text_is_shown_literally() -> None:
    pdf = build_attestation(
        report(title="<b>账本</b> & 社区"), org_name="<i>机构</i>", verified_by="<u>x</u>"
    )
    text = flat(pdf)
    assert "<b>账本</b> & 社区" in text
    assert "<i>机构</i>" in text
    assert "<u>x</u>" in text


def test_the_attestation_is_a4_with_embedded_fonts_and_page_numbers() -> None:
    pdf = build_attestation(report(), org_name=ORG)
    assert_fonts_embedded(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)
    assert "第 1 页 / 共 1 页" in text_of(pdf)  # a healthy ledger's attestation fits one page


def test_page_one_is_rendered_for_a_person_to_look_at() -> None:
    png = render_png(
        build_attestation(report(), org_name=ORG, verified_by="auditor"), "attestation"
    )
    assert png.stat().st_size > 10_000
    broken = render_png(build_attestation(BROKEN, org_name=ORG), "attestation-broken")
    assert broken.stat().st_size > 10_000
