"""The periodic public notice (公示): a PDF anyone can download, whose figures are the ledger's."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from app_testkit import give, main_file, reverse, spend
from beanquery_helpers import bean_query_sum
from pypdf import PdfReader

from ledger.money import format_cny
from ledger_app.forms_common import today


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_quarterly_notice_shows_the_ledgers_figures_and_no_personal_data(app, client):
    now = today()
    first = dt.date(now.year, ((now.month - 1) // 3) * 3 + 1, 1)
    give(app, "1000.00", fund="zhulaocan", name="郑秀兰", phone="13812345678", day=first)
    gift = give(app, "250.00", fund="general", name="李建国", display="anonymous", day=first)
    give(app, "60.00", fund="general", name="何丽华", display="name", day=first)
    spend(app, "420.00", fund="zhulaocan", purpose="助老餐食材", day=now)
    reverse(app, gift, "捐赠人要求退款")
    quarter = f"{now.year}-Q{(now.month - 1) // 3 + 1}"
    response = client.get(f"/notices/{quarter}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = _text(response.data)
    main = main_file(app)
    where = f"date >= {first.isoformat()} AND date <= {now.isoformat()}"
    income = -bean_query_sum(main, f"account ~ '^Income' AND {where}")
    spent = bean_query_sum(main, f"account ~ '^Expenses' AND {where}")
    assert income == Decimal("1060.00")  # the refunded gift nets out within the quarter
    assert format_cny(income) in text
    assert format_cny(spent) in text
    zhulaocan = -bean_query_sum(
        main, f"account ~ '^(Income|Expenses)' AND meta('fund') = 'zhulaocan' AND date <= {now}"
    )
    assert format_cny(zhulaocan) in text
    assert "郑*" in text
    assert "郑秀兰" not in text
    assert "李建国" not in text
    assert "13812345678" not in text
    assert "何丽华" in text
    assert f"{now.year}-000001" in text  # donations listed by confirmation number


def test_the_notices_page_lists_months_and_quarters_and_unknown_periods_are_404(client):
    page = client.get("/notices").get_data(as_text=True)
    now = today()
    assert f"/notices/{now.year}-{now.month:02d}.pdf" in page
    assert f"/notices/{now.year}-Q{(now.month - 1) // 3 + 1}.pdf" in page
    for bad in ("2026-13", "2026-Q5", "abc", f"{now.year + 1}-01"):
        assert client.get(f"/notices/{bad}.pdf").status_code == 404


def test_the_notice_in_english_mode_is_still_the_chinese_document(client):
    assert client.get(f"/notices/{today().year}-{today().month:02d}.pdf?lang=en").status_code == 200
