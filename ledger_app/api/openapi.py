"""The OpenAPI 3 document of /api/v1 — the contract other tools rely on."""

from __future__ import annotations

from typing import Any

_AMOUNT = {"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$", "example": "200.00"}
_ID = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"}
_DATE = {"type": "string", "format": "date"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "401": _json(_ref("Error"), "Missing or invalid bearer token"),
    "403": _json(_ref("Error"), "The token's role may not do this"),
    "422": _json(_ref("Error"), "A field is invalid or a rule refused it; nothing was written"),
    "409": _json(_ref("Error"), "The id was already used for different content"),
    "503": _json(_ref("Error"), "The ledger files fail their checks; writes are paused"),
}
_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": _ID,
    "description": "Makes a retried request harmless; used as the entry id when the body has none.",
}


def openapi_document() -> dict[str, Any]:
    """The whole document (built on each request: it is small)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "社区微基金账本 API",
            "version": "1.0.0",
            "description": (
                "Record donations, request and approve outflows, read funds and entries. Amounts are "
                "decimal strings in CNY; every write answers with the ledger's head hash."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/funds": {
                "get": {
                    "operationId": "listFunds",
                    "summary": "Every fund with income, spending and balance",
                    "responses": {
                        "200": _json({"type": "array", "items": _ref("Fund")}, "The funds"),
                        "401": _ERRORS["401"],
                    },
                }
            },
            "/donations": {
                "post": {
                    "operationId": "recordDonation",
                    "summary": "Record a donation received",
                    "parameters": [_IDEMPOTENCY],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("Donation")}},
                    },
                    "responses": {
                        "201": _json(_ref("Written"), "Written to the ledger"),
                        "200": _json(_ref("Written"), "Already written with this id (a retry)"),
                        **{k: _ERRORS[k] for k in ("401", "403", "409", "422", "503")},
                    },
                }
            },
            "/expense-requests": {
                "post": {
                    "operationId": "requestExpense",
                    "summary": "Request an expense; written once someone else approves it",
                    "parameters": [_IDEMPOTENCY],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("ExpenseRequest")}},
                    },
                    "responses": {
                        "202": _json(_ref("Request"), "Accepted, awaiting approval"),
                        **{k: _ERRORS[k] for k in ("401", "403", "409", "422", "503")},
                    },
                }
            },
            "/reversal-requests": {
                "post": {
                    "operationId": "requestReversal",
                    "summary": "Request a correction of an entry by a linked reversing entry",
                    "parameters": [_IDEMPOTENCY],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("ReversalRequest")}},
                    },
                    "responses": {
                        "202": _json(_ref("Request"), "Accepted, awaiting approval"),
                        **{k: _ERRORS[k] for k in ("401", "403", "409", "422", "503")},
                    },
                }
            },
            "/requests/{id}/approve": {
                "post": {
                    "operationId": "approveRequest",
                    "summary": "Approve a pending outflow (not by the person who entered it)",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": _ID}],
                    "responses": {
                        "200": _json(_ref("Request"), "Approved and written"),
                        **{k: _ERRORS[k] for k in ("401", "403", "422", "503")},
                    },
                }
            },
            "/grant-calls": {
                "post": {
                    "operationId": "createGrantCall",
                    "summary": "Open a 微创投 call; refused above what the fund can still promise",
                    "parameters": [_IDEMPOTENCY],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("GrantCall")}},
                    },
                    "responses": {
                        "201": _json(_ref("GrantCallSummary"), "The call"),
                        **{k: _ERRORS[k] for k in ("401", "403", "409", "422")},
                    },
                }
            },
            "/grant-calls/{id}/applications": {
                "post": {
                    "operationId": "submitApplication",
                    "summary": "Enter a resident group's application (attachments as base64)",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": _ID},
                        _IDEMPOTENCY,
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("GrantApplication")}},
                    },
                    "responses": {
                        "201": _json(_ref("Grant"), "The application"),
                        **{k: _ERRORS[k] for k in ("401", "403", "409", "422")},
                    },
                }
            },
            "/grant-applications/{id}": {
                "get": {
                    "operationId": "getGrant",
                    "summary": "One application's status and money figures from the ledger",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": _ID}],
                    "responses": {
                        "200": _json(_ref("Grant"), "The grant"),
                        **{k: _ERRORS[k] for k in ("401", "403", "422")},
                    },
                }
            },
            "/grant-applications/{id}/decision": {
                "post": {
                    "operationId": "recordDecision",
                    "summary": "Record the council's decision (after a 决议 meeting) and its posting",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": _ID}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("GrantDecision")}},
                    },
                    "responses": {
                        "200": _json(_ref("Grant"), "Recorded"),
                        **{k: _ERRORS[k] for k in ("401", "403", "422")},
                    },
                }
            },
            "/grant-applications/{id}/award": {
                "post": {
                    "operationId": "awardGrant",
                    "summary": "Request the award (a commitment); posted 7 days, approved by another",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": _ID},
                        _IDEMPOTENCY,
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("GrantAward")}},
                    },
                    "responses": {
                        "202": _json(_ref("Request"), "Accepted, awaiting approval"),
                        **{k: _ERRORS[k] for k in ("401", "403", "409", "422", "503")},
                    },
                }
            },
            "/grant-applications/{id}/disbursements": {
                "post": {
                    "operationId": "requestDisbursement",
                    "summary": "Request a tranche; the final one waits for a passed mid-term review",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": _ID},
                        _IDEMPOTENCY,
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("GrantDisbursement")}},
                    },
                    "responses": {
                        "202": _json(_ref("Request"), "Accepted, awaiting approval"),
                        **{k: _ERRORS[k] for k in ("401", "403", "409", "422", "503")},
                    },
                }
            },
            "/grant-applications/{id}/expense-reports": {
                "post": {
                    "operationId": "submitExpenseReport",
                    "summary": "Submit the grantee's expense report with receipts",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": _ID},
                        _IDEMPOTENCY,
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("GrantExpenseReport")}},
                    },
                    "responses": {
                        "202": _json(_ref("Request"), "Accepted, awaiting approval"),
                        **{k: _ERRORS[k] for k in ("401", "403", "409", "422", "503")},
                    },
                }
            },
            "/grant-applications/{id}/close": {
                "post": {
                    "operationId": "closeGrant",
                    "summary": "Request the close-out: unspent money returned, evaluation recorded",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": _ID},
                        _IDEMPOTENCY,
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("GrantClose")}},
                    },
                    "responses": {
                        "202": _json(_ref("Request"), "Accepted, awaiting approval"),
                        **{k: _ERRORS[k] for k in ("401", "403", "409", "422", "503")},
                    },
                }
            },
            "/entries/{id}": {
                "get": {
                    "operationId": "getEntry",
                    "summary": "One ledger entry with its postings and metadata",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": _ID}],
                    "responses": {
                        "200": _json(_ref("Entry"), "The entry"),
                        "404": _json(_ref("Error"), "No such entry"),
                        "401": _ERRORS["401"],
                    },
                }
            },
            "/donors": {
                "get": {
                    "operationId": "listDonors",
                    "summary": "Search the donor registry (personal data: administrators only)",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                            "description": "Name or phone prefix",
                        }
                    ],
                    "responses": {
                        "200": _json({"type": "array", "items": _ref("DonorRecord")}, "Donors"),
                        **{k: _ERRORS[k] for k in ("401", "403")},
                    },
                }
            },
            "/pledges": {
                "post": {
                    "operationId": "createPledge",
                    "summary": "Record a pledge (not income until paid; pay it with recordDonation's pledge)",
                    "parameters": [_IDEMPOTENCY],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("Pledge")}},
                    },
                    "responses": {
                        "201": _json(_ref("PledgeStatus"), "Recorded"),
                        **{k: _ERRORS[k] for k in ("401", "403", "422")},
                    },
                }
            },
            "/receipts/{number}/void": {
                "post": {
                    "operationId": "voidReceipt",
                    "summary": "Ask to void a donation confirmation (a reversal awaiting approval)",
                    "parameters": [
                        {
                            "name": "number",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{6}$"},
                        },
                        _IDEMPOTENCY,
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["reason", "date"],
                                    "properties": {
                                        "id": _ID,
                                        "reason": {"type": "string", "maxLength": 250},
                                        "date": _DATE,
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "202": _json(_ref("Request"), "Accepted, awaiting approval"),
                        "404": _json(_ref("Error"), "No such confirmation"),
                        **{k: _ERRORS[k] for k in ("401", "403", "409", "422", "503")},
                    },
                }
            },
            "/receipts/{number}/verify": {
                "get": {
                    "operationId": "verifyReceipt",
                    "summary": "Public: check a confirmation by number and code, and where the fund's money went since",
                    "security": [],
                    "parameters": [
                        {
                            "name": "number",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{6}$"},
                        },
                        {
                            "name": "code",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": _json(_ref("Verification"), "Genuine"),
                        "404": _json(_ref("Error"), "Wrong number or code (indistinguishable)"),
                    },
                }
            },
            "/imports": {
                "post": {
                    "operationId": "importStatement",
                    "summary": "Preview or post a bank / WeChat Pay / Alipay statement export (CSV)",
                    "parameters": [
                        {
                            "name": "format",
                            "in": "query",
                            "required": False,
                            "schema": {
                                "type": "string",
                                "enum": ["auto", "wechat", "alipay", "bank"],
                                "default": "auto",
                            },
                        },
                        {
                            "name": "fund",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "default": "general"},
                        },
                        {
                            "name": "display",
                            "in": "query",
                            "required": False,
                            "schema": {
                                "type": "string",
                                "enum": ["name", "masked", "anonymous"],
                                "default": "masked",
                            },
                        },
                        {
                            "name": "post",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "boolean", "default": False},
                            "description": "false: preview only; true: post every new incoming row",
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    "responses": {
                        "200": _json(
                            _ref("ImportResult"),
                            "Rows with their status (and entries written when posted)",
                        ),
                        **{k: _ERRORS[k] for k in ("401", "403", "422", "503")},
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "field": {"type": "string", "description": "The offending field"},
                            },
                        }
                    },
                },
                "Donor": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "maxLength": 100},
                        "phone": {
                            "type": "string",
                            "description": "Kept private, never in the ledger",
                        },
                        "display": {
                            "type": "string",
                            "enum": ["name", "masked", "anonymous"],
                            "default": "masked",
                        },
                        "kind": {
                            "type": "string",
                            "enum": ["person", "organisation", "government"],
                            "default": "person",
                        },
                    },
                },
                "Donation": {
                    "type": "object",
                    "required": ["date", "amount", "donor"],
                    "properties": {
                        "id": _ID,
                        "date": _DATE,
                        "amount": _AMOUNT,
                        "fund": {
                            "type": "string",
                            "default": "general",
                            "description": "Fund slug",
                        },
                        "channel": {"type": "string", "enum": ["cash", "bank", "wechat", "alipay"]},
                        "donor": _ref("Donor"),
                        "note": {"type": "string", "maxLength": 300},
                        "form": {
                            "type": "string",
                            "enum": ["money", "goods", "fixed_asset"],
                            "default": "money",
                            "description": "money, or a gift in kind (channel then not needed)",
                        },
                        "valuation_basis": {
                            "type": "string",
                            "description": "Required for gifts in kind",
                        },
                        "valued_by": {
                            "type": "string",
                            "description": "Required for gifts in kind",
                        },
                        "project": {
                            "type": "string",
                            "description": "Sponsored project within the fund",
                        },
                        "pledge": {
                            "type": "string",
                            "description": "The pledge this payment fulfils",
                        },
                    },
                },
                "DonorRecord": {
                    "type": "object",
                    "properties": {
                        "ref": {"type": "string"},
                        "name": {"type": "string"},
                        "kind": {"type": "string"},
                        "phone": {"type": "string"},
                        "display": {"type": "string"},
                        "public_name": {"type": "string"},
                        "consent_on": {"type": "string", "format": "date", "nullable": True},
                    },
                },
                "Pledge": {
                    "type": "object",
                    "required": ["donor", "amount", "fund", "pledged_on"],
                    "properties": {
                        "id": _ID,
                        "donor": _ref("Donor"),
                        "amount": _AMOUNT,
                        "fund": {"type": "string"},
                        "pledged_on": _DATE,
                        "due_on": _DATE,
                        "project": {"type": "string"},
                        "note": {"type": "string"},
                    },
                },
                "PledgeStatus": {
                    "type": "object",
                    "properties": {
                        "id": _ID,
                        "amount": _AMOUNT,
                        "fund": {"type": "string"},
                        "paid": _AMOUNT,
                        "outstanding": _AMOUNT,
                    },
                },
                "Verification": {
                    "type": "object",
                    "properties": {
                        "number": {"type": "string"},
                        "date": _DATE,
                        "amount": _AMOUNT,
                        "fund": {"type": "string"},
                        "fund_name": {"type": "string"},
                        "donor": {"type": "string", "description": "As the donor chose to appear"},
                        "void": {"type": "boolean"},
                        "spent_since": _AMOUNT,
                        "fund_balance": _AMOUNT,
                        "head_hash": {"type": "string"},
                        "spending_since": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "ImportResult": {
                    "type": "object",
                    "properties": {
                        "format": {"type": "string"},
                        "channel": {"type": "string"},
                        "fund": {"type": "string"},
                        "display": {"type": "string"},
                        "encoding": {"type": "string"},
                        "sha256": {"type": "string"},
                        "posted": {"type": "boolean"},
                        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
                        "created": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "entryId": {"type": "string"},
                                    "receipt": {"type": "string"},
                                },
                            },
                        },
                        "rows": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "line": {"type": "integer"},
                                    "extId": {"type": "string"},
                                    "date": _DATE,
                                    "amount": _AMOUNT,
                                    "counterparty": {"type": "string"},
                                    "direction": {
                                        "type": "string",
                                        "enum": ["in", "out", "neutral"],
                                    },
                                    "status": {
                                        "type": "string",
                                        "enum": ["new", "recorded", "skipped", "refused", "posted"],
                                    },
                                    "reason": {"type": "string"},
                                    "entryId": {"type": "string"},
                                    "receipt": {"type": "string"},
                                    "donorPublic": {"type": "string"},
                                    "donorKnown": {"type": "boolean"},
                                },
                            },
                        },
                    },
                },
                "GrantCall": {
                    "type": "object",
                    "required": [
                        "title",
                        "fund",
                        "budget",
                        "ceiling",
                        "opens_on",
                        "closes_on",
                        "criteria",
                    ],
                    "properties": {
                        "id": _ID,
                        "title": {"type": "string", "maxLength": 200},
                        "purpose": {"type": "string"},
                        "fund": {"type": "string"},
                        "budget": _AMOUNT,
                        "ceiling": _AMOUNT,
                        "opens_on": _DATE,
                        "closes_on": _DATE,
                        "criteria": {
                            "type": "array",
                            "description": "Weights are whole numbers adding up to 100",
                            "items": {
                                "type": "object",
                                "required": ["name", "weight"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "weight": {"type": "integer", "minimum": 1, "maximum": 100},
                                },
                            },
                        },
                    },
                },
                "GrantCallSummary": {
                    "type": "object",
                    "properties": {
                        "id": _ID,
                        "title": {"type": "string"},
                        "fund": {"type": "string"},
                        "budget": _AMOUNT,
                        "ceiling": _AMOUNT,
                        "opens_on": _DATE,
                        "closes_on": _DATE,
                        "is_open": {"type": "boolean"},
                        "awarded": _AMOUNT,
                        "disbursed": _AMOUNT,
                    },
                },
                "Upload": {
                    "type": "object",
                    "required": ["filename", "content_base64"],
                    "properties": {
                        "filename": {
                            "type": "string",
                            "description": "Ends .pdf, .jpg, .jpeg or .png",
                        },
                        "content_base64": {"type": "string", "description": "At most 5 MB decoded"},
                    },
                },
                "GrantApplication": {
                    "type": "object",
                    "required": ["group_name", "contact_name", "title", "budget_lines"],
                    "properties": {
                        "id": _ID,
                        "group_name": {"type": "string", "maxLength": 100},
                        "contact_name": {"type": "string", "maxLength": 100},
                        "contact_phone": {"type": "string", "maxLength": 32},
                        "title": {"type": "string", "maxLength": 200},
                        "description": {"type": "string"},
                        "beneficiaries": {"type": "string", "maxLength": 300},
                        "budget_lines": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["item", "quantity", "unit_price"],
                                "properties": {
                                    "item": {"type": "string"},
                                    "quantity": _AMOUNT,
                                    "unit_price": _AMOUNT,
                                },
                            },
                        },
                        "cofunding": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "source": {"type": "string"},
                                    "kind": {"type": "string", "enum": ["cash", "in-kind"]},
                                    "amount": _AMOUNT,
                                },
                            },
                        },
                        "requested": _AMOUNT,
                        "attachments": {"type": "array", "items": _ref("Upload")},
                    },
                },
                "GrantDecision": {
                    "type": "object",
                    "required": ["decision"],
                    "properties": {
                        "decision": {"type": "string", "enum": ["approved", "rejected"]},
                        "amount": _AMOUNT,
                        "note": {"type": "string"},
                        "published_on": _DATE,
                    },
                },
                "GrantAward": {
                    "type": "object",
                    "required": ["date"],
                    "properties": {"id": _ID, "date": _DATE, "amount": _AMOUNT},
                },
                "GrantDisbursement": {
                    "type": "object",
                    "required": ["date", "amount"],
                    "properties": {
                        "id": _ID,
                        "date": _DATE,
                        "amount": _AMOUNT,
                        "paid_from": {
                            "type": "string",
                            "enum": ["cash", "bank", "wechat", "alipay"],
                        },
                    },
                },
                "GrantExpenseReport": {
                    "type": "object",
                    "required": ["date", "summary"],
                    "properties": {
                        "id": _ID,
                        "date": _DATE,
                        "summary": {"type": "string", "maxLength": 300},
                        "amount": _AMOUNT,
                        "lines": {
                            "type": "array",
                            "description": "Spending per budget line (index into budget_lines)",
                            "items": {
                                "type": "object",
                                "properties": {"line": {"type": "integer"}, "amount": _AMOUNT},
                            },
                        },
                        "receipts": {"type": "array", "items": _ref("Upload")},
                        "paper_receipts": {"type": "integer", "minimum": 0},
                    },
                },
                "GrantClose": {
                    "type": "object",
                    "required": ["date", "leftover", "evaluation"],
                    "properties": {
                        "id": _ID,
                        "date": _DATE,
                        "returned": {
                            "type": "string",
                            "description": "Must equal what is outstanding",
                        },
                        "returned_to": {
                            "type": "string",
                            "enum": ["cash", "bank", "wechat", "alipay"],
                        },
                        "leftover": {
                            "type": "string",
                            "description": "剩余财产 and what became of it",
                        },
                        "evaluation": {
                            "type": "object",
                            "required": ["goals_met", "beneficiaries_served", "satisfaction"],
                            "properties": {
                                "goals_met": {"type": "string", "enum": ["yes", "partly", "no"]},
                                "beneficiaries_served": {"type": "integer", "minimum": 0},
                                "satisfaction": {"type": "integer", "minimum": 0, "maximum": 100},
                                "note": {"type": "string"},
                            },
                        },
                    },
                },
                "Grant": {
                    "type": "object",
                    "properties": {
                        "id": _ID,
                        "status": {"type": "string"},
                        "closed": {"type": "boolean"},
                        "awarded": _AMOUNT,
                        "disbursed": _AMOUNT,
                        "spent": _AMOUNT,
                        "returned": _AMOUNT,
                        "outstanding": _AMOUNT,
                        "committed": _AMOUNT,
                    },
                },
                "ExpenseRequest": {
                    "type": "object",
                    "required": ["date", "amount", "fund", "payee", "purpose"],
                    "properties": {
                        "id": _ID,
                        "date": _DATE,
                        "amount": _AMOUNT,
                        "fund": {"type": "string"},
                        "payee": {"type": "string", "maxLength": 200},
                        "purpose": {"type": "string", "maxLength": 300},
                        "line": {
                            "type": "string",
                            "enum": ["programme", "admin", "fundraising", "other"],
                            "default": "programme",
                        },
                        "paid_from": {
                            "type": "string",
                            "enum": ["cash", "bank", "wechat", "alipay"],
                            "default": "bank",
                        },
                    },
                },
                "ReversalRequest": {
                    "type": "object",
                    "required": ["original_id", "reason", "date"],
                    "properties": {
                        "id": _ID,
                        "original_id": _ID,
                        "reason": {"type": "string", "maxLength": 300},
                        "date": _DATE,
                    },
                },
                "Written": {
                    "type": "object",
                    "required": ["id", "head_hash"],
                    "properties": {
                        "id": _ID,
                        "head_hash": {"type": "string"},
                        "created": {"type": "boolean"},
                        "receipt": {
                            "type": "string",
                            "description": "Confirmation number YYYY-NNNNNN",
                        },
                    },
                },
                "Request": {
                    "type": "object",
                    "properties": {
                        "id": _ID,
                        "kind": {
                            "type": "string",
                            "enum": [
                                "expense",
                                "reversal",
                                "grant-award",
                                "grant-disbursement",
                                "grant-expense",
                                "grant-close",
                            ],
                        },
                        "status": {"type": "string", "enum": ["pending", "approved", "rejected"]},
                        "amount": _AMOUNT,
                        "fund": {"type": "string"},
                        "summary": {"type": "string"},
                        "entered_by": {"type": "string"},
                        "decided_by": {"type": "string", "nullable": True},
                        "entry_id": {"type": "string", "nullable": True},
                        "head_hash": {"type": "string", "nullable": True},
                    },
                },
                "Fund": {
                    "type": "object",
                    "required": ["slug", "name", "restricted", "income", "spent", "balance"],
                    "properties": {
                        "slug": {"type": "string"},
                        "name": {"type": "string"},
                        "restricted": {"type": "boolean"},
                        "income": {"type": "string"},
                        "spent": {"type": "string"},
                        "balance": {"type": "string"},
                        "committed": {
                            "type": "string",
                            "description": "Committed to awarded grants",
                        },
                    },
                },
                "Entry": {
                    "type": "object",
                    "properties": {
                        "id": _ID,
                        "date": _DATE,
                        "payee": {"type": "string"},
                        "narration": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "links": {"type": "array", "items": {"type": "string"}},
                        "meta": {"type": "object", "additionalProperties": True},
                        "postings": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "account": {"type": "string"},
                                    "amount": {"type": "string"},
                                    "currency": {"type": "string"},
                                    "fund": {"type": "string"},
                                },
                            },
                        },
                        "funds": {"type": "array", "items": {"type": "object"}},
                        "reversed_by": {"type": "string", "nullable": True},
                        "head_hash": {"type": "string"},
                    },
                },
            },
        },
    }


# -- month-end reconciliation and close ---------------------------------------------------------------

_MONTH = {
    "name": "month",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}$", "example": "2026-02"},
}
_BALANCE = {"type": "string", "pattern": r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$", "example": "1234.56"}
_PERIOD_PATHS: dict[str, Any] = {
    "/periods/{month}/reconcile": {
        "post": {
            "operationId": "reconcileAccount",
            "summary": "Compare an account's ledger balance at the month end with its statement",
            "parameters": [_MONTH],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["account", "statement_balance"],
                            "properties": {
                                "account": {
                                    "type": "string",
                                    "example": "Assets:1002-银行存款",
                                    "description": "A cash, bank, WeChat Pay or Alipay account",
                                },
                                "statement_balance": _BALANCE,
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": _json(_ref("Reconciliation"), "The comparison (nothing is written)"),
                **{k: _ERRORS[k] for k in ("401", "403", "422")},
            },
        }
    },
    "/periods/{month}/close": {
        "post": {
            "operationId": "closeMonth",
            "summary": (
                "Request the month close with the statement balances; another person approves it "
                "(approveRequest), which writes balance assertions and locks the month"
            ),
            "parameters": [_MONTH],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["statements"],
                            "properties": {
                                "statements": {
                                    "type": "object",
                                    "description": "Account -> statement balance at month end",
                                    "additionalProperties": _BALANCE,
                                }
                            },
                        }
                    }
                },
            },
            "responses": {
                "202": _json(_ref("Request"), "Accepted, awaiting approval"),
                **{k: _ERRORS[k] for k in ("401", "403", "422", "503")},
            },
        }
    },
}
_PERIOD_SCHEMAS: dict[str, Any] = {
    "Reconciliation": {
        "type": "object",
        "required": ["account", "month", "ledger_balance", "statement_balance", "difference"],
        "properties": {
            "account": {"type": "string"},
            "month": {"type": "string"},
            "ledger_balance": _BALANCE,
            "statement_balance": _BALANCE,
            "difference": {**_BALANCE, "description": "Statement less ledger"},
            "agrees": {"type": "boolean"},
            "closed": {"type": "boolean"},
            "entries": {
                "type": "array",
                "description": "The month's entries on the account, when they disagree",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "date": _DATE,
                        "narration": {"type": "string"},
                        "amount": {"type": "string"},
                    },
                },
            },
        },
    }
}
_document_before_periods = openapi_document


def openapi_document() -> dict[str, Any]:  # type: ignore[no-redef]
    """The document with the month-end operations added."""
    doc = _document_before_periods()
    doc["paths"].update(_PERIOD_PATHS)
    doc["components"]["schemas"].update(_PERIOD_SCHEMAS)
    kind = doc["components"]["schemas"]["Request"]["properties"]["kind"]
    if "enum" in kind and "month-close" not in kind["enum"]:
        kind["enum"] = [*kind["enum"], "month-close"]
    return doc


# -- 共享食堂 ----------------------------------------------------------------------------------------

_CANTEEN_MONTH = {
    "name": "month",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}$", "example": "2026-02"},
}
_MONEY_STR = {"type": "string", "example": "1234.56"}
_MEAL_CLASS = {"type": "string", "enum": ["elder", "standard", "staff", "group"]}
_CANTEEN_PATHS: dict[str, Any] = {
    "/canteen/days": {
        "post": {
            "operationId": "recordCanteenDay",
            "summary": (
                "Record one day's canteen sales by meal class and payment channel, with the meal "
                "subsidies received; a day already recorded is refused (correct it by a reversal)"
            ),
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("CanteenDay")}},
            },
            "responses": {
                "201": _json(_ref("WriteResult"), "The day's entry was written"),
                "200": _json(_ref("WriteResult"), "The same day was already written"),
                **{k: _ERRORS[k] for k in ("401", "403", "422", "503")},
            },
        }
    },
    "/canteen/imports": {
        "post": {
            "operationId": "importCanteenSales",
            "summary": (
                "Preview or post a point-of-sale daily summary (CSV: 日期,餐别,支付方式,份数,金额); "
                "all days are checked first, a day already recorded refuses the whole file"
            ),
            "parameters": [
                {
                    "name": "post",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "boolean", "default": False},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
            },
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "posted": {"type": "boolean"},
                            "days": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "date": {"type": "string", "format": "date"},
                                        "meals": {"type": "integer"},
                                        "amount": _MONEY_STR,
                                        "status": {
                                            "type": "string",
                                            "enum": ["new", "recorded", "posted"],
                                        },
                                        "entry_id": {"type": "string", "nullable": True},
                                    },
                                },
                            },
                        },
                    },
                    "The days of the file and what became of them",
                ),
                **{k: _ERRORS[k] for k in ("401", "403", "422", "503")},
            },
        }
    },
    "/canteen/months/{month}": {
        "get": {
            "operationId": "getCanteenMonth",
            "summary": (
                "The canteen's month from the ledger: meals, revenue, subsidies, costs, surplus, "
                "cost per meal, the three months before, and the 反哺 proposed by the rule in force"
            ),
            "parameters": [_CANTEEN_MONTH],
            "responses": {
                "200": _json(_ref("CanteenMonth"), "The month's figures"),
                **{k: _ERRORS[k] for k in ("401", "403", "422")},
            },
        }
    },
}
_CANTEEN_FIGURES: dict[str, Any] = {
    "month": {"type": "string"},
    "meals": {"type": "object", "additionalProperties": {"type": "integer"}},
    "total_meals": {"type": "integer"},
    "revenue": {"type": "object", "additionalProperties": _MONEY_STR},
    "total_revenue": _MONEY_STR,
    "subsidies": {"type": "object", "additionalProperties": _MONEY_STR},
    "total_subsidies": _MONEY_STR,
    "other_income": _MONEY_STR,
    "costs": {"type": "object", "additionalProperties": _MONEY_STR},
    "total_costs": _MONEY_STR,
    "surplus": {**_MONEY_STR, "description": "Negative for a loss"},
    "cost_per_meal": {**_MONEY_STR, "nullable": True},
    "subsidy_per_elder_meal": {**_MONEY_STR, "nullable": True},
}
_CANTEEN_SCHEMAS: dict[str, Any] = {
    "CanteenDay": {
        "type": "object",
        "required": ["date", "sales"],
        "properties": {
            "date": {"type": "string", "format": "date"},
            "sales": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["meal_class", "channel", "meals", "amount"],
                    "properties": {
                        "meal_class": _MEAL_CLASS,
                        "channel": {"type": "string", "enum": ["cash", "bank", "wechat", "alipay"]},
                        "meals": {"type": "integer", "minimum": 0},
                        "amount": _MONEY_STR,
                    },
                },
            },
            "subsidies": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["source", "meals", "per_meal"],
                    "properties": {
                        "source": {"type": "string", "example": "街道办助餐补贴"},
                        "source_kind": {"type": "string", "enum": ["government", "charity"]},
                        "meal_class": _MEAL_CLASS,
                        "meals": {"type": "integer", "minimum": 1},
                        "per_meal": _MONEY_STR,
                        "channel": {
                            "type": "string",
                            "enum": ["cash", "bank", "wechat", "alipay", "receivable"],
                        },
                    },
                },
            },
            "note": {"type": "string"},
        },
    },
    "CanteenMonth": {
        "type": "object",
        "properties": {
            **_CANTEEN_FIGURES,
            "previous": {
                "type": "array",
                "items": {"type": "object", "properties": _CANTEEN_FIGURES},
            },
            "feedback": {
                "type": "object",
                "nullable": True,
                "description": "The 反哺 proposed by the rule in force (null without a rule)",
                "properties": {
                    "amount": _MONEY_STR,
                    "target_fund": {"type": "string"},
                    "carried_loss": _MONEY_STR,
                    "reserve": _MONEY_STR,
                    "share": {"type": "string"},
                    "rule_from": {"type": "string"},
                    "explanation": {"type": "string"},
                    "entry_id": {"type": "string", "nullable": True},
                },
            },
        },
    },
}
_document_before_canteen = openapi_document


def openapi_document() -> dict[str, Any]:  # type: ignore[no-redef]
    """The document with the canteen operations added."""
    doc = _document_before_canteen()
    doc["paths"].update(_CANTEEN_PATHS)
    doc["components"]["schemas"].update(_CANTEEN_SCHEMAS)
    schemas = doc["components"]["schemas"]
    if "WriteResult" not in schemas:
        schemas["WriteResult"] = {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "head_hash": {"type": "string"},
                "created": {"type": "boolean"},
            },
        }
    kind = schemas["Request"]["properties"]["kind"]
    if "enum" in kind:
        kind["enum"] = [
            *kind["enum"],
            *(k for k in ("canteen-cost", "canteen-feedback") if k not in kind["enum"]),
        ]
    return doc


# -- statements and the ledger for auditors ---------------------------------------------------------

_FIGURE = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "example": "1234.56"}
_HEAD_HEADER = {
    "X-Ledger-Head": {
        "description": "The ledger's head hash the answer was built from",
        "schema": {"type": "string"},
    }
}
_AUDIT_PATHS: dict[str, Any] = {
    "/statements/{type}": {
        "get": {
            "operationId": "getStatement",
            "summary": (
                "A statement of 《民间非营利组织会计制度》 for a period: 资产负债表, 业务活动表, "
                "现金流量表 or 科目余额表, as JSON, CSV (UTF-8 with BOM) or PDF (A4, embedded font)"
            ),
            "parameters": [
                {
                    "name": "type",
                    "in": "path",
                    "required": True,
                    "schema": {
                        "type": "string",
                        "enum": ["balance_sheet", "activities", "cash_flow", "trial_balance"],
                    },
                },
                {
                    "name": "period",
                    "in": "query",
                    "required": True,
                    "description": "2026, 2026-Q1, 2026-03 or 2026-01-01..2026-03-31",
                    "schema": {"type": "string", "example": "2026-Q1"},
                },
                {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["json", "csv", "pdf"], "default": "json"},
                },
            ],
            "responses": {
                "200": {
                    "description": "The statement",
                    "headers": _HEAD_HEADER,
                    "content": {
                        "application/json": {"schema": _ref("FinancialStatement")},
                        "text/csv": {"schema": {"type": "string", "format": "binary"}},
                        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    },
                },
                **{k: _ERRORS[k] for k in ("401", "403", "422")},
            },
        }
    },
    "/ledger/export": {
        "get": {
            "operationId": "exportLedger",
            "summary": (
                "The canonical Beancount files as a zip with MANIFEST.txt (sha256sum -c), "
                "MANIFEST.json and README.txt, copied under the writers' shared lock"
            ),
            "responses": {
                "200": {
                    "description": "The zip",
                    "headers": {
                        **_HEAD_HEADER,
                        "X-Ledger-Seq": {
                            "description": "The sequence number of the last entry",
                            "schema": {"type": "integer"},
                        },
                        "X-Content-SHA256": {
                            "description": "The sha256 of the zip itself",
                            "schema": {"type": "string"},
                        },
                    },
                    "content": {
                        "application/zip": {"schema": {"type": "string", "format": "binary"}}
                    },
                },
                **{k: _ERRORS[k] for k in ("401", "403")},
            },
        }
    },
}
_AUDIT_SCHEMAS: dict[str, Any] = {
    "FinancialStatement": {
        "type": "object",
        "required": ["kind", "title", "form", "period", "columns", "lines", "head_hash"],
        "properties": {
            "kind": {
                "type": "string",
                "enum": ["balance_sheet", "activities", "cash_flow", "trial_balance"],
            },
            "title": {"type": "string", "example": "业务活动表"},
            "title_en": {"type": "string", "example": "Statement of activities"},
            "form": {"type": "string", "example": "会民非02表"},
            "period": {
                "type": "object",
                "properties": {
                    "start": _DATE,
                    "end": _DATE,
                    "label": {"type": "string", "example": "2026-01-01 至 2026-03-31"},
                },
            },
            "columns": {
                "type": "array",
                "items": {"type": "string"},
                "example": ["非限定性", "限定性", "合计"],
            },
            "lines": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "key": {"type": "string", "description": "Stable name of the line"},
                        "label": {"type": "string", "description": "As printed"},
                        "row": {"type": "integer", "nullable": True, "description": "行次"},
                        "kind": {
                            "type": "string",
                            "enum": ["section", "item", "subtotal", "total"],
                        },
                        "indent": {"type": "integer"},
                        "values": {
                            "type": "array",
                            "items": _FIGURE,
                            "description": "One figure per column (none for a section)",
                        },
                    },
                },
            },
            "notes": {"type": "array", "items": {"type": "string"}},
            "head_hash": {"type": "string"},
            "head_seq": {"type": "integer"},
            "generated_at": {"type": "string", "format": "date-time"},
        },
    }
}
_document_before_audit = openapi_document


def openapi_document() -> dict[str, Any]:  # type: ignore[no-redef]
    """The document with the auditors' operations added."""
    doc = _document_before_audit()
    doc["paths"].update(_AUDIT_PATHS)
    doc["components"]["schemas"].update(_AUDIT_SCHEMAS)
    return doc
