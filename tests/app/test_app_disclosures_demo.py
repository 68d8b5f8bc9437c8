"""The demo year's disclosures: a calendar with something overdue, done items with their dates, the
close-out's leftover money equal to bean-query, and the public list showing each with its date."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from beanquery_helpers import bean_query_sum, connect
from flask import Flask
from sqlalchemy import select

from ledger import disclosure_due as due
from ledger_app import disclosure_workflow as dw
from ledger_app.books import get_book
from ledger_app.extensions import db
from ledger_app.forms_common import today
from ledger_app.models import Disclosure


def test_the_demo_publishes_some_disclosures_and_leaves_one_overdue(demo_app: Flask) -> None:
    with demo_app.app_context():
        cal = dw.calendar(get_book(), today())
        published = db.session.scalars(select(Disclosure)).all()
    assert len(published) >= 4
    assert {d.kind for d in published} >= {"quarterly", "closeout", "annual"}
    assert len(cal.overdue) >= 1
    assert all(o.kind == "quarterly" for o in cal.overdue)
    assert any(o.late for o in cal.done)
    assert any(not o.late for o in cal.done)
    closeout = cal.find("closeout", "2026-S01")
    assert closeout is not None
    assert closeout.status == due.Status.DONE


def test_the_demo_close_out_shows_the_leftover_money_bean_query_finds(
    demo_app: Flask, demo_signed_in: Callable[[str], Any]
) -> None:
    main = Path(demo_app.config["LEDGER_DIR"]) / "main.beancount"
    returned = -bean_query_sum(
        connect(main),
        "'grant-2026-S01' IN links AND entry_meta('kind') = 'grant-close' "
        "AND account = 'Assets:1141-预付账款'",
    )
    page = html.unescape(
        demo_signed_in("admin").client.get("/admin/disclosures").get_data(as_text=True)
    )
    item = re.search(r'<li class="duty duty-done">(?:(?!</li>).)*2026-S01.*?</li>', page, re.S)
    assert item, page
    assert f'退回结余 <span class="amt">¥{returned:,.2f}</span>' in item.group(0)


def test_the_demo_public_list_shows_each_disclosure_with_its_date(
    demo_app: Flask, demo_signed_in: Callable[[str], Any]
) -> None:
    with demo_app.app_context():
        rows = db.session.scalars(select(Disclosure)).all()
        dates = {r.id: dw.china_date(r.published_at).isoformat() for r in rows}
    client = demo_app.test_client()
    page = html.unescape(client.get("/disclosures").get_data(as_text=True))
    shown = re.findall(
        r'id="disclosure-(\d+)">\s*<p class="disclosure-meta"><time datetime="([0-9-]+)"', page
    )
    assert {int(i): d for i, d in shown} == dates
    # Newest first.
    assert [d for _i, d in shown] == sorted((d for _i, d in shown), reverse=True)
