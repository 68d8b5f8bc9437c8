"""The public disclosure pages: fund names and figures that equal bean-query, and no personal data."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from app_testkit import (
    FUND_SLUGS,
    bean_query_figures,
    donors,
    fund_page_figures,
    ledger_text,
    public_figures,
)
from flask import Flask
from flask.testing import FlaskClient

from ledger.chart import DEFAULT_FUNDS, DEMO_RESTRICTED_FUNDS
from ledger_app.forms_common import today

FUND_NAMES = {f.slug: f.name for f in DEFAULT_FUNDS + DEMO_RESTRICTED_FUNDS}
STAFF = ("admin", "admin2", "approver", "auditor")
HIDDEN_NAMES = ("张三丰", "李四光", "欧阳娜娜", "赵六")  # masked or anonymous donors


def visible_text(page: str) -> str:
    return re.sub(r"<[^>]+>", " ", page)


def assert_no_personal_data(app: Flask, page: str) -> None:
    for donor in donors(app):
        assert donor["ref"] not in page
        if donor["phone"]:
            assert donor["phone"] not in page
            assert donor["phone"].replace("-", "") not in page
    assert not re.search(r"\bd-[0-9a-f]{12}\b", page), "an internal donor ref leaked"
    for name in HIDDEN_NAMES:
        assert name not in page, f"{name} chose not to be named"
    for username in STAFF:
        assert not re.search(rf"(?<![\w/]){re.escape(username)}(?![\w])", page), username
    assert "entered-by" not in page
    assert "approved-by" not in page


def test_the_public_page_shows_every_fund_with_its_name_and_figures(
    populated: Flask, client: FlaskClient
) -> None:
    page = client.get("/").get_data(as_text=True)
    for slug, name in FUND_NAMES.items():
        assert name in page
        assert f'href="/funds/{slug}"' in page
    figures = public_figures(page)
    assert set(figures) == set(FUND_SLUGS)
    assert figures["zhulaocan"]["income"] == Decimal("1300.56")
    assert figures["zhulaocan"]["spent"] == Decimal("300.50")
    assert figures["zhulaocan"]["balance"] == Decimal("1000.06")
    assert "¥1,000.06" in page


def test_every_figure_on_the_public_page_equals_what_bean_query_computes(
    populated: Flask, client: FlaskClient
) -> None:
    shown = public_figures(client.get("/").get_data(as_text=True))
    computed = bean_query_figures(populated)
    this_year = bean_query_figures(populated, year=today().year)
    for slug in FUND_SLUGS:
        assert shown[slug]["income"] == computed[slug]["income"], slug
        assert shown[slug]["spent"] == computed[slug]["spent"], slug
        assert shown[slug]["balance"] == computed[slug]["balance"], slug
        assert shown[slug].get("transfers", Decimal("0.00")) == computed[slug]["transfers"], slug
        assert shown[slug]["year_income"] == this_year[slug]["income"], slug
        assert shown[slug]["year_spent"] == this_year[slug]["spent"], slug
    # The reversal took the duplicated 100.00 back out of the general fund's income.
    assert computed["general"]["income"] == Decimal("5000.00")
    assert computed["general"]["balance"] == Decimal("3800.00")


@pytest.mark.parametrize("slug", FUND_SLUGS)
def test_each_fund_page_shows_its_name_and_the_figures_bean_query_computes(
    populated: Flask, client: FlaskClient, slug: str
) -> None:
    response = client.get(f"/funds/{slug}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert FUND_NAMES[slug] in page
    shown = fund_page_figures(page)
    computed = bean_query_figures(populated)[slug]
    assert shown["income"] == computed["income"]
    assert shown["spent"] == computed["spent"]
    assert shown["balance"] == computed["balance"]
    assert_no_personal_data(populated, page)


def test_an_unknown_fund_page_is_not_found(app: Flask, client: FlaskClient) -> None:
    assert client.get("/funds/no-such-fund").status_code == 404


def test_the_public_page_shows_no_phone_no_hidden_name_no_donor_ref_and_no_staff_name(
    populated: Flask, client: FlaskClient
) -> None:
    page = client.get("/").get_data(as_text=True)
    # The data is there to leak: the ledger holds the refs and the staff names, the DB the phones.
    text = ledger_text(populated)
    assert re.search(r'donor: "d-[0-9a-f]{12}"', text)
    assert 'entered-by: "admin"' in text
    assert 'approved-by: "approver"' in text
    assert_no_personal_data(populated, page)
    # What the donors chose to show is shown.
    shown = visible_text(page)
    assert "王五" in shown  # chose "name"
    assert "张**" in shown  # chose "masked"
    assert "欧***" in shown
    assert "匿名" in shown  # chose "anonymous"


def test_the_english_public_page_leaks_nothing_either(
    populated: Flask, client: FlaskClient
) -> None:
    response = client.get("/?lang=en")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert_no_personal_data(populated, page)


def test_the_health_check_shows_only_the_count_and_head_hash(
    populated: Flask, client: FlaskClient
) -> None:
    body = client.get("/healthz").get_json()
    assert body["ok"] is True
    assert body["entries"] == 8
    assert re.fullmatch(r"[0-9a-f]{64}", body["head_hash"])
