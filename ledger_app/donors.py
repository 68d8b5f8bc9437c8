"""The donor registry: personal data in the database, found by name or phone, merged without
touching the ledger; plus what the database records about confirmations and pledges."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data
from sqlalchemy import or_, select

from ledger import services
from ledger.book import Book
from ledger.errors import RuleError
from ledger.money import parse_amount
from ledger.render import check_text
from ledger_app.extensions import db
from ledger_app.models import Display, Donor, OfficialReceipt, Pledge
from ledger_app.security import audit


def search_donors(query: str, *, limit: int = 50) -> list[Donor]:
    """Donors whose name contains ``query`` or whose phone starts with it (merged ones hidden)."""
    q = query.strip()
    stmt = select(Donor).where(Donor.merged_into_id.is_(None)).order_by(Donor.name)
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(Donor.name.like(like), Donor.phone.like(q.replace("%", "") + "%")))
    return list(db.session.scalars(stmt.limit(limit)))


def by_ref(ref: str) -> Donor | None:
    """The donor a ref names, following merges to the donor it became."""
    donor = db.session.scalars(select(Donor).where(Donor.ref == ref)).first()
    seen = set()
    while donor is not None and donor.merged_into_id is not None and donor.id not in seen:
        seen.add(donor.id)
        donor = db.session.get(Donor, donor.merged_into_id)
    return donor


def refs_of(donor: Donor) -> set[str]:
    """The donor's own ref and those of every duplicate merged into it."""
    refs = {donor.ref}
    frontier = [donor.id]
    while frontier:
        merged = db.session.scalars(select(Donor).where(Donor.merged_into_id.in_(frontier))).all()
        frontier = [d.id for d in merged if d.ref not in refs]
        refs |= {d.ref for d in merged}
    return refs


def donations_of(book: Book, donor: Donor) -> list[data.Transaction]:
    """The ledger's donations by this donor (under any of its refs), newest first."""
    refs = refs_of(donor)
    book.refresh()
    found = [
        t
        for t in book.transactions()
        if (t.meta or {}).get("kind") == "donation" and (t.meta or {}).get("donor") in refs
    ]
    return sorted(found, key=lambda t: t.date, reverse=True)


@dataclass(frozen=True)
class DonorUpdate:
    name: str
    phone: str
    kind: str
    display: str
    address: str = ""
    consent_on: dt.date | None = None
    consent_note: str = ""


def update_donor(donor: Donor, change: DonorUpdate, actor: str) -> Donor:
    """Change a donor's details. The ledger keeps the public name given at each donation; the
    new display choice applies to new donations (the ledger is never edited)."""
    check_text("name", change.name, max_len=100, required=True)
    check_text("address", change.address, max_len=200)
    check_text("consent_note", change.consent_note, max_len=200)
    if change.display not in {d.value for d in Display}:
        raise RuleError("display", "公开方式须为 name / masked / anonymous 之一")
    if change.kind not in services.DONOR_KINDS:
        raise RuleError("kind", "捐赠人类型须为 person / organisation / government 之一")
    donor.name = change.name.strip()
    donor.phone = change.phone.strip()
    donor.kind = change.kind
    donor.display = change.display
    donor.address = change.address
    donor.consent_on = change.consent_on
    donor.consent_note = change.consent_note
    audit("update_donor", target=donor.ref, actor=actor, display=change.display)
    db.session.commit()
    return donor


def merge_donors(keep: Donor, duplicate_ref: str, actor: str) -> Donor:
    """Merge a duplicate into ``keep``: the duplicate's ref stays valid for the ledger entries that
    name it and now resolves to ``keep``; nothing in the ledger changes."""
    dup = db.session.scalars(select(Donor).where(Donor.ref == duplicate_ref)).first()
    if dup is None:
        raise RuleError("duplicate", f"没有编号为 {duplicate_ref} 的捐赠人（no such donor）")
    if dup.id == keep.id or by_ref(dup.ref) is keep:
        raise RuleError("duplicate", "不能把捐赠人合并到自己（cannot merge a donor into itself）")
    if keep.merged_into_id is not None:
        raise RuleError("duplicate", "保留的捐赠人已被合并（the kept donor was itself merged）")
    dup.merged_into_id = keep.id
    if not keep.phone and dup.phone:
        keep.phone = dup.phone
    audit("merge_donors", target=keep.ref, actor=actor, merged=dup.ref)
    db.session.commit()
    return keep


# -- official receipts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficialInput:
    code: str
    number: str
    check_code: str
    issued_on: dt.date


def record_official_receipt(
    book: Book, receipt_no: str, official: OfficialInput, actor: str, *, today: dt.date
) -> OfficialReceipt:
    """Record the host charity's 公益事业捐赠票据 issued for one of our confirmations."""
    txn = book.by_receipt(receipt_no)
    if txn is None:
        raise RuleError("receipt", f"没有编号为 {receipt_no} 的捐赠确认书（no such confirmation）")
    if book.reversed_by(str((txn.meta or {}).get("id", ""))):
        raise RuleError("receipt", "该捐赠已作废，不能登记正式票据（the donation was voided）")
    for field, value in (("code", official.code), ("number", official.number)):
        check_text(field, value, max_len=32, required=True)
        if not value.replace("-", "").isalnum() or not value.isascii():
            raise RuleError(field, "票据代码和号码只能由字母、数字和连字符组成")
    check_text("check_code", official.check_code, max_len=32)
    if official.issued_on > today or official.issued_on < txn.date:
        raise RuleError("issued_on", "开票日期须在捐赠日期之后、今天之前（bad issue date）")
    if db.session.scalars(
        select(OfficialReceipt).where(OfficialReceipt.receipt_no == receipt_no)
    ).first():
        raise RuleError(
            "receipt", f"{receipt_no} 已登记过正式票据（already recorded）", "duplicate"
        )
    row = OfficialReceipt(
        receipt_no=receipt_no,
        code=official.code,
        number=official.number,
        check_code=official.check_code,
        issued_on=official.issued_on,
        recorded_by=actor,
    )
    db.session.add(row)
    audit("record_official_receipt", target=receipt_no, actor=actor, number=official.number)
    db.session.commit()
    return row


def official_for(receipt_no: str) -> OfficialReceipt | None:
    return db.session.scalars(
        select(OfficialReceipt).where(OfficialReceipt.receipt_no == receipt_no)
    ).first()


# -- pledges ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PledgeStatus:
    pledge: Pledge
    paid: Decimal
    outstanding: Decimal
    payments: tuple[str, ...]


def create_pledge(
    book: Book,
    donor: Donor,
    amount: str | Decimal,
    fund: str,
    pledged_on: dt.date,
    actor: str,
    *,
    due_on: dt.date | None = None,
    project: str = "",
    note: str = "",
    pledge_id: str | None = None,
) -> Pledge:
    """Record a promise to give (not income: nothing is written to the ledger until it is paid)."""
    value = parse_amount(amount)
    if fund not in book.funds:
        raise RuleError("fund", f"没有名为 {fund} 的基金（unknown fund）", "unknown_fund")
    check_text("project", project, max_len=100)
    check_text("note", note, max_len=300)
    if due_on is not None and due_on < pledged_on:
        raise RuleError("due_on", "约定付款日期不能早于承诺日期")
    pid = pledge_id or f"p-{pledged_on:%Y%m%d}-{secrets.token_hex(3)}"
    existing = db.session.get(Pledge, pid)
    if existing is not None:
        return existing
    pledge = Pledge(
        id=pid,
        donor_id=donor.id,
        amount=str(value),
        fund=fund,
        project=project,
        pledged_on=pledged_on,
        due_on=due_on,
        note=note,
        entered_by=actor,
    )
    db.session.add(pledge)
    audit("create_pledge", target=pid, actor=actor, amount=value, fund=fund)
    db.session.commit()
    return pledge


def pledge_status(book: Book, pledge: Pledge) -> PledgeStatus:
    """What has been paid on a pledge, from the ledger's donations that name it."""
    book.refresh()
    paid = Decimal("0.00")
    payments = []
    for txn in book.transactions():
        meta = txn.meta or {}
        if meta.get("pledge") != pledge.id or meta.get("kind") != "donation":
            continue
        if book.reversed_by(str(meta.get("id", ""))):
            continue
        paid += sum(
            (
                p.units.number
                for p in txn.postings
                if p.units is not None and p.units.number and p.units.number > 0
            ),
            Decimal(0),
        )
        payments.append(str(meta.get("id", "")))
    return PledgeStatus(
        pledge, paid, max(Decimal(pledge.amount) - paid, Decimal("0.00")), tuple(payments)
    )
