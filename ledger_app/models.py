"""The app database: everything that is not money (users, donors' personal data, requests, logs).

Every money fact lives in the Beancount files; losing this database loses no money.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger_app.extensions import db


def utcnow() -> dt.datetime:
    """Naive UTC timestamps in the database (portable across SQLite and PostgreSQL)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Role(enum.StrEnum):
    """What a user is for (DESIGN.md §1)."""

    ADMIN = "admin"
    APPROVER = "approver"
    AUDITOR = "auditor"


class User(db.Model):  # type: ignore[name-defined,misc]
    """A person who signs in: an administrator, an approver or an auditor."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    # Flask-Login: the id is the server-side session's, so ending that row ends the cookie.
    _session_id = None

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self._session_id or ""

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


class UserSession(db.Model):  # type: ignore[name-defined,misc]
    """A signed-in browser session; logout or expiry revokes it, so a copied cookie stops working."""

    __tablename__ = "user_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    user: Mapped[User] = relationship()


class ApiToken(db.Model):  # type: ignore[name-defined,misc]
    """A bearer token for the JSON API; only its sha256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    user: Mapped[User] = relationship()

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def new_token() -> str:
        return "cfl_" + secrets.token_urlsafe(32)


class LoginAttempt(db.Model):  # type: ignore[name-defined,misc]
    """Failed sign-ins, counted across every worker process to throttle guessing."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class Display(enum.StrEnum):
    """How a donor chose to appear in public."""

    NAME = "name"
    MASKED = "masked"
    ANONYMOUS = "anonymous"


class Donor(db.Model):  # type: ignore[name-defined,misc]
    """A donor's personal data. The ledger knows only ``ref`` and the public form of the name."""

    __tablename__ = "donors"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="person")
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32), default="", index=True)
    display: Mapped[str] = mapped_column(String(16), default=Display.MASKED.value)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    address: Mapped[str] = mapped_column(String(200), default="", server_default="")
    #: The donor's consent to how they appear publicly, and to our keeping their contact data.
    consent_on: Mapped[dt.date | None] = mapped_column(default=None)
    consent_note: Mapped[str] = mapped_column(String(200), default="", server_default="")
    #: A duplicate merged into another donor keeps its ref (the ledger still names it) and
    #: points at the donor it became.
    merged_into_id: Mapped[int | None] = mapped_column(default=None, index=True)

    @staticmethod
    def new_ref() -> str:
        return "d-" + secrets.token_hex(6)

    def public_name(self) -> str:
        """The name as the donor chose to show it: full, masked (张*), or 匿名."""
        if self.display == Display.NAME.value:
            return self.name
        if self.display == Display.ANONYMOUS.value:
            return "匿名"
        return mask_name(self.name)


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***, Alice Wang → A***."""
    name = name.strip()
    if not name:
        return "匿名"
    return name[0] + "*" * max(1, min(len(name) - 1, 3))


class OfficialReceipt(db.Model):  # type: ignore[name-defined,misc]
    """The host charity's 公益事业捐赠票据 issued for one of our confirmations."""

    __tablename__ = "official_receipts"
    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(16), unique=True)
    code: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(32))
    check_code: Mapped[str] = mapped_column(String(32), default="")
    issued_on: Mapped[dt.date]
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Pledge(db.Model):  # type: ignore[name-defined,misc]
    """A promise to give. Not income until paid (《民间非营利组织会计制度》: a pledge is not
    recognised), so it lives here; each payment is a donation whose ``pledge`` names it."""

    __tablename__ = "pledges"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    amount: Mapped[str] = mapped_column(String(32))
    fund: Mapped[str] = mapped_column(String(32))
    project: Mapped[str] = mapped_column(String(100), default="")
    pledged_on: Mapped[dt.date]
    due_on: Mapped[dt.date | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(String(300), default="")
    cancelled: Mapped[bool] = mapped_column(default=False)
    entered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    donor: Mapped[Donor] = relationship()


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class OutflowRequest(db.Model):  # type: ignore[name-defined,misc]
    """An outflow of money awaiting a second person's approval; written to the ledger only then."""

    __tablename__ = "outflow_requests"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # expense | reversal | grant-…
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(String(300), default="")
    amount: Mapped[str] = mapped_column(String(32), default="")
    fund: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.PENDING.value, index=True)
    entered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    entry_id: Mapped[str | None] = mapped_column(String(64), default=None)
    head_hash: Mapped[str | None] = mapped_column(String(64), default=None)


class AuditLog(db.Model):  # type: ignore[name-defined,misc]
    """Who did what, when: every write, approval, sign-in and export."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")


class IdempotencyRecord(db.Model):  # type: ignore[name-defined,misc]
    """The answer given to an API request with an Idempotency-Key, replayed on a retry."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


Index("ix_sessions_user", UserSession.user_id)


# -- 微创投 micro-grants: everything but the money (which is in the ledger) ------------------------


class GrantCall(db.Model):  # type: ignore[name-defined,misc]
    """A call for micro-venture projects (征集): budget, window, ceiling, weighted criteria."""

    __tablename__ = "grant_calls"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text, default="")
    fund: Mapped[str] = mapped_column(String(32))
    budget: Mapped[str] = mapped_column(String(32))
    ceiling: Mapped[str] = mapped_column(String(32))
    opens_on: Mapped[dt.date]
    closes_on: Mapped[dt.date]
    #: [{"name": "社区需求", "weight": 40}, …]; weights add up to 100.
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class GrantApplication(db.Model):  # type: ignore[name-defined,misc]
    """A resident group's application; once awarded its id is the grant id in the ledger."""

    __tablename__ = "grant_applications"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("grant_calls.id"), index=True)
    group_name: Mapped[str] = mapped_column(String(100))
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    beneficiaries: Mapped[str] = mapped_column(String(300), default="")
    #: [{"item", "quantity", "unit_price", "total"}] with decimal strings.
    budget_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: [{"source", "kind": "cash|in-kind", "amount"}]
    cofunding: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    requested: Mapped[str] = mapped_column(String(32))
    #: submitted → eligible | ineligible → approved | rejected (decision) → awarded → closed
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    eligibility_note: Mapped[str] = mapped_column(String(500), default="")
    submitted_via: Mapped[str] = mapped_column(String(16), default="admin")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decision_amount: Mapped[str] = mapped_column(String(32), default="")
    decision_note: Mapped[str] = mapped_column(Text, default="")
    #: The decision's public posting: awards take effect no earlier than 7 days after it.
    decision_published_on: Mapped[dt.date | None] = mapped_column(default=None)
    midterm: Mapped[str] = mapped_column(String(16), default="")  # "" | passed | failed
    midterm_note: Mapped[str] = mapped_column(Text, default="")
    goals_met: Mapped[str] = mapped_column(String(16), default="")  # yes | partly | no
    beneficiaries_served: Mapped[int | None] = mapped_column(default=None)
    satisfaction: Mapped[int | None] = mapped_column(default=None)  # 0–100
    evaluation_note: Mapped[str] = mapped_column(Text, default="")
    result_published_on: Mapped[dt.date | None] = mapped_column(default=None)
    call: Mapped[GrantCall] = relationship()


class GrantReview(db.Model):  # type: ignore[name-defined,misc]
    """One reviewer's scores against the call's criteria."""

    __tablename__ = "grant_reviews"
    __table_args__ = (UniqueConstraint("application_id", "reviewer"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("grant_applications.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(64))
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Deliberation(db.Model):  # type: ignore[name-defined,misc]
    """One stage of 四议两公开 for a call: 提议, 商议, 审议, 决议."""

    __tablename__ = "grant_deliberations"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("grant_calls.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    held_on: Mapped[dt.date]
    attendees: Mapped[int]
    quorum: Mapped[int]
    votes_for: Mapped[int] = mapped_column(default=0)
    votes_against: Mapped[int] = mapped_column(default=0)
    abstentions: Mapped[int] = mapped_column(default=0)
    minutes: Mapped[str] = mapped_column(Text, default="")
    supervisor_opinion: Mapped[str] = mapped_column(Text, default="")
    dissent: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Objection(db.Model):  # type: ignore[name-defined,misc]
    """An objection raised while a decision is posted, and its answer."""

    __tablename__ = "grant_objections"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("grant_applications.id"), index=True)
    raised_on: Mapped[dt.date]
    raised_by: Mapped[str] = mapped_column(String(100), default="")  # kept private
    content: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_on: Mapped[dt.date | None] = mapped_column(default=None)
    answered_by: Mapped[str] = mapped_column(String(64), default="")


class Attachment(db.Model):  # type: ignore[name-defined,misc]
    """A file kept under the instance folder (never under its uploaded name)."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # application | receipt | photo | report
    original_name: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    public: Mapped[bool] = mapped_column(default=False)
    caption: Mapped[str] = mapped_column(String(200), default="")
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class GrantUpdate(db.Model):  # type: ignore[name-defined,misc]
    """A progress update the administrator published on the grant's public page."""

    __tablename__ = "grant_updates"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("grant_applications.id"), index=True)
    posted_on: Mapped[dt.date]
    text: Mapped[str] = mapped_column(Text)
    photo_id: Mapped[int | None] = mapped_column(default=None)
    posted_by: Mapped[str] = mapped_column(String(64))


# -- 共享食堂: the 反哺 rule history (the money is in the ledger) ---------------------------------


class CanteenFeedbackRule(db.Model):  # type: ignore[name-defined,misc]
    """One 反哺 rule, in force from ``effective_from`` ("YYYY-MM") until a later rule's month.

    Rows are never edited: a change of rule is a new row, so an old month is always explained by
    the rule in force then.
    """

    __tablename__ = "canteen_feedback_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[str] = mapped_column(String(7), index=True)
    share: Mapped[str] = mapped_column(String(16))
    reserve: Mapped[str] = mapped_column(String(32))
    target_fund: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


# -- 审计与信息公开: export jobs, published disclosures, the organisation's settings ---------------


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExportJob(db.Model):  # type: ignore[name-defined,misc]
    """A long export (the journal of a large ledger, say) built in the background.

    Progress lives here, not in a worker's memory, so any worker process can answer the progress
    page; the finished file lies under ``instance/exports/`` and ``file_name`` names it.
    """

    __tablename__ = "export_jobs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # journal | general_ledger | statement …
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value, index=True)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    file_name: Mapped[str] = mapped_column(String(200), default="")
    mimetype: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    head_hash: Mapped[str] = mapped_column(String(64), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class Disclosure(db.Model):  # type: ignore[name-defined,misc]
    """A disclosure published on the public site (慈善组织信息公开办法): what, about what, when.

    ``kind`` is ``quarterly`` (a project's progress), ``closeout`` (a project's end and what became
    of leftover money), ``annual`` (the year's work and financial report) or ``other``;
    ``subject`` is the grant id or the year it is about. Rows are never edited: a correction is a
    new disclosure that names the one it corrects.
    """

    __tablename__ = "disclosures"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    subject: Mapped[str] = mapped_column(String(64), default="", index=True)
    period: Mapped[str] = mapped_column(String(32), default="")
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    published_by: Mapped[str] = mapped_column(String(64))
    head_hash: Mapped[str] = mapped_column(String(64), default="")
    corrects: Mapped[int | None] = mapped_column(default=None)


class OrgSetting(db.Model):  # type: ignore[name-defined,misc]
    """One setting the organisation configures (compliance thresholds, the host charity's account
    mapping …), kept as JSON under a key; every change is also in the audit log."""

    __tablename__ = "org_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
