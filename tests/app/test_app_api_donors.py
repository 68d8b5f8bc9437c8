"""API operations for donors, gifts in kind, pledges and confirmations."""

from __future__ import annotations

from decimal import Decimal

from app_testkit import counts, donation_body, ledger_entry, snapshot

from ledger_app.books import get_book
from ledger_app.forms_common import today


def test_record_donation_answers_with_the_confirmation_number(api):
    first = api("POST", "/donations", json=donation_body(id="don-a"))
    second = api("POST", "/donations", json=donation_body(id="don-b"))
    assert first.status_code == 201
    year = today().year
    assert first.get_json()["receipt"] == f"{year}-000001"
    assert second.get_json()["receipt"] == f"{year}-000002"
    retry = api("POST", "/donations", json=donation_body(id="don-a"))
    assert retry.status_code == 200
    assert retry.get_json()["receipt"] == f"{year}-000001"


def test_a_gift_in_kind_needs_no_channel_but_a_valuation(app, api):
    body = donation_body(
        id="kind-1",
        form="goods",
        valuation_basis="市场价 20袋×50元",
        valued_by="王监事",
        amount="1000.00",
    )
    del body["channel"]
    response = api("POST", "/donations", json=body)
    assert response.status_code == 201, response.get_json()
    entry = ledger_entry(app, "kind-1")
    assert entry.meta["valuation-basis"] == "市场价 20袋×50元"
    before, rows = snapshot(app), counts(app)
    missing = {**body, "id": "kind-2", "valuation_basis": ""}
    refused = api("POST", "/donations", json=missing)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["field"] == "valuation_basis"
    assert snapshot(app) == before
    assert counts(app) == rows


def test_a_pledge_then_its_payment_through_the_api(app, api):
    pledged = api(
        "POST",
        "/pledges",
        json={
            "id": "p-rh-2026",
            "donor": {"name": "蓉和餐饮", "kind": "organisation", "display": "name"},
            "amount": "3000.00",
            "fund": "zhulaocan",
            "pledged_on": today().isoformat(),
        },
    )
    assert pledged.status_code == 201
    assert pledged.get_json()["outstanding"] == "3000.00"
    paid = api(
        "POST",
        "/donations",
        json=donation_body(
            id="pay-1",
            pledge="p-rh-2026",
            amount="1000.00",
            donor={"name": "蓉和餐饮", "kind": "organisation", "display": "name"},
        ),
    )
    assert paid.status_code == 201
    assert ledger_entry(app, "pay-1").meta["pledge"] == "p-rh-2026"


def test_list_donors_is_for_administrators_only(api):
    api("POST", "/donations", json=donation_body(id="don-1"))
    listed = api("GET", "/donors?q=吴")
    assert listed.status_code == 200
    assert listed.get_json()[0]["phone"] == "13012345678"
    assert listed.get_json()[0]["public_name"] == "吴**"
    assert api("GET", "/donors", user="auditor").status_code == 403
    assert api("GET", "/donors", user="approver").status_code == 403
    assert api("GET", "/donors", user=None).status_code == 401


def test_verify_receipt_is_public_and_needs_the_right_code(app, api):
    api("POST", "/donations", json=donation_body(id="don-v", amount="88.00"))
    number = f"{today().year}-000001"
    with app.app_context():
        code = get_book().by_receipt(number).meta["verify"]
    good = api("GET", f"/receipts/{number}/verify?code={code.lower()}", user=None)
    assert good.status_code == 200
    body = good.get_json()
    assert body["amount"] == "88.00"
    assert body["donor"] == "吴**"
    assert "13012345678" not in good.get_data(as_text=True)
    wrong = api("GET", f"/receipts/{number}/verify?code=WRONG", user=None)
    missing = api("GET", f"/receipts/{today().year}-000099/verify?code={code}", user=None)
    assert wrong.status_code == missing.status_code == 404
    assert wrong.get_json() == missing.get_json()


def test_void_receipt_is_a_reversal_awaiting_someone_elses_approval(app, api):
    api("POST", "/donations", json=donation_body(id="don-x", fund="general"))
    number = f"{today().year}-000001"
    asked = api(
        "POST",
        f"/receipts/{number}/void",
        json={"id": "void-1", "reason": "捐赠人要求退款", "date": today().isoformat()},
    )
    assert asked.status_code == 202
    assert asked.get_json()["status"] == "pending"
    own = api("POST", "/requests/void-1/approve")
    assert own.status_code == 422
    assert own.get_json()["error"]["field"] == "approved_by"
    done = api("POST", "/requests/void-1/approve", user="approver")
    assert done.status_code == 200
    with app.app_context():
        code = get_book().by_receipt(number).meta["verify"]
    verified = api("GET", f"/receipts/{number}/verify?code={code}", user=None).get_json()
    assert verified["void"] is True
    assert Decimal(verified["amount"]) == Decimal("200.00")
    assert (
        api(
            "POST", "/receipts/2026-999999/void", json={"reason": "x", "date": today().isoformat()}
        ).status_code
        == 404
    )


def test_the_openapi_document_lists_the_donation_operations(api):
    doc = api("GET", "/openapi.json", user=None).get_json()
    ops = {op["operationId"] for path in doc["paths"].values() for op in path.values()}
    assert {
        "listDonors",
        "recordDonation",
        "voidReceipt",
        "verifyReceipt",
        "importStatement",
        "createPledge",
    } <= ops
    assert doc["paths"]["/receipts/{number}/verify"]["get"]["security"] == []


def test_import_statement_previews_then_posts_and_a_repeat_adds_nothing(app, api):
    from pathlib import Path

    from app_testkit import snapshot as snap

    raw = (Path(__file__).resolve().parents[1] / "data" / "statements" / "wechat.csv").read_bytes()
    before = snap(app)
    preview = api(
        "POST", "/imports?format=auto&fund=general", data=raw, headers={"Content-Type": "text/csv"}
    )
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["posted"] is False
    assert body["counts"]["new"] >= 1
    assert snap(app) == before
    posted = api(
        "POST", "/imports?fund=general&post=true", data=raw, headers={"Content-Type": "text/csv"}
    )
    assert posted.status_code == 200
    created = posted.get_json()["created"]
    assert len(created) == body["counts"]["new"]
    assert all(c["receipt"] for c in created)
    after = snap(app)
    again = api(
        "POST", "/imports?fund=general&post=true", data=raw, headers={"Content-Type": "text/csv"}
    )
    assert again.get_json()["created"] == []
    assert snap(app) == after
    bad = api(
        "POST",
        "/imports?post=true",
        data=b"not,a,statement\n1,2,3\n",
        headers={"Content-Type": "text/csv"},
    )
    assert bad.status_code == 422
    assert bad.get_json()["error"]["field"] == "file"
    assert snap(app) == after
    assert api("POST", "/imports", user="auditor", data=raw).status_code == 403
