"""A live server on a free local port and Debian's chromium driven by Playwright."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from ledger import chart
from ledger_app import create_app, workflow
from ledger_app.books import get_book, store
from ledger_app.forms_common import today

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


#: Donations of the live site: (name, display, kind, fund, amount, days ago).
DONATIONS = (
    ("张秀英", "masked", "person", "zhulaocan", "200.00", 265),
    ("督院街便民超市", "name", "organisation", "general", "1500.00", 265),
    ("李建国", "anonymous", "person", "meiyuanzi", "88.00", 265),
    ("督院街街道办事处", "name", "government", "general", "20000.00", 240),
    ("成都锦城物业服务有限公司", "name", "organisation", "meiyuanzi", "6000.00", 200),
    ("王桂兰", "name", "person", "zhulaocan", "500.00", 170),
    ("欧阳娜娜", "masked", "person", "zhulaocan", "66.00", 120),
    ("蜀味小馆", "name", "organisation", "zhulaocan", "3000.00", 90),
    ("陈志强", "anonymous", "person", "general", "300.00", 60),
    ("刘德明", "masked", "person", "meiyuanzi", "1200.00", 30),
    ("天府茶社", "name", "organisation", "general", "800.00", 10),
)
#: Approved expenses: (fund, payee, purpose, amount, days ago).
EXPENSES = (
    ("zhulaocan", "督院街共享食堂", "助老餐补贴（第二季度）", "600.00", 150),
    ("meiyuanzi", "锦江区某建材店", "院落扶手与防滑地砖", "4200.50", 100),
    ("general", "锦江区某打印店", "信息公示栏印刷", "360.00", 80),
    ("zhulaocan", "督院街共享食堂", "助老餐补贴（第三季度）", "1500.00", 45),
    ("general", "社区志愿者协会", "重阳节敬老活动物资", "2400.00", 20),
)


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app on a fresh ledger with a believable few months: donations under every display
    choice, approved expenses from restricted and general funds, and one voided donation."""
    from flask_migrate import upgrade

    base = tmp_path_factory.mktemp("live")
    app = create_app(
        {
            "TESTING": True,
            "LEDGER_DIR": str(base / "ledger"),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{base / 'db.sqlite3'}",
            "SESSION_COOKIE_SECURE": False,
        }
    )
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        store().init(
            funds=chart.DEFAULT_FUNDS + chart.DEMO_RESTRICTED_FUNDS, opened=dt.date(2020, 1, 1)
        )
        book = get_book()
        now = today()
        # In date order, as they happened: a restricted fund never dips below zero on any day.
        events = [(row[-1], "donation", i, row) for i, row in enumerate(DONATIONS)]
        events += [(row[-1], "expense", i, row) for i, row in enumerate(EXPENSES)]
        for ago, what, i, row in sorted(events, key=lambda e: (-e[0], e[1])):
            day = now - dt.timedelta(days=ago)
            if what == "donation":
                name, display, kind, fund, amount, _ago = row
                workflow.record_donation(
                    book,
                    workflow.DonationInput(
                        id=f"b-{i}",
                        date=day,
                        amount=amount,
                        fund=fund,
                        channel="wechat",
                        donor=workflow.DonorInput(name, f"1380000000{i}", display, kind),
                    ),
                    "admin",
                )
                continue
            fund, payee, purpose, amount, _ago = row
            req = workflow.request_expense(
                book,
                workflow.ExpenseInput(
                    id=None,
                    date=day,
                    amount=amount,
                    fund=fund,
                    payee=payee,
                    purpose=purpose,
                    line="programme",
                ),
                "admin",
            )
            workflow.approve_request(book, req.id, "approver")
        duplicate = workflow.record_donation(
            book,
            workflow.DonationInput(
                id="b-dup",
                date=now - dt.timedelta(days=5),
                amount="50.00",
                fund="general",
                channel="cash",
                donor=workflow.DonorInput("赵六", "13400134000", "masked"),
            ),
            "admin",
        )
        req = workflow.request_reversal(book, duplicate.id, "重复录入", now, "admin")
        workflow.approve_request(book, req.id, "approver")
    return app


@pytest.fixture(scope="module")
def live_server(live_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def receipt_of(app: Flask, entry_id: str) -> tuple[str, str]:
    """The confirmation number and verification code of a donation on the live site."""
    with app.app_context():
        txn = get_book().get(entry_id)
        assert txn is not None
        return str(txn.meta["receipt"]), str(txn.meta["verify"])


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is missing: run scripts/setup")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def phone(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2)  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()
