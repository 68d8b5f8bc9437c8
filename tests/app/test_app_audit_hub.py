"""The /audit hub on the demo year: every capability it links answers an auditor, and the admin
dashboard counts overdue disclosures the way the disclosure calendar does."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask

from ledger_app import disclosure_workflow
from ledger_app.books import get_book
from ledger_app.forms_common import today


def test_every_link_on_the_audit_hub_answers_an_auditor(
    demo_app: Flask, demo_signed_in: Callable
) -> None:
    auditor = demo_signed_in("auditor").client
    page = auditor.get("/audit/").get_data(as_text=True)
    links = sorted(set(re.findall(r'href="(/audit/[^"]*)"', page)))
    expected = {
        "/audit/statements",
        "/audit/compliance/settings",
        "/audit/registers",
        "/audit/grants.pdf",
        "/audit/exports",
        "/audit/integrity",
        "/audit/integrity.pdf",
        "/audit/ledger.zip",
        "/audit/fava/",
        "/audit/host-export",
    }
    assert expected <= set(links)
    for link in links:
        response = auditor.get(link)
        assert response.status_code in (200, 302), (link, response.status_code)
        if response.status_code == 302:  # Fava sends its root to the income statement
            assert response.headers["Location"].startswith("/audit/fava/"), link


def test_the_dashboard_shows_how_many_disclosures_are_overdue(
    demo_app: Flask, demo_signed_in: Callable
) -> None:
    with demo_app.test_request_context():
        overdue = len(disclosure_workflow.calendar(get_book(), today()).overdue)
    assert overdue >= 1  # the demo leaves one duty undone on purpose
    page = demo_signed_in("admin").client.get("/admin/").get_data(as_text=True)
    assert f"逾期 {overdue} 项" in page
    assert 'href="/admin/disclosures"' in page
