"""Where the database meets the ledger: donors, requests awaiting approval, and their decisions.

Each function takes plain values, calls one ledger service, and records in the database what is
not money (who the donor is, who asked, who approved). Ledger writes are idempotent by entry id,
so a database failure after a write is repaired by simply repeating the call.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ledger import chart, services, transfers
from ledger.book import Book
from ledger.errors import EntryNotFoundError, RuleError
from ledger.model import ID_PATTERN, WriteResult
from ledger.money import format_cny, parse_amount
from ledger.render import check_text
from ledger_app.extensions import db
from ledger_app.models import Display, Donor, OutflowRequest, Pledge, RequestStatus, utcnow
from ledger_app.security import audit


def new_id(prefix: str) -> str:
    """A fresh entry id, readable in the ledger: ``don-20260301-3f9a1c2b``."""
    return f"{prefix}-{dt.date.today():%Y%m%d}-{secrets.token_hex(4)}"  # noqa: DTZ011


def check_entry_id(value: str | None, prefix: str) -> str:
    """The caller's id (also the idempotency key) if valid, else a fresh one."""
    if value is None or value == "":
        return new_id(prefix)
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise RuleError("id", "编号只能由字母、数字、点、下划线和连字符组成，最长64位（bad id）")
    return value


# -- donors ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DonorInput:
    name: str
    phone: str = ""
    display: str = Display.MASKED.value
    kind: str = "person"


def find_or_create_donor(data: DonorInput) -> Donor:
    """The donor with this phone (or, without one, this name and no phone), else a new one."""
    check_text("donor.name", data.name, max_len=100, required=True)
    phone = data.phone.strip()
    if phone and not (
        phone.replace("-", "").replace("+", "").replace(" ", "").isascii()
        and phone.replace("-", "").replace("+", "").replace(" ", "").isdigit()
    ):
        raise RuleError("donor.phone", "电话号码只能包含数字、空格、+ 和 -（bad phone number）")
    if data.display not in {d.value for d in Display}:
        raise RuleError("donor.display", "公开方式须为 name / masked / anonymous 之一")
    if data.kind not in services.DONOR_KINDS:
        raise RuleError("donor.kind", "捐赠人类型须为 person / organisation / government 之一")
    query = (
        select(Donor).where(Donor.phone == phone)
        if phone
        else select(Donor).where(Donor.name == data.name.strip(), Donor.phone == "")
    )
    donor = db.session.scalars(query.limit(1)).first()
    if donor is None:
        donor = Donor(
            ref=Donor.new_ref(),
            name=data.name.strip(),
            phone=phone,
            display=data.display,
            kind=data.kind,
        )
        db.session.add(donor)
        db.session.flush()
    elif donor.display != data.display:
        donor.display = data.display  # the donor's latest choice applies to new entries
    return donor


# -- donations ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DonationInput:
    id: str | None
    date: dt.date
    amount: str | Decimal
    fund: str
    channel: str
    donor: DonorInput
    note: str = ""
    form: str = "money"
    valuation_basis: str = ""
    valued_by: str = ""
    project: str = ""
    ext_id: str = ""
    pledge: str = ""


def donation_command(
    data: DonationInput, donor: Donor, entry_id: str, amount: Decimal, actor: str, source: str
) -> services.DonationCommand:
    """The ledger command for a donation by a donor already in the database."""
    return services.DonationCommand(
        id=entry_id,
        date=data.date,
        amount=amount,
        fund=data.fund,
        channel=data.channel,
        donor_ref=donor.ref,
        donor_public=donor.public_name(),
        entered_by=actor,
        note=data.note,
        source=source,
        donor_kind=donor.kind,
        display=donor.display,
        form=data.form,
        valuation_basis=data.valuation_basis,
        valued_by=data.valued_by,
        project=data.project,
        ext_id=data.ext_id,
        pledge=data.pledge,
    )


def record_donation(
    book: Book, data: DonationInput, actor: str, *, source: str = "form"
) -> WriteResult:
    """Record a donation: the donor in the database, the money in the ledger."""
    entry_id = check_entry_id(data.id, "don")
    amount = parse_amount(data.amount)
    if data.pledge:
        pledge = db.session.get(Pledge, data.pledge)
        if pledge is None or pledge.cancelled:
            raise RuleError("pledge", f"没有编号为 {data.pledge} 的有效认捐（no such pledge）")
        if pledge.fund != data.fund:
            raise RuleError("fund", f"认捐 {pledge.id} 捐入的基金是 {pledge.fund}（fund differs）")
    try:
        donor = find_or_create_donor(data.donor)
        cmd = donation_command(data, donor, entry_id, amount, actor, source)
        if book.get(entry_id) is None:
            # The ledger's rules first, so a refused donation leaves no donor behind (§6.4).
            services.check_donation(book, cmd)
        db.session.commit()  # then the donor: a donor without a donation is harmless
        result = services.record_donation(book, cmd)
    except Exception:
        db.session.rollback()
        raise
    if result.created:
        audit("record_donation", target=entry_id, amount=amount, fund=data.fund, donor=donor.ref)
    db.session.commit()
    return result


# -- outflows awaiting approval ---------------------------------------------------------------------


@dataclass(frozen=True)
class ExpenseInput:
    id: str | None
    date: dt.date
    amount: str | Decimal
    fund: str
    payee: str
    purpose: str
    line: str = "programme"
    paid_from: str = "bank"


def _expense_cmd(
    payload: dict[str, Any], entered_by: str, approved_by: str = ""
) -> services.ExpenseCommand:
    return services.ExpenseCommand(
        id=payload["id"],
        date=dt.date.fromisoformat(payload["date"]),
        amount=Decimal(payload["amount"]),
        fund=payload["fund"],
        payee=payload["payee"],
        purpose=payload["purpose"],
        line=payload["line"],
        paid_from=payload["paid_from"],
        entered_by=entered_by,
        approved_by=approved_by,
        request=payload["id"],
        source=payload.get("source", "form"),
    )


def _reversal_cmd(
    payload: dict[str, Any], entered_by: str, approved_by: str = ""
) -> services.ReversalCommand:
    return services.ReversalCommand(
        id=payload["id"],
        date=dt.date.fromisoformat(payload["date"]),
        original_id=payload["original_id"],
        reason=payload["reason"],
        entered_by=entered_by,
        approved_by=approved_by,
        source=payload.get("source", "form"),
    )


def _existing_request(entry_id: str, kind: str, payload: dict[str, Any]) -> OutflowRequest | None:
    found = db.session.get(OutflowRequest, entry_id)
    if found is None:
        return None
    if found.kind != kind or found.payload != payload:
        raise RuleError(
            "id", f"编号 {entry_id} 已用于另一笔不同的申请（the id is already used）", "id_conflict"
        )
    return found


def _money_request(
    book: Book,
    kind: str,
    data: Any,
    entry_id: str,
    source: str,
    check: Callable[[dict[str, Any]], None],
) -> tuple[OutflowRequest | None, dict[str, Any], Decimal]:
    """The common start of a request for an amount: the payload, the request already made with
    this id (a repeat), or the rules checked now so a bad request fails before anyone approves."""
    amount = parse_amount(data.amount)
    payload = {
        **asdict(data),
        "id": entry_id,
        "amount": str(amount),
        "date": data.date.isoformat(),
        "source": source,
    }
    existing = _existing_request(entry_id, kind, payload)
    if existing:
        return existing, payload, amount
    if book.get(entry_id) is not None:
        raise RuleError(
            "id", f"编号 {entry_id} 已在账本中（the id is already used）", "id_conflict"
        )
    check(payload)
    return None, payload, amount


def request_expense(
    book: Book, data: ExpenseInput, actor: str, *, source: str = "form"
) -> OutflowRequest:
    """Ask for an expense: checked now against the ledger, written only once approved."""
    entry_id = check_entry_id(data.id, "exp")
    existing, payload, amount = _money_request(
        book,
        "expense",
        data,
        entry_id,
        source,
        lambda p: services.check_expense_request(book, _expense_cmd(p, actor)),
    )
    if existing:
        return existing
    fund = book.funds[data.fund]
    req = OutflowRequest(
        id=entry_id,
        kind="expense",
        payload=payload,
        entered_by=actor,
        summary=f"{data.payee}：{data.purpose}"[:300],
        amount=str(amount),
        fund=fund.slug,
    )
    db.session.add(req)
    audit("request_expense", target=entry_id, amount=amount, fund=data.fund)
    db.session.commit()
    return req


def request_reversal(
    book: Book,
    original_id: str,
    reason: str,
    day: dt.date,
    actor: str,
    *,
    entry_id: str | None = None,
    source: str = "form",
) -> OutflowRequest:
    """Ask for a correction of an entry by a reversing entry."""
    rid = check_entry_id(entry_id, "rev")
    payload = {
        "id": rid,
        "original_id": original_id,
        "reason": reason,
        "date": day.isoformat(),
        "source": source,
    }
    existing = _existing_request(rid, "reversal", payload)
    if existing:
        return existing
    try:
        services.check_reversal_request(book, _reversal_cmd(payload, actor))
    except EntryNotFoundError as exc:
        raise RuleError("original_id", f"没有编号为 {original_id} 的分录（no such entry）") from exc
    pending = db.session.scalars(
        select(OutflowRequest).where(
            OutflowRequest.kind == "reversal", OutflowRequest.status == RequestStatus.PENDING.value
        )
    ).all()
    if any(p.payload.get("original_id") == original_id for p in pending):
        raise RuleError(
            "original_id", "该分录已有待审批的冲销申请（a reversal is already pending）"
        )
    original = book.get(original_id)
    assert original is not None
    amount = sum(
        (
            p.units.number
            for p in original.postings
            if p.units is not None and p.units.number and p.units.number > 0
        ),
        Decimal(0),
    )
    req = OutflowRequest(
        id=rid,
        kind="reversal",
        payload=payload,
        entered_by=actor,
        summary=f"冲销 {original_id}：{reason}"[:300],
        amount=str(amount),
        fund=",".join(sorted(t[5:] for t in original.tags or () if t.startswith("fund-"))),
    )
    db.session.add(req)
    audit("request_reversal", target=rid, original=original_id, reason=reason)
    db.session.commit()
    return req


# -- transfers between the fund's own accounts ----------------------------------------------------


@dataclass(frozen=True)
class TransferInput:
    id: str | None
    date: dt.date
    amount: str | Decimal
    from_channel: str
    to_channel: str
    note: str = ""


def _transfer_cmd(
    payload: dict[str, Any], entered_by: str, approved_by: str = ""
) -> transfers.TransferCommand:
    return transfers.TransferCommand(
        id=payload["id"],
        date=dt.date.fromisoformat(payload["date"]),
        amount=Decimal(payload["amount"]),
        from_channel=payload["from_channel"],
        to_channel=payload["to_channel"],
        note=payload.get("note", ""),
        entered_by=entered_by,
        approved_by=approved_by,
        request=payload["id"],
        source=payload.get("source", "form"),
    )


def request_transfer(
    book: Book, data: TransferInput, actor: str, *, source: str = "form"
) -> OutflowRequest:
    """Ask to move money between the fund's own accounts; written once someone else approves."""
    entry_id = check_entry_id(data.id, "trf")
    existing, payload, amount = _money_request(
        book,
        "transfer",
        data,
        entry_id,
        source,
        lambda p: transfers.check_transfer_request(book, _transfer_cmd(p, actor)),
    )
    if existing:
        return existing
    names = chart.CHANNEL_NAMES
    req = OutflowRequest(
        id=entry_id,
        kind="transfer",
        payload=payload,
        entered_by=actor,
        summary=f"资金划转：{names[data.from_channel]} → {names[data.to_channel]}",
        amount=str(amount),
        fund="",
    )
    db.session.add(req)
    audit("request_transfer", target=entry_id, amount=amount)
    db.session.commit()
    return req


def approve_request(book: Book, request_id: str, approver: str) -> OutflowRequest:
    """Approve a pending outflow and write it to the ledger with ``approved-by``."""
    req = db.session.get(OutflowRequest, request_id)
    if req is None:
        raise RuleError(
            "request", f"没有编号为 {request_id} 的申请（no such request）", "not_found"
        )
    if req.status == RequestStatus.APPROVED.value:
        return req
    if req.status != RequestStatus.PENDING.value:
        raise RuleError("request", "该申请已被驳回，不能再审批（the request was rejected）")
    if req.entered_by == approver:
        raise RuleError(
            "approved_by",
            "录入人不能审批自己录入的申请（maker cannot approve own request）",
            "same_person",
        )
    if req.kind == "expense":
        result = services.record_expense(book, _expense_cmd(req.payload, req.entered_by, approver))
    elif req.kind.startswith("grant-"):
        # 微创投: the ledger.grants command built from the payload, approved_by=approver; the
        # ledger re-checks the money, grants_workflow the council's rules (see there).
        from ledger_app import grants_workflow

        result = grants_workflow.approve_grant_request(book, req, approver)
    elif req.kind.startswith("canteen-"):
        # 共享食堂 costs and 反哺 transfers: see ledger_app.canteen_workflow.
        from ledger_app import canteen_workflow

        result = canteen_workflow.approve_canteen_request(book, req, approver)
    elif req.kind == "transfer":
        result = transfers.record_transfer(
            book, _transfer_cmd(req.payload, req.entered_by, approver)
        )
    elif req.kind == "month-close":
        # The month close writes balance assertions, not an entry: see periods_workflow.
        from ledger_app import periods_workflow

        result = periods_workflow.approve_close_request(book, req, approver)
    else:
        result = services.record_reversal(
            book, _reversal_cmd(req.payload, req.entered_by, approver)
        )
    req.status = RequestStatus.APPROVED.value
    req.decided_by = approver
    req.decided_at = utcnow()
    req.entry_id = result.id
    req.head_hash = result.head_hash
    audit(
        "approve_request",
        target=req.id,
        actor=approver,
        entry=result.id,
        amount=format_cny(Decimal(req.amount)),
    )
    db.session.commit()
    return req


def reject_request(request_id: str, approver: str, note: str) -> OutflowRequest:
    """Reject a pending outflow; nothing is written to the ledger."""
    check_text("note", note, max_len=500, required=True)
    req = db.session.get(OutflowRequest, request_id)
    if req is None or req.status != RequestStatus.PENDING.value:
        raise RuleError("request", "只能驳回待审批的申请（only pending requests can be rejected）")
    if req.entered_by == approver:
        raise RuleError(
            "approved_by",
            "录入人不能处理自己录入的申请（maker cannot decide own request）",
            "same_person",
        )
    req.status = RequestStatus.REJECTED.value
    req.decided_by = approver
    req.decided_at = utcnow()
    req.decision_note = note
    audit("reject_request", target=req.id, actor=approver, note=note)
    db.session.commit()
    return req
