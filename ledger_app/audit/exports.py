"""The export page: start a long export, watch its progress bar, download the finished file."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import click
from flask import abort, jsonify, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from ledger.errors import RuleError
from ledger_app import jobs
from ledger_app.audit.views import READERS, bp
from ledger_app.extensions import db
from ledger_app.forms_common import apply_rule_error, select_choices, today
from ledger_app.models import ExportJob
from ledger_app.security import audit, role_required


class ExportForm(FlaskForm):  # type: ignore[misc]
    # The choices are checked by jobs.submit_export, which names the field in both languages.
    kind = SelectField("导出内容", validate_choice=False)
    type = SelectField("报表种类（导出报表时选择）", validate_choice=False)
    period = StringField(
        "期间",
        description="2026、2026-Q1、2026-03 或 2026-01-01..2026-03-31",
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = select_choices((k.name, k.label) for k in jobs.KINDS.values())
        self.type.choices = select_choices(jobs.STATEMENT_TYPES.items())


def _may_see(job: ExportJob | None) -> ExportJob:
    """The job if the signed-in user started it or is an auditor; 404 otherwise (not 403: the
    id of someone else's export is not confirmed to exist)."""
    if job is None or not (
        job.created_by == current_user.username or current_user.role == "auditor"
    ):
        abort(404)
    return job


STATUS_LABELS = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}
_CHINA = ZoneInfo("Asia/Shanghai")


def local_time(moment: dt.datetime | None) -> str:
    """A database time (naive UTC) as China time, ``2026-12-01 14:03``."""
    if moment is None:
        return ""
    return moment.replace(tzinfo=dt.UTC).astimezone(_CHINA).strftime("%Y-%m-%d %H:%M")


def size_text(size: int) -> str:
    """A file size for people: ``812 B``, ``14.2 KB``, ``3.1 MB``."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def _page(form: ExportForm, status: int = 200) -> ResponseReturnValue:
    rows = jobs.jobs_of(current_user.username)
    refresh = any(j.status in jobs.ACTIVE for j in rows)
    return render_template(
        "audit/exports.html",
        form=form,
        rows=rows,
        refresh=refresh,
        kinds=jobs.KINDS,
        types=jobs.STATEMENT_TYPES,
        percent=jobs.percent,
        download_name=jobs.download_name,
        params=jobs.public_params,
        status_labels=STATUS_LABELS,
        local_time=local_time,
        size_text=size_text,
    ), status


@bp.get("/exports")
@role_required(*READERS)
def exports() -> ResponseReturnValue:
    form = ExportForm()
    if not form.period.data:
        form.period.data = str(today().year)
    return _page(form)


@bp.post("/exports")
@role_required(*READERS)
def start_export() -> ResponseReturnValue:
    form = ExportForm()
    if not form.validate():  # the CSRF token
        return _page(form, 400)
    try:
        jobs.submit_export(
            form.kind.data or "",
            {"period": form.period.data or "", "type": form.type.data or ""},
            current_user,
        )
    except RuleError as exc:
        apply_rule_error(form, exc)
        return _page(form, 400)
    return redirect(url_for("audit.exports"), 303)


@bp.get("/exports/<job_id>.json")
@role_required(*READERS)
def export_status(job_id: str) -> ResponseReturnValue:
    job = _may_see(jobs.get_job(job_id))
    return jsonify(jobs.status_json(job))


@bp.get("/exports/<job_id>/download")
@role_required(*READERS)
def download_export(job_id: str) -> ResponseReturnValue:
    job = _may_see(jobs.get_job(job_id))
    path = jobs.file_path(job)
    if path is None:
        abort(404)
    audit("download_export", target=job.id, kind=job.kind, sha256=job.sha256, head=job.head_hash)
    db.session.commit()
    response = send_file(
        path,
        mimetype=job.mimetype or "application/octet-stream",
        as_attachment=True,
        download_name=jobs.download_name(job),
        etag=job.sha256,
        conditional=request.method == "GET",
    )
    response.headers["X-Content-SHA256"] = job.sha256
    return response


@bp.cli.command("clean-exports")
@click.option("--days", default=30, show_default=True, help="Keep files of the last N days.")
def clean_exports_command(days: int) -> None:
    """Delete export files older than N days (the job rows and their sha256 stay)."""
    removed = jobs.clean_exports(days)
    click.echo(f"removed {removed} export file(s) older than {days} days")
