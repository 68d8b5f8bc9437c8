"""An auditor signs in and explores the ledger in Fava under /audit/fava, in Chinese, in chromium:
the income statement renders, the query page answers, an entry opens with its source, and the
browser reports no Content-Security-Policy violation on the way."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beanquery_helpers import bean_query_sum, fund_where
from flask import Flask

from ledger_app.extensions import db
from ledger_app.models import User
from ledger_app.security import hash_password
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

AUDITOR = "fava-auditor"
PASSWORD = "fava-auditor-password-2026"

#: Records every CSP violation the page reports (a script Playwright adds before the page's own;
#: Playwright's scripts are not subject to the page's policy).
_WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture(scope="module")
def auditor_user(live_app: Flask) -> str:
    with live_app.app_context():
        db.session.add(
            User(
                username=AUDITOR,
                role="auditor",
                display_name="审计",
                password_hash=hash_password(PASSWORD),
            )
        )
        db.session.commit()
    return AUDITOR


@pytest.fixture
def fava_page(browser: Any, live_server: str, auditor_user: str) -> Iterator[tuple[Any, list[str]]]:
    """A 1280 px page signed in as the auditor, and the console messages it logs."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script(_WATCH_CSP)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.goto(live_server + "/auth/login")
    page.fill("#username", auditor_user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/auth/login" not in url)
    yield page, console
    context.close()


def assert_no_csp_violation(page: Any, console: list[str]) -> None:
    violations = page.evaluate("window.__csp")
    assert violations == [], violations
    refused = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
    assert refused == [], refused
    errors = [m for m in console if m.startswith("pageerror")]
    assert errors == [], errors


def fava_base(page: Any, live_server: str) -> str:
    """Open /audit/fava/ and return where Fava's redirect put the ledger (…/<slug>/)."""
    page.goto(live_server + "/audit/fava/")
    assert page.url.endswith("/income_statement/"), page.url
    return str(page.url).removesuffix("income_statement/")


def test_the_income_statement_renders_in_chinese_without_csp_violations(
    fava_page: tuple[Any, list[str]], live_server: str
) -> None:
    page, console = fava_page
    base = fava_base(page, live_server)
    assert base.startswith(live_server + "/audit/fava/")
    # Fava renders client-side: its tree table appears once the app's script has run.
    page.get_by_text("4101-捐赠收入").first.wait_for(timeout=15000)
    page.wait_for_selector("svg", timeout=15000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "fava-income-statement-1280.png"))
    text = page.inner_text("body")
    assert "损益表" in text  # the sidebar and title: Fava's interface in Chinese
    assert "资产负债表" in text
    assert "4101-捐赠收入" in text  # the ledger's own Chinese account names
    assert_no_csp_violation(page, console)


def test_the_query_page_answers_a_bql_query_equal_to_bean_query(
    fava_page: tuple[Any, list[str]], live_server: str, live_app: Flask
) -> None:
    page, console = fava_page
    base = fava_base(page, live_server)
    page.goto(base + "query/")
    editor = page.locator(".cm-content").first
    editor.wait_for(timeout=15000)
    where = f"account ~ '^Income:' AND {fund_where('zhulaocan')}"
    editor.click()
    page.keyboard.type(f"SELECT sum(number) AS total WHERE {where}")
    page.keyboard.press("Control+Enter")
    cell = page.locator("table td.num").first
    cell.wait_for(timeout=15000)
    # Fava prints negative numbers with a true minus sign (U+2212).
    shown = Decimal(cell.inner_text().replace("\u2212", "-").replace(",", "").strip())
    main = Path(live_app.config["LEDGER_DIR"]) / "main.beancount"
    assert shown == bean_query_sum(main, where)
    assert shown != 0
    page.screenshot(path=str(ARTIFACTS / "fava-query-1280.png"))
    assert_no_csp_violation(page, console)


def test_an_entry_opens_with_its_highlighted_source_and_the_editor_page_is_refused(
    fava_page: tuple[Any, list[str]], live_server: str
) -> None:
    page, console = fava_page
    base = fava_base(page, live_server)
    page.goto(base + "journal/")
    page.locator("a[href^='#context-']").first.click()
    # The entry's source in Fava's Beancount editor: its highlighter is WebAssembly.
    page.locator(".cm-content").first.wait_for(timeout=15000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "fava-entry-1280.png"))
    assert_no_csp_violation(page, console)
    response = page.goto(base + "editor/")
    assert response is not None
    assert response.status == 403
    assert "源文件编辑" in page.inner_text("body")
