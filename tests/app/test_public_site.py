"""The public disclosure site: home totals and charts, fund pages with a running balance, receipt
verification, the honour roll. Every amount equals bean-query; nothing personal ever shows."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from decimal import Decimal

import pytest
from app_testkit import (
    FUND_SLUGS,
    ZERO,
    amounts_in,
    bean_query_figures,
    donors,
    give,
    main_file,
    reverse,
    spend,
    yuan,
)
from beanquery_helpers import FUND_ROOTS, bean_query, connect, fund_where
from flask import Flask
from flask.testing import FlaskClient

from ledger_app import workflow
from ledger_app.books import get_book
from ledger_app.forms_common import today

STAFF = ("admin", "admin2", "approver", "auditor")
#: Donors of the ``populated`` fixture who chose not to be named (masked or anonymous).
HIDDEN_NAMES = ("张三丰", "李四光", "欧阳娜娜", "赵六")
PUBLIC_PAGES = ("/", "/donors", "/verify", *(f"/funds/{slug}" for slug in FUND_SLUGS))

_CHART_ROW = re.compile(
    r'<text x="0"[^>]*class="chart-label">(.*?)</text>\s*'
    r'<text[^>]*class="chart-amt amt">(-?)¥([0-9,]+\.[0-9]{2})</text>',
    re.S,
)
_MONTH_ROW = re.compile(r"<tr><td>(\d{4}-\d{2})</td>(.*?)</tr>", re.S)
_LINE = re.compile(r'<td class="num change">(.*?)</td>\s*<td class="num running">(.*?)</td>', re.S)


# -- helpers ----------------------------------------------------------------------------------------


def receipt_of(app: Flask, entry_id: str) -> tuple[str, str]:
    """The confirmation number and verification code the ledger holds for a donation."""
    with app.app_context():
        txn = get_book().get(entry_id)
        assert txn is not None
        number = str(txn.meta["receipt"])
        return number, str(get_book().by_receipt(number).meta["verify"])


def all_verify_codes(app: Flask) -> dict[str, str]:
    """Every receipt's verification code, by confirmation number."""
    rows = bean_query(
        main_file(app),
        "SELECT DISTINCT entry_meta('receipt') AS no, entry_meta('verify') AS code "
        "WHERE entry_meta('kind') = 'donation'",
    )
    return {str(no): str(code) for no, code in rows}


def section(page: str, element_id: str) -> str:
    """The HTML of the element with this id (an svg, a table or a section)."""
    match = re.search(rf'<(\w+)[^>]*id="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert match, f"no #{element_id} on the page"
    return match.group(2)


def assert_no_personal_data(app: Flask, page: str, *, own_code: str = "") -> None:
    for donor in donors(app):
        assert donor["ref"] not in page
        if donor["phone"]:
            assert donor["phone"] not in page
            assert donor["phone"].replace("-", "") not in page
        if donor["display"] != "name":
            assert donor["name"] not in page, f"{donor['name']} chose not to be named"
    assert not re.search(r"\bd-[0-9a-f]{12}\b", page), "an internal donor ref leaked"
    for username in STAFF:
        assert not re.search(rf"(?<![\w/]){re.escape(username)}(?![\w])", page), username
    for key in ("entered-by", "approved-by", "entered_by", "approved_by"):
        assert key not in page
    for code in all_verify_codes(app).values():
        if code != own_code:
            assert not re.search(rf"\b{code}\b", page, re.I), "another receipt's code leaked"


def assert_csp_clean(page: str) -> None:
    assert not re.search(r"\sstyle\s*=", page, re.I), "inline style attribute"
    assert "<style" not in page.lower()
    assert "<script" not in page.lower()
    assert not re.search(r"\son[a-z]+\s*=", page, re.I), "inline event handler"
    assert not re.search(r'(src|href)="(https?:)?//', page), "external asset"


def get_ok(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def income_by_source(app: Flask, year: int) -> dict[str, Decimal]:
    """This year's income by donor kind, from bean-query; a reversal counts against the kind of
    the donation it reverses, and income that is not a donation is 'other'."""
    conn = connect(main_file(app))
    kinds = {
        str(i): str(k)
        for i, k in bean_query(
            conn,
            "SELECT DISTINCT entry_meta('id'), entry_meta('donor-kind') "
            "WHERE entry_meta('kind') = 'donation'",
        )
    }
    rows = bean_query(
        conn,
        "SELECT entry_meta('kind'), entry_meta('donor-kind'), entry_meta('reverses'), "
        f"sum(number) WHERE account ~ '^Income:' AND year = {year} GROUP BY 1, 2, 3",
    )
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for kind, donor_kind, reverses, total in rows:
        if kind == "reversal":
            donor_kind = kinds.get(str(reverses))
        elif kind != "donation":
            donor_kind = None
        out[donor_kind or "other"] -= Decimal(total).quantize(ZERO)
    return {k: v for k, v in out.items() if v}


def months_by_bean_query(app: Flask) -> dict[str, tuple[Decimal, Decimal]]:
    rows = bean_query(
        main_file(app),
        "SELECT year, month, root(account, 1), sum(number) "
        "WHERE account ~ '^(Income|Expenses):' GROUP BY 1, 2, 3",
    )
    out: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for year, month, root, total in rows:
        key = f"{year:04d}-{month:02d}"
        if root == "Income":
            out[key][0] -= Decimal(total).quantize(ZERO)
        else:
            out[key][1] += Decimal(total).quantize(ZERO)
    return {k: (v[0], v[1]) for k, v in out.items()}


def fund_lines_by_bean_query(app: Flask, slug: str) -> list[tuple[Decimal, Decimal]]:
    """(change, running balance) of every entry touching a fund, newest first."""
    rows = bean_query(
        main_file(app),
        f"SELECT date, entry_meta('seq') AS seq, sum(number) AS total "
        f"WHERE {FUND_ROOTS} AND {fund_where(slug)} GROUP BY date, seq ORDER BY date, seq",
    )
    balance = ZERO
    lines = []
    for _date, _seq, total in rows:
        change = -Decimal(total).quantize(ZERO)
        balance += change
        lines.append((change, balance))
    return lines[::-1]


def page_lines(page: str) -> list[tuple[Decimal, Decimal]]:
    return [(amounts_in(c)[0], amounts_in(b)[0]) for c, b in _LINE.findall(page)]


# -- the home page ------------------------------------------------------------------------------


def test_the_home_page_totals_equal_bean_query_this_year_and_since_the_start(
    populated: Flask, client: FlaskClient
) -> None:
    page = get_ok(client, "/")
    table = re.search(r'<table class="totals">(.*?)</table>', page, re.S)
    assert table
    rows = dict(
        re.findall(r'<tr class="total-(\w+)">(.*?)</tr>', table.group(1), re.S),
    )
    computed = bean_query_figures(populated)
    this_year = bean_query_figures(populated, year=today().year)
    total = lambda figures, key: sum((f[key] for f in figures.values()), ZERO)  # noqa: E731
    assert amounts_in(rows["income"]) == [total(this_year, "income"), total(computed, "income")]
    assert amounts_in(rows["spent"]) == [total(this_year, "spent"), total(computed, "spent")]
    assert amounts_in(rows["held"]) == [total(computed, "balance")]
    # The fixture's figures, so the test cannot pass by both sides being empty.
    assert amounts_in(rows["income"]) == [Decimal("954.88"), Decimal("7189.44")]
    assert amounts_in(rows["held"]) == [Decimal("5688.94")]


def test_the_home_page_charts_show_income_by_source_and_spending_by_purpose_as_bean_query(
    populated: Flask, client: FlaskClient
) -> None:
    year = today().year
    page = get_ok(client, "/")
    sources = {
        html.unescape(label): yuan(sign, digits)
        for label, sign, digits in _CHART_ROW.findall(section(page, "chart-source"))
    }
    labels = {"person": "居民个人", "organisation": "单位与商户", "government": "街道与政府"}
    expected = {labels.get(k, "其他收入"): v for k, v in income_by_source(populated, year).items()}
    assert sources == expected
    assert sources == {"居民个人": Decimal("954.88")}  # the reversed 100.00 is netted out
    purposes = {
        html.unescape(label): yuan(sign, digits)
        for label, sign, digits in _CHART_ROW.findall(section(page, "chart-purpose"))
    }
    this_year = bean_query_figures(populated, year=year)
    assert purposes == {"助老餐": this_year["zhulaocan"]["spent"]}
    assert purposes == {"助老餐": Decimal("300.50")}


def test_the_month_by_month_figures_equal_bean_query_for_the_last_twelve_months(
    populated: Flask, client: FlaskClient
) -> None:
    page = get_ok(client, "/")
    shown = {month: tuple(amounts_in(cells)) for month, cells in _MONTH_ROW.findall(page)}
    assert len(shown) == 12
    now = today()
    assert max(shown) == f"{now.year:04d}-{now.month:02d}"
    computed = months_by_bean_query(populated)
    for month, figures in shown.items():
        assert figures == computed.get(month, (ZERO, ZERO)), month
    # The chart draws one pair of bars per month, with a label under each and a legend.
    chart = section(page, "chart-months")
    assert chart.count('<g class="month">') == 12
    assert '<g class="legend">' in chart
    assert "收入" in chart
    assert "支出" in chart


def test_the_home_page_shows_the_head_hash_when_it_last_changed_and_links_onwards(
    populated: Flask, client: FlaskClient
) -> None:
    page = get_ok(client, "/")
    with populated.app_context():
        book = get_book()
        head_hash, head_at = book.head_hash, book.head_at
    assert head_hash in page
    assert head_at[:16].replace("T", " ") in page
    assert 'href="/donors"' in page
    assert 'href="/verify"' in page


# -- fund pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", FUND_SLUGS)
def test_every_fund_page_line_and_running_balance_equals_bean_query(
    populated: Flask, client: FlaskClient, slug: str
) -> None:
    page = get_ok(client, f"/funds/{slug}")
    assert page_lines(page) == fund_lines_by_bean_query(populated, slug)


def test_a_restricted_fund_page_says_what_the_money_can_still_be_spent_on_and_how_much(
    populated: Flask, client: FlaskClient
) -> None:
    page = get_ok(client, "/funds/zhulaocan")
    note = re.search(r'<p class="restricted-note card">(.*?)</p>', page, re.S)
    assert note
    assert "只能用于" in note.group(1)
    assert "为70岁以上老人、独居及困难老人提供低偿助餐" in note.group(1)
    balance = bean_query_figures(populated)["zhulaocan"]["balance"]
    assert amounts_in(note.group(1)) == [balance] == [Decimal("1000.06")]
    assert "restricted-note" not in get_ok(client, "/funds/general")


def test_a_fund_page_shows_every_donation_as_the_donor_chose_to_appear(
    populated: Flask, client: FlaskClient
) -> None:
    page = get_ok(client, "/funds/zhulaocan")
    assert "张**" in page  # masked
    assert "欧***" in page
    assert "张三丰" not in page
    assert "欧阳娜娜" not in page
    general = get_ok(client, "/funds/general")
    assert "匿名" in general  # 李四光 chose to be anonymous
    assert "李四光" not in general
    assert "王五" in get_ok(client, "/funds/meiyuanzi")  # chose to be named


def test_a_fund_page_with_more_than_a_hundred_lines_is_paginated_and_balances_carry_on(
    app: Flask, client: FlaskClient
) -> None:
    for i in range(103):
        give(app, f"{i + 1}.00", fund="meiyuanzi", name=f"居民{i}", display="name")
    first = get_ok(client, "/funds/meiyuanzi")
    second = get_ok(client, "/funds/meiyuanzi?page=2")
    assert client.get("/funds/meiyuanzi?page=3").status_code == 404
    assert client.get("/funds/meiyuanzi?page=0").status_code == 404
    shown = page_lines(first) + page_lines(second)
    assert len(page_lines(first)) == 100
    assert shown == fund_lines_by_bean_query(app, "meiyuanzi")
    assert shown[0][1] == Decimal("5356.00")  # 1 + 2 + … + 103
    assert 'href="/funds/meiyuanzi?page=2"' in first
    assert 'href="/funds/meiyuanzi?page=1"' in second


# -- receipt verification -------------------------------------------------------------------------


def test_a_genuine_receipt_shows_its_figures_and_where_the_money_went_as_bean_query(
    populated: Flask, client: FlaskClient
) -> None:
    entry_id = give(populated, "250.00", fund="zhulaocan", name="孙丽华", display="masked")
    day = today()
    spend(populated, "120.00", fund="zhulaocan", purpose="助老餐补贴（下周）")
    number, code = receipt_of(populated, entry_id)
    page = get_ok(client, f"/verify?no={number}&code={code}")
    assert "真实有效" in page
    assert number in page
    receipt = re.search(r'<dl class="figures wide receipt">(.*?)</dl>', page, re.S)
    assert receipt
    conn = connect(main_file(populated))
    amount = -Decimal(
        bean_query(
            conn,
            f"SELECT sum(number) WHERE account ~ '^Income:' AND entry_meta('receipt') = '{number}'",
        )[0][0]
    ).quantize(ZERO)
    assert amounts_in(receipt.group(1)) == [amount] == [Decimal("250.00")]
    assert "孙**" in receipt.group(1)
    assert "孙丽华" not in page
    assert "助老餐" in receipt.group(1)
    assert day.isoformat() in receipt.group(1)
    # Where did my money go: the fund's spending since that day, and its balance now.
    where = re.search(r'<dl class="figures wide where">(.*?)</dl>', page, re.S)
    assert where
    spent_since = Decimal(
        bean_query(
            conn,
            f"SELECT sum(number) WHERE account ~ '^Expenses:' AND {fund_where('zhulaocan')} "
            f"AND date >= {day.isoformat()}",
        )[0][0]
    ).quantize(ZERO)
    balance = bean_query_figures(populated)["zhulaocan"]["balance"]
    assert amounts_in(where.group(1)) == [spent_since, balance]
    assert spent_since == Decimal("420.50")  # this week's 300.50 and the 120.00 after it
    assert "助老餐补贴（下周）" in page
    assert_no_personal_data(populated, page, own_code=code)


def test_the_qr_link_works_with_a_lower_case_code_and_spaces_around_it(
    funded: Flask, client: FlaskClient
) -> None:
    entry_id = give(funded, "10.00", fund="general", name="周敏", display="name")
    number, code = receipt_of(funded, entry_id)
    page = get_ok(client, f"/verify?no=+{number}+&code={code.lower()}")
    assert "真实有效" in page


def test_a_wrong_code_or_an_unknown_number_gets_one_neutral_404_with_no_amount(
    populated: Flask, client: FlaskClient
) -> None:
    entry_id = give(populated, "777.77", fund="general", name="吴芳", display="name")
    number, code = receipt_of(populated, entry_id)
    wrong = "00000000" if code != "00000000" else "11111111"
    known = client.get(f"/verify?no={number}&code={wrong}")
    unknown = client.get(f"/verify?no=2099-999999&code={wrong}")
    assert known.status_code == unknown.status_code == 404
    known_page, unknown_page = known.get_data(as_text=True), unknown.get_data(as_text=True)
    assert "未能核验" in known_page
    assert "777.77" not in known_page
    assert "吴芳" not in known_page
    assert "¥" not in re.sub(r"<footer.*", "", known_page, flags=re.S)
    # The two answers differ only in the number echoed back into the form.
    assert known_page.replace(number, "N") == unknown_page.replace("2099-999999", "N")
    assert code not in known_page


def test_the_verify_form_opens_empty_and_asks_for_both_fields(
    app: Flask, client: FlaskClient
) -> None:
    page = get_ok(client, "/verify")
    assert 'method="get"' in page
    assert 'name="no"' in page
    assert 'name="code"' in page
    assert "csrf_token" not in page
    missing = client.get("/verify?no=2026-000001&code=")
    assert missing.status_code == 400
    assert "请填写核验码" in missing.get_data(as_text=True)


def test_a_voided_receipt_says_plainly_that_it_is_void(
    populated: Flask, client: FlaskClient
) -> None:
    entry_id = give(populated, "60.00", fund="general", name="郑伟", display="name")
    number, code = receipt_of(populated, entry_id)
    assert "有效" in get_ok(client, f"/verify?no={number}&code={code}")
    with populated.app_context():
        book = get_book()
        req = workflow.request_reversal(book, entry_id, "捐赠人要求退款", today(), "admin")
        workflow.approve_request(book, req.id, "approver")
    page = get_ok(client, f"/verify?no={number}&code={code}")
    assert '<div class="verdict void"' in page
    assert "此确认书已作废" in page
    assert '<strong class="void-text">已作废</strong>' in page
    assert "真实有效" not in page
    english = get_ok(client, f"/verify?no={number}&code={code}&lang=en")
    assert "This confirmation is void" in english


def test_an_in_kind_donation_shows_its_basis_of_valuation(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        result = workflow.record_donation(
            get_book(),
            workflow.DonationInput(
                id=None,
                date=today(),
                amount="1800.00",
                fund="zhulaocan",
                channel="cash",
                donor=workflow.DonorInput("红星路药房", "", "name", "organisation"),
                form="goods",
                valuation_basis="按同类大米市场零售价（发票）",
                valued_by="议事会两名成员",
            ),
            "admin",
        )
        number = result.extra["receipt"]
        code = get_book().by_receipt(number).meta["verify"]
    page = get_ok(client, f"/verify?no={number}&code={code}")
    assert "按同类大米市场零售价（发票）" in page
    assert "实物（物资）" in page
    assert "¥1,800.00" in page


# -- honour roll --------------------------------------------------------------------------------


def test_the_honour_roll_lists_only_named_donors_this_year_and_all_time(
    populated: Flask, client: FlaskClient
) -> None:
    give(populated, "5.00", fund="general", name="王五", phone="13600136000", display="name")
    page = get_ok(client, "/donors")
    year_roll = section(page, "roll-year")
    all_roll = section(page, "roll-all")
    assert "王五" in year_roll
    assert "¥893.88" in year_roll
    assert "王五" in all_roll
    for hidden in (*HIDDEN_NAMES, "匿名", "张**", "欧***"):
        assert hidden not in year_roll, hidden
        assert hidden not in all_roll, hidden
    assert_no_personal_data(populated, page)
    # 赵六's donation was reversed and he chose to be masked: absent either way.
    last_year = get_ok(client, f"/donors?year={today().year - 1}")
    assert "王五" not in section(last_year, "roll-year")
    assert client.get("/donors?year=1999").status_code == 404
    assert client.get(f"/donors?year={today().year + 1}").status_code == 404


def test_a_reversed_donation_leaves_the_honour_roll(app: Flask, client: FlaskClient) -> None:
    entry_id = give(app, "300.00", fund="general", name="锦江理发店", display="name")
    assert "锦江理发店" in get_ok(client, "/donors")
    reverse(app, entry_id, "录错金额")
    assert "锦江理发店" not in section(get_ok(client, "/donors"), "roll-all")


# -- every page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_public_page_shows_a_phone_a_hidden_name_a_donor_ref_a_staff_name_or_a_code(
    populated: Flask, client: FlaskClient, lang: str
) -> None:
    entry_id = give(populated, "20.00", fund="general", name="冯静", phone="13300133000")
    number, code = receipt_of(populated, entry_id)
    for path in (*PUBLIC_PAGES, f"/verify?no={number}&code={code}"):
        sep = "&" if "?" in path else "?"
        page = get_ok(client, f"{path}{sep}lang={lang}")
        assert_no_personal_data(populated, page, own_code=code if "code=" in path else "")
        assert "冯静" not in page


def test_an_anonymous_donor_shows_as_anonymous_on_every_page_that_lists_them(
    populated: Flask, client: FlaskClient
) -> None:
    entry_id = give(populated, "42.00", fund="meiyuanzi", name="韩磊", display="anonymous")
    number, code = receipt_of(populated, entry_id)
    for path in ("/", "/funds/meiyuanzi", f"/verify?no={number}&code={code}"):
        page = get_ok(client, path)
        assert "匿名" in page, path
        assert "韩磊" not in page, path
        assert "韩*" not in page, path
    english = get_ok(client, f"/verify?no={number}&code={code}&lang=en")
    assert "Anonymous" in english
    assert "韩" not in english


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_public_pages_have_no_inline_style_no_script_and_no_external_assets(
    populated: Flask, client: FlaskClient, lang: str
) -> None:
    number, code = receipt_of(populated, give(populated, "9.00", name="田军", display="name"))
    for path in (
        *PUBLIC_PAGES,
        f"/verify?no={number}&code={code}",
        "/verify?no=2026-999999&code=NOPE1234",
    ):
        sep = "&" if "?" in path else "?"
        response = client.get(f"{path}{sep}lang={lang}")
        assert response.status_code in (200, 404)
        assert_csp_clean(response.get_data(as_text=True))
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_english_pages_have_english_labels_and_english_fund_names(
    populated: Flask, client: FlaskClient
) -> None:
    number, code = receipt_of(populated, give(populated, "15.00", name="许艳", display="name"))
    home = get_ok(client, "/?lang=en")
    for label in (
        "Money in and out",
        "Raised",
        "Held now",
        "Income by source",
        "Spending by purpose",
        "Month by month",
        "Residents",
        "Meals for elders",
        "Honour roll of donors",
        "Check a donation confirmation",
    ):
        assert label in home, label
    assert 'lang="en"' in home
    # The spending chart names funds in English too.
    assert "Meals for elders" in section(home, "chart-purpose")
    fund = get_ok(client, "/funds/zhulaocan?lang=en")
    for label in ("Meals for elders", "This is a restricted fund", "Balance", "Donations"):
        assert label in fund, label
    verify = get_ok(client, f"/verify?no={number}&code={code}&lang=en")
    for label in ("Genuine", "Where did my money go", "Fund balance now", "Verification code"):
        assert label in verify, label
    donors_page = get_ok(client, "/donors?lang=en")
    assert "Honour roll of donors" in donors_page
    assert "All years" in donors_page
    for page in (home, fund, verify, donors_page):
        for chinese_label in ("收支总览", "我的钱去了哪里", "捐赠人荣誉榜", "尚可用于此用途"):
            assert chinese_label not in page, chinese_label


def test_the_public_pages_need_no_sign_in(populated: Flask, client: FlaskClient) -> None:
    for path in PUBLIC_PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert (
            "Cache-Control" not in response.headers
            or "no-store" not in response.headers["Cache-Control"]
        )


def test_month_labels_mark_the_year_without_two_years_colliding() -> None:
    from ledger.disclosure import MonthFigure
    from ledger_app.public.charts import month_chart

    months = [
        MonthFigure(f"{y:04d}-{m:02d}", ZERO, ZERO)
        for y, m in [(2025, 12), *((2026, n) for n in range(1, 12))]
    ]
    chart = month_chart(months)
    assert [m.year_label for m in chart.months if m.year_label] == ["2026"]
    later = [MonthFigure(f"2026-{n:02d}", ZERO, ZERO) for n in range(1, 13)]
    assert [m.year_label for m in month_chart(later).months if m.year_label] == ["2026"]
    spanning = [
        MonthFigure(f"{y:04d}-{m:02d}", Decimal("1.00"), ZERO)
        for y, m in [*((2025, n) for n in range(6, 13)), *((2026, n) for n in range(1, 6))]
    ]
    chart = month_chart(spanning)
    assert [m.year_label for m in chart.months if m.year_label] == ["2025", "2026"]
    assert all(m.income_h == chart.plot_bottom - chart.plot_top for m in chart.months)
