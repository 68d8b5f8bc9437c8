"""共享食堂: where the database (who entered what, the 反哺 rule history) meets the ledger.

The money lives in :mod:`ledger.canteen`. A day's sales are income and are written directly by an
administrator; a cost and a 反哺 transfer are money going out, so each becomes an
:class:`~ledger_app.models.OutflowRequest` that another person approves on the approvals page
(:func:`ledger_app.workflow.approve_request` dispatches ``canteen-*`` kinds to
:func:`approve_canteen_request`). The 反哺 rules are rows of ``canteen_feedback_rules``, never
edited: a new rule supersedes the old one from its month, so old months keep their explanation.

Read side: :func:`month_view` (the month page and the API) and :func:`fed_back_summary` (the
running total fed back, for the public site).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from ledger import canteen
from ledger.book import ZERO, Book
from ledger.errors import RuleError
from ledger.model import WriteResult
from ledger.money import parse_amount
from ledger.render import check_text
from ledger_app import workflow
from ledger_app.extensions import db
from ledger_app.models import CanteenFeedbackRule, OutflowRequest, RequestStatus
from ledger_app.security import audit

COST_REQUEST = canteen.COST_KIND  # "canteen-cost"
FEEDBACK_REQUEST = canteen.FEEDBACK_KIND  # "canteen-feedback"


# -- 反哺 rules ------------------------------------------------------------------------------------


def rule_rows() -> list[CanteenFeedbackRule]:
    """Every rule ever added, oldest first (the history)."""
    return list(
        db.session.scalars(
            select(CanteenFeedbackRule).order_by(
                CanteenFeedbackRule.effective_from, CanteenFeedbackRule.id
            )
        )
    )


def _as_rule(row: CanteenFeedbackRule) -> canteen.FeedbackRule:
    return canteen.FeedbackRule(
        effective_from=row.effective_from,
        share=Decimal(row.share),
        reserve=Decimal(row.reserve),
        target_fund=row.target_fund,
    )


def feedback_rules() -> list[canteen.FeedbackRule]:
    """The rules as the ledger takes them; for one month, the latest added wins."""
    return [_as_rule(r) for r in rule_rows()]


def _decimal(value: str | Decimal, name: str, message: str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    text = (value or "").strip()
    if not text or not text.isascii():
        raise RuleError(name, message, "required" if not text else "invalid")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise RuleError(name, message) from exc
    if not number.is_finite():
        raise RuleError(name, message)
    return number


def add_rule(
    book: Book,
    effective_from: str,
    share: str | Decimal,
    reserve: str | Decimal,
    target_fund: str,
    actor: str,
    note: str = "",
) -> CanteenFeedbackRule:
    """Add a rule in force from ``effective_from``; months already fed back cannot be re-ruled."""
    check_text("note", note, max_len=500)
    share_value = _decimal(
        share, "share", "反哺比例须为 0 到 1 之间的小数（share between 0 and 1）"
    )
    if share_value.as_tuple().exponent < -4:  # type: ignore[operator]
        raise RuleError("share", "反哺比例最多四位小数（at most 4 decimals）")
    reserve_value = (
        ZERO
        if isinstance(reserve, str) and reserve.strip() in ("", "0")
        else parse_amount(reserve, field="reserve")
    )
    rule = canteen.FeedbackRule(effective_from, share_value, reserve_value, target_fund)
    canteen.rule_in_force([rule], rule.effective_from)  # checks month, share, reserve, fund
    fund = book.funds.get(target_fund)
    if fund is None or fund.slug == canteen.FUND:
        raise RuleError("target_fund", f"没有可接收反哺的基金 {target_fund!r}（bad fund）")
    done = sorted(str((t.meta or {}).get("month", "")) for t in canteen.feedback_entries(book))
    if done and done[-1] >= effective_from:
        raise RuleError(
            "effective_from",
            f"{done[-1]} 已按原规则反哺，新规则只能从 {_next_month(done[-1])} 起生效"
            "（months already fed back keep their rule）",
            "already_fed_back",
        )
    pending = _pending(FEEDBACK_REQUEST)
    if any(str(p.payload.get("month", "")) >= effective_from for p in pending):
        raise RuleError(
            "effective_from",
            "有待审批的反哺申请涉及该月份或之后，请先审批或驳回（a 反哺 request is pending）",
            "pending",
        )
    row = CanteenFeedbackRule(
        effective_from=effective_from,
        share=str(share_value),
        reserve=str(reserve_value),
        target_fund=fund.slug,
        created_by=actor,
        note=note.strip(),
    )
    db.session.add(row)
    audit(
        "add_canteen_rule",
        target=effective_from,
        share=share_value,
        reserve=reserve_value,
        fund=fund.slug,
    )
    db.session.commit()
    return row


def _next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def _pending(kind: str) -> Sequence[OutflowRequest]:
    return db.session.scalars(
        select(OutflowRequest).where(
            OutflowRequest.kind == kind, OutflowRequest.status == RequestStatus.PENDING.value
        )
    ).all()


# -- the daily entry --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SalesInput:
    meal_class: str
    channel: str
    meals: int
    amount: str | Decimal


@dataclass(frozen=True)
class SubsidyInput:
    source: str
    meals: int
    per_meal: str | Decimal
    meal_class: str = "elder"
    source_kind: str = "government"
    channel: str = "bank"


@dataclass(frozen=True)
class DayInput:
    date: dt.date
    sales: Sequence[SalesInput]
    subsidies: Sequence[SubsidyInput] = field(default_factory=tuple)
    note: str = ""


def record_day(book: Book, data: DayInput, actor: str, *, source: str = "form") -> WriteResult:
    """Write one day's sales and subsidies (income: no approval); a recorded day is refused."""
    cmd = canteen.CanteenDay(
        date=data.date,
        sales=tuple(
            canteen.SalesLine(s.meal_class, s.channel, s.meals, s.amount) for s in data.sales
        ),
        subsidies=tuple(
            canteen.SubsidyLine(
                source=s.source,
                meals=s.meals,
                per_meal=s.per_meal,
                meal_class=s.meal_class,
                source_kind=s.source_kind,
                channel=s.channel,
            )
            for s in data.subsidies
        ),
        entered_by=actor,
        note=data.note,
        source=source,
    )
    result = canteen.record_canteen_day(book, cmd)
    if result.created:
        audit("record_canteen_day", target=result.id, date=data.date.isoformat())
        db.session.commit()
    return result


# -- costs --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostInput:
    id: str | None
    date: dt.date
    kind: str
    amount: str | Decimal
    payee: str
    paid_from: str = "bank"
    to_stock: bool = False
    note: str = ""


def _cost_cmd(payload: dict[str, Any], entered_by: str, approved_by: str = "") -> Any:
    return canteen.CanteenCost(
        id=payload["id"],
        date=dt.date.fromisoformat(payload["date"]),
        kind=payload["kind"],
        amount=Decimal(payload["amount"]),
        payee=payload["payee"],
        entered_by=entered_by,
        approved_by=approved_by,
        paid_from=payload["paid_from"],
        to_stock=bool(payload["to_stock"]),
        note=payload.get("note", ""),
        source=payload.get("source", "form"),
    )


def request_cost(
    book: Book, data: CostInput, actor: str, *, source: str = "form"
) -> OutflowRequest:
    """Ask for a canteen cost: checked now, written only once someone else approves it."""
    entry_id = workflow.check_entry_id(data.id, "ccost")
    amount = parse_amount(data.amount)
    if not isinstance(data.date, dt.date):
        raise RuleError("date", "请填写日期（date is required）", "required")
    payload = {
        "id": entry_id,
        "date": data.date.isoformat(),
        "kind": data.kind,
        "amount": str(amount),
        "payee": data.payee,
        "paid_from": data.paid_from,
        "to_stock": bool(data.to_stock),
        "note": data.note,
        "source": source,
    }
    existing = workflow._existing_request(entry_id, COST_REQUEST, payload)
    if existing:
        return existing
    if book.get(entry_id) is not None:
        raise RuleError(
            "id", f"编号 {entry_id} 已在账本中（the id is already used）", "id_conflict"
        )
    canteen.canteen_cost_entry(book, _cost_cmd(payload, actor))  # the ledger's checks, now
    req = OutflowRequest(
        id=entry_id,
        kind=COST_REQUEST,
        payload=payload,
        entered_by=actor,
        summary=f"共享食堂{canteen.COST_KINDS[data.kind]}：{data.payee}"[:300],
        amount=str(amount),
        fund=canteen.FUND,
    )
    db.session.add(req)
    audit("request_canteen_cost", target=entry_id, amount=amount, kind=data.kind)
    db.session.commit()
    return req


# -- month-end stock ----------------------------------------------------------------------------------


def record_stock(book: Book, month: str, amount: str | Decimal, actor: str) -> WriteResult | None:
    """Record the month-end count of food in store (None when the books already agree)."""
    result = canteen.record_closing_stock(book, month, amount, entered_by=actor)
    audit("record_canteen_stock", target=month, amount=amount)
    db.session.commit()
    return result


# -- 反哺 ------------------------------------------------------------------------------------------


def _month_ended(book: Book, month: str) -> bool:
    return canteen.month_end(month) <= book.clock().date()


def fed_back_entry(book: Book, month: str) -> Any:
    """The 反哺 transfer written for ``month``, if any (reversed ones excluded)."""
    for txn in canteen.feedback_entries(book):
        if (txn.meta or {}).get("month") == month:
            return txn
    return None


def proposal_for(book: Book, month: str) -> canteen.FeedbackProposal | None:
    """The proposal of the rule in force for ``month`` (None without any rule)."""
    rules = feedback_rules()
    try:
        return canteen.propose_feedback(book, month, rules)
    except RuleError as exc:
        if exc.code == "no_rule":
            return None
        raise


def request_feedback(book: Book, month: str, actor: str) -> OutflowRequest:
    """Ask for the month's 反哺 as the rule in force proposes it; another person approves."""
    canteen.canteen_month(book, month, compare=0)  # checks the month's format
    if not _month_ended(book, month):
        raise RuleError(
            "month", f"{month} 尚未结束，不能反哺（the month has not ended）", "month_open"
        )
    if fed_back_entry(book, month) is not None:
        raise RuleError("month", f"{month} 的盈余已反哺（already fed back）", "already_fed_back")
    if any(p.payload.get("month") == month for p in _pending(FEEDBACK_REQUEST)):
        raise RuleError("month", f"{month} 已有待审批的反哺申请（already pending）", "pending")
    proposal = proposal_for(book, month)
    if proposal is None:
        raise RuleError("month", f"{month} 没有生效的反哺规则（no rule in force）", "no_rule")
    if proposal.amount <= 0:
        raise RuleError("month", f"{month} 不反哺：{proposal.explanation}", "nothing_to_feed_back")
    entry_id = canteen.feedback_id(month)
    existing = db.session.get(OutflowRequest, entry_id)
    if existing is not None:  # an earlier request was rejected: the id is taken, add a suffix
        entry_id = workflow.new_id("cfb")
    payload = {
        "id": entry_id,
        "month": month,
        "amount": str(proposal.amount),
        "target_fund": proposal.target_fund,
        "explanation": proposal.explanation,
    }
    target = book.funds[proposal.target_fund]
    req = OutflowRequest(
        id=entry_id,
        kind=FEEDBACK_REQUEST,
        payload=payload,
        entered_by=actor,
        summary=f"共享食堂 {month} 盈余反哺「{target.name}」：{proposal.explanation}"[:300],
        amount=str(proposal.amount),
        fund=f"{canteen.FUND},{target.slug}",
    )
    db.session.add(req)
    audit("request_canteen_feedback", target=month, amount=proposal.amount, fund=target.slug)
    db.session.commit()
    return req


def approve_canteen_request(book: Book, req: OutflowRequest, approver: str) -> WriteResult:
    """Write an approved canteen cost or 反哺 (the ledger re-checks it, with the DB's rules)."""
    payload = req.payload
    if req.kind == COST_REQUEST:
        return canteen.record_canteen_cost(book, _cost_cmd(payload, req.entered_by, approver))
    if req.kind == FEEDBACK_REQUEST:
        month = payload["month"]
        done = fed_back_entry(book, month)
        if done is not None and (done.meta or {}).get("approved-by") == approver:
            # A retry after the database failed: the entry is there, report it.
            return WriteResult(
                id=str(done.meta["id"]), head_hash=book.head_hash, seq=0, created=False
            )
        cmd = canteen.FeedbackCommand(
            month=month,
            amount=Decimal(payload["amount"]),
            target_fund=payload["target_fund"],
            entered_by=req.entered_by,
            approved_by=approver,
        )
        return canteen.record_feedback(book, cmd, feedback_rules())
    raise RuleError("request", f"未知的申请类型 {req.kind}")  # pragma: no cover


# -- read side ------------------------------------------------------------------------------------


def month_view(book: Book, month: str) -> dict[str, Any]:
    """Everything the month page and the API show: figures, the three months before, 反哺."""
    figures = canteen.canteen_month(book, month)
    proposal = proposal_for(book, month)
    done = fed_back_entry(book, month)
    pending = [p for p in _pending(FEEDBACK_REQUEST) if p.payload.get("month") == month]
    return {
        "month": month,
        "figures": figures,
        "ended": _month_ended(book, month),
        "proposal": proposal,
        "fed_back": done,
        "pending": pending,
        "stock": canteen.stock_balance(book, canteen.month_end(month)),
        "stock_recorded": book.get(f"canteen-stock-{month}") is not None,
    }


def month_json(book: Book, month: str) -> dict[str, Any]:
    """The month as plain JSON (amounts as decimal strings)."""
    view = month_view(book, month)

    def figures(m: canteen.CanteenMonth) -> dict[str, Any]:
        return {
            "month": m.month,
            "meals": dict(m.meals),
            "total_meals": m.total_meals,
            "revenue": {k: str(v) for k, v in m.revenue.items()},
            "total_revenue": str(m.total_revenue),
            "subsidies": {k: str(v) for k, v in m.subsidies.items()},
            "total_subsidies": str(m.total_subsidies),
            "other_income": str(m.other_income),
            "costs": {k: str(v) for k, v in m.costs.items()},
            "total_costs": str(m.total_costs),
            "surplus": str(m.surplus),
            "cost_per_meal": None if m.cost_per_meal is None else str(m.cost_per_meal),
            "subsidy_per_elder_meal": (
                None if m.subsidy_per_elder_meal is None else str(m.subsidy_per_elder_meal)
            ),
        }

    proposal: canteen.FeedbackProposal | None = view["proposal"]
    done = view["fed_back"]
    return {
        **figures(view["figures"]),
        "previous": [figures(m) for m in view["figures"].previous],
        "feedback": None
        if proposal is None
        else {
            "amount": str(proposal.amount),
            "target_fund": proposal.target_fund,
            "carried_loss": str(proposal.carried_loss),
            "reserve": str(proposal.reserve),
            "share": str(proposal.rule.share),
            "rule_from": proposal.rule.effective_from,
            "explanation": proposal.explanation,
            "entry_id": None if done is None else str((done.meta or {}).get("id")),
        },
    }


def fed_back_summary(book: Book) -> dict[str, Any]:
    """What the canteen has fed back to the micro-fund: the running total, by fund, by month.

    ``{"total": Decimal, "funds": [{"slug", "name", "amount"}], "transfers": [{"month", "date",
    "amount", "fund", "fund_name", "id"}]}`` — reversed transfers excluded; every figure comes
    from the ledger.
    """
    by_fund = canteen.total_fed_back(book)
    transfers = []
    for txn in canteen.feedback_entries(book):
        meta = txn.meta or {}
        slug = str(meta.get("target-fund", ""))
        amount = sum(
            (
                Decimal(p.units.number)
                for p in txn.postings
                if p.units is not None and p.units.number is not None and p.units.number > 0
            ),
            ZERO,
        )
        fund = book.funds.get(slug)
        transfers.append(
            {
                "month": str(meta.get("month", "")),
                "date": txn.date,
                "amount": amount,
                "fund": slug,
                "fund_name": fund.name if fund else slug,
                "id": str(meta.get("id", "")),
            }
        )
    return {
        "total": sum(by_fund.values(), ZERO),
        "funds": [
            {
                "slug": slug,
                "name": book.funds[slug].name if slug in book.funds else slug,
                "amount": amount,
            }
            for slug, amount in sorted(by_fund.items())
        ],
        "transfers": sorted(transfers, key=lambda t: t["month"]),
    }


def format_share(share: Decimal | str) -> str:
    """0.5 → "50%"."""
    return f"{(Decimal(share) * 100).normalize():f}%"


__all__ = [
    "CostInput",
    "DayInput",
    "SalesInput",
    "SubsidyInput",
    "add_rule",
    "approve_canteen_request",
    "fed_back_summary",
    "month_view",
    "record_day",
    "record_stock",
    "request_cost",
    "request_feedback",
]
