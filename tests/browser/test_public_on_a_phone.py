"""A donor on a 360 px phone screen reads the public pages in Debian's chromium."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS, receipt_of

pytestmark = pytest.mark.browser


def _no_horizontal_overflow(page: object) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))  # type: ignore[attr-defined]


def test_a_donor_on_a_phone_sees_every_fund_and_no_personal_data(live_server, phone):
    phone.goto(live_server + "/")
    text = phone.inner_text("body")
    for name in ("社区微基金（非限定）", "助老餐", "美院子", "共享食堂"):
        assert name in text
    assert "张*" in text
    assert "张秀英" not in text
    assert "匿名" in text
    assert "李建国" not in text
    assert "督院街便民超市" in text
    assert "1380000000" not in phone.content()
    assert "¥1,500.00" in text
    assert _no_horizontal_overflow(phone)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "public-home-360.png"), full_page=True)


def test_a_donor_opens_a_fund_page_and_switches_to_english(live_server, phone):
    phone.goto(live_server + "/")
    phone.click("text=助老餐")
    assert phone.url.endswith("/funds/zhulaocan")
    assert "¥200.00" in phone.inner_text("main")
    phone.click("text=English")
    assert "Meals for elders" in phone.inner_text("main")
    assert _no_horizontal_overflow(phone)
    phone.screenshot(path=str(ARTIFACTS / "public-fund-360-en.png"), full_page=True)


def test_staff_sign_in_page_works_without_overflow_on_a_phone(live_server, phone):
    phone.goto(live_server + "/auth/login")
    phone.fill("#username", "nobody")
    phone.fill("#password", "wrong-password")
    phone.click("button[type=submit]")
    assert "用户名或密码不正确" in phone.inner_text("main")
    assert _no_horizontal_overflow(phone)


def test_a_donor_on_a_phone_reads_the_totals_and_the_charts_without_javascript(
    live_server, browser
):
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, java_script_enabled=False
    )
    page = context.new_page()
    page.goto(live_server + "/")
    main = page.inner_text("main")
    assert "收支总览" in main
    for chart_id in ("#chart-source", "#chart-purpose", "#chart-months"):
        box = page.locator(chart_id).bounding_box()
        assert box is not None, chart_id
        assert 0 < box["width"] <= 360, chart_id
    assert "居民个人" in page.text_content("#chart-source")
    assert _no_horizontal_overflow(page)
    page.screenshot(path=str(ARTIFACTS / "public-home-360-nojs.png"), full_page=True)
    context.close()


def test_a_donor_on_a_phone_opens_a_fund_page_and_sees_the_running_balance(live_server, phone):
    phone.goto(live_server + "/funds/zhulaocan")
    main = phone.inner_text("main")
    assert "只能用于" in main
    assert "结余" in main
    assert "张*" in main
    assert "张秀英" not in main
    # The newest line's running balance is the fund's balance now.
    first_running = phone.inner_text("table.ledger-lines tbody tr:first-child td.running")
    balance = phone.inner_text(".figures.wide .balance dd")
    assert first_running == balance
    assert _no_horizontal_overflow(phone)
    phone.screenshot(path=str(ARTIFACTS / "public-fund-360.png"), full_page=True)


def test_a_donor_on_a_phone_types_number_and_code_and_sees_where_the_money_went(
    live_app, live_server, phone
):
    number, code = receipt_of(live_app, "b-0")  # 张秀英's 200.00 to 助老餐
    phone.goto(live_server + "/")
    phone.click("nav.subnav >> text=核验捐赠确认书")
    phone.fill("#no", number)
    phone.fill("#code", code.lower())
    phone.click("form.verify-form button[type=submit]")
    main = phone.inner_text("main")
    assert "真实有效" in main
    assert number in main
    assert "¥200.00" in main
    assert "张*" in main
    assert "张秀英" not in main
    assert "我的钱去了哪里" in main
    assert "助老餐补贴" in main
    assert "1380000000" not in phone.content()
    assert _no_horizontal_overflow(phone)
    phone.screenshot(path=str(ARTIFACTS / "public-verify-360.png"), full_page=True)


def test_a_wrong_code_on_a_phone_gets_one_neutral_message(live_app, live_server, phone):
    number, _code = receipt_of(live_app, "b-0")
    response = phone.goto(f"{live_server}/verify?no={number}&code=WRONG000")
    assert response.status == 404
    main = phone.inner_text("main")
    assert "未能核验" in main
    assert "¥200.00" not in main
    assert _no_horizontal_overflow(phone)


def test_a_voided_receipt_says_so_in_red_on_a_phone(live_app, live_server, phone):
    number, code = receipt_of(live_app, "b-dup")
    phone.goto(f"{live_server}/verify?no={number}&code={code}")
    verdict = phone.locator(".verdict.void")
    assert "已作废" in verdict.inner_text()
    color = verdict.evaluate("el => getComputedStyle(el).color")
    assert color == "rgb(185, 28, 28)"
    phone.screenshot(path=str(ARTIFACTS / "public-verify-void-360.png"), full_page=True)


def test_the_honour_roll_on_a_phone_names_only_donors_who_chose_it(live_server, phone):
    phone.goto(live_server + "/donors")
    rolls = "\n".join(phone.locator("table.honour").all_inner_texts())
    assert "督院街街道办事处" in rolls
    assert "蜀味小馆" in rolls
    for hidden in ("张", "李建国", "欧阳", "陈", "刘", "赵六", "匿名"):
        assert hidden not in rolls, hidden
    assert _no_horizontal_overflow(phone)
    phone.screenshot(path=str(ARTIFACTS / "public-donors-360.png"), full_page=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_public_pages_on_a_desktop_screen_have_no_overflow(
    live_app, live_server, browser, lang
):
    number, code = receipt_of(live_app, "b-0")
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    for name, path in (
        ("home", "/"),
        ("fund", "/funds/meiyuanzi"),
        ("verify", f"/verify?no={number}&code={code}"),
        ("donors", "/donors"),
    ):
        sep = "&" if "?" in path else "?"
        page.goto(f"{live_server}{path}{sep}lang={lang}")
        assert _no_horizontal_overflow(page), path
        page.screenshot(path=str(ARTIFACTS / f"public-{name}-1200-{lang}.png"), full_page=True)
    context.close()


def test_the_english_home_page_on_a_phone_has_english_labels(live_server, phone):
    phone.goto(live_server + "/?lang=en")
    main = phone.inner_text("main")
    for label in (
        "Overview",
        "Income by source",
        "Residents",
        "Latest entries",
        "Meals for elders",
    ):
        assert label in main, label
    assert _no_horizontal_overflow(phone)
    phone.screenshot(path=str(ARTIFACTS / "public-home-360-en.png"), full_page=True)
