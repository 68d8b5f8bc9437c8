"""Donors, donation kinds, confirmation numbers, voids, official receipts and pledges, through
the administrators' pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from app_testkit import counts, give, ledger_entry, snapshot
from beanquery_helpers import bean_query_sum
from pypdf import PdfReader

from ledger_app import donors as registry
from ledger_app import workflow
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import Donor, Pledge


def _donation_form(**overrides: str) -> dict[str, str]:
    data = {
        "donor_name": "赵桂兰",
        "donor_kind": "person",
        "donor_phone": "13911112222",
        "display": "masked",
        "amount": "300",
        "channel": "wechat",
        "fund": "zhulaocan",
        "date": today().isoformat(),
        "note": "",
        "form": "money",
        "valuation_basis": "",
        "valued_by": "",
        "project": "",
        "pledge": "",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("channel", ["cash", "bank", "wechat", "alipay"])
def test_a_money_donation_by_each_channel_gets_the_next_confirmation_number(app, auth, channel):
    auth.login("admin")
    give(app, "10.00")
    response = auth.post("/admin/donations/new", _donation_form(channel=channel))
    assert response.status_code == 302
    year = today().year
    assert response.headers["Location"].endswith(f"/admin/receipts/{year}-000002")
    with app.app_context():
        txn = get_book().by_receipt(f"{year}-000002")
        assert txn is not None
        assert txn.meta["channel"] == channel
        assert txn.meta["display"] == "masked"


@pytest.mark.parametrize(
    ("form_kind", "account"),
    [("goods", "Assets:1201-存货"), ("fixed_asset", "Assets:1501-固定资产")],
)
def test_a_gift_in_kind_records_its_valuation_and_lands_in_its_asset_account(
    app, auth, form_kind, account
):
    auth.login("admin")
    form = _donation_form(
        form=form_kind, valuation_basis="超市发票 No.8812", valued_by="李会计", amount="1,280.00"
    )
    assert auth.post("/admin/donations/new", form).status_code == 302
    with app.app_context():
        txn = get_book().by_receipt(f"{today().year}-000001")
    assert txn.meta["form"] == form_kind
    assert txn.meta["valuation-basis"] == "超市发票 No.8812"
    assert {p.account for p in txn.postings} == {account, "Income:4101-捐赠收入:限定性"}
    main = str(app.config["LEDGER_DIR"]) + "/main.beancount"
    assert bean_query_sum(main, f"account = '{account}'") == Decimal("1280.00")


def test_a_gift_in_kind_without_a_valuation_basis_is_refused_and_nothing_changes(app, auth):
    auth.login("admin")
    before, rows = snapshot(app), counts(app)
    response = auth.post("/admin/donations/new", _donation_form(form="goods", valued_by="李会计"))
    assert response.status_code == 400
    assert "此项必填" in response.get_data(as_text=True)
    assert snapshot(app) == before
    assert counts(app) == rows


def test_a_corporate_sponsorship_names_its_project(app, auth):
    auth.login("admin")
    form = _donation_form(
        donor_name="成都锦城物业服务有限公司",
        donor_kind="organisation",
        display="name",
        amount="8000",
        fund="meiyuanzi",
        channel="bank",
        project="3号院花园",
        donor_phone="",
    )
    assert auth.post("/admin/donations/new", form).status_code == 302
    with app.app_context():
        txn = get_book().by_receipt(f"{today().year}-000001")
    assert txn.meta["project"] == "3号院花园"
    assert txn.meta["donor-kind"] == "organisation"
    assert txn.payee == "成都锦城物业服务有限公司"


def test_a_pledge_is_not_income_until_paid_and_its_payments_are_counted(app, auth):
    auth.login("admin")
    ledger_before = snapshot(app)
    page = auth.post(
        "/admin/pledges",
        {
            "donor_name": "蓉和餐饮",
            "donor_kind": "organisation",
            "donor_phone": "",
            "display": "name",
            "amount": "10000",
            "fund": "zhulaocan",
            "project": "",
            "pledged_on": today().isoformat(),
            "due_on": "",
            "note": "全年助老餐",
        },
    )
    assert page.status_code == 303
    assert snapshot(app) == ledger_before  # a promise writes nothing to the ledger
    with app.app_context():
        pledge = db.session.scalars(db.select(Pledge)).one()
        pledge_id = pledge.id
    paid = auth.post(
        "/admin/donations/new",
        _donation_form(
            donor_name="蓉和餐饮",
            donor_kind="organisation",
            donor_phone="",
            display="name",
            amount="4000",
            pledge=pledge_id,
            channel="bank",
        ),
    )
    assert paid.status_code == 302
    with app.app_context():
        status = registry.pledge_status(get_book(), db.session.get(Pledge, pledge_id))
    assert status.paid == Decimal("4000.00")
    assert status.outstanding == Decimal("6000.00")
    listing = auth.client.get("/admin/pledges").get_data(as_text=True)
    assert "¥6,000.00" in listing


def test_paying_an_unknown_pledge_or_into_another_fund_is_refused(app, auth):
    auth.login("admin")
    with app.app_context():
        donor = workflow.find_or_create_donor(workflow.DonorInput("蓉和餐饮", kind="organisation"))
        pledge = registry.create_pledge(get_book(), donor, "500", "zhulaocan", today(), "admin")
        pledge_id = pledge.id
    before, rows = snapshot(app), counts(app)
    unknown = auth.post("/admin/donations/new", _donation_form(pledge="p-nope"))
    assert unknown.status_code == 400
    assert "没有编号为 p-nope 的有效认捐" in unknown.get_data(as_text=True)
    wrong_fund = auth.post("/admin/donations/new", _donation_form(pledge=pledge_id, fund="general"))
    assert wrong_fund.status_code == 400
    assert "捐入的基金是 zhulaocan" in wrong_fund.get_data(as_text=True)
    assert snapshot(app) == before
    assert counts(app) == rows


def test_confirmation_numbers_run_without_gaps_and_a_void_keeps_its_place(app, signed_in):
    ids = [give(app, f"{n}0.00", fund="general") for n in range(1, 4)]
    admin = signed_in("admin")
    year = today().year
    page = admin.client.get(f"/admin/receipts/{year}-000002")
    assert page.status_code == 200
    void = admin.post(
        f"/admin/receipts/{year}-000002/void",
        {"void-reason": "退款给捐赠人", "void-date": today().isoformat()},
        form_page=f"/admin/receipts/{year}-000002",
    )
    assert void.status_code == 303
    approver = signed_in("approver")
    approvals = approver.client.get("/admin/approvals").get_data(as_text=True)
    assert "作废捐赠确认书" in approvals
    with app.app_context():
        req = workflow.approve_request(get_book(), _pending_id(), "approver")
        assert req.entry_id
    give(app, "40.00")
    register = admin.client.get(f"/admin/receipts?year={year}").get_data(as_text=True)
    for n in range(1, 5):
        assert f"{year}-{n:06d}" in register
    assert "已作废" in register
    reversal = ledger_entry(app, req.entry_id)
    assert reversal.meta["reverses"] == ids[1]
    assert ids[1] in reversal.links


def _pending_id() -> str:
    from ledger_app.models import OutflowRequest

    return db.session.scalars(
        db.select(OutflowRequest.id).where(OutflowRequest.status == "pending")
    ).one()


def test_the_confirmation_pdf_says_it_is_not_the_official_receipt(app, signed_in):
    give(app, "100.00", fund="zhulaocan", name="钱秀兰", phone="13600001111")
    admin = signed_in("admin")
    response = admin.client.get(f"/admin/receipts/{today().year}-000001.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    import io

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "壹佰元整" in text
    main = str(app.config["LEDGER_DIR"]) + "/main.beancount"
    from ledger.money import format_cny

    ledger_amount = -bean_query_sum(
        main, f"account ~ '^Income' AND entry_meta('receipt') = '{today().year}-000001'"
    )
    assert ledger_amount == Decimal("100.00")
    assert format_cny(ledger_amount) in text
    assert "钱*" in text
    assert "钱秀兰" not in text
    assert "13600001111" not in text
    assert "公益事业捐赠票据" in text


def test_an_official_receipt_is_recorded_once_with_a_clear_refusal_otherwise(app, signed_in):
    give(app, "100.00")
    admin = signed_in("admin")
    number = f"{today().year}-000001"
    form_page = f"/admin/receipts/{number}"
    good = {
        "official-code": "51010126",
        "official-number": "00012345",
        "official-check_code": "A1B2",
        "official-issued_on": today().isoformat(),
    }
    assert admin.post(f"{form_page}/official", good, form_page=form_page).status_code == 303
    assert "00012345" in admin.client.get(form_page).get_data(as_text=True)
    give(app, "5.00")
    rows = counts(app)
    again = admin.post(f"{form_page}/official", good, form_page=form_page)
    assert again.status_code == 303
    assert counts(app) == rows
    hostile = {**good, "official-number": "12<script>"}
    other = f"/admin/receipts/{today().year}-000002"
    admin.post(f"{other}/official", hostile, form_page=other)
    assert counts(app) == rows
    assert "已登记正式" not in admin.client.get(other).get_data(as_text=True)


def test_donors_are_found_by_name_or_phone_and_merged_without_touching_the_ledger(app, signed_in):
    give(app, "10.00", name="孙美华", phone="13512345678")
    give(app, "20.00", name="孙美华 ", phone="")  # the same person typed without a phone
    with app.app_context():
        keep, dup = db.session.scalars(db.select(Donor).order_by(Donor.id)).all()
        keep_ref, dup_ref = keep.ref, dup.ref
    admin = signed_in("admin")
    assert keep_ref in admin.client.get("/admin/donors?q=1351234").get_data(as_text=True)
    assert dup_ref in admin.client.get("/admin/donors?q=孙美").get_data(as_text=True)
    before = snapshot(app)
    merged = admin.post(
        f"/admin/donors/{keep_ref}/merge",
        {"merge-duplicate": dup_ref},
        form_page=f"/admin/donors/{keep_ref}",
    )
    assert merged.status_code == 303
    assert snapshot(app) == before
    page = admin.client.get(f"/admin/donors/{keep_ref}").get_data(as_text=True)
    assert dup_ref in page
    assert "¥20.00" in page
    assert "¥10.00" in page
    assert admin.client.get(f"/admin/donors/{dup_ref}").status_code == 302
    self_merge = admin.post(
        f"/admin/donors/{keep_ref}/merge",
        {"merge-duplicate": keep_ref},
        form_page=f"/admin/donors/{keep_ref}",
    )
    assert self_merge.status_code == 303
    assert "不能把捐赠人合并到自己" in admin.client.get(f"/admin/donors/{keep_ref}").get_data(
        as_text=True
    )


def test_a_donor_changes_how_they_appear_for_later_donations_only(app, signed_in):
    first = give(app, "10.00", name="周建国", phone="13300001111", display="name")
    with app.app_context():
        ref = db.session.scalars(db.select(Donor.ref)).one()
    admin = signed_in("admin")
    page = f"/admin/donors/{ref}"
    response = admin.post(
        page,
        {
            "name": "周建国",
            "kind": "person",
            "phone": "13300001111",
            "address": "",
            "display": "anonymous",
            "consent_on": today().isoformat(),
            "consent_note": "电话确认",
        },
    )
    assert response.status_code == 303
    second = give(app, "20.00", name="周建国", phone="13300001111", display="anonymous")
    assert ledger_entry(app, first).payee == "周建国"
    assert ledger_entry(app, second).payee == "匿名"


@pytest.mark.parametrize("role", ["auditor"])
def test_an_auditor_sees_no_donor_registry(app, signed_in, role):
    give(app, "10.00")
    client = signed_in(role).client
    assert client.get("/admin/donors").status_code == 403
    assert client.get(f"/admin/receipts/{today().year}-000001").status_code == 403


def test_an_approver_can_read_but_not_change_donors(app, signed_in):
    give(app, "10.00", name="吴小梅")
    with app.app_context():
        ref = db.session.scalars(db.select(Donor.ref)).one()
    approver = signed_in("approver")
    assert approver.client.get(f"/admin/donors/{ref}").status_code == 200
    before = counts(app)
    response = approver.post(
        f"/admin/donors/{ref}", {"name": "改名", "kind": "person", "display": "name", "phone": ""}
    )
    assert response.status_code == 403
    assert counts(app) == before


def test_dates_of_confirmations_follow_the_donation_year(app):
    last_year = dt.date(today().year - 1, 12, 31)
    give(app, "10.00", day=last_year)
    give(app, "10.00")
    with app.app_context():
        book = get_book()
        assert book.by_receipt(f"{last_year.year}-000001") is not None
        assert book.by_receipt(f"{today().year}-000001") is not None


def test_the_public_verification_page_says_whether_the_official_receipt_was_issued(app, signed_in):
    give(app, "100.00")
    number = f"{today().year}-000001"
    with app.app_context():
        code = get_book().by_receipt(number).meta["verify"]
    public = signed_in("auditor").client  # any client; the page needs no sign-in
    before = public.get(f"/verify?no={number}&code={code}").get_data(as_text=True)
    assert "正式捐赠票据尚未开具" in before
    admin = signed_in("admin")
    official = {
        "official-code": "51010126",
        "official-number": "00099999",
        "official-check_code": "",
        "official-issued_on": today().isoformat(),
    }
    admin.post(
        f"/admin/receipts/{number}/official", official, form_page=f"/admin/receipts/{number}"
    )
    after = public.get(f"/verify?no={number}&code={code}").get_data(as_text=True)
    assert f"正式捐赠票据已于 {today().isoformat()} 开具" in after
    assert "00099999" not in after  # the official numbers stay with the donor's paper
