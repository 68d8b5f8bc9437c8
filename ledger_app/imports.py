"""Batch entry of donations from WeChat Pay, Alipay and bank statement exports.

An administrator uploads a CSV export; the rows are read by :mod:`ledger.statements`, each incoming
row is matched to a known donor and checked against the ledger's rules without writing, and the
chosen rows are then posted in one step through the same workflow as the donation form
(:func:`ledger_app.workflow.record_donation`). Rows already in the ledger (same external
transaction id) are never posted twice; every entry id is ``imp-<transaction id>``, so a repeated
post is also idempotent by entry id.

:func:`import_statement` is the one entry point, shared by these pages and the JSON API.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
from sqlalchemy import select
from wtforms import SelectField, SelectMultipleField

from ledger import services, statements
from ledger.book import Book
from ledger.errors import LedgerUnavailableError, RuleError
from ledger.money import format_cny
from ledger.statements import StatementError, StatementRow
from ledger_app import workflow
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import apply_rule_error, select_choices
from ledger_app.models import Display, Donor
from ledger_app.security import audit, role_required

bp = Blueprint("imports", __name__, url_prefix="/admin/imports")

FORMAT_CHOICES = (
    ("auto", "自动识别"),
    ("wechat", "微信支付账单"),
    ("alipay", "支付宝账单"),
    ("bank", "银行流水"),
)
DISPLAY_CHOICES = (
    ("masked", "隐去部分姓名（张*）"),
    ("name", "公开全名"),
    ("anonymous", "匿名"),
)
#: Uploaded statements are kept this long (they hold names and account numbers), then deleted.
KEEP_DAYS = 3
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069/\\]")
#: Row statuses: to post, already in the ledger, not a donation, refused by a rule, just posted.
STATUSES = ("new", "recorded", "skipped", "refused", "posted")


# -- the result ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportRow:
    """A statement row as the import sees it.

    ``status`` is ``new`` (will be posted), ``recorded`` (its transaction id is already in the
    ledger, as ``entry_id``), ``skipped`` (not incoming money: ``reason`` says why), ``refused``
    (a ledger rule would refuse it: ``reason``) or ``posted`` (recorded by this call, with
    ``entry_id`` and ``receipt``). ``donor_public`` is how the donation will appear publicly;
    ``donor_known`` says whether the counterparty matched a donor already in the registry.
    """

    line_no: int
    ext_id: str
    date: dt.date
    amount: Decimal
    counterparty: str
    memo: str
    direction: str
    status: str
    reason: str = ""
    entry_id: str = ""
    receipt: str = ""
    donor_public: str = ""
    donor_known: bool = False
    donor_kind: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line_no,
            "extId": self.ext_id,
            "date": self.date.isoformat(),
            "amount": str(self.amount),
            "counterparty": self.counterparty,
            "memo": self.memo,
            "direction": self.direction,
            "status": self.status,
            "reason": self.reason,
            "entryId": self.entry_id,
            "receipt": self.receipt,
            "donorPublic": self.donor_public,
            "donorKnown": self.donor_known,
            "donorKind": self.donor_kind,
        }


@dataclass(frozen=True)
class ImportResult:
    """What an import found (``posted=False``: a preview) or did (``posted=True``)."""

    format: str
    channel: str
    fund: str
    display: str
    encoding: str
    sha256: str
    rows: tuple[ImportRow, ...]
    posted: bool = False
    error: str = ""

    @property
    def counts(self) -> dict[str, int]:
        """How many rows have each status."""
        return _counts(self.rows)

    @property
    def created(self) -> tuple[ImportRow, ...]:
        """The rows this call posted (with their entry ids and receipt numbers)."""
        return tuple(r for r in self.rows if r.status == "posted")

    @property
    def entry_ids(self) -> tuple[str, ...]:
        return tuple(r.entry_id for r in self.created)

    @property
    def receipts(self) -> tuple[str, ...]:
        return tuple(r.receipt for r in self.created)

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON for the API."""
        return {
            "format": self.format,
            "channel": self.channel,
            "fund": self.fund,
            "display": self.display,
            "encoding": self.encoding,
            "sha256": self.sha256,
            "posted": self.posted,
            "counts": self.counts,
            "created": [{"entryId": r.entry_id, "receipt": r.receipt} for r in self.created],
            "rows": [r.as_dict() for r in self.rows],
        }


def _counts(rows: Iterable[ImportRow]) -> dict[str, int]:
    out = dict.fromkeys(STATUSES, 0)
    for row in rows:
        out[row.status] += 1
    return out


class ImportRefusedError(RuleError):
    """A chosen row would be refused (or its write failed): ``result`` shows every row's status.

    When raised before any write (the usual case) nothing was posted; ``result.created`` lists
    what was posted before a write failed part way, which a repeated import skips.
    """

    def __init__(self, message: str, result: ImportResult) -> None:
        super().__init__("rows", message, "import_refused")
        self.result = result


# -- the use case -------------------------------------------------------------------------------


def _donor_matches(names: Collection[str]) -> dict[str, list[Donor]]:
    """Donors whose name is exactly one of ``names`` (merged duplicates left out)."""
    found: dict[str, list[Donor]] = {}
    wanted = sorted(n for n in names if n)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for donor in db.session.scalars(
            select(Donor).where(Donor.name.in_(chunk)).order_by(Donor.id)
        ):
            if getattr(donor, "merged_into_id", None) is None:
                found.setdefault(donor.name, []).append(donor)
    return found


def _donor_input(row: StatementRow, match: Donor | None, display: str) -> workflow.DonorInput:
    """Who the donation is from: the matched donor as registered (their own choice of display
    stands), else a new donor under the counterparty's name with the chosen default display."""
    if match is not None:
        return workflow.DonorInput(match.name, match.phone, match.display, match.kind)
    return workflow.DonorInput(
        row.counterparty, "", display, statements.guess_donor_kind(row.counterparty)
    )


def _donation_input(
    row: StatementRow, channel: str, fund: str, donor: workflow.DonorInput
) -> workflow.DonationInput:
    return workflow.DonationInput(
        id=statements.import_entry_id(row.ext_id),
        date=row.date,
        amount=row.amount,
        fund=fund,
        channel=channel,
        donor=donor,
        ext_id=row.ext_id,
    )


def _reason(exc: RuleError) -> str:
    labels = {
        "date": "日期",
        "amount": "金额",
        "fund": "基金",
        "donor": "捐赠人",
        "donor.name": "捐赠人",
        "payee": "捐赠人",
        "ext_id": "交易号",
        "id": "编号",
    }
    label = labels.get(exc.field, exc.field)
    return f"{label}：{exc.message}"


def _preview_row(
    book: Book,
    row: StatementRow,
    *,
    channel: str,
    fund: str,
    display: str,
    actor: str,
    matches: dict[str, list[Donor]],
) -> ImportRow:
    base = ImportRow(
        line_no=row.line_no,
        ext_id=row.ext_id,
        date=row.date,
        amount=row.amount,
        counterparty=row.counterparty,
        memo=row.memo,
        direction=row.direction,
        status="skipped",
    )
    if not row.candidate:
        return replace(base, reason=row.skip_reason)
    done = book.by_ext_id(row.ext_id)
    if done is not None:
        txn = book.get(done)
        receipt = (txn.meta or {}).get("receipt", "") if txn is not None else ""
        return replace(
            base,
            status="recorded",
            reason="已入账",
            entry_id=done,
            receipt=str(receipt),
            donor_public=(txn.payee or "") if txn is not None else "",
        )
    base = replace(base, status="refused", entry_id=statements.import_entry_id(row.ext_id))
    if not row.counterparty:
        return replace(base, reason="交易对方为空，无法确定捐赠人（no counterparty）")
    same_name = matches.get(row.counterparty, [])
    match = same_name[0] if same_name else None
    donor_in = _donor_input(row, match, display)
    # A stand-in for a donor not yet in the database: never added to the session.
    donor = match or Donor(
        ref="d-preview", name=donor_in.name, phone="", display=donor_in.display, kind=donor_in.kind
    )
    base = replace(
        base, donor_public=donor.public_name(), donor_known=match is not None, donor_kind=donor.kind
    )
    try:
        cmd = workflow.donation_command(
            _donation_input(row, channel, fund, donor_in),
            donor,
            base.entry_id,
            row.amount,
            actor,
            "import",
        )
        services.check_donation(book, cmd)
    except RuleError as exc:
        return replace(base, reason=_reason(exc))
    note = (
        f"同名捐赠人有 {len(same_name)} 位，将记在编号最早的一位名下" if len(same_name) > 1 else ""
    )
    return replace(base, status="new", reason=note)


def import_statement(
    book: Book,
    raw: bytes,
    *,
    fmt: str,
    fund: str,
    display: str,
    actor: str,
    post: bool,
    only: Collection[str] | None = None,
) -> ImportResult:
    """Preview or post the donations of a statement export.

    Args:
        book: the ledger.
        raw: the file's bytes (CSV, UTF-8 or GBK/GB18030).
        fmt: ``auto``, ``wechat``, ``alipay`` or ``bank``.
        fund: the slug of the fund the donations go to.
        display: how donors new to the registry appear publicly (``masked``, ``name``,
            ``anonymous``); donors already registered keep their own choice.
        actor: the user name written as ``entered-by``.
        post: False to preview only; True to post the rows.
        only: the transaction ids (``ext_id``) to post; None posts every new incoming row.
            Ids whose rows are already recorded are ignored, so repeating a post adds nothing.

    Returns:
        Every row of the file with its status; when posting, the created entries (``posted``)
        with their receipt numbers.

    Raises:
        StatementError: the file is malformed (names the row and column); nothing posted.
        RuleError: unknown fund, display or transaction id in ``only``; nothing posted.
        ImportRefusedError: a chosen row would be refused by the ledger's rules; nothing posted
            (or, if a write failed part way, ``result`` lists what was posted).
    """
    statement = statements.parse_statement(raw, fmt)
    if fund not in book.funds:
        raise RuleError("fund", f"没有名为 {fund!r} 的基金（unknown fund）", "unknown_fund")
    if display not in {d.value for d in Display}:
        raise RuleError("display", "公开方式须为 name / masked / anonymous 之一")
    channel = statement.channel
    matches = _donor_matches({r.counterparty for r in statement.candidates})
    rows = [
        _preview_row(
            book, r, channel=channel, fund=fund, display=display, actor=actor, matches=matches
        )
        for r in statement.rows
    ]
    digest = hashlib.sha256(raw).hexdigest()

    def result(posted: bool, error: str = "") -> ImportResult:
        return ImportResult(
            format=statement.format,
            channel=channel,
            fund=fund,
            display=display,
            encoding=statement.encoding,
            sha256=digest,
            rows=tuple(rows),
            posted=posted,
            error=error,
        )

    if not post:
        return result(False)

    wanted = set(only) if only is not None else None
    if wanted is not None:
        unknown = wanted - {r.ext_id for r in rows if r.status != "skipped"}
        if unknown:
            raise RuleError(
                "rows",
                f"交易号 {sorted(unknown)[0]} 不是此文件中的收入行（not an incoming row of this file）",
            )
    chosen = [
        i
        for i, r in enumerate(rows)
        if r.status in ("new", "refused") and (wanted is None or r.ext_id in wanted)
    ]
    refused = [rows[i] for i in chosen if rows[i].status == "refused"]
    if refused:
        first = refused[0]
        more = f"（另有 {len(refused) - 1} 行不能入账）" if len(refused) > 1 else ""
        raise ImportRefusedError(
            f"第 {first.line_no} 行（交易号 {first.ext_id}）不能入账：{first.reason}{more}；"
            "本次没有入账任何一行（nothing was posted）",
            result(False),
        )

    by_line = {r.line_no: r for r in statement.rows}
    failure = ""
    for i in chosen:
        row = rows[i]
        source = by_line[row.line_no]
        if (done := book.by_ext_id(row.ext_id)) is not None:  # posted meanwhile by someone else
            rows[i] = replace(row, status="recorded", reason="已入账", entry_id=done)
            continue
        same_name = matches.get(row.counterparty, [])
        match = same_name[0] if same_name else None
        data = _donation_input(source, channel, fund, _donor_input(source, match, display))
        try:
            written = workflow.record_donation(book, data, actor, source="import")
        except (RuleError, LedgerUnavailableError) as exc:
            reason = _reason(exc) if isinstance(exc, RuleError) else str(exc)
            rows[i] = replace(row, status="refused", reason=reason)
            failure = f"第 {row.line_no} 行（交易号 {row.ext_id}）入账失败：{reason}"
            break
        rows[i] = replace(
            row,
            status="posted",
            reason="",
            entry_id=written.id,
            receipt=written.extra.get("receipt", ""),
        )
    done_result = result(True, failure)
    audit(
        "import_statement",
        target=digest[:16],
        actor=actor,
        format=statement.format,
        fund=fund,
        rows=len(rows),
        posted=len(done_result.created),
        amount=format_cny(sum((r.amount for r in done_result.created), Decimal(0))),
        entries=",".join(done_result.entry_ids)[:1000],
        error=failure,
    )
    db.session.commit()
    if failure:
        posted = len(done_result.created)
        raise ImportRefusedError(
            f"{failure}；此前已入账 {posted} 行，其余未入账；修正后重新导入同一文件即可继续"
            "（已入账的行会自动跳过）",
            done_result,
        )
    return done_result


# -- uploaded files ---------------------------------------------------------------------------------


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _prune(folder: Path) -> None:
    """Delete uploads older than :data:`KEEP_DAYS` (they hold personal data)."""
    limit = time.time() - KEEP_DAYS * 86400
    for path in folder.iterdir():
        if path.suffix in (".csv", ".json") and path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)


def _write(path: Path, content: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    os.replace(tmp, path)


def save_upload(raw: bytes, meta: dict[str, str]) -> str:
    """Keep an uploaded file under a random token (the file's own name is never used as a path)."""
    folder = _folder()
    _prune(folder)
    token = secrets.token_urlsafe(18)
    _write(folder / f"{token}.csv", raw)
    _write(folder / f"{token}.json", json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    return token


def load_upload(token: str) -> tuple[bytes, dict[str, str]]:
    """The bytes and settings of an upload; 404 for an unknown, expired or malformed token."""
    if not _TOKEN.fullmatch(token):
        abort(404)
    folder = _folder()
    data, meta = folder / f"{token}.csv", folder / f"{token}.json"
    if not data.is_file() or not meta.is_file():
        abort(404)
    return data.read_bytes(), json.loads(meta.read_text("utf-8"))


def _display_filename(name: str | None) -> str:
    return _UNSAFE_NAME.sub("", name or "")[:100]


# -- forms and pages ----------------------------------------------------------------------------------


class UploadForm(FlaskForm):  # type: ignore[misc]
    file = FileField(
        "账单文件（CSV）",
        validators=[
            FileRequired(message="请选择要导入的 CSV 文件"),
            FileSize(
                max_size=statements.MAX_BYTES,
                message=f"文件过大（最大 {statements.MAX_BYTES // (1024 * 1024)} MB），请按月分开导出",
            ),
        ],
    )
    format = SelectField("账单格式", choices=select_choices(FORMAT_CHOICES), default="auto")
    fund = SelectField("捐入基金", choices=[])
    display = SelectField(
        "新捐赠人的公开方式", choices=select_choices(DISPLAY_CHOICES), default="masked"
    )


class PostForm(FlaskForm):  # type: ignore[misc]
    rows = SelectMultipleField("入账的行", choices=[], validate_choice=False)


def _fund_choices(book: Book) -> list[Any]:
    return select_choices(
        (f.slug, f.name + ("（限定）" if f.restricted else "")) for f in book.funds.values()
    )


def _preview(
    token: str, meta: dict[str, str], result: ImportResult, form: PostForm, status: int = 200
) -> ResponseReturnValue:
    book = get_book()
    fund = book.funds.get(result.fund)
    return render_template(
        "imports/preview.html",
        token=token,
        meta=meta,
        result=result,
        fund_name=fund.name if fund else result.fund,
        format_name=statements.FORMAT_NAMES.get(result.format, result.format),
        display_name=dict(DISPLAY_CHOICES).get(result.display, result.display),
        form=form,
    ), status


@bp.route("/", methods=["GET", "POST"])
@role_required("admin")
def upload() -> ResponseReturnValue:
    book = get_book()
    form = UploadForm()
    form.fund.choices = _fund_choices(book)
    if not form.is_submitted():
        form.fund.data = "general"
    if form.validate_on_submit():
        raw = form.file.data.read()
        try:
            found = import_statement(
                book,
                raw,
                fmt=form.format.data,
                fund=form.fund.data,
                display=form.display.data,
                actor=current_user.username,
                post=False,
            )
        except StatementError as exc:
            form.file.errors = [*form.file.errors, *(str(p) for p in exc.problems)]
        except RuleError as exc:
            apply_rule_error(form, exc)
        except LedgerUnavailableError as exc:
            form.form_errors.append(str(exc))
        else:
            token = save_upload(
                raw,
                {
                    "format": found.format,
                    "fund": found.fund,
                    "display": found.display,
                    "uploaded_by": current_user.username,
                    "filename": _display_filename(form.file.data.filename),
                    "sha256": found.sha256,
                },
            )
            return redirect(url_for("imports.preview", token=token), 303)
    return render_template("imports/upload.html", form=form), 400 if form.errors else 200


def _run(token: str, *, post: bool, only: Collection[str] | None = None) -> ImportResult:
    raw, meta = load_upload(token)
    return import_statement(
        get_book(),
        raw,
        fmt=meta["format"],
        fund=meta["fund"],
        display=meta["display"],
        actor=current_user.username,
        post=post,
        only=only,
    )


def _unavailable(exc: LedgerUnavailableError) -> ResponseReturnValue:
    return render_template("error.html", code=503, message=str(exc)), 503


@bp.route("/<token>")
@role_required("admin")
def preview(token: str) -> ResponseReturnValue:
    _raw, meta = load_upload(token)
    try:
        result = _run(token, post=False)
    except LedgerUnavailableError as exc:
        return _unavailable(exc)
    return _preview(token, meta, result, PostForm())


@bp.route("/<token>/post", methods=["POST"])
@role_required("admin")
def post(token: str) -> ResponseReturnValue:
    _raw, meta = load_upload(token)
    form = PostForm()
    if not form.validate_on_submit():
        abort(400)
    chosen = [c for c in form.rows.data or [] if isinstance(c, str)]
    if not chosen:
        form.form_errors.append(_("请至少勾选一行再入账（no rows selected）"))
        return _preview(token, meta, _run(token, post=False), form, 400)
    try:
        result = _run(token, post=True, only=chosen)
    except ImportRefusedError as exc:
        form.form_errors.append(exc.message)
        return _preview(token, meta, exc.result, form, 400)
    except RuleError as exc:
        form.form_errors.append(exc.message)
        return _preview(token, meta, _run(token, post=False), form, 400)
    except LedgerUnavailableError as exc:
        return _unavailable(exc)
    if result.created:
        flash(
            _(
                "已入账 %(n)s 笔捐赠，确认书编号 %(first)s 至 %(last)s。",
                n=len(result.created),
                first=result.receipts[0],
                last=result.receipts[-1],
            )
        )
    else:
        flash(_("没有新的行需要入账：所选的行都已入账。"))
    return redirect(url_for("imports.preview", token=token), 303)
