"""Background exports: a job runs in a thread to done with its progress in the database (so
another worker process sees it), the file's sha256 is recorded and matches what is downloaded,
only its creator and auditors may fetch it, bad input is refused before any row is written, and
a job its process abandoned is reported failed."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from app_testkit import main_file, snapshot
from beanquery_helpers import bean_query, bean_query_sum
from flask import Flask, Response
from sqlalchemy import func, select, update

from ledger import financials
from ledger_app import jobs
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import AuditLog, ExportJob, utcnow

YEAR = str(today().year)


def job_rows(app: Flask) -> list[ExportJob]:
    with app.app_context():
        rows = list(db.session.scalars(select(ExportJob).order_by(ExportJob.created_at)))
        db.session.expunge_all()
        return rows


def job_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ExportJob)) or 0


def wait_for(app: Flask, job_id: str, timeout: float = 30.0) -> ExportJob:
    with app.app_context():
        job = jobs.wait(job_id, timeout)
        db.session.expunge(job)
        return job


def start(client: object, token: str, **form: str) -> object:
    return client.post("/audit/exports", data={**form, "csrf_token": token})  # type: ignore[attr-defined]


def page_token(auditor: object) -> str:
    return auditor.token("/audit/exports")  # type: ignore[attr-defined]


def fetch(client: Any, url: str) -> Response:
    """GET a download and close it (a file sent by send_file stays open until then)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


# -- a job from start to download ----------------------------------------------------------------


def test_a_statement_export_runs_in_the_background_and_downloads_with_its_recorded_sha256(
    populated: Flask, signed_in: Callable
) -> None:
    auditor = signed_in("auditor")
    response = start(
        auditor.client, page_token(auditor), kind="statement_csv", type="activities", period=YEAR
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/audit/exports")
    (job,) = job_rows(populated)
    job = wait_for(populated, job.id)
    assert job.status == "done", job.message
    assert job.total > 0
    assert job.done == job.total
    assert job.created_by == "auditor"
    assert job.started_at is not None
    assert job.finished_at is not None

    status = auditor.client.get(f"/audit/exports/{job.id}.json").get_json()
    assert status["status"] == "done"
    assert status["percent"] == 100
    assert status["params"] == {
        "type": "activities",
        "period": YEAR,
        "start": f"{YEAR}-01-01",
        "end": f"{YEAR}-12-31",
    }
    download = fetch(auditor.client, f"/audit/exports/{job.id}/download")
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert f"activities-{YEAR}-01-01_{YEAR}-12-31.csv" in download.headers["Content-Disposition"]
    assert hashlib.sha256(download.data).hexdigest() == job.sha256 == status["sha256"]
    assert len(download.data) == job.size
    assert download.headers["X-Content-SHA256"] == job.sha256

    with populated.app_context():
        book = get_book()
        expected = financials.build_statement(book, "activities", financials.parse_period(YEAR))
        assert job.head_hash == book.head_hash
    rows = read_csv(download.data)
    by_label = {r[1]: r[2:] for r in rows[1:]}
    assert rows[0] == ["行次", "项目", *expected.columns]
    for line in expected.lines:
        figures = [f"{v:.2f}" for v in line.values] or [""] * len(expected.columns)
        assert by_label[line.label] == figures, line.key
    # …and one line recomputed from the files alone with bean-query.
    donated = -bean_query_sum(
        main_file(populated),
        f"account ~ '^Income:4101' AND year = {YEAR}",
    )
    assert Decimal(by_label["其中：捐赠收入"][2]) == donated


def test_the_download_is_in_the_audit_log_with_the_files_sha256(
    populated: Flask, signed_in: Callable
) -> None:
    auditor = signed_in("auditor")
    start(auditor.client, page_token(auditor), kind="ledger_zip", period="")
    (job,) = job_rows(populated)
    job = wait_for(populated, job.id)
    assert fetch(auditor.client, f"/audit/exports/{job.id}/download").status_code == 200
    with populated.app_context():
        logged = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "download_export")
        ).one()
        assert logged.actor == "auditor"
        assert logged.target == job.id
        assert logged.detail["sha256"] == job.sha256
        queued = db.session.scalars(select(AuditLog).where(AuditLog.action == "export_queued"))
        assert [r.target for r in queued] == [job.id]


def test_the_ledger_zip_job_holds_the_files_with_a_manifest_of_their_hashes(
    populated: Flask, signed_in: Callable
) -> None:
    auditor = signed_in("auditor")
    start(auditor.client, page_token(auditor), kind="ledger_zip")
    (job,) = job_rows(populated)
    job = wait_for(populated, job.id)
    assert job.status == "done", job.message
    content = fetch(auditor.client, f"/audit/exports/{job.id}/download").data
    assert hashlib.sha256(content).hexdigest() == job.sha256
    files = snapshot(populated)
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        manifest = zf.read("MANIFEST.txt").decode("utf-8")
        assert zf.read("ledger/main.beancount") == files["main.beancount"]
    assert hashlib.sha256(files["main.beancount"]).hexdigest() in manifest
    assert job.head_hash in manifest


def run_export(app: Flask, auditor: Any, **form: str) -> tuple[ExportJob, bytes]:
    """Start an export through the page, wait for it, download it; checks the recorded hash."""
    before = {j.id for j in job_rows(app)}
    response = start(auditor.client, page_token(auditor), **form)
    assert response.status_code == 303, response.get_data(as_text=True)
    (job,) = [j for j in job_rows(app) if j.id not in before]
    job = wait_for(app, job.id)
    assert job.status == "done", job.message
    download = fetch(auditor.client, f"/audit/exports/{job.id}/download")
    assert download.status_code == 200
    assert download.mimetype == job.mimetype
    assert hashlib.sha256(download.data).hexdigest() == job.sha256
    assert len(download.data) == job.size
    return job, download.data


def pdf_text(content: bytes) -> tuple[int, str]:
    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(content)).pages
    return len(pages), "".join(p.extract_text().replace("\n", "") for p in pages)


def period_ids(app: Flask, start: str, end: str) -> set[str]:
    """The ids of the entries dated in the period, by bean-query on the files."""
    rows = bean_query(
        main_file(app),
        f"SELECT DISTINCT entry_meta('id') WHERE date >= {start} AND date <= {end}",
    )
    return {str(r[0]) for r in rows if r[0]}


def test_the_journal_pdf_job_counts_its_pages_and_shows_every_entry(
    populated: Flask, signed_in: Callable
) -> None:
    auditor = signed_in("auditor")
    job, content = run_export(populated, auditor, kind="journal_pdf", period=YEAR)
    assert content.startswith(b"%PDF")
    pages, text = pdf_text(content)
    # progress counts pages: done reached total, and total is the page count.
    assert job.done == job.total == pages
    assert "序时账" in text
    assert "助老餐补贴（本周）" in text
    assert "信息公示栏印刷" not in text  # dated last year, outside the period
    assert job.head_hash[:16] in text
    assert populated.config["ORG_NAME"] in text


def test_the_journal_csv_job_holds_exactly_the_entries_bean_query_finds(
    populated: Flask, signed_in: Callable
) -> None:
    auditor = signed_in("auditor")
    job, content = run_export(populated, auditor, kind="journal_csv", period=YEAR)
    rows = read_csv(content)
    assert rows[0][:3] == ["日期 date", "凭证号 seq", "编号 id"]
    ids = {r[2] for r in rows[1:]}
    assert ids == period_ids(populated, f"{YEAR}-01-01", f"{YEAR}-12-31")
    # progress counts entries
    assert job.done == job.total == len(ids)
    debit = sum((Decimal(r[14] or "0") for r in rows[1:]), Decimal(0))
    credit = sum((Decimal(r[15] or "0") for r in rows[1:]), Decimal(0))
    assert debit == credit > 0


def test_the_general_ledger_jobs_close_each_account_at_its_bean_query_balance(
    populated: Flask, signed_in: Callable
) -> None:
    auditor = signed_in("auditor")
    job, content = run_export(populated, auditor, kind="general_ledger_csv", period=YEAR)
    rows = read_csv(content)
    closing = {r[0]: Decimal(r[11]) for r in rows[1:] if r[2].startswith("期末余额")}
    assert job.done == job.total == len(closing)
    bank = "Assets:1002-银行存款"
    assert closing[bank] == bean_query_sum(
        main_file(populated), f"account = '{bank}' AND date <= {YEAR}-12-31"
    )
    job, content = run_export(populated, auditor, kind="general_ledger_pdf", period=YEAR)
    pages, text = pdf_text(content)
    assert job.done == job.total == pages
    assert "总账" in text
    assert "1002" in text


def test_the_statement_pdf_job_shows_the_statement_figures(
    populated: Flask, signed_in: Callable
) -> None:
    from reports.table_report import format_amount

    auditor = signed_in("approver")
    job, content = run_export(
        populated, auditor, kind="statement_pdf", type="balance_sheet", period=YEAR
    )
    _pages, text = pdf_text(content)
    with populated.app_context():
        want = financials.build_statement(
            get_book(), "balance_sheet", financials.parse_period(YEAR)
        )
    assert "资产负债表" in text
    assert format_amount(want.value("货币资金", 1)) in text
    assert want.head_hash == job.head_hash
    assert job.head_hash[:16] in text


# -- progress is in the database, seen by any worker -----------------------------------------------


@pytest.fixture
def gated(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """A ``slow_csv`` export kind that reports progress 3 of 10, then waits for the test."""
    gate = threading.Event()
    reached = threading.Event()

    def build(ctx: jobs.JobContext) -> None:
        ctx.progress(0, 10)
        ctx.progress(3, 10)
        reached.set()
        assert gate.wait(20)
        ctx.path.write_bytes(b"\xef\xbb\xbfa,b\r\n1,2\r\n")
        ctx.progress(10, 10)

    kind = jobs.ExportKind("slow_csv", "慢速测试导出", "csv", "text/csv", False, build)
    monkeypatch.setitem(jobs.KINDS, "slow_csv", kind)
    gate.reached = reached  # type: ignore[attr-defined]
    yield gate
    gate.set()


def test_progress_is_written_to_the_database_so_another_worker_shows_it(
    app: Flask, make_app: Callable[..., Flask], gated: threading.Event, signed_in: Callable
) -> None:
    first = app
    first.config["EXPORTS_PROGRESS_SECONDS"] = 0
    # A second app on the same database and files: another gunicorn worker, say.
    second = make_app(setup=False)
    auditor = signed_in("auditor", on=first)
    start(auditor.client, page_token(auditor), kind="slow_csv")
    assert gated.reached.wait(20)  # type: ignore[attr-defined]
    (job,) = job_rows(first)

    elsewhere = signed_in("auditor", on=second)
    status = elsewhere.client.get(f"/audit/exports/{job.id}.json").get_json()
    assert (status["status"], status["done"], status["total"], status["percent"]) == (
        "running",
        3,
        10,
        30,
    )
    page = elsewhere.client.get("/audit/exports").get_data(as_text=True)
    assert re.search(r'<progress value="3" max="10"[^>]*>30%</progress>', page)
    assert '<meta http-equiv="refresh" content="2">' in page
    assert "30%" in page

    gated.set()
    job = wait_for(second, job.id)
    assert (job.status, job.done, job.total) == ("done", 10, 10)
    page = elsewhere.client.get("/audit/exports").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page
    assert re.search(r'<progress value="10" max="10"[^>]*>100%</progress>', page)
    assert f"/audit/exports/{job.id}/download" in page
    assert job.sha256 in page


def test_progress_writes_are_throttled(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    commits: list[int] = []

    def build(ctx: jobs.JobContext) -> None:
        for i in range(1, 2001):
            ctx.progress(i, 2000)
        ctx.path.write_bytes(b"x")

    monkeypatch.setitem(
        jobs.KINDS, "many", jobs.ExportKind("many", "多步", "csv", "text/csv", False, build)
    )
    original = jobs._ProgressWriter.write

    def counting(self: jobs._ProgressWriter) -> None:
        commits.append(self.done)
        original(self)

    monkeypatch.setattr(jobs._ProgressWriter, "write", counting)
    app.config["EXPORTS_SYNC"] = True
    with app.test_request_context():
        job = jobs.submit_export("many", {}, "auditor")
        assert (job.status, job.done, job.total) == ("done", 2000, 2000)
    # 2000 calls in well under a second: the first is written, the rest wait for the interval.
    assert 1 <= len(commits) <= 3, commits


# -- who may see a job -----------------------------------------------------------------------------


def test_only_the_creator_and_auditors_may_download_an_export(
    populated: Flask, signed_in: Callable
) -> None:
    approver = signed_in("approver")
    start(
        approver.client, page_token(approver), kind="statement_csv", type="cash_flow", period=YEAR
    )
    (job,) = job_rows(populated)
    wait_for(populated, job.id)
    assert fetch(approver.client, f"/audit/exports/{job.id}/download").status_code == 200

    other = signed_in("admin2")
    assert fetch(other.client, f"/audit/exports/{job.id}/download").status_code == 404
    assert other.client.get(f"/audit/exports/{job.id}.json").status_code == 404
    assert job.id not in other.client.get("/audit/exports").get_data(as_text=True)

    auditor = signed_in("auditor")
    assert fetch(auditor.client, f"/audit/exports/{job.id}/download").status_code == 200
    assert auditor.client.get(f"/audit/exports/{job.id}.json").status_code == 200


def test_the_export_pages_need_a_reader_role(app: Flask, visitor: Callable) -> None:
    anonymous = visitor().client
    assert anonymous.get("/audit/exports").status_code == 302
    assert anonymous.post("/audit/exports", data={"kind": "ledger_zip"}).status_code in (302, 400)
    assert job_count(app) == 0


def test_an_unknown_job_is_404(app: Flask, signed_in: Callable) -> None:
    auditor = signed_in("auditor")
    assert auditor.client.get("/audit/exports/nope.json").status_code == 404
    assert auditor.client.get("/audit/exports/nope/download").status_code == 404


# -- bad input: refused, nothing written -----------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "field", "words"),
    [
        ({"kind": "everything_pdf", "period": YEAR}, "kind", "unknown export kind"),
        ({"kind": "", "period": YEAR}, "kind", "unknown export kind"),
        (
            {"kind": "statement_csv", "type": "balance_sheet", "period": "2026-13"},
            "period",
            "no such day",
        ),
        (
            {"kind": "statement_csv", "type": "balance_sheet", "period": "last year"},
            "period",
            "unknown period",
        ),
        (
            {"kind": "statement_csv", "type": "balance_sheet", "period": ""},
            "period",
            "unknown period",
        ),
        (
            {"kind": "statement_csv", "type": "activities", "period": "2026-03-31..2026-01-01"},
            "period",
            "end before start",
        ),
        (
            {"kind": "statement_csv", "type": "profit_and_loss", "period": YEAR},
            "type",
            "unknown statement type",
        ),
    ],
)
def test_bad_input_is_refused_with_a_message_and_no_job_row(
    app: Flask, signed_in: Callable, form: dict[str, str], field: str, words: str
) -> None:
    auditor = signed_in("auditor")
    response = start(auditor.client, page_token(auditor), **form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert words in html
    assert f'id="{field}-error"' in html
    assert job_count(app) == 0
    exports = Path(app.instance_path) / "exports"
    assert not exports.exists() or not any(exports.iterdir())


def test_a_user_may_not_queue_more_than_three_exports_at_once(
    app: Flask, signed_in: Callable, gated: threading.Event
) -> None:
    auditor = signed_in("auditor")
    for _ in range(3):
        assert start(auditor.client, page_token(auditor), kind="slow_csv").status_code == 303
    response = start(auditor.client, page_token(auditor), kind="slow_csv")
    assert response.status_code == 400
    assert "too many exports running" in response.get_data(as_text=True)
    assert job_count(app) == 3
    # Someone else is not held up by it.
    other = signed_in("approver")
    assert start(other.client, page_token(other), kind="ledger_zip").status_code == 303
    gated.set()
    for job in job_rows(app):
        assert wait_for(app, job.id).status == "done"


def test_a_form_without_its_csrf_token_is_refused(app: Flask, signed_in: Callable) -> None:
    auditor = signed_in("auditor")
    response = auditor.client.post("/audit/exports", data={"kind": "ledger_zip"})
    assert response.status_code == 400
    assert job_count(app) == 0


def test_submit_export_refuses_bad_input_before_writing(app: Flask) -> None:
    from ledger.errors import RuleError

    with app.test_request_context():
        with pytest.raises(RuleError) as refused:
            jobs.submit_export("journal_pdf", {"period": "2026-Q5"}, "auditor")
        assert refused.value.field == "period"
        with pytest.raises(RuleError) as refused:
            jobs.submit_export("nothing", {}, "auditor")
        assert refused.value.field == "kind"
        with pytest.raises(RuleError) as refused:
            jobs.submit_export("statement_pdf", {"period": "2026"}, "auditor")
        assert refused.value.field == "type"
    assert job_count(app) == 0


# -- failures and abandoned jobs -------------------------------------------------------------------


def test_a_job_that_fails_is_marked_failed_with_a_message_and_no_traceback(
    app: Flask,
    signed_in: Callable,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def build(ctx: jobs.JobContext) -> None:
        ctx.path.write_bytes(b"half a file")
        raise ZeroDivisionError("secret internal detail")

    monkeypatch.setitem(
        jobs.KINDS, "broken", jobs.ExportKind("broken", "坏的", "csv", "text/csv", False, build)
    )
    auditor = signed_in("auditor")
    start(auditor.client, page_token(auditor), kind="broken")
    (job,) = job_rows(app)
    job = wait_for(app, job.id)
    assert job.status == "failed"
    assert "export failed" in job.message
    assert "secret internal detail" not in job.message
    page = auditor.client.get("/audit/exports").get_data(as_text=True)
    assert "导出失败" in page
    assert "ZeroDivisionError" not in page
    assert "secret internal detail" in caplog.text  # for the operator, in the log
    assert fetch(auditor.client, f"/audit/exports/{job.id}/download").status_code == 404
    assert not list((Path(app.instance_path) / "exports").iterdir())  # no half file left


def test_a_job_abandoned_by_a_dead_process_is_reported_failed(
    app: Flask, signed_in: Callable
) -> None:
    long_ago = utcnow() - dt.timedelta(minutes=11)
    recent = utcnow() - dt.timedelta(minutes=2)
    with app.app_context():
        db.session.add_all(
            [
                ExportJob(
                    id="dead-running",
                    kind="journal_pdf",
                    params={"period": YEAR, "_beat": long_ago.isoformat()},
                    status="running",
                    done=40,
                    total=100,
                    created_by="auditor",
                    created_at=long_ago - dt.timedelta(minutes=1),
                    started_at=long_ago,
                ),
                ExportJob(
                    id="dead-queued",
                    kind="ledger_zip",
                    params={},
                    status="queued",
                    created_by="auditor",
                    created_at=long_ago,
                ),
                ExportJob(
                    id="alive-running",
                    kind="journal_pdf",
                    params={"period": YEAR, "_beat": recent.isoformat()},
                    status="running",
                    done=5,
                    total=100,
                    created_by="auditor",
                    created_at=long_ago,
                    started_at=long_ago,
                ),
            ]
        )
        db.session.commit()
    auditor = signed_in("auditor")
    page = auditor.client.get("/audit/exports").get_data(as_text=True)
    assert "please start it again" in page
    statuses = {j.id: j.status for j in job_rows(app)}
    assert statuses == {
        "dead-running": "failed",
        "dead-queued": "failed",
        "alive-running": "running",
    }
    status = auditor.client.get("/audit/exports/dead-running.json").get_json()
    assert status["status"] == "failed"
    assert "_beat" not in status["params"]
    assert '<meta http-equiv="refresh" content="2">' in page  # alive-running still runs


def test_a_job_marked_failed_while_it_ran_stops_and_leaves_no_file(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def build(ctx: jobs.JobContext) -> None:
        ctx.path.write_bytes(b"partial")
        # Another process decides this job is stale while it still runs.
        db.session.execute(update(ExportJob).values(status="failed", message="stale"))
        db.session.commit()
        ctx.progress(1, 2)

    monkeypatch.setitem(
        jobs.KINDS, "late", jobs.ExportKind("late", "迟到", "csv", "text/csv", False, build)
    )
    app.config.update(EXPORTS_SYNC=True, EXPORTS_PROGRESS_SECONDS=0)
    with app.test_request_context():
        job = jobs.submit_export("late", {}, "auditor")
        assert (job.status, job.message) == ("failed", "stale")
    assert not list((Path(app.instance_path) / "exports").iterdir())


# -- old files -------------------------------------------------------------------------------------


def test_old_export_files_are_cleaned_and_the_row_keeps_its_hash(
    populated: Flask, signed_in: Callable
) -> None:
    auditor = signed_in("auditor")
    start(auditor.client, page_token(auditor), kind="ledger_zip")
    (job,) = job_rows(populated)
    job = wait_for(populated, job.id)
    path = Path(populated.instance_path) / "exports" / job.file_name
    assert path.is_file()
    with populated.app_context():
        assert jobs.clean_exports(30) == 0
        assert path.is_file()
        later = utcnow() + dt.timedelta(days=31)
        assert jobs.clean_exports(30, now=later) == 1
    assert not path.exists()
    (kept,) = job_rows(populated)
    assert kept.sha256 == job.sha256
    assert "removed after 30 days" in kept.message
    assert fetch(auditor.client, f"/audit/exports/{job.id}/download").status_code == 404


def test_the_clean_command_reports_what_it_removed(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["audit", "clean-exports", "--days", "7"])
    assert result.exit_code == 0, result.output
    assert "removed 0 export file(s) older than 7 days" in result.output


# -- the page --------------------------------------------------------------------------------------


def test_the_page_offers_every_kind_and_statement_type(app: Flask, signed_in: Callable) -> None:
    page = signed_in("auditor").client.get("/audit/exports").get_data(as_text=True)
    for kind in jobs.KINDS:
        assert f'value="{kind}"' in page
    for kind in financials.KINDS:
        assert f'value="{kind}"' in page
    assert 'http-equiv="refresh"' not in page  # nothing runs
    assert "还没有导出" in page
