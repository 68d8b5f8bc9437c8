"""信息公开 on the public site: every published disclosure with its date, newest first, and each one.

Nothing personal is shown: not who published it (a staff username), no contact person of a
grantee group; a disclosure about a grant links to the grant's own public page.
"""

from __future__ import annotations

from flask import abort, render_template
from flask.typing import ResponseReturnValue

from ledger_app import disclosure_workflow as dw
from ledger_app.books import get_book
from ledger_app.forms_common import today
from ledger_app.public.views import bp


@bp.route("/disclosures")
def disclosures() -> ResponseReturnValue:
    return render_template(
        "public/disclosures.html",
        items=dw.public_disclosures(today()),
        head_hash=get_book().head_hash,
    )


@bp.route("/disclosures/<int:disclosure_id>")
def disclosure(disclosure_id: int) -> ResponseReturnValue:
    item = dw.public_disclosure(disclosure_id, today())
    if item is None:
        abort(404)
    return render_template("public/disclosure.html", item=item, head_hash=get_book().head_hash)
