"""A live server on a free local port and Debian's chromium driven by Playwright."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from ledger import chart
from ledger_app import create_app, workflow
from ledger_app.books import get_book, store

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
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
        day = dt.date(2026, 3, 1)
        for i, (name, display, fund, amount) in enumerate(
            [
                ("张秀英", "masked", "zhulaocan", "200.00"),
                ("督院街便民超市", "name", "general", "1500.00"),
                ("李建国", "anonymous", "meiyuanzi", "88.00"),
            ]
        ):
            workflow.record_donation(
                book,
                workflow.DonationInput(
                    id=f"b-{i}",
                    date=day,
                    amount=amount,
                    fund=fund,
                    channel="wechat",
                    donor=workflow.DonorInput(name, f"1380000000{i}", display),
                ),
                "admin",
            )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


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
