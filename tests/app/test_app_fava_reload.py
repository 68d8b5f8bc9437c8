"""Fava under /audit/fava sees what the app appends: its polling watcher reloads the files on the
next request, so a new entry shows in Fava's journal and figures without a restart."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app_testkit import give, snapshot
from beanquery_helpers import bean_query_sum, fund_where
from flask import Flask
from flask.testing import FlaskClient


def fava_data(response: Any) -> Any:
    """The ``data`` of a Fava JSON answer, amounts as Decimal (never float)."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return json.loads(response.get_data(as_text=True), parse_float=Decimal)["data"]


def fava_base(client: FlaskClient) -> str:
    response = client.get("/audit/fava/")
    assert response.status_code == 302
    return urlsplit(response.headers["Location"]).path.removesuffix("income_statement/")


def general_income(client: FlaskClient, base: str) -> Decimal:
    where = f"account ~ '^Income:' AND {fund_where('general')}"
    result = fava_data(
        client.get(
            f"{base}api/query", query_string={"query_string": f"SELECT sum(number) WHERE {where}"}
        )
    )
    return (
        Decimal(result["rows"][0][0])
        if result["rows"] and result["rows"][0][0] is not None
        else Decimal("0.00")
    )


def test_an_entry_the_app_appends_shows_in_favas_journal_and_query(
    app: Flask, signed_in: Callable[..., Any]
) -> None:
    give(app, "500.00", fund="general", name="街道办事处", display="name")
    client = signed_in("auditor").client
    base = fava_base(client)
    main = Path(app.config["LEDGER_DIR"]) / "main.beancount"
    assert general_income(client, base) == bean_query_sum(
        main, f"account ~ '^Income:' AND {fund_where('general')}"
    )
    ids_before = {e["meta"].get("id") for e in fava_data(client.get(f"{base}api/journal"))}

    entry_id = give(app, "123.45", fund="general", name="天府茶社", display="name")

    journal = fava_data(client.get(f"{base}api/journal"))
    new = [e for e in journal if e["meta"].get("id") == entry_id]
    assert entry_id not in ids_before
    assert len(new) == 1
    assert new[0]["t"] == "Transaction"
    assert "天府茶社" in new[0]["payee"] + new[0]["narration"]
    shown = general_income(client, base)
    assert shown == bean_query_sum(main, f"account ~ '^Income:' AND {fund_where('general')}")
    assert shown == Decimal("-623.45")  # income is a credit: 500.00 + 123.45


def test_a_write_to_fava_on_a_fresh_ledger_leaves_files_and_figures_alone(
    app: Flask, signed_in: Callable[..., Any]
) -> None:
    give(app, "88.00", fund="general")
    client = signed_in("auditor").client
    base = fava_base(client)
    before = snapshot(app)
    entry = {
        "t": "Transaction",
        "date": "2026-01-01",
        "flag": "*",
        "payee": "",
        "narration": "hack",
        "meta": {},
        "tags": [],
        "links": [],
        "postings": [
            {"account": "Assets:1002-银行存款", "amount": "1 CNY"},
            {"account": "Income:4901-其他收入", "amount": "-1 CNY"},
        ],
    }
    assert client.put(f"{base}api/add_entries", json={"entries": [entry]}).status_code == 405
    assert client.post(f"{base}api/add_entries", json={"entries": [entry]}).status_code == 405
    assert client.put(f"{base}api/upload_import_file", data={"file": "x"}).status_code == 405
    assert client.put(f"{base}api/format_source", json={"source": ""}).status_code == 405
    assert snapshot(app) == before
    assert general_income(client, base) == Decimal("-88.00")


def test_favas_own_polling_does_not_keep_an_unattended_session_alive(
    app: Flask, signed_in: Callable[..., Any]
) -> None:
    from ledger_app.extensions import db
    from ledger_app.models import UserSession, utcnow

    client = signed_in("auditor").client
    base = fava_base(client)
    with app.app_context():
        row = db.session.query(UserSession).filter(UserSession.revoked_at.is_(None)).one()
        stale = utcnow() - dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] - 2)
        row.last_seen = stale
        db.session.commit()
        session_id = row.id
    for _ in range(3):
        assert client.get(f"{base}api/changed").status_code == 200
    with app.app_context():
        assert db.session.get(UserSession, session_id).last_seen == stale
    # A page the person opens does count as activity.
    assert client.get(f"{base}income_statement/").status_code == 200
    with app.app_context():
        assert db.session.get(UserSession, session_id).last_seen > stale
