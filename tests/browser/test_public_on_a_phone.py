"""A donor on a 360 px phone screen reads the public pages in Debian's chromium."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS

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
