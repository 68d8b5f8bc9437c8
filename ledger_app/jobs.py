"""Long exports (the journal of a large ledger, say) built in background threads, with their
progress kept in the database so that any worker process can show it.

A request calls :func:`submit_export`: the input is checked first (a bad kind, statement type or
period is refused with a :class:`~ledger.errors.RuleError` and no row is written), then an
``export_jobs`` row is written as ``queued`` and the job is handed to a small pool of daemon
threads in this process, so the request answers at once. The thread runs with its own app
context (so its own database session), writes its progress to the row at most every
``EXPORTS_PROGRESS_SECONDS``, writes the file to ``instance/exports/<job id>.<ext>`` through a
temporary file and a rename, and records the file's size and sha256.

Why threads and the database, not Redis and a worker: the state a page needs (status,
done/total, the file's hash) is in the database every gunicorn worker already shares, so any
worker can answer the progress page, and nothing else has to be installed. A process that dies
takes its running jobs with it; those rows stop moving and are reported failed once their last
sign of life is older than ``EXPORTS_STALE_SECONDS`` (see :func:`expire_stale`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import func, select, update

from ledger import financials
from ledger.book import Book
from ledger.errors import RuleError
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.models import ExportJob, JobStatus, User, utcnow
from ledger_app.security import audit

log = logging.getLogger(__name__)

#: How often a running job writes its progress (seconds); every write is a database commit.
PROGRESS_SECONDS = 0.5
#: A queued or running job whose last sign of life is older than this is reported failed.
STALE_SECONDS = 600
#: Threads per process that build exports; more would only compete for the same CPU.
WORKERS = 2
#: Queued or running exports one person may have at a time (a stuck finger must not fill the queue).
MAX_ACTIVE = 3

ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)

Progress = Callable[[int, int], None]
T = TypeVar("T")


class JobCancelledError(Exception):
    """The job's row is no longer ``running`` (reported failed as stale): stop building."""


@dataclass(frozen=True)
class JobContext:
    """What a job's builder gets: the Book, its checked input and where to write.

    Attributes:
        book: the process's Book, refreshed when the job started.
        params: the job's checked parameters (``period``, ``start``, ``end``, ``type`` …).
        period: the parsed period, or None for kinds that take none.
        path: the temporary file to write the export to (renamed into place when done).
        progress: ``progress(done, total)``; call it as work goes on (it is throttled).
        org_name: the organisation's name, for headers.
    """

    book: Book
    params: dict[str, Any]
    period: financials.Period | None
    path: Path
    progress: Progress
    org_name: str


#: Writes the export to ``ctx.path``; returns the head hash the export shows (None: the Book's).
Builder = Callable[[JobContext], str | None]


@dataclass(frozen=True)
class ExportKind:
    """One kind of export: how it is named, what it needs and how it is built."""

    name: str
    label: str
    ext: str
    mimetype: str
    needs_period: bool
    build: Builder
    needs_type: bool = False


# -- the kinds -------------------------------------------------------------------------------------


def _write_bytes(ctx: JobContext, content: bytes) -> None:
    ctx.path.write_bytes(content)


def _counted(items: Iterable[T], total: int, progress: Progress) -> Iterator[T]:
    """The items, reporting ``progress(n, total)`` as each one has been used."""
    progress(0, total)
    for done, item in enumerate(items, 1):
        yield item
        progress(done, total)


def _statement(ctx: JobContext) -> financials.Statement:
    assert ctx.period is not None  # guaranteed by check_params
    return financials.build_statement(ctx.book, ctx.params["type"], ctx.period)


def _build_statement_csv(ctx: JobContext) -> str:
    from reports.statements import statement_csv

    ctx.progress(0, 1)
    statement = _statement(ctx)
    _write_bytes(ctx, statement_csv(statement))
    return statement.head_hash


def _build_statement_pdf(ctx: JobContext) -> str:
    from reports.statements import build_statement_pdf

    ctx.progress(0, 1)
    statement = _statement(ctx)
    _write_bytes(ctx, build_statement_pdf(statement, org_name=ctx.org_name))
    return statement.head_hash


def _build_journal_pdf(ctx: JobContext) -> str:
    from ledger.journal import journal_view
    from reports.journal import build_journal_pdf

    assert ctx.period is not None  # guaranteed by check_params
    view = journal_view(ctx.book, ctx.period)
    build_journal_pdf(
        view,
        ctx.path,
        org_name=ctx.org_name,
        period=view.period,
        generated_at=ctx.book.clock(),
        head_hash=view.head_hash,
        head_seq=view.head_seq,
        progress=ctx.progress,
    )
    return view.head_hash


def _build_journal_csv(ctx: JobContext) -> str:
    from ledger.journal import journal_view
    from reports.journal import write_journal_csv

    assert ctx.period is not None  # guaranteed by check_params
    view = journal_view(ctx.book, ctx.period)
    with ctx.path.open("w", encoding="utf-8-sig", newline="") as fh:
        write_journal_csv(fh, _counted(view, len(view), ctx.progress))
    return view.head_hash


def _build_general_ledger_pdf(ctx: JobContext) -> str:
    from ledger.journal import general_ledger
    from reports.journal import build_general_ledger_pdf

    assert ctx.period is not None  # guaranteed by check_params
    sections = general_ledger(ctx.book, ctx.period)
    head, seq = ctx.book.head_hash, ctx.book.seq
    build_general_ledger_pdf(
        sections,
        ctx.path,
        org_name=ctx.org_name,
        period=ctx.period,
        generated_at=ctx.book.clock(),
        head_hash=head,
        head_seq=seq,
        progress=ctx.progress,
    )
    return head


def _build_general_ledger_csv(ctx: JobContext) -> str:
    from ledger.journal import general_ledger
    from reports.journal import write_general_ledger_csv

    assert ctx.period is not None  # guaranteed by check_params
    sections = general_ledger(ctx.book, ctx.period)
    head = ctx.book.head_hash
    with ctx.path.open("w", encoding="utf-8-sig", newline="") as fh:
        write_general_ledger_csv(fh, _counted(sections, len(sections), ctx.progress))
    return head


def _build_ledger_zip(ctx: JobContext) -> str:
    import io
    import json
    import zipfile

    from ledger.archive import MANIFEST_JSON, build_archive

    ctx.progress(0, 1)
    content = build_archive(ctx.book)
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        head = str(json.loads(zf.read(MANIFEST_JSON))["head_hash"])
    _write_bytes(ctx, content)
    return head


_PDF, _CSV, _ZIP = "application/pdf", "text/csv", "application/zip"

KINDS: dict[str, ExportKind] = {
    k.name: k
    for k in (
        ExportKind("journal_pdf", "序时账（PDF）", "pdf", _PDF, True, _build_journal_pdf),
        ExportKind("journal_csv", "序时账（CSV）", "csv", _CSV, True, _build_journal_csv),
        ExportKind(
            "general_ledger_pdf", "总账（PDF）", "pdf", _PDF, True, _build_general_ledger_pdf
        ),
        ExportKind(
            "general_ledger_csv", "总账（CSV）", "csv", _CSV, True, _build_general_ledger_csv
        ),
        ExportKind(
            "statement_pdf", "报表（PDF）", "pdf", _PDF, True, _build_statement_pdf, needs_type=True
        ),
        ExportKind(
            "statement_csv", "报表（CSV）", "csv", _CSV, True, _build_statement_csv, needs_type=True
        ),
        ExportKind(
            "ledger_zip", "账本文件（ZIP，含哈希清单）", "zip", _ZIP, False, _build_ledger_zip
        ),
    )
}

#: The statement types a ``statement_*`` job takes, with their Chinese names.
STATEMENT_TYPES: dict[str, str] = dict(financials.KIND_NAMES)


# -- input -----------------------------------------------------------------------------------------


def check_params(kind: str, params: dict[str, Any]) -> tuple[ExportKind, dict[str, Any]]:
    """The export kind and the parameters as stored, or a RuleError naming the field.

    Raises:
        RuleError: ``kind`` unknown, ``type`` not a statement type, ``period`` not a period.
    """
    spec = KINDS.get(kind or "")
    if spec is None:
        raise RuleError(
            "kind", f"导出类型须为 {'、'.join(KINDS)} 之一（unknown export kind）", "invalid"
        )
    clean: dict[str, Any] = {}
    if spec.needs_type:
        kind_type = str(params.get("type") or "")
        if kind_type not in STATEMENT_TYPES:
            raise RuleError(
                "type", f"报表类型须为 {'、'.join(STATEMENT_TYPES)} 之一（unknown statement type）"
            )
        clean["type"] = kind_type
    if spec.needs_period:
        period = financials.parse_period(str(params.get("period") or ""))
        clean.update(
            period=str(params.get("period")).strip(),
            start=period.start.isoformat(),
            end=period.end.isoformat(),
        )
    return spec, clean


def _period_of(params: dict[str, Any]) -> financials.Period | None:
    if "start" not in params:
        return None
    return financials.Period(
        dt.date.fromisoformat(params["start"]), dt.date.fromisoformat(params["end"])
    )


# -- submitting and reading ------------------------------------------------------------------------


def submit_export(kind: str, params: dict[str, Any], user: User | str) -> ExportJob:
    """Check the input, write a queued job row and start building it in the background.

    Args:
        kind: one of :data:`KINDS`.
        params: ``period`` (``2026``, ``2026-Q1``, ``2026-03`` or ``2026-01-01..2026-03-31``) for
            kinds that take one, ``type`` for statements.
        user: who asks (a User or a user name); only they (and auditors) may download the file.

    Returns:
        The job row, committed (``queued``; already ``done`` or ``failed`` when
        ``EXPORTS_SYNC`` is set).

    Raises:
        RuleError: the input is refused, or the user already has ``EXPORTS_MAX_ACTIVE`` exports
            queued or running; nothing was written.
    """
    spec, clean = check_params(kind, params)
    username = user if isinstance(user, str) else user.username
    expire_stale()
    limit = int(_config("EXPORTS_MAX_ACTIVE", MAX_ACTIVE))
    active = db.session.scalar(
        select(func.count())
        .select_from(ExportJob)
        .where(ExportJob.created_by == username, ExportJob.status.in_(ACTIVE))
    )
    if (active or 0) >= limit:
        raise RuleError(
            "kind",
            f"你已有 {active} 个导出在排队或进行中，请等它们完成后再提交"
            "（too many exports running）",
            "too_many",
        )
    job = ExportJob(
        id=secrets.token_hex(16),
        kind=spec.name,
        params=clean,
        status=JobStatus.QUEUED.value,
        created_by=username,
        created_at=utcnow(),
    )
    db.session.add(job)
    audit("export_queued", target=job.id, actor=username, kind=spec.name, **clean)
    db.session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("EXPORTS_SYNC"):
        run_job(app, job.id)
        db.session.refresh(job)
    else:
        _pool.submit(app, job.id)
    return job


def jobs_of(username: str, *, limit: int = 50) -> list[ExportJob]:
    """A user's jobs, newest first, with stale ones reported failed."""
    expire_stale()
    return list(
        db.session.scalars(
            select(ExportJob)
            .where(ExportJob.created_by == username)
            .order_by(ExportJob.created_at.desc(), ExportJob.id)
            .limit(limit)
        )
    )


def get_job(job_id: str) -> ExportJob | None:
    """One job (stale ones reported failed first), or None."""
    expire_stale()
    return db.session.get(ExportJob, job_id)


def file_path(job: ExportJob) -> Path | None:
    """Where a finished job's file lies, or None when it has none (any more)."""
    if job.status != JobStatus.DONE.value or not job.file_name:
        return None
    path = exports_dir() / job.file_name
    return path if path.is_file() else None


def download_name(job: ExportJob) -> str:
    """The name offered to the browser: ``journal-2026-01-01_2026-03-31.pdf``."""
    spec = KINDS.get(job.kind)
    ext = spec.ext if spec else "bin"
    stem = job.kind.rsplit("_", 1)[0].replace("_", "-")
    params = job.params or {}
    if params.get("type"):
        stem = str(params["type"]).replace("_", "-")
    if params.get("start"):
        stem += f"-{params['start']}_{params['end']}"
    else:
        stem += f"-{job.created_at:%Y-%m-%d}"
    return f"{stem}.{ext}"


def percent(job: ExportJob) -> int:
    """How far a job is, 0–100 (100 once done)."""
    if job.status == JobStatus.DONE.value:
        return 100
    if job.total <= 0:
        return 0
    return min(100, job.done * 100 // job.total)


def public_params(job: ExportJob) -> dict[str, Any]:
    """The job's parameters without the internal ones (its heartbeat)."""
    return {k: v for k, v in (job.params or {}).items() if not k.startswith("_")}


def status_json(job: ExportJob) -> dict[str, Any]:
    """What ``/audit/exports/<id>.json`` answers."""

    def when(moment: dt.datetime | None) -> str | None:
        return moment.isoformat(timespec="seconds") + "Z" if moment else None

    return {
        "id": job.id,
        "kind": job.kind,
        "params": public_params(job),
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "percent": percent(job),
        "message": job.message,
        "file_name": download_name(job) if job.status == JobStatus.DONE.value else None,
        "mimetype": job.mimetype or None,
        "size": job.size,
        "sha256": job.sha256 or None,
        "head_hash": job.head_hash or None,
        "created_by": job.created_by,
        "created_at": when(job.created_at),
        "started_at": when(job.started_at),
        "finished_at": when(job.finished_at),
    }


def wait(job_id: str, timeout: float = 30.0) -> ExportJob:
    """Poll until a job is done or failed (tests, and the CLI); returns the fresh row.

    Raises:
        TimeoutError: still queued or running after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        job = db.session.get(ExportJob, job_id)
        if job is None:
            raise LookupError(job_id)
        if job.status not in ACTIVE:
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"export {job_id} still {job.status} after {timeout}s")
        time.sleep(0.05)


# -- stale jobs and old files ----------------------------------------------------------------------


def last_alive(job: ExportJob) -> dt.datetime:
    """When the job last showed it was alive: its last progress write, start or creation."""
    beat = (job.params or {}).get("_beat")
    if isinstance(beat, str):
        try:
            return dt.datetime.fromisoformat(beat)
        except ValueError:
            pass
    return job.started_at or job.created_at


def expire_stale(now: dt.datetime | None = None) -> int:
    """Report failed every queued or running job with no sign of life for too long.

    Its process died (a restart, a crash, a deploy) or it never reached a thread; either way
    nobody will finish it. Returns how many were marked.
    """
    now = now or utcnow()
    limit = dt.timedelta(seconds=_config("EXPORTS_STALE_SECONDS", STALE_SECONDS))
    marked = 0
    active = list(db.session.scalars(select(ExportJob).where(ExportJob.status.in_(ACTIVE))))
    for job in active:
        if now - last_alive(job) <= limit:
            continue
        # Only if it is still the way we saw it: a job that moved meanwhile is alive.
        result = db.session.execute(
            update(ExportJob)
            .where(
                ExportJob.id == job.id,
                ExportJob.status == job.status,
                ExportJob.done == job.done,
            )
            .values(
                status=JobStatus.FAILED.value,
                finished_at=now,
                message=(
                    f"导出已中断：超过 {limit.seconds // 60} 分钟没有进展（处理它的进程可能已重启），"
                    "请重新导出（the export stopped making progress; please start it again）"
                ),
            )
        )
        marked += result.rowcount or 0  # type: ignore[attr-defined]
        log.warning(
            "export %s left %s since %s: marked failed", job.id, job.status, last_alive(job)
        )
    if marked:
        db.session.commit()
        db.session.expire_all()
    return marked


def clean_exports(days: int = 30, now: dt.datetime | None = None) -> int:
    """Delete the files of jobs that finished more than ``days`` days ago.

    The rows stay (with their sha256, the record of what was exported); their download answers
    404 from then on. Left-over temporary files of the same age go too. Returns how many files
    were removed.
    """
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=days)
    removed = 0
    old = db.session.scalars(
        select(ExportJob).where(
            ExportJob.status.not_in(ACTIVE),
            ExportJob.finished_at < cutoff,
            ExportJob.file_name != "",
        )
    )
    for job in old:
        path = exports_dir() / job.file_name
        if path.is_file():
            path.unlink()
            removed += 1
        job.file_name = ""
        job.message = f"文件已于 {now:%Y-%m-%d} 清理（removed after {days} days）"
    db.session.commit()
    folder = exports_dir()
    if folder.is_dir():
        for part in folder.glob("*.part"):
            mtime = dt.datetime.fromtimestamp(part.stat().st_mtime, dt.UTC).replace(tzinfo=None)
            if mtime < cutoff:
                part.unlink(missing_ok=True)
                removed += 1
    return removed


# -- running ---------------------------------------------------------------------------------------


def exports_dir() -> Path:
    """``instance/exports`` (or ``EXPORTS_DIR``)."""
    configured = current_app.config.get("EXPORTS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "exports"


def _config(key: str, default: Any) -> Any:
    return current_app.config.get(key, default)


class _ProgressWriter:
    """``progress(done, total)`` for a job: remembers every call, writes at most every interval.

    Each write is also the job's heartbeat. A write that finds the row no longer ``running``
    (another process reported it failed as stale) stops the job.
    """

    def __init__(self, job_id: str, params: dict[str, Any], interval: float) -> None:
        self.job_id, self.params, self.interval = job_id, params, interval
        self.done, self.total = 0, 0
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = max(0, int(done)), max(0, int(total))
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        self.write()

    def write(self) -> None:
        beat = utcnow().isoformat()
        result = db.session.execute(
            update(ExportJob)
            .where(ExportJob.id == self.job_id, ExportJob.status == JobStatus.RUNNING.value)
            .values(done=self.done, total=self.total, params={**self.params, "_beat": beat})
        )
        db.session.commit()
        if not result.rowcount:  # type: ignore[attr-defined]
            raise JobCancelledError(self.job_id)


def run_job(app: Flask, job_id: str) -> None:
    """Build one queued job in its own app context (and so its own database session)."""
    with app.app_context():
        try:
            _run(job_id)
        except Exception:
            log.exception("export %s: could not record its outcome", job_id)
        finally:
            db.session.remove()


def _run(job_id: str) -> None:
    job = db.session.get(ExportJob, job_id)
    spec = KINDS.get(job.kind) if job is not None else None
    if job is None or spec is None:
        return
    started = utcnow()
    params = public_params(job)
    # Claim the row: a job is built once, by the process that queued it.
    claimed = db.session.execute(
        update(ExportJob)
        .where(ExportJob.id == job_id, ExportJob.status == JobStatus.QUEUED.value)
        .values(
            status=JobStatus.RUNNING.value,
            started_at=started,
            params={**params, "_beat": started.isoformat()},
        )
    )
    db.session.commit()
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return
    folder = exports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{job_id}.{spec.ext}"
    temp = folder / f"{job_id}.{secrets.token_hex(4)}.part"
    progress = _ProgressWriter(
        job_id, params, float(_config("EXPORTS_PROGRESS_SECONDS", PROGRESS_SECONDS))
    )
    try:
        book = get_book()
        book.refresh()
        head = book.head_hash
        shown = spec.build(
            JobContext(
                book=book,
                params=params,
                period=_period_of(params),
                path=temp,
                progress=progress,
                org_name=str(current_app.config.get("ORG_NAME", "")),
            )
        )
        head = shown or head
        size, sha256 = _seal(temp, final)
    except JobCancelledError:
        temp.unlink(missing_ok=True)
        log.warning("export %s: stopped, its row was marked failed meanwhile", job_id)
        return
    except RuleError as exc:
        temp.unlink(missing_ok=True)
        _fail(job_id, exc.message)
        return
    except Exception:
        temp.unlink(missing_ok=True)
        log.exception("export %s (%s) failed", job_id, spec.name)
        _fail(
            job_id, "导出失败，错误已记录在服务器日志中，请稍后重试（export failed; see the log）"
        )
        return
    total = max(progress.total, progress.done, 1)
    finished = db.session.execute(
        update(ExportJob)
        .where(ExportJob.id == job_id, ExportJob.status == JobStatus.RUNNING.value)
        .values(
            status=JobStatus.DONE.value,
            done=total,
            total=total,
            file_name=final.name,
            mimetype=spec.mimetype,
            size=size,
            sha256=sha256,
            head_hash=head,
            finished_at=utcnow(),
            params=params,
            message="",
        )
    )
    db.session.commit()
    if not finished.rowcount:  # type: ignore[attr-defined]
        final.unlink(missing_ok=True)
        log.warning("export %s: finished after it was marked failed; file removed", job_id)


def _seal(temp: Path, final: Path) -> tuple[int, str]:
    """fsync the temporary file, rename it into place; its size and sha256."""
    digest = hashlib.sha256()
    size = 0
    with temp.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
        os.fsync(fh.fileno())
    os.replace(temp, final)
    _fsync_dir(final.parent)
    return size, digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fail(job_id: str, message: str) -> None:
    db.session.rollback()
    db.session.execute(
        update(ExportJob)
        .where(ExportJob.id == job_id, ExportJob.status == JobStatus.RUNNING.value)
        .values(status=JobStatus.FAILED.value, message=message[:2000], finished_at=utcnow())
    )
    db.session.commit()


class _Pool:
    """A few daemon threads per process taking jobs from a queue.

    Daemon threads (unlike :class:`concurrent.futures.ThreadPoolExecutor`'s, which the
    interpreter joins at exit) never hold up a worker's shutdown; a job cut off that way is
    reported failed as stale. After a fork (gunicorn's ``--preload``) the child has none of the
    parent's threads, so the pool starts its own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[Flask, str]] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._pid = 0

    def submit(self, app: Flask, job_id: str) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._queue, self._threads, self._pid = queue.Queue(), [], os.getpid()
            wanted = int(app.config.get("EXPORTS_WORKERS", WORKERS))
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < wanted:
                thread = threading.Thread(
                    target=self._work,
                    args=(self._queue,),
                    name=f"export-{len(self._threads) + 1}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)
            self._queue.put((app, job_id))

    @staticmethod
    def _work(jobs: queue.Queue[tuple[Flask, str]]) -> None:
        while True:
            app, job_id = jobs.get()
            try:
                run_job(app, job_id)
            finally:
                jobs.task_done()


_pool = _Pool()
