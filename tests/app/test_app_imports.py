"""Batch entry of donations from statement exports: upload, preview, post (ledger_app/imports.py)."""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from app_testkit import bean_check, counts, donors, flashes, give, ledger_entry, snapshot
from flask import Flask
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from ledger.statements import StatementError
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.imports import ImportRefusedError, import_statement
from ledger_app.models import AuditLog

DATA = Path(__file__).resolve().parents[1] / "data" / "statements"
WX_CHEN = "1000050001202601050123456789012"  # 陈秀英 ¥200
WX_WANG = "1000039801202601080233445566778"  # 王小明 ¥88
WX_FIRM = "1000050001202601200345678901234"  # 锦江区某某餐饮有限公司 ¥1,200
WX_OUT = "4200002001202601121234567890"  # 永辉超市, outgoing
WX_NEW = {WX_CHEN, WX_WANG, WX_FIRM}
#: tests/conftest.py's AuthActions: a signed-in test client with CSRF-aware helpers.
AuthActions = Any
Signed = Callable[..., AuthActions]
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no csrf_token on the page"
    return match.group(1)


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def upload(
    actions: AuthActions,
    raw: bytes,
    *,
    fmt: str = "auto",
    fund: str = "general",
    display: str = "masked",
    filename: str = "statement.csv",
    csrf: bool = True,
) -> TestResponse:
    """POST the upload form. The body is encoded here, in memory: the test client would spool a
    large one to a temporary file it never closes (a ResourceWarning, an error in this suite)."""
    values: dict[str, object] = {
        "file": FileStorage(io.BytesIO(raw), filename=filename, content_type="text/csv"),
        "format": fmt,
        "fund": fund,
        "display": display,
    }
    if csrf:
        values["csrf_token"] = actions.token("/admin/imports/")
    boundary, body = encode_multipart(values)
    return actions.client.post(
        "/admin/imports/", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def token_of(response: TestResponse) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    match = re.fullmatch(r"/admin/imports/([A-Za-z0-9_-]+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def preview(actions: AuthActions, token: str) -> str:
    page = actions.client.get(f"/admin/imports/{token}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def checkboxes(page: str) -> set[str]:
    return set(re.findall(r'<input type="checkbox" name="rows" value="([^"]+)"', page))


def row_html(page: str, line: int) -> str:
    match = re.search(rf'<tr class="row-(\w+)" id="line-{line}">(.*?)</tr>', page, re.S)
    assert match, f"no row for line {line}"
    return match.group(1) + " " + html.unescape(match.group(2))


def post_rows(
    actions: AuthActions, token: str, rows: list[str], *, csrf: bool = True
) -> TestResponse:
    data: dict[str, object] = {"rows": rows}
    if csrf:
        data["csrf_token"] = csrf_token(preview(actions, token))
    return actions.client.post(f"/admin/imports/{token}/post", data=data)


def errors_on(page: str) -> list[str]:
    return [
        html.unescape(m) for m in re.findall(r'<p class="error[^"]*"[^>]*>(.*?)</p>', page, re.S)
    ]


def upload_files(app: Flask) -> list[Path]:
    folder = Path(app.instance_path) / "imports"
    return sorted(folder.iterdir()) if folder.exists() else []


# -- upload and preview -------------------------------------------------------------------------------


def test_upload_previews_rows_with_donor_matches(funded: Flask, signed_in: Signed) -> None:
    admin = signed_in("admin")
    response = upload(admin, sample("wechat.csv"), filename="../../etc/passwd")
    token = token_of(response)
    stored = upload_files(funded)
    assert [p.name for p in stored] == sorted([f"{token}.csv", f"{token}.json"])
    assert stored[0].read_bytes() == sample("wechat.csv")
    page = preview(admin, token)
    assert checkboxes(page) == WX_NEW
    chen = row_html(page, 18)
    assert chen.startswith("new ")
    assert "已有捐赠人，公开显示为「陈**」" in chen  # registered with her phone, masked
    assert "¥200.00" in chen
    assert WX_CHEN in chen
    assert "将新建捐赠人，公开显示为「王**」" in row_html(page, 19)
    assert "将新建捐赠人" in row_html(page, 22)
    assert row_html(page, 20).startswith("skipped ")  # outgoing
    assert "支出" in row_html(page, 20)
    assert row_html(page, 21).startswith("skipped ")  # withdrawal
    assert "退款" in row_html(page, 23)
    assert "微信支付账单" in page
    assert "passwd" in page  # the name is shown, never used as a path
    assert not (Path(funded.instance_path) / "etc").exists()


def test_preview_shows_rows_the_ledger_would_refuse(app: Flask, signed_in: Signed) -> None:
    future = today() + dt.timedelta(days=3)
    raw = (
        "交易日期,收入金额,支出金额,对方户名,流水号\n"
        f"2026-01-04,100.00,,周慧敏,B1\n{future.isoformat()},50.00,,吴静,B2\n"
    ).encode("gbk")
    admin = signed_in("admin")
    token = token_of(upload(admin, raw))
    page = preview(admin, token)
    assert checkboxes(page) == {"B1"}
    refused = row_html(page, 3)
    assert refused.startswith("refused ")
    assert "晚于今天" in refused
    before, db_before = snapshot(app), counts(app)
    response = post_rows(admin, token, ["B1", "B2"])  # a stale page or a forged post
    assert response.status_code == 400
    message = " ".join(errors_on(response.get_data(as_text=True)))
    assert "第 3 行（交易号 B2）不能入账" in message
    assert "本次没有入账任何一行" in message
    assert snapshot(app) == before
    assert counts(app) == db_before


# -- posting ------------------------------------------------------------------------------------------


def test_post_selected_rows(funded: Flask, signed_in: Signed) -> None:
    admin = signed_in("admin")
    donors_before = donors(funded)
    token = token_of(upload(admin, sample("wechat.csv")))
    response = post_rows(admin, token, [WX_CHEN, WX_WANG])
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/imports/{token}"
    page = admin.client.get(response.headers["Location"]).get_data(as_text=True)
    assert any("已入账 2 笔捐赠" in f for f in flashes(page))
    assert checkboxes(page) == {WX_FIRM}
    assert row_html(page, 18).startswith("recorded ")

    chen = ledger_entry(funded, f"imp-{WX_CHEN}")
    assert chen is not None
    meta = chen.meta
    assert meta["ext-id"] == WX_CHEN
    assert meta["source"] == "import"
    assert meta["channel"] == "wechat"
    assert meta["entered-by"] == "admin"
    assert re.fullmatch(r"2026-\d{6}", meta["receipt"])
    assert chen.date == dt.date(2026, 1, 5)
    assert chen.payee == "陈**"
    assert "fund-general" in chen.tags
    assert ledger_entry(funded, f"imp-{WX_WANG}") is not None
    assert ledger_entry(funded, f"imp-{WX_FIRM}") is None
    check = bean_check(funded)
    assert check.returncode == 0, check.stdout + check.stderr

    after = donors(funded)
    assert len(after) == len(donors_before) + 1  # 陈秀英 matched, 王小明 new
    chen_donor = next(d for d in after if d["name"] == "陈秀英")
    assert chen_donor["phone"] == "13700137000"
    assert meta["donor"] == chen_donor["ref"]
    wang = next(d for d in after if d["name"] == "王小明")
    assert wang["display"] == "masked"
    with funded.app_context():
        logged = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "import_statement")
        ).all()
        assert len(logged) == 1
        assert logged[0].actor == "admin"
        assert logged[0].detail["posted"] == "2"
        assert logged[0].detail["format"] == "wechat"


def test_matched_donor_keeps_their_own_display(app: Flask, signed_in: Signed) -> None:
    give(app, "10.00", name="陈秀英", display="name")
    admin = signed_in("admin")
    token = token_of(upload(admin, sample("wechat.csv"), display="anonymous"))
    assert "已有捐赠人，公开显示为「陈秀英」" in row_html(preview(admin, token), 18)
    assert post_rows(admin, token, [WX_CHEN, WX_WANG]).status_code == 303
    by_name = {d["name"]: d for d in donors(app)}
    assert by_name["陈秀英"]["display"] == "name"
    assert by_name["王小明"]["display"] == "anonymous"
    entry = ledger_entry(app, f"imp-{WX_WANG}")
    assert entry is not None
    assert entry.payee == "匿名"


def test_repeated_post_and_same_file_again_add_nothing(app: Flask, signed_in: Signed) -> None:
    admin = signed_in("admin")
    token = token_of(upload(admin, sample("wechat.csv")))
    assert post_rows(admin, token, sorted(WX_NEW)).status_code == 303
    ledger_once, donors_once = snapshot(app), donors(app)

    again = post_rows(admin, token, sorted(WX_NEW))
    assert again.status_code == 303
    page = admin.client.get(again.headers["Location"]).get_data(as_text=True)
    assert any("没有新的行需要入账" in f for f in flashes(page))

    second = token_of(upload(admin, sample("wechat.csv")))
    assert second != token
    page = preview(admin, second)
    assert checkboxes(page) == set()
    for line in (18, 19, 22):
        assert row_html(page, line).startswith("recorded ")
        assert "已入账" in row_html(page, line)
    assert "没有待入账的行" in page
    assert post_rows(admin, second, sorted(WX_NEW)).status_code == 303
    assert snapshot(app) == ledger_once
    assert donors(app) == donors_once


def test_no_row_chosen(app: Flask, signed_in: Signed) -> None:
    admin = signed_in("admin")
    token = token_of(upload(admin, sample("wechat.csv")))
    before = snapshot(app)
    response = post_rows(admin, token, [])
    assert response.status_code == 400
    assert "请至少勾选一行" in " ".join(errors_on(response.get_data(as_text=True)))
    response = post_rows(admin, token, ["not-in-this-file"])
    assert response.status_code == 400
    assert "不是此文件中的收入行" in " ".join(errors_on(response.get_data(as_text=True)))
    response = post_rows(admin, token, [WX_OUT])  # an outgoing row is never a donation
    assert response.status_code == 400
    assert snapshot(app) == before


def test_bank_statement_in_gbk_to_a_restricted_fund(app: Flask, signed_in: Signed) -> None:
    admin = signed_in("admin")
    token = token_of(upload(admin, sample("bank.csv"), fmt="bank", fund="zhulaocan"))
    page = preview(admin, token)
    assert checkboxes(page) == {"B20260104000123", "B20260116000789"}
    assert post_rows(admin, token, ["B20260104000123", "B20260116000789"]).status_code == 303
    office = ledger_entry(app, "imp-B20260104000123")
    assert office is not None
    assert office.meta["donor-kind"] == "government"
    assert office.meta["channel"] == "bank"
    assert "fund-zhulaocan" in office.tags
    assert bean_check(app).returncode == 0


# -- malformed files ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bad_amount.csv", "第 19 行「金额(元)」列：金额格式不正确"),
        ("bad_date.csv", "第 19 行「交易时间」列：日期格式不正确"),
        ("duplicate_id.csv", "第 19 行「交易单号」列：交易号"),
        ("missing_column.csv", "第 17 行「交易单号」列"),
        ("empty", "文件是空的"),
        ("binary", "这不是 CSV 文本文件"),
    ],
)
def test_malformed_file_is_refused_and_nothing_changes(
    app: Flask, signed_in: Signed, name: str, expected: str
) -> None:
    special = {"empty": b"", "binary": b"PK\x03\x04\x00\x00\x00binary"}
    raw = special[name] if name in special else sample(name)
    admin = signed_in("admin")
    ledger_before, db_before = snapshot(app), counts(app)
    response = upload(admin, raw)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    shown = errors_on(page)
    assert any(e.startswith(expected) for e in shown), shown
    assert snapshot(app) == ledger_before
    assert counts(app) == db_before
    assert upload_files(app) == []


def test_format_mismatch_and_oversize(app: Flask, signed_in: Signed) -> None:
    admin = signed_in("admin")
    response = upload(admin, sample("alipay.csv"), fmt="bank")
    assert response.status_code == 400
    assert any("银行流水的表头" in e for e in errors_on(response.get_data(as_text=True)))
    response = upload(admin, b"x" * (4 * 1024 * 1024 + 1))
    assert response.status_code == 400
    assert any("文件过大" in e for e in errors_on(response.get_data(as_text=True)))
    assert upload_files(app) == []


# -- who may import ------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["auditor", "approver"])
def test_only_administrators(app: Flask, signed_in: Signed, username: str) -> None:
    admin = signed_in("admin")
    token = token_of(upload(admin, sample("wechat.csv")))
    before = snapshot(app)
    other = signed_in(username)
    assert other.client.get("/admin/imports/").status_code == 403
    assert other.client.get(f"/admin/imports/{token}").status_code == 403
    stolen = csrf_token(other.client.get("/").get_data(as_text=True))
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(sample("wechat.csv")), "w.csv"), "csrf_token": stolen}
    )
    response = other.client.post(
        "/admin/imports/", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 403
    response = other.client.post(
        f"/admin/imports/{token}/post", data={"rows": [WX_CHEN], "csrf_token": stolen}
    )
    assert response.status_code == 403
    assert snapshot(app) == before


def test_signed_out_visitors_are_sent_to_sign_in(
    app: Flask, visitor: Callable[..., AuthActions]
) -> None:
    response = visitor().client.get("/admin/imports/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_csrf_is_required(app: Flask, signed_in: Signed) -> None:
    admin = signed_in("admin")
    assert upload(admin, sample("wechat.csv"), csrf=False).status_code == 400
    assert upload_files(app) == []
    token = token_of(upload(admin, sample("wechat.csv")))
    before = snapshot(app)
    assert post_rows(admin, token, [WX_CHEN], csrf=False).status_code == 400
    assert snapshot(app) == before


@pytest.mark.parametrize("token", ["nope", "..%2F..%2Fetc%2Fpasswd", "A" * 30])
def test_unknown_tokens(app: Flask, signed_in: Signed, token: str) -> None:
    admin = signed_in("admin")
    assert admin.client.get(f"/admin/imports/{token}").status_code == 404


# -- the function the API calls -----------------------------------------------------------------------


def test_import_statement_previews_then_posts_every_new_row(app: Flask) -> None:
    raw = sample("alipay.csv")
    with app.test_request_context():
        book = get_book()
        kwargs = {"fmt": "auto", "fund": "meiyuanzi", "display": "name", "actor": "admin"}
        seen = import_statement(book, raw, post=False, **kwargs)
        assert seen.format == "alipay"
        assert seen.channel == "alipay"
        assert not seen.posted
        assert seen.counts == {"new": 2, "recorded": 0, "skipped": 2, "refused": 0, "posted": 0}
        done = import_statement(book, raw, post=True, **kwargs)
        assert [r.counterparty for r in done.created] == ["李四光", "刘德明"]
        assert all(re.fullmatch(r"2026-\d{6}", n) for n in done.receipts)
        assert done.entry_ids == (
            "imp-20260106200040011100450012345678",
            "imp-20260109200040011100450023456789",
        )
        as_json = json.loads(json.dumps(done.as_dict()))
        assert as_json["counts"]["posted"] == 2
        assert as_json["created"][0]["receipt"] == done.receipts[0]
        assert as_json["rows"][0]["amount"] == "500.00"
        again = import_statement(book, raw, post=True, **kwargs)
        assert again.created == ()
        assert again.counts["recorded"] == 2
        with pytest.raises(StatementError):
            import_statement(book, sample("bad_amount.csv"), post=True, **kwargs)
    entry = ledger_entry(app, "imp-20260106200040011100450012345678")
    assert entry is not None
    assert entry.payee == "李四光"
    assert entry.meta["channel"] == "alipay"
    assert "fund-meiyuanzi" in entry.tags


def test_import_statement_posts_nothing_when_a_row_is_refused(app: Flask) -> None:
    future = today() + dt.timedelta(days=1)
    raw = f"交易日期,收入金额,支出金额,对方户名,流水号\n2026-01-04,100.00,,周慧敏,B1\n{future},5.00,,吴静,B2\n"
    before, db_before = snapshot(app), counts(app)
    with app.test_request_context():
        with pytest.raises(ImportRefusedError) as exc:
            import_statement(
                get_book(),
                raw.encode(),
                fmt="bank",
                fund="general",
                display="masked",
                actor="admin",
                post=True,
            )
        assert "第 3 行" in exc.value.message
        assert [r.status for r in exc.value.result.rows] == ["new", "refused"]
        assert exc.value.result.created == ()
        done = import_statement(
            get_book(),
            raw.encode(),
            fmt="bank",
            fund="general",
            display="masked",
            actor="admin",
            post=True,
            only=["B1"],
        )
        assert done.entry_ids == ("imp-B1",)
    assert snapshot(app) != before
    assert counts(app)["donors"] == db_before["donors"] + 1


def test_a_write_failing_part_way_is_resumed_by_importing_again(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.errors import LedgerUnavailableError
    from ledger_app import imports

    real = imports.workflow.record_donation
    calls: list[str] = []

    def flaky(book: Any, data: Any, actor: str, *, source: str = "form") -> Any:
        calls.append(data.ext_id)
        if len(calls) == 2:
            raise LedgerUnavailableError(["txns/2026.beancount: edited by hand"])
        return real(book, data, actor, source=source)

    raw = sample("wechat.csv")
    kwargs = {"fmt": "wechat", "fund": "general", "display": "masked", "actor": "admin"}
    with app.test_request_context():
        monkeypatch.setattr(imports.workflow, "record_donation", flaky)
        with pytest.raises(ImportRefusedError) as exc:
            import_statement(get_book(), raw, post=True, **kwargs)
        assert "此前已入账 1 行" in exc.value.message
        assert [r.ext_id for r in exc.value.result.created] == [WX_CHEN]
        monkeypatch.setattr(imports.workflow, "record_donation", real)
        done = import_statement(get_book(), raw, post=True, **kwargs)
        assert [r.ext_id for r in done.created] == [WX_WANG, WX_FIRM]
        assert done.counts["recorded"] == 1
        logged = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "import_statement").order_by(AuditLog.id)
        ).all()
        assert [a.detail["posted"] for a in logged] == ["1", "2"]
        assert "入账失败" in logged[0].detail["error"]
    assert bean_check(app).returncode == 0
