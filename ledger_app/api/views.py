"""The JSON API under /api/v1: bearer tokens, errors that name the field, idempotent writes."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from ledger import disclosure, queries
from ledger.errors import EntryNotFoundError, LedgerUnavailableError, RuleError
from ledger.model import ID_PATTERN
from ledger_app import canteen_workflow, donors, grants_workflow, workflow
from ledger_app.api.openapi import openapi_document
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import ApiToken, Donor, OutflowRequest
from ledger_app.security import audit

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def _error(status: int, code: str, message: str, field: str | None = None) -> ResponseReturnValue:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if field:
        body["error"]["field"] = field
    return jsonify(body), status


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> ResponseReturnValue:
    return _error(exc.status, exc.code, exc.message, exc.field)


@bp.errorhandler(RuleError)
def _rule_error(exc: RuleError) -> ResponseReturnValue:
    status = 409 if exc.code == "id_conflict" else 422
    return _error(status, exc.code, exc.message, exc.field)


@bp.errorhandler(LedgerUnavailableError)
def _unavailable(exc: LedgerUnavailableError) -> ResponseReturnValue:
    return _error(503, "ledger_unavailable", str(exc))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    return _error(
        exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or ""
    )


# The app's HTML pages for these codes would win over the class-based handler above (Flask looks
# for a handler by code before it looks by class), so claim them for the API by code too.
for _code in (400, 403, 404, 413, 429):
    bp.register_error_handler(_code, _http_error)


def token_required(
    *roles: str,
) -> Callable[[Callable[..., ResponseReturnValue]], Callable[..., ResponseReturnValue]]:
    """Bearer-token auth; the token's user must have one of ``roles``."""

    def decorator(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                raise ApiError(401, "unauthorized", "需要 Bearer 令牌（bearer token required）")
            token = db.session.scalars(
                select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(header[7:].strip()))
            ).first()
            if token is None or token.revoked_at is not None or not token.user.active:
                raise ApiError(401, "unauthorized", "令牌无效或已撤销（invalid token）")
            if roles and token.user.role not in roles:
                raise ApiError(
                    403, "forbidden", f"角色 {token.user.role} 无权执行此操作（forbidden）"
                )
            g.api_user = token.user
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "请求体须为 JSON 对象（body must be a JSON object）")
    return data


def _str(data: dict[str, Any], name: str, *, required: bool = True, default: str = "") -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise ApiError(422, "required", f"缺少字段 {name}（{name} is required）", name)
        return default
    if not isinstance(value, str):
        raise ApiError(422, "invalid", f"字段 {name} 须为字符串（{name} must be a string）", name)
    return value


def _date(data: dict[str, Any], name: str = "date") -> dt.date:
    raw = _str(data, name)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise ApiError(422, "invalid", f"日期须为 YYYY-MM-DD（bad {name}）", name) from exc


def _entry_id(data: dict[str, Any]) -> str | None:
    """The id of the write: the body's ``id`` or the Idempotency-Key header (they must agree)."""
    body_id = data.get("id")
    key = request.headers.get("Idempotency-Key")
    if body_id is not None and not isinstance(body_id, str):
        raise ApiError(422, "invalid", "id 须为字符串（id must be a string）", "id")
    if key is not None and not ID_PATTERN.fullmatch(key):
        raise ApiError(
            422,
            "invalid",
            "Idempotency-Key 只能由字母、数字、._- 组成，最长64位",
            "Idempotency-Key",
        )
    if body_id and key and body_id != key:
        raise ApiError(422, "invalid", "id 与 Idempotency-Key 不一致（id and key differ）", "id")
    return body_id or key


# -- operations -----------------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document())


@bp.get("/funds")
@token_required()
def list_funds() -> ResponseReturnValue:
    rows = queries.fund_rows(get_book())
    return jsonify(
        [
            {
                "slug": r.slug,
                "name": r.name,
                "restricted": r.restricted,
                "income": str(r.income),
                "spent": str(r.spent),
                "balance": str(r.balance),
                "committed": str(r.committed),
            }
            for r in rows
        ]
    )


@bp.post("/donations")
@token_required("admin")
def record_donation() -> ResponseReturnValue:
    data = _body()
    donor = data.get("donor")
    if not isinstance(donor, dict):
        raise ApiError(422, "required", "缺少捐赠人信息 donor（donor is required）", "donor")
    book = get_book()
    form = _str(data, "form", required=False, default="money")
    result = workflow.record_donation(
        book,
        workflow.DonationInput(
            id=_entry_id(data),
            date=_date(data),
            amount=_str(data, "amount"),
            fund=_str(data, "fund", required=False, default="general"),
            channel=_str(data, "channel", required=form == "money", default="in-kind"),
            donor=workflow.DonorInput(
                name=_str(donor, "name"),
                phone=_str(donor, "phone", required=False),
                display=_str(donor, "display", required=False, default="masked"),
                kind=_str(donor, "kind", required=False, default="person"),
            ),
            note=_str(data, "note", required=False),
            form=form,
            valuation_basis=_str(data, "valuation_basis", required=False),
            valued_by=_str(data, "valued_by", required=False),
            project=_str(data, "project", required=False),
            pledge=_str(data, "pledge", required=False),
        ),
        g.api_user.username,
        source="api",
    )
    body = {
        "id": result.id,
        "head_hash": result.head_hash,
        "created": result.created,
        "receipt": result.extra.get("receipt"),
    }
    return jsonify(body), (201 if result.created else 200)


def _request_json(req: OutflowRequest) -> dict[str, Any]:
    return {
        "id": req.id,
        "kind": req.kind,
        "status": req.status,
        "amount": req.amount,
        "fund": req.fund,
        "summary": req.summary,
        "entered_by": req.entered_by,
        "decided_by": req.decided_by,
        "entry_id": req.entry_id,
        "head_hash": req.head_hash,
    }


@bp.post("/expense-requests")
@token_required("admin")
def request_expense() -> ResponseReturnValue:
    data = _body()
    req = workflow.request_expense(
        get_book(),
        workflow.ExpenseInput(
            id=_entry_id(data),
            date=_date(data),
            amount=_str(data, "amount"),
            fund=_str(data, "fund"),
            payee=_str(data, "payee"),
            purpose=_str(data, "purpose"),
            line=_str(data, "line", required=False, default="programme"),
            paid_from=_str(data, "paid_from", required=False, default="bank"),
        ),
        g.api_user.username,
        source="api",
    )
    return jsonify(_request_json(req)), 202


@bp.post("/reversal-requests")
@token_required("admin")
def request_reversal() -> ResponseReturnValue:
    data = _body()
    req = workflow.request_reversal(
        get_book(),
        _str(data, "original_id"),
        _str(data, "reason"),
        _date(data),
        g.api_user.username,
        entry_id=_entry_id(data),
        source="api",
    )
    return jsonify(_request_json(req)), 202


@bp.post("/requests/<request_id>/approve")
@token_required("approver", "admin")
def approve_request(request_id: str) -> ResponseReturnValue:
    req = workflow.approve_request(get_book(), request_id, g.api_user.username)
    return jsonify(_request_json(req))


@bp.get("/entries/<entry_id>")
@token_required()
def get_entry(entry_id: str) -> ResponseReturnValue:
    book = get_book()
    book.refresh()
    txn = book.get(entry_id)
    if txn is None:
        raise ApiError(404, "not_found", f"没有编号为 {entry_id} 的分录（no such entry）", "id")
    meta = {k: _plain(v) for k, v in (txn.meta or {}).items() if k not in ("filename", "lineno")}
    row = queries.entry_row(book, txn)
    return jsonify(
        {
            "id": entry_id,
            "date": txn.date.isoformat(),
            "payee": txn.payee or "",
            "narration": txn.narration or "",
            "tags": sorted(txn.tags or ()),
            "links": sorted(txn.links or ()),
            "meta": meta,
            "postings": [
                {
                    "account": p.account,
                    "amount": str(p.units.number),
                    "currency": p.units.currency,
                    **({"fund": p.meta["fund"]} if p.meta and "fund" in p.meta else {}),
                }
                for p in txn.postings
                if p.units is not None
            ],
            "funds": [{"slug": s, "name": n, "change": str(a)} for s, n, a in row.funds],
            "reversed_by": row.reversed_by or None,
            "head_hash": book.head_hash,
        }
    )


# -- donors, confirmations, pledges, imports ------------------------------------------------------


def _donor_json(donor: Donor) -> dict[str, Any]:
    return {
        "ref": donor.ref,
        "name": donor.name,
        "kind": donor.kind,
        "phone": donor.phone,
        "display": donor.display,
        "public_name": donor.public_name(),
        "consent_on": donor.consent_on.isoformat() if donor.consent_on else None,
    }


@bp.get("/donors")
@token_required("admin")
def list_donors() -> ResponseReturnValue:
    query = request.args.get("q", "")[:100]
    return jsonify([_donor_json(d) for d in donors.search_donors(query, limit=200)])


@bp.post("/pledges")
@token_required("admin")
def create_pledge() -> ResponseReturnValue:
    data = _body()
    donor_data = data.get("donor")
    if not isinstance(donor_data, dict):
        raise ApiError(422, "required", "缺少捐赠人信息 donor（donor is required）", "donor")
    book = get_book()
    due = _str(data, "due_on", required=False)
    donor = workflow.find_or_create_donor(
        workflow.DonorInput(
            name=_str(donor_data, "name"),
            phone=_str(donor_data, "phone", required=False),
            display=_str(donor_data, "display", required=False, default="masked"),
            kind=_str(donor_data, "kind", required=False, default="person"),
        )
    )
    pledge = donors.create_pledge(
        book,
        donor,
        _str(data, "amount"),
        _str(data, "fund"),
        _date(data, "pledged_on"),
        g.api_user.username,
        due_on=_date(data, "due_on") if due else None,
        project=_str(data, "project", required=False),
        note=_str(data, "note", required=False),
        pledge_id=_entry_id(data),
    )
    status = donors.pledge_status(book, pledge)
    return jsonify(
        {
            "id": pledge.id,
            "amount": pledge.amount,
            "fund": pledge.fund,
            "paid": str(status.paid),
            "outstanding": str(status.outstanding),
        }
    ), 201


@bp.post("/receipts/<number>/void")
@token_required("admin")
def void_receipt(number: str) -> ResponseReturnValue:
    data = _body()
    book = get_book()
    view = disclosure.receipt_record(book, number)
    if view is None:
        raise ApiError(
            404, "not_found", f"没有编号为 {number} 的捐赠确认书（no such receipt）", "number"
        )
    req = workflow.request_reversal(
        book,
        view.entry_id,
        f"作废捐赠确认书 {number}：{_str(data, 'reason')}",
        _date(data),
        g.api_user.username,
        entry_id=_entry_id(data),
        source="api",
    )
    return jsonify(_request_json(req)), 202


@bp.get("/receipts/<number>/verify")
def verify_receipt(number: str) -> ResponseReturnValue:
    """Public: no token. A wrong number or code gives the same 404, so numbers cannot be probed."""
    view = disclosure.verify_receipt(get_book(), number, request.args.get("code", ""))
    if view is None:
        raise ApiError(
            404, "not_found", "编号或校验码不正确（no receipt with that number and code）"
        )
    return jsonify(
        {
            "number": view.number,
            "date": view.date.isoformat(),
            "amount": str(view.amount),
            "fund": view.fund_slug,
            "fund_name": view.fund_name,
            "donor": view.donor_public,
            "void": view.void,
            "spent_since": str(view.spent_since),
            "fund_balance": str(view.fund_balance),
            "head_hash": view.head_hash,
            "spending_since": [
                {
                    "date": e.date.isoformat(),
                    "payee": e.payee,
                    "purpose": e.narration,
                    "amount": str(-e.amount),
                }
                for e in view.spending_since
            ],
        }
    )


@bp.post("/imports")
@token_required("admin")
def import_statement() -> ResponseReturnValue:
    """Preview (``post=false``) or post a statement export sent as the request body."""
    from ledger_app.imports import ImportRefusedError
    from ledger_app.imports import import_statement as run_import

    raw = request.get_data(cache=False)
    post = request.args.get("post", "false").lower() in ("1", "true", "yes")
    try:
        result = run_import(
            get_book(),
            raw,
            fmt=request.args.get("format", "auto"),
            fund=request.args.get("fund", "general"),
            display=request.args.get("display", "masked"),
            actor=g.api_user.username,
            post=post,
        )
    except ImportRefusedError as exc:
        body = {
            "error": {"code": exc.code, "field": exc.field, "message": exc.message},
            "result": exc.result.as_dict(),
        }
        return jsonify(body), 422
    return jsonify(result.as_dict())


# -- 微创投 micro-grants ------------------------------------------------------------------------------


def _list(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ApiError(422, "invalid", f"字段 {name} 须为对象数组（{name} must be a list）", name)
    return value


def _uploads(data: dict[str, Any], name: str) -> list[grants_workflow.Upload]:
    out = []
    for item in _list(data, name):
        try:
            content = base64.b64decode(_str(item, "content_base64"), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(422, "invalid", f"{name} 的内容须为 base64（bad base64）", name) from exc
        out.append(grants_workflow.Upload(_str(item, "filename"), content))
    return out


def _grant_json(application_id: str) -> dict[str, Any]:
    return _plain_dict(grants_workflow.grant_summary(get_book(), application_id))


def _plain_dict(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in data.items()}


@bp.post("/grant-calls")
@token_required("admin")
def create_grant_call() -> ResponseReturnValue:
    data = _body()
    call = grants_workflow.create_call(
        get_book(),
        grants_workflow.CallInput(
            title=_str(data, "title"),
            purpose=_str(data, "purpose", required=False),
            fund=_str(data, "fund"),
            budget=_str(data, "budget"),
            ceiling=_str(data, "ceiling"),
            opens_on=_date(data, "opens_on"),
            closes_on=_date(data, "closes_on"),
            criteria=_list(data, "criteria"),
            id=_entry_id(data),
        ),
        g.api_user.username,
        today=today(),
    )
    summary = grants_workflow.call_summary(get_book(), call)
    summary.pop("applications")
    return jsonify(_plain_dict(summary)), 201


@bp.post("/grant-calls/<call_id>/applications")
@token_required("admin")
def submit_application(call_id: str) -> ResponseReturnValue:
    data = _body()
    application = grants_workflow.submit_application(
        get_book(),
        grants_workflow.ApplicationInput(
            call_id=call_id,
            group_name=_str(data, "group_name"),
            contact_name=_str(data, "contact_name"),
            contact_phone=_str(data, "contact_phone", required=False),
            title=_str(data, "title"),
            description=_str(data, "description", required=False),
            beneficiaries=_str(data, "beneficiaries", required=False),
            budget_lines=_list(data, "budget_lines"),
            cofunding=_list(data, "cofunding"),
            requested=_str(data, "requested", required=False),
            id=_entry_id(data),
        ),
        g.api_user.username,
        via="api",
        uploads=_uploads(data, "attachments"),
        today=today(),
    )
    return jsonify(_grant_json(application.id)), 201


@bp.post("/grant-applications/<application_id>/decision")
@token_required("admin")
def record_decision(application_id: str) -> ResponseReturnValue:
    data = _body()
    decision = _str(data, "decision")
    if decision not in ("approved", "rejected"):
        raise ApiError(422, "invalid", "decision 须为 approved 或 rejected", "decision")
    published = _date(data, "published_on") if data.get("published_on") else None
    grants_workflow.record_decision(
        application_id,
        decision == "approved",
        _str(data, "amount", required=False) or None,
        _str(data, "note", required=False),
        g.api_user.username,
        published_on=published,
        today=today(),
    )
    return jsonify(_grant_json(application_id))


@bp.post("/grant-applications/<application_id>/award")
@token_required("admin")
def award_grant(application_id: str) -> ResponseReturnValue:
    data = _body()
    req = grants_workflow.request_award(
        get_book(),
        application_id,
        _date(data),
        g.api_user.username,
        amount=_str(data, "amount", required=False) or None,
        entry_id=_entry_id(data),
        source="api",
    )
    return jsonify(_request_json(req)), 202


@bp.post("/grant-applications/<application_id>/disbursements")
@token_required("admin")
def request_disbursement(application_id: str) -> ResponseReturnValue:
    data = _body()
    req = grants_workflow.request_disbursement(
        get_book(),
        application_id,
        _date(data),
        _str(data, "amount"),
        g.api_user.username,
        paid_from=_str(data, "paid_from", required=False, default="bank"),
        entry_id=_entry_id(data),
        source="api",
    )
    return jsonify(_request_json(req)), 202


@bp.post("/grant-applications/<application_id>/expense-reports")
@token_required("admin")
def submit_expense_report(application_id: str) -> ResponseReturnValue:
    data = _body()
    paper = data.get("paper_receipts", 0)
    if not isinstance(paper, int) or isinstance(paper, bool) or paper < 0:
        raise ApiError(422, "invalid", "paper_receipts 须为非负整数", "paper_receipts")
    req = grants_workflow.request_expense_report(
        get_book(),
        application_id,
        _date(data),
        _str(data, "summary"),
        g.api_user.username,
        amount=_str(data, "amount", required=False) or None,
        lines=_list(data, "lines"),
        receipts=_uploads(data, "receipts"),
        paper_receipts=paper,
        entry_id=_entry_id(data),
        source="api",
    )
    return jsonify(_request_json(req)), 202


@bp.post("/grant-applications/<application_id>/close")
@token_required("admin")
def close_grant(application_id: str) -> ResponseReturnValue:
    data = _body()
    evaluation = data.get("evaluation")
    if not isinstance(evaluation, dict):
        raise ApiError(
            422, "required", "缺少结项评估 evaluation（evaluation is required）", "evaluation"
        )
    req = grants_workflow.request_close(
        get_book(),
        application_id,
        _date(data),
        _str(data, "returned", required=False),
        _str(data, "leftover"),
        grants_workflow.EvaluationInput(
            goals_met=_str(evaluation, "goals_met"),
            beneficiaries_served=evaluation.get("beneficiaries_served"),
            satisfaction=evaluation.get("satisfaction"),
            note=_str(evaluation, "note", required=False),
        ),
        g.api_user.username,
        returned_to=_str(data, "returned_to", required=False, default="bank"),
        entry_id=_entry_id(data),
        source="api",
    )
    return jsonify(_request_json(req)), 202


@bp.get("/grant-applications/<application_id>")
@token_required("admin", "approver")
def get_grant(application_id: str) -> ResponseReturnValue:
    get_book().refresh()
    return jsonify(_grant_json(application_id))


# -- 共享食堂 ----------------------------------------------------------------------------------------


def _count(data: dict[str, Any], name: str, where: str) -> int:
    value = data.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(422, "invalid", f"{where}.{name} 须为整数（must be an integer）", where)
    return value


@bp.post("/canteen/days")
@token_required("admin")
def record_canteen_day() -> ResponseReturnValue:
    data = _body()
    sales = [
        canteen_workflow.SalesInput(
            meal_class=_str(row, "meal_class"),
            channel=_str(row, "channel"),
            meals=_count(row, "meals", f"sales[{i}]"),
            amount=_str(row, "amount"),
        )
        for i, row in enumerate(_list(data, "sales"))
    ]
    subsidies = [
        canteen_workflow.SubsidyInput(
            source=_str(row, "source"),
            meals=_count(row, "meals", f"subsidies[{i}]"),
            per_meal=_str(row, "per_meal"),
            meal_class=_str(row, "meal_class", required=False, default="elder"),
            source_kind=_str(row, "source_kind", required=False, default="government"),
            channel=_str(row, "channel", required=False, default="bank"),
        )
        for i, row in enumerate(_list(data, "subsidies"))
    ]
    result = canteen_workflow.record_day(
        get_book(),
        canteen_workflow.DayInput(
            _date(data), sales, subsidies, _str(data, "note", required=False)
        ),
        g.api_user.username,
        source="api",
    )
    return jsonify({"id": result.id, "head_hash": result.head_hash, "created": result.created}), (
        201 if result.created else 200
    )


@bp.post("/canteen/imports")
@token_required("admin")
def import_canteen_sales() -> ResponseReturnValue:
    """Preview (``post=false``) or post a point-of-sale daily summary sent as a CSV body."""
    from ledger.canteen_import import import_canteen_sales as run_import

    post = request.args.get("post", "false").lower() in ("1", "true", "yes")
    days = run_import(
        get_book(), request.get_data(cache=False), actor=g.api_user.username, post=post
    )
    if post:
        audit("import_canteen_sales", target=f"{len(days)} days")
        db.session.commit()
    return jsonify(
        {
            "posted": post,
            "days": [
                {
                    "date": d.date.isoformat(),
                    "meals": d.meals,
                    "amount": str(d.amount),
                    "status": d.status,
                    "entry_id": d.entry_id or None,
                }
                for d in days
            ],
        }
    )


@bp.get("/canteen/months/<month>")
@token_required("admin", "approver")
def get_canteen_month(month: str) -> ResponseReturnValue:
    book = get_book()
    book.refresh()
    return jsonify(canteen_workflow.month_json(book, month))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


__all__ = ["EntryNotFoundError", "bp"]


# -- month-end reconciliation and close ---------------------------------------------------------------


@bp.post("/periods/<month>/reconcile")
@token_required("admin", "approver")
def reconcile_account(month: str) -> ResponseReturnValue:
    """One account's ledger balance at the month end against its statement (writes nothing)."""
    from ledger_app import periods_workflow

    data = _body()
    book = get_book()
    result = periods_workflow.reconcile_account(
        book, _str(data, "account"), month, _str(data, "statement_balance")
    )
    return jsonify(result)


@bp.post("/periods/<month>/close")
@token_required("admin")
def close_month(month: str) -> ResponseReturnValue:
    """Ask for the month to be closed with these statement balances; approved by someone else."""
    from ledger_app import periods_workflow

    data = _body()
    statements = data.get("statements")
    if not isinstance(statements, dict):
        raise ApiError(
            422, "required", "缺少对账单余额 statements（statements is required）", "statements"
        )
    req = periods_workflow.request_close(
        get_book(), month, statements, g.api_user.username, source="api"
    )
    body = _request_json(req)
    body["month"] = month
    body["statements"] = req.payload.get("statements", {})
    return jsonify(body), 202


# -- statements and the ledger for auditors ---------------------------------------------------------

_STATEMENT_FORMATS = ("json", "csv", "pdf")


def _statement_json(statement: Any) -> dict[str, Any]:
    """A finished :class:`ledger.financials.Statement` as JSON: every figure a decimal string."""
    return {
        "kind": statement.kind,
        "title": statement.title,
        "title_en": statement.title_en,
        "form": statement.form,
        "period": {
            "start": statement.period.start.isoformat(),
            "end": statement.period.end.isoformat(),
            "label": statement.period.label,
        },
        "columns": list(statement.columns),
        "lines": [
            {
                "key": line.key,
                "label": line.label,
                "row": line.row,
                "kind": line.kind,
                "indent": line.indent,
                "values": [str(v) for v in line.values],
            }
            for line in statement.lines
        ],
        "notes": list(statement.notes),
        "head_hash": statement.head_hash,
        "head_seq": statement.head_seq,
        "generated_at": statement.generated_at.isoformat(timespec="seconds"),
    }


@bp.get("/statements/<kind>")
@token_required("auditor", "admin", "approver")
def get_statement(kind: str) -> ResponseReturnValue:
    """One statement of 《民间非营利组织会计制度》 for a period, as JSON, CSV or PDF."""
    from flask import Response, current_app

    from ledger import financials

    if kind not in financials.KINDS:
        raise ApiError(
            422,
            "invalid",
            f"报表类型须为 {'、'.join(financials.KINDS)} 之一（unknown statement type）",
            "type",
        )
    fmt = request.args.get("format", "json")
    if fmt not in _STATEMENT_FORMATS:
        raise ApiError(422, "invalid", "format 须为 json、csv 或 pdf（unknown format）", "format")
    period = financials.parse_period(request.args.get("period", ""))
    statement = financials.build_statement(get_book(), kind, period)
    audit(
        "export_statement",
        target=f"{kind} {period.slug}",
        format=fmt,
        head=statement.head_hash,
        via="api",
    )
    db.session.commit()
    headers = {"X-Ledger-Head": statement.head_hash}
    if fmt == "json":
        response = jsonify(_statement_json(statement))
        response.headers.update(headers)
        return response
    from reports.statements import build_statement_pdf, statement_csv

    if fmt == "csv":
        body, mimetype = statement_csv(statement), "text/csv"
    else:
        body = build_statement_pdf(statement, org_name=current_app.config["ORG_NAME"])
        mimetype = "application/pdf"
    name = f"{kind.replace('_', '-')}-{period.slug}.{fmt}"
    headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(body, mimetype=mimetype, headers=headers)


@bp.get("/ledger/export")
@token_required("auditor", "admin", "approver")
def export_ledger() -> ResponseReturnValue:
    """The canonical ledger files as a zip with a manifest of their sha256 (ledger.archive)."""
    import hashlib
    import io
    import json
    import zipfile

    from flask import Response

    from ledger.archive import MANIFEST_JSON, build_archive

    content = build_archive(get_book())
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        manifest = json.loads(zf.read(MANIFEST_JSON))
    sha256 = hashlib.sha256(content).hexdigest()
    audit(
        "export_ledger",
        target=f"seq {manifest['seq']}",
        head=manifest["head_hash"],
        sha256=sha256,
        via="api",
    )
    db.session.commit()
    name = f"ledger-{today().isoformat()}.zip"
    return Response(
        content,
        mimetype="application/zip",
        headers={
            "X-Ledger-Head": manifest["head_hash"],
            "X-Ledger-Seq": str(manifest["seq"]),
            "X-Content-SHA256": sha256,
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )
