"""微创投 micro-grants: where the database (calls, applications, deliberation) meets the ledger.

The money side lives in :mod:`ledger.grants` (award, tranches, expense reports, close-out); this
module records everything that is not money (who applied, how the council deliberated, what was
published when) and turns each money step into an :class:`~ledger_app.models.OutflowRequest`
that another person approves on the approvals page (:func:`ledger_app.workflow.approve_request`).

Read side (stable names, used by the public pages and the grant register PDF):

* :func:`call_summary` — one call with its applications and money figures, as a dict;
* :func:`grant_view` — one application/grant with its ledger totals, budget against actual by
  line, deliberations, objections and answers, public updates and photos, the published decision
  and the evaluation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from ledger import grants as ledger_grants
from ledger.book import ZERO, Book
from ledger.errors import RuleError
from ledger.grants import GrantTotals
from ledger.money import format_cny, parse_amount
from ledger.render import check_text
from ledger_app import workflow
from ledger_app.extensions import db
from ledger_app.models import (
    Attachment,
    AuditLog,
    Deliberation,
    GrantApplication,
    GrantCall,
    GrantReview,
    GrantUpdate,
    Objection,
    OutflowRequest,
    RequestStatus,
)
from ledger_app.security import audit

#: Days a decision must be posted before the award takes effect (四议两公开).
POSTING_DAYS = 7
#: Alerts on the register.
REPORT_OVERDUE_DAYS = 60
CLOSE_OVERDUE_DAYS = 90
STAGES = ("提议", "商议", "审议", "决议")
GRANT_KINDS = ledger_grants.KINDS
GOALS = ("yes", "partly", "no")
GOAL_LABELS = {"yes": "达成", "partly": "部分达成", "no": "未达成"}


def _today() -> dt.date:
    return dt.date.today()  # noqa: DTZ011


def _dec(value: Any) -> Decimal:
    """A stored decimal string (never a float) as Decimal; empty is zero."""
    if value in (None, ""):
        return ZERO
    return Decimal(str(value))


# == read side ======================================================================================


@dataclass(frozen=True)
class BudgetLine:
    """One budget line of an application against what accepted expense reports put on it."""

    item: str
    quantity: Decimal
    unit_price: Decimal
    budget: Decimal
    actual: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.actual


@dataclass(frozen=True)
class ObjectionView:
    """An objection as the public may see it (who raised it is kept private)."""

    id: int
    raised_on: dt.date
    content: str
    answer: str
    answered_on: dt.date | None

    @property
    def answered(self) -> bool:
        return bool(self.answer.strip())


@dataclass(frozen=True)
class UpdateView:
    """A progress update the administrator published, with its photo if any."""

    posted_on: dt.date
    text: str
    photo: Attachment | None


@dataclass(frozen=True)
class Decision:
    """The council's decision on an application, once posted publicly."""

    approved: bool
    amount: Decimal | None
    note: str
    published_on: dt.date

    @property
    def effective_on(self) -> dt.date:
        """The first day an award may take effect (posted at least 7 days)."""
        return self.published_on + dt.timedelta(days=POSTING_DAYS)


@dataclass(frozen=True)
class Evaluation:
    """The close-out evaluation (goals, beneficiaries served, satisfaction)."""

    goals_met: str
    beneficiaries_served: int | None
    satisfaction: int | None
    note: str
    published_on: dt.date | None

    @property
    def goals_label(self) -> str:
        return GOAL_LABELS.get(self.goals_met, "")


@dataclass
class GrantView:
    """Everything known of one application / grant, for its pages and the register."""

    application: GrantApplication
    call: GrantCall
    totals: GrantTotals | None
    budget_lines: list[BudgetLine]
    cofunding: list[dict[str, Any]]
    deliberations: list[Deliberation]
    objections: list[ObjectionView]
    updates: list[UpdateView]
    photos: list[Attachment]
    decision: Decision | None
    evaluation: Evaluation | None
    weighted_score: Decimal | None
    reviews: int
    pending: list[OutflowRequest] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.application.id

    @property
    def budget_total(self) -> Decimal:
        return sum((line.budget for line in self.budget_lines), ZERO)

    @property
    def actual_total(self) -> Decimal:
        return sum((line.actual for line in self.budget_lines), ZERO)

    @property
    def cofunding_total(self) -> Decimal:
        return sum((_dec(c.get("amount")) for c in self.cofunding), ZERO)

    @property
    def awarded(self) -> Decimal:
        return self.totals.awarded if self.totals else ZERO

    @property
    def disbursed(self) -> Decimal:
        return self.totals.disbursed if self.totals else ZERO

    @property
    def spent(self) -> Decimal:
        return self.totals.reported if self.totals else ZERO

    @property
    def returned(self) -> Decimal:
        return self.totals.returned if self.totals else ZERO

    @property
    def outstanding(self) -> Decimal:
        return self.totals.outstanding if self.totals else ZERO

    @property
    def undisbursed(self) -> Decimal:
        return self.totals.undisbursed if self.totals else ZERO

    @property
    def committed(self) -> Decimal:
        """What of the award the fund still holds committed (not yet spent nor released)."""
        if self.totals is None:
            return ZERO
        return self.totals.awarded - self.totals.released

    @property
    def closed(self) -> bool:
        return bool(self.totals and self.totals.closed)

    def figures(self) -> dict[str, str]:
        """The money figures as decimal strings (for JSON)."""
        return {
            "awarded": str(self.awarded),
            "disbursed": str(self.disbursed),
            "spent": str(self.spent),
            "returned": str(self.returned),
            "outstanding": str(self.outstanding),
            "committed": str(self.committed),
        }


def grant_summary(book: Book, app_id: str) -> dict[str, Any]:
    """awarded / disbursed / spent / returned / outstanding / committed of one grant (as strings)."""
    application = db.session.get(GrantApplication, app_id)
    if application is None:
        raise RuleError("application", f"没有编号为 {app_id} 的申请（no such application）")
    view = grant_view(book, application)
    return {"id": app_id, "status": application.status, "closed": view.closed, **view.figures()}


def weighted_score(call: GrantCall, reviews: Sequence[GrantReview]) -> Decimal | None:
    """The mean over reviewers of Σ score × weight / 10 (0–100), or None without reviews."""
    if not reviews:
        return None
    total = ZERO
    for review in reviews:
        for criterion in call.criteria or []:
            score = _dec(review.scores.get(str(criterion["name"]), 0))
            total += score * _dec(criterion["weight"]) / Decimal(10)
    return (total / len(reviews)).quantize(Decimal("0.1"))


def _actual_by_line(application_id: str) -> dict[int, Decimal]:
    """What approved expense reports allocated to each budget line (index → amount)."""
    actual: dict[int, Decimal] = {}
    for req in _requests(application_id, "grant-expense", RequestStatus.APPROVED.value):
        for alloc in req.payload.get("lines", []):
            idx = int(alloc["line"])
            actual[idx] = actual.get(idx, ZERO) + _dec(alloc["amount"])
    return actual


def _requests(application_id: str, kind: str | None = None, status: str | None = None) -> list[Any]:
    query = select(OutflowRequest).where(OutflowRequest.kind.in_(GRANT_KINDS))
    if kind:
        query = query.where(OutflowRequest.kind == kind)
    if status:
        query = query.where(OutflowRequest.status == status)
    return [
        r
        for r in db.session.scalars(query.order_by(OutflowRequest.created_at)).all()
        if r.payload.get("grant") == application_id
    ]


def grant_view(book: Book, application: GrantApplication) -> GrantView:
    """One application / grant with everything its pages show."""
    call = application.call
    totals = ledger_grants.grant_totals(book, application.id)
    actual = _actual_by_line(application.id)
    lines = [
        BudgetLine(
            item=str(line.get("item", "")),
            quantity=_dec(line.get("quantity")),
            unit_price=_dec(line.get("unit_price")),
            budget=_dec(line.get("total")),
            actual=actual.get(i, ZERO),
        )
        for i, line in enumerate(application.budget_lines or [])
    ]
    reviews = db.session.scalars(
        select(GrantReview).where(GrantReview.application_id == application.id)
    ).all()
    deliberations = list(
        db.session.scalars(
            select(Deliberation)
            .where(Deliberation.call_id == call.id)
            .order_by(Deliberation.held_on, Deliberation.id)
        ).all()
    )
    objections = [
        ObjectionView(o.id, o.raised_on, o.content, o.answer, o.answered_on)
        for o in db.session.scalars(
            select(Objection)
            .where(Objection.application_id == application.id)
            .order_by(Objection.raised_on, Objection.id)
        ).all()
    ]
    attachments = {
        a.id: a
        for a in db.session.scalars(
            select(Attachment).where(Attachment.application_id == application.id)
        ).all()
    }
    updates = [
        UpdateView(
            u.posted_on,
            u.text,
            attachments.get(u.photo_id) if u.photo_id is not None else None,
        )
        for u in db.session.scalars(
            select(GrantUpdate)
            .where(GrantUpdate.application_id == application.id)
            .order_by(GrantUpdate.posted_on, GrantUpdate.id)
        ).all()
    ]
    photos = [a for a in attachments.values() if a.purpose == "photo" and a.public]
    decision = None
    if application.decision_published_on and application.status in (
        "approved",
        "rejected",
        "awarded",
        "closed",
    ):
        approved = application.status != "rejected"
        decision = Decision(
            approved=approved,
            amount=_dec(application.decision_amount) if approved else None,
            note=application.decision_note,
            published_on=application.decision_published_on,
        )
    evaluation = None
    if application.goals_met:
        evaluation = Evaluation(
            goals_met=application.goals_met,
            beneficiaries_served=application.beneficiaries_served,
            satisfaction=application.satisfaction,
            note=application.evaluation_note,
            published_on=application.result_published_on,
        )
    view = GrantView(
        application=application,
        call=call,
        totals=totals,
        budget_lines=lines,
        cofunding=list(application.cofunding or []),
        deliberations=deliberations,
        objections=objections,
        updates=updates,
        photos=photos,
        decision=decision,
        evaluation=evaluation,
        weighted_score=weighted_score(call, reviews),
        reviews=len(reviews),
        pending=_requests(application.id, status=RequestStatus.PENDING.value),
    )
    view.alerts = _alerts(book, view, _today())
    return view


def _alerts(book: Book, view: GrantView, today: dt.date) -> list[str]:
    """Overdue reports: paid > 60 days ago with nothing reported; past the call end + 90 days."""
    totals = view.totals
    if totals is None or totals.closed:
        return []
    alerts = []
    tranches = [
        t.date
        for t in book.grant_entries(view.id)
        if (t.meta or {}).get("kind") == "grant-disbursement"
    ]
    if tranches and totals.reported == ZERO:
        first = min(tranches)
        if (today - first).days > REPORT_OVERDUE_DAYS:
            alerts.append(
                f"首期拨款（{first.isoformat()}）已超过 {REPORT_OVERDUE_DAYS} 天，尚无支出报告"
            )
    if today > view.call.closes_on + dt.timedelta(days=CLOSE_OVERDUE_DAYS):
        alerts.append(f"征集截止已超过 {CLOSE_OVERDUE_DAYS} 天，项目尚未结项")
    return alerts


def call_is_open(call: GrantCall, today: dt.date | None = None) -> bool:
    """Whether applications are accepted today."""
    day = today or _today()
    return call.opens_on <= day <= call.closes_on


def call_awarded(book: Book, call: GrantCall) -> Decimal:
    """What the ledger has awarded to the call's applications."""
    total = ZERO
    for app_id in db.session.scalars(
        select(GrantApplication.id).where(GrantApplication.call_id == call.id)
    ).all():
        totals = ledger_grants.grant_totals(book, app_id)
        if totals is not None:
            total += totals.awarded
    return total


def call_summary(book: Book, call: GrantCall) -> dict[str, Any]:
    """One call with its applications and money figures (Decimals; dates as dates)."""
    applications = db.session.scalars(
        select(GrantApplication)
        .where(GrantApplication.call_id == call.id)
        .order_by(GrantApplication.created_at, GrantApplication.id)
    ).all()
    rows: list[dict[str, Any]] = []
    sums = dict.fromkeys(("awarded", "disbursed", "spent", "returned", "outstanding"), ZERO)
    for application in applications:
        totals = ledger_grants.grant_totals(book, application.id)
        figures = {
            "awarded": totals.awarded if totals else ZERO,
            "disbursed": totals.disbursed if totals else ZERO,
            "spent": totals.reported if totals else ZERO,
            "returned": totals.returned if totals else ZERO,
            "outstanding": totals.outstanding if totals else ZERO,
        }
        for key, value in figures.items():
            sums[key] += value
        rows.append(
            {
                "id": application.id,
                "title": application.title,
                "group_name": application.group_name,
                "status": application.status,
                "requested": _dec(application.requested),
                "decision_amount": _dec(application.decision_amount)
                if application.decision_amount
                else None,
                "decision_published_on": application.decision_published_on,
                "closed": bool(totals and totals.closed),
                **figures,
            }
        )
    fund = book.funds.get(call.fund)
    budget = _dec(call.budget)
    counts = {
        status: sum(1 for a in applications if a.status == status)
        for status in ("submitted", "eligible", "ineligible", "approved", "rejected")
    }
    counts["awarded"] = sum(1 for r in rows if r["awarded"] > 0)
    counts["closed"] = sum(1 for r in rows if r["closed"])
    return {
        "id": call.id,
        "title": call.title,
        "purpose": call.purpose,
        "fund": call.fund,
        "fund_name": fund.name if fund else call.fund,
        "budget": budget,
        "ceiling": _dec(call.ceiling),
        "opens_on": call.opens_on,
        "closes_on": call.closes_on,
        "is_open": call_is_open(call),
        "criteria": list(call.criteria or []),
        "applications": rows,
        "counts": counts,
        "total_applications": len(applications),
        "unawarded_budget": budget - sums["awarded"],
        **sums,
    }


def register(book: Book) -> list[GrantView]:
    """Every application that was approved or awarded, newest call first (the admin register)."""
    applications = db.session.scalars(
        select(GrantApplication)
        .where(GrantApplication.status.in_(("approved", "awarded", "closed")))
        .order_by(GrantApplication.created_at.desc(), GrantApplication.id)
    ).all()
    return [grant_view(book, a) for a in applications]


def deliberations_of(call_id: str) -> list[Deliberation]:
    """The call's deliberation meetings, in order."""
    return list(
        db.session.scalars(
            select(Deliberation)
            .where(Deliberation.call_id == call_id)
            .order_by(Deliberation.held_on, Deliberation.id)
        ).all()
    )


def reviews_of(app_id: str) -> list[GrantReview]:
    return list(
        db.session.scalars(
            select(GrantReview)
            .where(GrantReview.application_id == app_id)
            .order_by(GrantReview.reviewer)
        ).all()
    )


def review_by(app_id: str, reviewer: str) -> GrantReview | None:
    return next((r for r in reviews_of(app_id) if r.reviewer == reviewer), None)


def attachment_path(att: Attachment) -> Path:
    """Where an attachment's bytes are kept (under the instance folder)."""
    return Path(current_app.instance_path) / "attachments" / att.stored_name


# == write side ====================================================================================

MAX_ATTACHMENT = 5 * 1024 * 1024
#: Detected type → (extensions allowed for it, content type, stored extension).
_TYPES = {
    "pdf": ((".pdf",), "application/pdf", "pdf"),
    "jpeg": ((".jpg", ".jpeg"), "image/jpeg", "jpg"),
    "png": ((".png",), "image/png", "png"),
}
PURPOSES = ("application", "receipt", "photo", "report")
PUBLIC_LIMIT_PER_HOUR = 5
PUBLIC_ACTION = "grant_public_apply"


def _id(prefix: str, value: str | None = None) -> str:
    return workflow.check_entry_id(value, prefix)


def _get_call(call_id: str) -> GrantCall:
    call = db.session.get(GrantCall, call_id)
    if call is None:
        raise RuleError("call", f"没有编号为 {call_id} 的征集（no such call）", "not_found")
    return call


def get_application(app_id: str) -> GrantApplication:
    application = db.session.get(GrantApplication, app_id)
    if application is None:
        raise RuleError(
            "application", f"没有编号为 {app_id} 的申请（no such application）", "not_found"
        )
    return application


def _int(field_name: str, value: Any, low: int, high: int, label: str) -> int:
    if isinstance(value, bool):
        raise RuleError(field_name, f"{label}须为整数（{field_name} must be an integer）")
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise RuleError(field_name, f"{label}须为整数（{field_name} must be an integer）") from exc
    if not low <= number <= high:
        raise RuleError(field_name, f"{label}须在 {low} 到 {high} 之间（out of range）")
    return number


def _text(field_name: str, value: str, *, max_len: int, required: bool = False) -> str:
    """Text kept in the database: several lines allowed, nothing else check_text refuses."""
    if not isinstance(value, str):
        raise RuleError(field_name, "须为文本（must be text）")
    flat = value.replace("\r\n", "\n").replace("\n", " ").replace("\t", " ")
    check_text(field_name, flat, max_len=max_len, required=required)
    return value


def _not_future(field_name: str, day: dt.date, today: dt.date, label: str) -> None:
    if day > today:
        raise RuleError(field_name, f"{label}不能晚于今天（date is in the future）")


# -- calls -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallInput:
    title: str
    fund: str
    budget: str | Decimal
    ceiling: str | Decimal
    opens_on: dt.date
    closes_on: dt.date
    #: [{"name": ..., "weight": ...}]
    criteria: list[dict[str, Any]]
    purpose: str = ""
    id: str | None = None


def promised_by_open_calls(
    book: Book, fund: str, today: dt.date, *, exclude: str | None = None
) -> Decimal:
    """What calls on ``fund`` still open (closing today or later) promise beyond their awards."""
    calls = db.session.scalars(
        select(GrantCall).where(GrantCall.fund == fund, GrantCall.closes_on >= today)
    ).all()
    total = ZERO
    for call in calls:
        if call.id != exclude:
            total += max(ZERO, _dec(call.budget) - call_awarded(book, call))
    return total


def call_headroom(book: Book, fund: str, today: dt.date) -> tuple[Decimal, Decimal, Decimal]:
    """(uncommitted balance, promised by open calls, what a new call may still promise)."""
    free = ledger_grants.uncommitted_balance(book, fund)
    promised = promised_by_open_calls(book, fund, today)
    return free, promised, free - promised


def _criteria(raw: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    criteria: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        name = str(item.get("name") or "").strip()
        weight_raw = item.get("weight")
        if not name and str(weight_raw or "").strip() in ("", "0"):
            continue
        check_text(f"criteria.{i}.name", name, max_len=50, required=True)
        weight = _int("criteria", weight_raw, 1, 100, f"评审标准「{name}」的权重")
        if any(c["name"] == name for c in criteria):
            raise RuleError("criteria", f"评审标准「{name}」重复（duplicate criterion）")
        criteria.append({"name": name, "weight": weight})
    if not criteria:
        raise RuleError("criteria", "请至少填写一项评审标准（criteria are required）")
    total = sum(c["weight"] for c in criteria)
    if total != 100:
        raise RuleError(
            "criteria", f"评审标准的权重合计须为 100，现为 {total}（weights must add up to 100）"
        )
    return criteria


def create_call(
    book: Book, data: CallInput, actor: str, *, today: dt.date | None = None
) -> GrantCall:
    """Open a call; refused if it promises more than the fund can still promise."""
    day = today or _today()
    call_id = _id("call", data.id)
    if len(call_id) > 32:
        raise RuleError("id", "征集编号最长 32 位（id too long）")
    check_text("title", data.title, max_len=200, required=True)
    _text("purpose", data.purpose, max_len=2000)
    fund = book.funds.get(data.fund)
    if fund is None:
        raise RuleError("fund", f"没有名为 {data.fund} 的基金（unknown fund）", "unknown_fund")
    budget = parse_amount(data.budget, field="budget")
    ceiling = parse_amount(data.ceiling, field="ceiling")
    if ceiling > budget:
        raise RuleError(
            "ceiling",
            f"单个项目上限 {format_cny(ceiling)} 不能超过征集总预算 {format_cny(budget)}",
        )
    if data.closes_on < data.opens_on:
        raise RuleError("closes_on", "截止日期不能早于开始日期（closes before it opens）")
    criteria = _criteria(data.criteria)
    existing = db.session.get(GrantCall, call_id)
    if existing is not None:
        raise RuleError("id", f"编号 {call_id} 已被使用（the id is already used）", "id_conflict")
    free, promised, headroom = call_headroom(book, fund.slug, day)
    if budget > headroom:
        raise RuleError(
            "budget",
            f"基金「{fund.name}」可承诺余额 {format_cny(free)}，其他进行中的征集已预留 "
            f"{format_cny(promised)}，最多还能安排 {format_cny(max(headroom, ZERO))}，"
            f"不足以开设预算 {format_cny(budget)} 的征集（above the fund's uncommitted balance）",
            "over_committed",
        )
    call = GrantCall(
        id=call_id,
        title=data.title.strip(),
        purpose=data.purpose.strip(),
        fund=fund.slug,
        budget=str(budget),
        ceiling=str(ceiling),
        opens_on=data.opens_on,
        closes_on=data.closes_on,
        criteria=criteria,
        created_by=actor,
    )
    db.session.add(call)
    audit("create_grant_call", target=call_id, actor=actor, budget=budget, fund=fund.slug)
    db.session.commit()
    return call


# -- attachments ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """An uploaded file: the name the sender gave it and its bytes."""

    filename: str
    content: bytes


def _sniff(content: bytes) -> str | None:
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


def _display_name(name: str) -> str:
    cleaned = "".join(
        ch for ch in name.replace("\\", "/").rsplit("/", 1)[-1] if ch.isprintable()
    ).strip()
    return cleaned[:200] or "file"


def check_upload(upload: Upload, field_name: str = "attachments") -> tuple[str, str]:
    """(content type, stored extension) of an acceptable file; refuses wrong, disguised or large."""
    name = _display_name(upload.filename)
    size = len(upload.content)
    if size == 0:
        raise RuleError(field_name, f"文件「{name}」是空的（empty file）")
    if size > MAX_ATTACHMENT:
        raise RuleError(
            field_name,
            f"文件「{name}」大小 {size / 1048576:.1f} MB，超过 5 MB 上限（file too large）",
            "too_large",
        )
    ext = os.path.splitext(name.lower())[1]
    if not any(ext in allowed for allowed, _ct, _se in _TYPES.values()):
        raise RuleError(
            field_name,
            f"文件「{name}」的类型不允许：只接受 PDF、JPEG、PNG（only PDF, JPEG or PNG）",
            "bad_type",
        )
    kind = _sniff(upload.content)
    if kind is None or ext not in _TYPES[kind][0]:
        raise RuleError(
            field_name,
            f"文件「{name}」的内容与扩展名不符，可能是伪装的文件，已拒绝"
            "（the content is not what its name says）",
            "disguised",
        )
    _allowed, content_type, stored_ext = _TYPES[kind]
    return content_type, stored_ext


def _attachments_dir() -> Path:
    folder = Path(current_app.instance_path) / "attachments"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _store(
    uploads: Sequence[Upload],
    application_id: str,
    purpose: str,
    actor: str,
    *,
    public: bool = False,
    caption: str = "",
    field_name: str = "attachments",
) -> tuple[list[Attachment], list[Path]]:
    """Check every file first, then write them under random names; rows added, not committed."""
    if purpose not in PURPOSES:
        raise RuleError("purpose", "附件用途不正确（bad purpose）")
    checked = [(u, *check_upload(u, field_name)) for u in uploads]
    folder = _attachments_dir()
    rows: list[Attachment] = []
    written: list[Path] = []
    for upload, content_type, ext in checked:
        stored = f"{secrets.token_hex(16)}.{ext}"
        path = folder / stored
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(upload.content)
        written.append(path)
        row = Attachment(
            application_id=application_id,
            purpose=purpose,
            original_name=_display_name(upload.filename),
            stored_name=stored,
            content_type=content_type,
            size=len(upload.content),
            sha256=hashlib.sha256(upload.content).hexdigest(),
            public=public,
            caption=caption[:200],
            uploaded_by=actor,
        )
        db.session.add(row)
        rows.append(row)
    return rows, written


def _discard(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def no_files() -> Any:
    raise RuleError("files", "请选择要上传的文件（no file chosen）", "required")


def add_attachments(
    application_id: str,
    uploads: Sequence[Upload],
    purpose: str,
    actor: str,
    *,
    public: bool = False,
    caption: str = "",
) -> list[Attachment]:
    """Store files for an application (committed)."""
    get_application(application_id)
    written: list[Path] = []
    try:
        rows, written = _store(
            uploads, application_id, purpose, actor, public=public, caption=caption
        )
        db.session.flush()
        audit("add_attachments", target=application_id, actor=actor, purpose=purpose, n=len(rows))
        db.session.commit()
    except Exception:
        db.session.rollback()
        _discard(written)
        raise
    return rows


# -- applications ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationInput:
    call_id: str
    group_name: str
    contact_name: str
    title: str
    #: [{"item", "quantity", "unit_price"}] as text
    budget_lines: list[dict[str, Any]]
    contact_phone: str = ""
    description: str = ""
    beneficiaries: str = ""
    #: [{"source", "kind": "cash" | "in-kind", "amount"}]
    cofunding: list[dict[str, Any]] = field(default_factory=list)
    requested: str | Decimal = ""
    id: str | None = None


def _quantity(value: Any, i: int) -> Decimal:
    return parse_amount(
        str(value) if not isinstance(value, Decimal) else value, field=f"budget_lines.{i}.quantity"
    )


def _budget_lines(raw: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    lines = []
    for i, item in enumerate(raw):
        name = str(item.get("item", "") or "").strip()
        qty, price = item.get("quantity", ""), item.get("unit_price", "")
        if not name and not str(qty or "").strip() and not str(price or "").strip():
            continue
        check_text(f"budget_lines.{i}.item", name, max_len=100, required=True)
        quantity = _quantity(qty, i)
        unit_price = parse_amount(
            price if isinstance(price, Decimal) else str(price or ""),
            field=f"budget_lines.{i}.unit_price",
        )
        total = (quantity * unit_price).quantize(Decimal("0.01"))
        lines.append(
            {
                "item": name,
                "quantity": str(quantity.normalize()),
                "unit_price": str(unit_price),
                "total": str(total),
            }
        )
    if not lines:
        raise RuleError("budget_lines", "请至少填写一行预算（budget lines are required）")
    return lines


def _cofunding(raw: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for i, item in enumerate(raw):
        source = str(item.get("source", "") or "").strip()
        amount = item.get("amount", "")
        if not source and not str(amount or "").strip():
            continue
        check_text(f"cofunding.{i}.source", source, max_len=100, required=True)
        kind = str(item.get("kind", "cash") or "cash")
        if kind not in ("cash", "in-kind"):
            raise RuleError("cofunding", "配套资金类型须为 cash 或 in-kind")
        value = parse_amount(
            amount if isinstance(amount, Decimal) else str(amount or ""),
            field=f"cofunding.{i}.amount",
        )
        out.append({"source": source, "kind": kind, "amount": str(value)})
    return out


def submit_application(
    book: Book,
    data: ApplicationInput,
    actor: str,
    *,
    via: str = "admin",
    uploads: Sequence[Upload] = (),
    today: dt.date | None = None,
) -> GrantApplication:
    """Record an application (with its attachments); public submissions only while the call is open."""
    day = today or _today()
    call = _get_call(data.call_id)
    if via == "public" and not call_is_open(call, day):
        raise RuleError(
            "call",
            f"征集「{call.title}」的申请时间为 {call.opens_on.isoformat()} 至 "
            f"{call.closes_on.isoformat()}，现在不接受申请（the call is not open）",
            "call_closed",
        )
    app_id = _id("mg", data.id)
    if len(app_id) > 40:
        raise RuleError("id", "申请编号最长 40 位（id too long）")
    check_text("group_name", data.group_name, max_len=100, required=True)
    check_text("contact_name", data.contact_name, max_len=100, required=True)
    check_text("contact_phone", data.contact_phone, max_len=32)
    phone = data.contact_phone.strip().replace("-", "").replace(" ", "").replace("+", "")
    if phone and not (phone.isascii() and phone.isdigit()):
        raise RuleError("contact_phone", "电话号码只能包含数字、空格、+ 和 -（bad phone number）")
    check_text("title", data.title, max_len=200, required=True)
    _text("description", data.description, max_len=5000)
    check_text("beneficiaries", data.beneficiaries, max_len=300)
    lines = _budget_lines(data.budget_lines)
    cofunding = _cofunding(data.cofunding)
    total = sum((Decimal(line["total"]) for line in lines), ZERO)
    requested = (
        total
        if str(data.requested).strip() == ""
        else parse_amount(data.requested, field="requested")
    )
    if requested > total:
        raise RuleError(
            "requested",
            f"申请金额 {format_cny(requested)} 超过预算合计 {format_cny(total)}（above the budget）",
        )
    ceiling = _dec(call.ceiling)
    if requested > ceiling:
        raise RuleError(
            "requested",
            f"申请金额 {format_cny(requested)} 超过本次征集的单个项目上限 {format_cny(ceiling)}"
            "（above the call's ceiling）",
            "over_ceiling",
        )
    if db.session.get(GrantApplication, app_id) is not None:
        raise RuleError("id", f"编号 {app_id} 已被使用（the id is already used）", "id_conflict")
    if book.grant_entries(app_id):
        raise RuleError("id", f"编号 {app_id} 已在账本中（the id is already used）", "id_conflict")
    written: list[Path] = []
    try:
        application = GrantApplication(
            id=app_id,
            call_id=call.id,
            group_name=data.group_name.strip(),
            contact_name=data.contact_name.strip(),
            contact_phone=data.contact_phone.strip(),
            title=data.title.strip(),
            description=data.description.strip(),
            beneficiaries=data.beneficiaries.strip(),
            budget_lines=lines,
            cofunding=cofunding,
            requested=str(requested),
            submitted_via=via,
        )
        db.session.add(application)
        _rows, written = _store(uploads, app_id, "application", actor)
        audit(
            PUBLIC_ACTION if via == "public" else "submit_grant_application",
            target=app_id,
            actor=actor,
            call=call.id,
            requested=requested,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        _discard(written)
        raise
    return application


def public_submissions_last_hour(addr: str) -> int:
    """Public applications sent from this address in the last hour (counted in the audit log)."""
    from ledger_app.models import utcnow

    since = utcnow() - dt.timedelta(hours=1)
    return (
        db.session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(
                AuditLog.action == PUBLIC_ACTION,
                AuditLog.remote_addr == addr,
                AuditLog.at >= since,
            )
        )
        or 0
    )


# -- review and deliberation ------------------------------------------------------------------------------


def set_eligibility(app_id: str, eligible: bool, note: str, actor: str) -> GrantApplication:
    application = get_application(app_id)
    _text("eligibility_note", note, max_len=500, required=not eligible)
    if application.status not in ("submitted", "eligible", "ineligible"):
        raise RuleError("status", "已作出决定的申请不能再改资格审查结果（already decided）")
    application.status = "eligible" if eligible else "ineligible"
    application.eligibility_note = note.strip()
    audit("grant_eligibility", target=app_id, actor=actor, eligible=eligible)
    db.session.commit()
    return application


def record_review(
    app_id: str, reviewer: str, scores: dict[str, Any], comment: str = ""
) -> GrantReview:
    """One reviewer's scores (0–10 per criterion); a reviewer's new scores replace the old."""
    application = get_application(app_id)
    if application.status == "ineligible":
        raise RuleError("status", "资格审查未通过的申请不评分（ineligible）")
    _text("comment", comment, max_len=2000)
    clean: dict[str, int] = {}
    for criterion in application.call.criteria or []:
        name = str(criterion["name"])
        if name not in scores or str(scores[name]).strip() == "":
            raise RuleError("scores", f"请为「{name}」打分（score required）")
        clean[name] = _int("scores", scores[name], 0, 10, f"「{name}」的评分")
    review = db.session.scalars(
        select(GrantReview).where(
            GrantReview.application_id == app_id, GrantReview.reviewer == reviewer
        )
    ).first()
    if review is None:
        review = GrantReview(application_id=app_id, reviewer=reviewer)
        db.session.add(review)
    review.scores = clean
    review.comment = comment.strip()
    audit("grant_review", target=app_id, actor=reviewer)
    db.session.commit()
    return review


@dataclass(frozen=True)
class DeliberationInput:
    call_id: str
    stage: str
    held_on: dt.date
    attendees: Any
    quorum: Any
    votes_for: Any = 0
    votes_against: Any = 0
    abstentions: Any = 0
    minutes: str = ""
    supervisor_opinion: str = ""
    dissent: str = ""


def record_deliberation(
    data: DeliberationInput, actor: str, *, today: dt.date | None = None
) -> Deliberation:
    """One stage of 四议两公开; a 决议 needs a quorum and votes that add up."""
    call = _get_call(data.call_id)
    if data.stage not in STAGES:
        raise RuleError("stage", "议事阶段须为 提议、商议、审议、决议 之一（bad stage）")
    _not_future("held_on", data.held_on, today or _today(), "会议日期")
    attendees = _int("attendees", data.attendees, 0, 100000, "出席人数")
    quorum = _int("quorum", data.quorum, 1, 100000, "法定人数")
    votes = [
        _int(name, value, 0, 100000, label)
        for name, value, label in (
            ("votes_for", data.votes_for, "赞成票"),
            ("votes_against", data.votes_against, "反对票"),
            ("abstentions", data.abstentions, "弃权票"),
        )
    ]
    if sum(votes) > attendees:
        raise RuleError(
            "votes_for",
            f"赞成 {votes[0]}、反对 {votes[1]}、弃权 {votes[2]} 合计 {sum(votes)} 票，"
            f"超过出席人数 {attendees}（votes exceed attendees）",
        )
    if data.stage == "决议" and attendees < quorum:
        raise RuleError(
            "attendees",
            f"决议须达到法定人数：出席 {attendees} 人，法定人数 {quorum} 人（quorum not met）",
            "no_quorum",
        )
    for name, text in (
        ("minutes", data.minutes),
        ("supervisor_opinion", data.supervisor_opinion),
        ("dissent", data.dissent),
    ):
        _text(name, text, max_len=10000)
    if data.stage == "决议" and not data.minutes.strip():
        raise RuleError("minutes", "决议须附会议纪要（minutes are required）")
    row = Deliberation(
        call_id=call.id,
        stage=data.stage,
        held_on=data.held_on,
        attendees=attendees,
        quorum=quorum,
        votes_for=votes[0],
        votes_against=votes[1],
        abstentions=votes[2],
        minutes=data.minutes.strip(),
        supervisor_opinion=data.supervisor_opinion.strip(),
        dissent=data.dissent.strip(),
        recorded_by=actor,
    )
    db.session.add(row)
    audit("grant_deliberation", target=call.id, actor=actor, stage=data.stage)
    db.session.commit()
    return row


def record_decision(
    app_id: str,
    approved: bool,
    amount: str | Decimal | None,
    note: str,
    actor: str,
    *,
    published_on: dt.date | None = None,
    today: dt.date | None = None,
) -> GrantApplication:
    """The council's decision (after a 决议 meeting) and, when given, the day it was posted."""
    application = get_application(app_id)
    day = today or _today()
    if application.status in ("awarded", "closed"):
        raise RuleError("status", "已拨付资助的申请不能再改决定（already awarded）")
    if application.status in ("submitted", "ineligible"):
        raise RuleError(
            "status", "须先通过资格审查才能作出决定（eligibility check required）", "not_eligible"
        )
    resolutions = db.session.scalar(
        select(func.count())
        .select_from(Deliberation)
        .where(Deliberation.call_id == application.call_id, Deliberation.stage == "决议")
    )
    if not resolutions:
        raise RuleError(
            "status",
            "须先记录「决议」会议才能作出决定（a 决议 meeting is required）",
            "no_resolution",
        )
    _text("decision_note", note, max_len=2000)
    decided = ZERO
    if approved:
        decided = parse_amount(
            amount if amount not in (None, "") else application.requested, field="amount"
        )
        ceiling = _dec(application.call.ceiling)
        if decided > ceiling:
            raise RuleError(
                "amount",
                f"资助金额 {format_cny(decided)} 超过本次征集的单个项目上限 {format_cny(ceiling)}"
                "（above the call's ceiling）",
                "over_ceiling",
            )
        if decided > _dec(application.requested):
            raise RuleError(
                "amount",
                f"资助金额 {format_cny(decided)} 超过申请金额 "
                f"{format_cny(_dec(application.requested))}（above what was requested）",
            )
    if published_on is not None:
        _not_future("published_on", published_on, day, "公示日期")
    application.status = "approved" if approved else "rejected"
    application.decision_amount = str(decided) if approved else ""
    application.decision_note = note.strip()
    if published_on is not None:
        application.decision_published_on = published_on
    audit(
        "grant_decision",
        target=app_id,
        actor=actor,
        approved=approved,
        amount=decided,
        published_on=published_on or "",
    )
    db.session.commit()
    return application


def publish_decision(
    app_id: str, published_on: dt.date, actor: str, *, today: dt.date | None = None
) -> GrantApplication:
    application = get_application(app_id)
    if application.status not in ("approved", "rejected"):
        raise RuleError("status", "只有已作出决定的申请才能公示（no decision yet）")
    _not_future("published_on", published_on, today or _today(), "公示日期")
    application.decision_published_on = published_on
    audit("grant_publish_decision", target=app_id, actor=actor, published_on=published_on)
    db.session.commit()
    return application


def raise_objection(
    app_id: str, raised_on: dt.date, raised_by: str, content: str, actor: str
) -> Objection:
    application = get_application(app_id)
    if application.decision_published_on is None:
        raise RuleError("raised_on", "决定尚未公示（the decision is not posted）")
    if raised_on < application.decision_published_on:
        raise RuleError("raised_on", "异议日期不能早于公示日期（before the posting）")
    _not_future("raised_on", raised_on, _today(), "异议日期")
    check_text("raised_by", raised_by, max_len=100)
    _text("content", content, max_len=5000, required=True)
    row = Objection(
        application_id=app_id,
        raised_on=raised_on,
        raised_by=raised_by.strip(),
        content=content.strip(),
    )
    db.session.add(row)
    audit("grant_objection", target=app_id, actor=actor)
    db.session.commit()
    return row


def answer_objection(objection_id: int, answer: str, answered_on: dt.date, actor: str) -> Objection:
    row = db.session.get(Objection, objection_id)
    if row is None:
        raise RuleError("objection", "没有这条异议（no such objection）", "not_found")
    _text("answer", answer, max_len=5000, required=True)
    if answered_on < row.raised_on:
        raise RuleError("answered_on", "答复日期不能早于异议日期")
    _not_future("answered_on", answered_on, _today(), "答复日期")
    row.answer = answer.strip()
    row.answered_on = answered_on
    row.answered_by = actor
    audit("grant_objection_answer", target=row.application_id, actor=actor, objection=row.id)
    db.session.commit()
    return row


def record_midterm(
    app_id: str, passed: bool, note: str, actor: str, book: Book
) -> GrantApplication:
    """The mid-term review: passed releases the final tranche; failed stops further payments."""
    application = get_application(app_id)
    totals = ledger_grants.grant_totals(book, app_id)
    if totals is None or totals.closed:
        raise RuleError("midterm", "只有在执行中的资助项目才能做中期评估（not a running grant）")
    if application.midterm:
        raise RuleError("midterm", "中期评估结果已记录，不能更改（already recorded）")
    _text("midterm_note", note, max_len=5000, required=True)
    application.midterm = "passed" if passed else "failed"
    application.midterm_note = note.strip()
    audit("grant_midterm", target=app_id, actor=actor, result=application.midterm)
    db.session.commit()
    return application


def post_update(
    app_id: str,
    posted_on: dt.date,
    text: str,
    actor: str,
    *,
    photo: Upload | None = None,
    caption: str = "",
) -> GrantUpdate:
    """A progress update (and photo) for the grant's public page."""
    get_application(app_id)
    _text("text", text, max_len=5000, required=True)
    check_text("caption", caption, max_len=200)
    _not_future("posted_on", posted_on, _today(), "发布日期")
    written: list[Path] = []
    try:
        photo_id = None
        if photo is not None:
            rows, written = _store(
                [photo], app_id, "photo", actor, public=True, caption=caption, field_name="photo"
            )
            if rows[0].content_type == "application/pdf":
                raise RuleError("photo", "照片须为 JPEG 或 PNG 图片（a photo must be an image）")
            db.session.flush()
            photo_id = rows[0].id
        update = GrantUpdate(
            application_id=app_id,
            posted_on=posted_on,
            text=text.strip(),
            photo_id=photo_id,
            posted_by=actor,
        )
        db.session.add(update)
        audit("grant_update", target=app_id, actor=actor)
        db.session.commit()
    except Exception:
        db.session.rollback()
        _discard(written)
        raise
    return update


# -- money: requests approved by another person -----------------------------------------------------------


def _pending(app_id: str, kind: str | None = None) -> list[OutflowRequest]:
    return _requests(app_id, kind, RequestStatus.PENDING.value)


def _pending_sum(app_id: str, kind: str) -> Decimal:
    return sum((_dec(r.amount) for r in _pending(app_id, kind)), ZERO)


def _new_request(
    book: Book,
    kind: str,
    entry_id: str,
    payload: dict[str, Any],
    actor: str,
    summary: str,
    amount: Decimal,
    fund: str,
) -> OutflowRequest:
    existing = workflow._existing_request(entry_id, kind, payload)
    if existing:
        return existing
    if book.get(entry_id) is not None:
        raise RuleError(
            "id", f"编号 {entry_id} 已在账本中（the id is already used）", "id_conflict"
        )
    req = OutflowRequest(
        id=entry_id,
        kind=kind,
        payload=payload,
        entered_by=actor,
        summary=summary[:300],
        amount=str(amount),
        fund=fund,
    )
    db.session.add(req)
    audit(
        f"request_{kind.replace('-', '_')}",
        target=entry_id,
        actor=actor,
        grant=payload["grant"],
        amount=amount,
    )
    db.session.commit()
    return req


def _check_award(book: Book, application: GrantApplication, day: dt.date, amount: Decimal) -> None:
    """The database's side of an award: decided, posted 7 days, objections answered, ceiling."""
    if application.status != "approved":
        raise RuleError(
            "status",
            "只有议事会决定资助的申请才能拨付资助（the decision is not an approval）",
            "not_approved",
        )
    published = application.decision_published_on
    if published is None or published + dt.timedelta(days=POSTING_DAYS) > day:
        shown = published.isoformat() if published else "尚未公示"
        raise RuleError(
            "date",
            f"决定公示未满7天（公示日期：{shown}），不能生效（decision posted less than 7 days）",
            "posting",
        )
    unanswered = [
        o
        for o in db.session.scalars(
            select(Objection).where(Objection.application_id == application.id)
        ).all()
        if not o.answer.strip()
    ]
    if unanswered:
        raise RuleError(
            "objections",
            f"公示期内有 {len(unanswered)} 条异议尚未答复（unanswered objections）",
            "objections",
        )
    ceiling = _dec(application.call.ceiling)
    if amount > ceiling:
        raise RuleError(
            "amount",
            f"资助金额 {format_cny(amount)} 超过本次征集的单个项目上限 {format_cny(ceiling)}"
            "（above the call's ceiling）",
            "over_ceiling",
        )
    decided = _dec(application.decision_amount)
    if amount > decided:
        raise RuleError(
            "amount",
            f"资助金额 {format_cny(amount)} 超过议事会决定的 {format_cny(decided)}（above the decision）",
        )
    call = application.call
    others = sum(
        (
            _dec(r.amount)
            for r in db.session.scalars(
                select(OutflowRequest).where(
                    OutflowRequest.kind == "grant-award",
                    OutflowRequest.status == RequestStatus.PENDING.value,
                )
            ).all()
            if r.payload.get("call") == call.id and r.payload.get("grant") != application.id
        ),
        ZERO,
    )
    left = _dec(call.budget) - call_awarded(book, call) - others
    if amount > left:
        raise RuleError(
            "amount",
            f"资助金额 {format_cny(amount)} 超过征集「{call.title}」剩余预算 {format_cny(left)}"
            "（above what is left of the call's budget）",
            "over_call_budget",
        )
    fund = book.funds[call.fund]
    free = ledger_grants.uncommitted_balance(book, fund.slug)
    if amount > free:
        raise RuleError(
            "amount",
            f"基金「{fund.name}」可承诺余额 {format_cny(free)}，不足以资助 "
            f"{format_cny(amount)}（above the fund's uncommitted balance）",
            "over_committed",
        )


def request_award(
    book: Book,
    app_id: str,
    day: dt.date,
    actor: str,
    *,
    amount: str | Decimal | None = None,
    entry_id: str | None = None,
    source: str = "form",
) -> OutflowRequest:
    """Ask for the award (a commitment against the fund), approved by someone else."""
    application = get_application(app_id)
    _not_future("date", day, _today(), "资助日期")
    value = parse_amount(
        amount if amount not in (None, "") else application.decision_amount or "", field="amount"
    )
    _check_award(book, application, day, value)
    if ledger_grants.grant_totals(book, app_id) is not None:
        raise RuleError("status", f"项目 {app_id} 已获资助（already awarded）", "already_awarded")
    rid = workflow.check_entry_id(entry_id, "gaw")
    payload = {
        "id": rid,
        "grant": app_id,
        "date": day.isoformat(),
        "amount": str(value),
        "fund": application.call.fund,
        "grantee": application.group_name,
        "project": application.title,
        "call": application.call_id,
        "source": source,
    }
    if workflow._existing_request(rid, "grant-award", payload) is None and _pending(
        app_id, "grant-award"
    ):
        raise RuleError("status", "该项目已有待审批的资助申请（an award is already pending）")
    ledger_grants.award_entry(book, _award_cmd(payload, actor))
    return _new_request(
        book,
        "grant-award",
        rid,
        payload,
        actor,
        f"微创投资助：{application.group_name}「{application.title}」",
        value,
        application.call.fund,
    )


def _check_disbursement(
    application: GrantApplication,
    totals: GrantTotals | None,
    day: dt.date,
    amount: Decimal,
    pending: Decimal,
) -> None:
    published = application.decision_published_on
    if totals is None:
        if published is None or published + dt.timedelta(days=POSTING_DAYS) > day:
            raise RuleError(
                "date",
                "决定公示未满7天，尚未生效，不能拨款（decision posted less than 7 days）",
                "posting",
            )
        raise RuleError(
            "grant", f"项目 {application.id} 尚未获得资助（no award for this grant）", "not_awarded"
        )
    if totals.closed:
        raise RuleError("grant", f"项目 {application.id} 已结项（the grant is closed）", "closed")
    if application.midterm == "failed":
        raise RuleError(
            "midterm",
            "中期评估未通过，已停止拨款（a failed mid-term review stops payments）",
            "midterm_failed",
        )
    remaining = totals.undisbursed - pending
    if amount > remaining:
        raise RuleError(
            "amount",
            f"拨款 {format_cny(amount)} 超过资助尚未拨付的 {format_cny(remaining)}"
            "（above what remains of the award）",
            "over_award",
        )
    if amount == remaining and application.midterm != "passed":
        raise RuleError(
            "amount",
            "最后一期拨款须在中期评估通过后才能申请（the final tranche waits for a passed mid-term review）",
            "midterm_required",
        )


def request_disbursement(
    book: Book,
    app_id: str,
    day: dt.date,
    amount: str | Decimal,
    actor: str,
    *,
    paid_from: str = "bank",
    entry_id: str | None = None,
    source: str = "form",
) -> OutflowRequest:
    """Ask for one tranche; the final one is held until the mid-term review passed."""
    application = get_application(app_id)
    _not_future("date", day, _today(), "拨款日期")
    value = parse_amount(amount)
    totals = ledger_grants.grant_totals(book, app_id)
    rid = workflow.check_entry_id(entry_id, "gdi")
    payload = {
        "id": rid,
        "grant": app_id,
        "date": day.isoformat(),
        "amount": str(value),
        "paid_from": paid_from,
        "source": source,
    }
    existing = workflow._existing_request(rid, "grant-disbursement", payload)
    if existing:
        return existing
    _check_disbursement(application, totals, day, value, _pending_sum(app_id, "grant-disbursement"))
    ledger_grants.disbursement_entry(book, _disbursement_cmd(payload, actor, "-"))
    return _new_request(
        book,
        "grant-disbursement",
        rid,
        payload,
        actor,
        f"微创投拨款：{application.group_name}「{application.title}」",
        value,
        application.call.fund,
    )


def _allocations(
    application: GrantApplication, raw: Sequence[dict[str, Any]]
) -> list[dict[str, str]]:
    out = []
    for item in raw:
        value = item.get("amount", "")
        if str(value or "").strip() in ("", "0", "0.00"):
            continue
        idx = _int("lines", item.get("line"), 0, len(application.budget_lines or []) - 1, "预算行")
        out.append({"line": str(idx), "amount": str(parse_amount(str(value), field=f"line-{idx}"))})
    return out


def request_expense_report(
    book: Book,
    app_id: str,
    day: dt.date,
    summary: str,
    actor: str,
    *,
    amount: str | Decimal | None = None,
    lines: Sequence[dict[str, Any]] = (),
    receipts: Sequence[Upload] = (),
    paper_receipts: int = 0,
    entry_id: str | None = None,
    source: str = "form",
) -> OutflowRequest:
    """The grantee's expense report with receipts, accepted once someone else approves it."""
    application = get_application(app_id)
    _not_future("date", day, _today(), "报告日期")
    allocations = _allocations(application, lines)
    allocated = sum((Decimal(a["amount"]) for a in allocations), ZERO)
    if amount in (None, ""):
        if not allocations:
            raise RuleError("amount", "请填写报告支出的金额（amount is required）", "required")
        value = allocated
    else:
        value = parse_amount(amount)
        if allocations and allocated != value:
            raise RuleError(
                "amount",
                f"各预算行合计 {format_cny(allocated)} 与报告金额 {format_cny(value)} 不符",
            )
    if not allocations and len(application.budget_lines or []) == 1:
        allocations = [{"line": "0", "amount": str(value)}]
    check_text("summary", summary, max_len=300, required=True)
    if not receipts and paper_receipts <= 0:
        raise RuleError("receipts", "支出报告须附票据（receipts are required）", "required")
    totals = ledger_grants.grant_totals(book, app_id)
    if totals is None:
        raise RuleError(
            "grant", f"项目 {app_id} 尚未获得资助（no award for this grant）", "not_awarded"
        )
    if totals.closed:
        raise RuleError("grant", f"项目 {app_id} 已结项（the grant is closed）", "closed")
    held = totals.outstanding - _pending_sum(app_id, "grant-expense")
    if value > held:
        raise RuleError(
            "amount",
            f"报告支出 {format_cny(value)} 超过已拨付未报告的 {format_cny(held)}"
            "（more than was disbursed）",
            "over_disbursed",
        )
    rid = workflow.check_entry_id(entry_id, "gex")
    written: list[Path] = []
    try:
        rows, written = _store(receipts, app_id, "receipt", actor, field_name="receipts")
        db.session.flush()
        payload = {
            "id": rid,
            "grant": app_id,
            "date": day.isoformat(),
            "amount": str(value),
            "summary": summary.strip(),
            "receipts": len(rows) + max(paper_receipts, 0),
            "attachments": [r.id for r in rows],
            "lines": allocations,
            "source": source,
        }
        ledger_grants.expense_report_entry(book, _expense_cmd(payload, actor))
        existing = workflow._existing_request(rid, "grant-expense", {**payload})
        if existing:
            db.session.rollback()
            _discard(written)
            return existing
        return _new_request(
            book,
            "grant-expense",
            rid,
            payload,
            actor,
            f"微创投支出报告：{application.group_name}「{summary.strip()}」",
            value,
            application.call.fund,
        )
    except Exception:
        db.session.rollback()
        _discard(written)
        raise


@dataclass(frozen=True)
class EvaluationInput:
    goals_met: str
    beneficiaries_served: Any
    satisfaction: Any
    note: str = ""


def _evaluation(data: EvaluationInput) -> dict[str, Any]:
    if data.goals_met not in GOALS:
        raise RuleError("goals_met", "目标达成情况须为 yes / partly / no 之一")
    served = _int("beneficiaries_served", data.beneficiaries_served, 0, 10_000_000, "受益人数")
    satisfaction = _int("satisfaction", data.satisfaction, 0, 100, "居民满意度")
    _text("evaluation_note", data.note, max_len=5000)
    return {
        "goals_met": data.goals_met,
        "beneficiaries_served": served,
        "satisfaction": satisfaction,
        "note": data.note.strip(),
    }


def request_close(
    book: Book,
    app_id: str,
    day: dt.date,
    returned: str | Decimal,
    leftover: str,
    evaluation: EvaluationInput,
    actor: str,
    *,
    returned_to: str = "bank",
    entry_id: str | None = None,
    source: str = "form",
) -> OutflowRequest:
    """Close-out: unspent money returned, leftover property noted, evaluation recorded."""
    application = get_application(app_id)
    _not_future("date", day, _today(), "结项日期")
    totals = ledger_grants.grant_totals(book, app_id)
    if totals is None:
        raise RuleError(
            "grant", f"项目 {app_id} 尚未获得资助（no award for this grant）", "not_awarded"
        )
    if totals.closed:
        raise RuleError("grant", f"项目 {app_id} 已结项（the grant is closed）", "closed")
    if _pending(app_id):
        raise RuleError("status", "该项目还有待审批的申请，请先处理（requests are pending）")
    back = (
        ZERO
        if str(returned).strip() in ("", "0", "0.00")
        else parse_amount(returned, field="returned")
    )
    if back != totals.outstanding:
        raise RuleError(
            "returned",
            f"已拨付 {format_cny(totals.disbursed)}，已报告支出 {format_cny(totals.reported)}，"
            f"应退回 {format_cny(totals.outstanding)}，而不是 {format_cny(back)}"
            "（money left unaccounted for）",
            "unaccounted",
        )
    result = _evaluation(evaluation)
    rid = workflow.check_entry_id(entry_id, "gcl")
    payload = {
        "id": rid,
        "grant": app_id,
        "date": day.isoformat(),
        "returned": str(back),
        "leftover": leftover.strip(),
        "returned_to": returned_to,
        "evaluation": result,
        "source": source,
    }
    ledger_grants.close_entry(book, _close_cmd(payload, actor))
    return _new_request(
        book,
        "grant-close",
        rid,
        payload,
        actor,
        f"微创投结项：{application.group_name}「{application.title}」退回 {format_cny(back)}",
        back,
        application.call.fund,
    )


# -- approval: the ledger command from the request's payload --------------------------------------------


def _award_cmd(
    payload: dict[str, Any], entered_by: str, approved_by: str = ""
) -> ledger_grants.AwardCommand:
    return ledger_grants.AwardCommand(
        id=payload["id"],
        grant=payload["grant"],
        date=dt.date.fromisoformat(payload["date"]),
        amount=Decimal(payload["amount"]),
        fund=payload["fund"],
        grantee=payload["grantee"],
        project=payload["project"],
        entered_by=entered_by,
        approved_by=approved_by,
        call=payload.get("call", ""),
    )


def _disbursement_cmd(
    payload: dict[str, Any], entered_by: str, approved_by: str = ""
) -> ledger_grants.DisbursementCommand:
    return ledger_grants.DisbursementCommand(
        id=payload["id"],
        grant=payload["grant"],
        date=dt.date.fromisoformat(payload["date"]),
        amount=Decimal(payload["amount"]),
        entered_by=entered_by,
        approved_by=approved_by,
        paid_from=payload.get("paid_from", "bank"),
    )


def _expense_cmd(
    payload: dict[str, Any], entered_by: str, approved_by: str = ""
) -> ledger_grants.ExpenseReportCommand:
    return ledger_grants.ExpenseReportCommand(
        id=payload["id"],
        grant=payload["grant"],
        date=dt.date.fromisoformat(payload["date"]),
        amount=Decimal(payload["amount"]),
        summary=payload["summary"],
        receipts=int(payload["receipts"]),
        entered_by=entered_by,
        approved_by=approved_by,
    )


def _close_cmd(
    payload: dict[str, Any], entered_by: str, approved_by: str = ""
) -> ledger_grants.CloseCommand:
    return ledger_grants.CloseCommand(
        id=payload["id"],
        grant=payload["grant"],
        date=dt.date.fromisoformat(payload["date"]),
        returned=Decimal(payload["returned"]),
        leftover=payload["leftover"],
        entered_by=entered_by,
        approved_by=approved_by,
        returned_to=payload.get("returned_to", "bank"),
    )


def approve_grant_request(book: Book, req: OutflowRequest, approver: str) -> Any:
    """Write an approved grant request to the ledger (the ledger re-checks the money), after the
    database's own rules are checked again (objections, the mid-term review), and record its effect."""
    payload = req.payload
    application = get_application(payload["grant"])
    day = dt.date.fromisoformat(payload["date"])
    written = book.get(req.id) is not None  # a retry after the database failed: no re-check
    if req.kind == "grant-award":
        if not written:
            _check_award(book, application, day, Decimal(payload["amount"]))
        result = ledger_grants.award_grant(book, _award_cmd(payload, req.entered_by, approver))
        application.status = "awarded"
    elif req.kind == "grant-disbursement":
        if not written:
            totals = ledger_grants.grant_totals(book, application.id)
            _check_disbursement(application, totals, day, Decimal(payload["amount"]), ZERO)
        result = ledger_grants.disburse(book, _disbursement_cmd(payload, req.entered_by, approver))
    elif req.kind == "grant-expense":
        result = ledger_grants.accept_expense_report(
            book, _expense_cmd(payload, req.entered_by, approver)
        )
    elif req.kind == "grant-close":
        result = ledger_grants.close_grant(book, _close_cmd(payload, req.entered_by, approver))
        evaluation = payload.get("evaluation", {})
        application.status = "closed"
        application.goals_met = evaluation.get("goals_met", "")
        application.beneficiaries_served = evaluation.get("beneficiaries_served")
        application.satisfaction = evaluation.get("satisfaction")
        application.evaluation_note = evaluation.get("note", "")
        application.result_published_on = day
    else:  # pragma: no cover - approve_request dispatches only grant kinds here
        raise RuleError("request", f"未知的申请类型 {req.kind}")
    return result
