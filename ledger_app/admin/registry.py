"""Administrators' registry pages: donors, donation confirmations (receipts) and pledges."""

from __future__ import annotations

import io

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ledger import disclosure
from ledger_app import donors, workflow
from ledger_app.admin.forms import (
    DonorForm,
    MergeForm,
    OfficialReceiptForm,
    PledgeForm,
    VoidForm,
)
from ledger_app.admin.views import STAFF, _attempt, _fund_choices, bp
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import Donor, Pledge
from ledger_app.security import role_required


def verify_url(number: str, code: str) -> str:
    """The public verification address printed as a QR code on a confirmation."""
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
    return f"{base.rstrip('/')}{url_for('public.verify_receipt', no=number, code=code)}"


# -- donors -------------------------------------------------------------------------------------


@bp.route("/donors")
@role_required(*STAFF)
def donors_list() -> ResponseReturnValue:
    query = request.args.get("q", "")[:100]
    return render_template("admin/donors.html", donors=donors.search_donors(query), q=query)


@bp.route("/donors/<ref>", methods=["GET", "POST"])
@role_required(*STAFF)
def donor(ref: str) -> ResponseReturnValue:
    found = donors.by_ref(ref)
    if found is None:
        abort(404)
    if found.ref != ref:
        return redirect(url_for("admin.donor", ref=found.ref))
    form = DonorForm(obj=found)
    merge = MergeForm(prefix="merge")
    if request.method == "POST" and current_user.role != "admin":
        abort(403)
    if form.validate_on_submit() and "merge-duplicate" not in request.form:
        change = donors.DonorUpdate(
            form.name.data,
            form.phone.data or "",
            form.kind.data,
            form.display.data,
            form.address.data or "",
            form.consent_on.data,
            form.consent_note.data or "",
        )
        if _attempt(form, lambda: donors.update_donor(found, change, current_user.username)):
            flash(_("已保存捐赠人信息。新的公开方式用于今后的捐赠；账本中已有的记录不会改动。"))
            return redirect(url_for("admin.donor", ref=found.ref), 303)
    book = get_book()
    history = donors.donations_of(book, found)
    return render_template(
        "admin/donor.html",
        donor=found,
        form=form,
        merge=merge,
        history=history,
        book=book,
        merged=sorted(donors.refs_of(found) - {found.ref}),
    ), 400 if form.errors else 200


@bp.route("/donors/<ref>/merge", methods=["POST"])
@role_required("admin")
def merge_donor(ref: str) -> ResponseReturnValue:
    keep = donors.by_ref(ref)
    if keep is None:
        abort(404)
    form = MergeForm(prefix="merge")
    if not form.validate_on_submit():
        flash("；".join(e for errs in form.errors.values() for e in errs), "error")
    elif _attempt(
        form, lambda: donors.merge_donors(keep, form.duplicate.data, current_user.username)
    ):
        flash(_("已合并捐赠人 %(dup)s。账本未改动。", dup=form.duplicate.data))
    else:
        flash("；".join(form.form_errors + form.duplicate.errors), "error")
    return redirect(url_for("admin.donor", ref=keep.ref), 303)


# -- confirmations (receipts) -------------------------------------------------------------------


@bp.route("/receipts")
@role_required(*STAFF)
def receipts() -> ResponseReturnValue:
    year = request.args.get("year", type=int) or today().year
    rows = disclosure.receipt_register(get_book(), year)
    officials = {r.receipt_no for r in db.session.scalars(select(donors.OfficialReceipt))}
    return render_template("admin/receipts.html", rows=rows, year=year, officials=officials)


@bp.route("/receipts/<number>", methods=["GET"])
@role_required(*STAFF)
def receipt(number: str) -> ResponseReturnValue:
    view = disclosure.receipt_record(get_book(), number)
    if view is None:
        abort(404)
    official = donors.official_for(number)
    form = OfficialReceiptForm(prefix="official")
    void = VoidForm(prefix="void")
    if not void.is_submitted():
        void.date.data = today()
    donor = _donor_of(view.entry_id)
    return render_template(
        "admin/receipt.html",
        view=view,
        official=official,
        form=form,
        void=void,
        donor=donor,
        verify=verify_url(number, view.verify),
    )


def _donor_of(entry_id: str) -> Donor | None:
    txn = get_book().get(entry_id)
    ref = (txn.meta or {}).get("donor") if txn else None
    return donors.by_ref(ref) if isinstance(ref, str) else None


@bp.route("/receipts/<number>.pdf")
@role_required(*STAFF)
def receipt_pdf(number: str) -> ResponseReturnValue:
    from reports.receipt import build_receipt

    view = disclosure.receipt_record(get_book(), number)
    if view is None:
        abort(404)
    official = donors.official_for(number)
    pdf = build_receipt(
        view,
        org_name=current_app.config["ORG_NAME"],
        verify_url=verify_url(number, view.verify),
        host_charity=current_app.config.get("HOST_CHARITY", ""),
        official=(
            {
                "code": official.code,
                "number": official.number,
                "check_code": official.check_code,
                "issued_on": official.issued_on.isoformat(),
            }
            if official
            else None
        ),
    )
    return send_file(
        io.BytesIO(pdf),
        mimetype="application/pdf",
        download_name=f"donation-confirmation-{number}.pdf",
    )


@bp.route("/receipts/<number>/official", methods=["POST"])
@role_required("admin")
def record_official(number: str) -> ResponseReturnValue:
    form = OfficialReceiptForm(prefix="official")
    if form.validate_on_submit():
        official = donors.OfficialInput(
            form.code.data.strip(),
            form.number.data.strip(),
            (form.check_code.data or "").strip(),
            form.issued_on.data,
        )
        done = _attempt(
            form,
            lambda: donors.record_official_receipt(
                get_book(), number, official, current_user.username, today=today()
            ),
        )
        if done:
            flash(_("已登记正式捐赠票据 %(n)s。", n=official.number))
            return redirect(url_for("admin.receipt", number=number), 303)
    flash("；".join(e for errs in form.errors.values() for e in errs), "error")
    return redirect(url_for("admin.receipt", number=number), 303)


@bp.route("/receipts/<number>/void", methods=["POST"])
@role_required("admin")
def void_receipt(number: str) -> ResponseReturnValue:
    form = VoidForm(prefix="void")
    book = get_book()
    view = disclosure.receipt_record(book, number)
    if view is None:
        abort(404)
    if form.validate_on_submit():
        req = _attempt(
            form,
            lambda: workflow.request_reversal(
                book,
                view.entry_id,
                f"作废捐赠确认书 {number}：{form.reason.data}",
                form.date.data,
                current_user.username,
            ),
        )
        if req is not None:
            flash(_("作废申请 %(id)s 已提交，待另一位审批人批准后生效。", id=req.id))
            return redirect(url_for("admin.approvals"), 303)
    flash("；".join(e for errs in form.errors.values() for e in errs), "error")
    return redirect(url_for("admin.receipt", number=number), 303)


# -- pledges ------------------------------------------------------------------------------------


@bp.route("/pledges", methods=["GET", "POST"])
@role_required(*STAFF)
def pledges() -> ResponseReturnValue:
    form = PledgeForm()
    form.fund.choices = _fund_choices()
    if not form.is_submitted():
        form.pledged_on.data = today()
    book = get_book()
    if form.validate_on_submit():
        if current_user.role != "admin":
            abort(403)

        def create() -> Pledge:
            donor = workflow.find_or_create_donor(
                workflow.DonorInput(
                    form.donor_name.data,
                    form.donor_phone.data or "",
                    form.display.data,
                    form.donor_kind.data,
                )
            )
            return donors.create_pledge(
                book,
                donor,
                form.amount.amount,
                form.fund.data,
                form.pledged_on.data,
                current_user.username,
                due_on=form.due_on.data,
                project=form.project.data or "",
                note=form.note.data or "",
            )

        pledge = _attempt(form, create)
        if pledge is not None:
            flash(_("已登记认捐 %(id)s。认捐不是收入，付款时再记录捐赠。", id=pledge.id))
            return redirect(url_for("admin.pledges"), 303)
        db.session.rollback()
    rows = [
        donors.pledge_status(book, p)
        for p in db.session.scalars(select(Pledge).order_by(Pledge.pledged_on.desc()).limit(200))
    ]
    return render_template("admin/pledges.html", form=form, rows=rows), 400 if form.errors else 200
