"""共享食堂 through the admin pages and the API: a day's entry, costs approved by someone else, the
month report against bean-query, and 反哺 by the rule in force, approved and posted."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from app_testkit import amounts_in, counts, flashes, ledger_entry, main_file, snapshot
from beanquery_helpers import bean_query_sum, fund_where
from flask import Flask

from ledger_app import canteen_workflow
from ledger_app.books import get_book
from ledger_app.forms_common import today
from ledger_app.models import CanteenFeedbackRule, OutflowRequest

Client = Callable[..., Any]


def month_start(back: int) -> dt.date:
    first = today().replace(day=1)
    for _ in range(back):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first


def day_body(day: dt.date, **cells: str) -> dict[str, str]:
    body = {"date": day.isoformat(), "note": ""}
    body.update(cells)
    return body


def sell(admin: Any, day: dt.date, **cells: str) -> Any:
    return admin.post("/admin/canteen/day", day_body(day, **cells))


def request_cost(admin: Any, day: dt.date, amount: str, kind: str = "food") -> str:
    page = admin.post(
        "/admin/canteen/costs/new",
        {
            "kind": kind,
            "amount": amount,
            "payee": "蔬菜批发商",
            "paid_from": "bank",
            "date": day.isoformat(),
            "note": "",
        },
    )
    assert page.status_code == 303, page.get_data(as_text=True)
    app = admin.client.application
    with app.app_context():
        req = (
            OutflowRequest.query.filter_by(kind="canteen-cost")
            .order_by(OutflowRequest.created_at.desc())
            .first()
        )
        return str(req.id)


def approve(client: Any, request_id: str) -> str:
    page = client.post(
        f"/admin/approvals/{request_id}/approve", {"note": ""}, form_page="/admin/approvals"
    )
    assert page.status_code == 303
    return " ".join(flashes(client.client.get("/admin/approvals").get_data(as_text=True)))


def add_rule(admin: Any, month: str, share: str, reserve: str, fund: str) -> Any:
    return admin.post(
        "/admin/canteen/rules",
        {"effective_from": month, "share": share, "reserve": reserve, "target_fund": fund},
    )


def row(page: str, name: str) -> list[Decimal]:
    found = re.search(rf'<tr data-row="{name}">(.*?)</tr>', page, re.S)
    assert found, name
    return amounts_in(found.group(1))


def meals_row(page: str, name: str) -> list[int]:
    found = re.search(rf'<tr data-row="{name}">(.*?)</tr>', page, re.S)
    assert found, name
    return [int(x) for x in re.findall(r'<td class="num">(\d+)</td>', found.group(1))]


def test_a_day_through_the_form_equals_bean_query(app: Flask, signed_in: Client) -> None:
    admin = signed_in("admin")
    day = month_start(1) + dt.timedelta(days=4)
    page = sell(
        admin,
        day,
        elder_wechat_meals="120",
        elder_wechat_amount="600.00",
        elder_cash_meals="30",
        elder_cash_amount="150.00",
        standard_wechat_meals="80",
        standard_wechat_amount="1200.00",
        group_bank_meals="40",
        group_bank_amount="480.00",
        **{
            "subsidies-0-source": "督院街街道办",
            "subsidies-0-source_kind": "government",
            "subsidies-0-meal_class": "elder",
            "subsidies-0-meals": "150",
            "subsidies-0-per_meal": "3.00",
            "subsidies-0-channel": "receivable",
        },
    )
    assert page.status_code == 303, page.get_data(as_text=True)
    entry = ledger_entry(app, f"canteen-{day.isoformat()}")
    assert entry is not None
    assert entry.meta["entered-by"] == "admin"
    month = f"{day:%Y-%m}"
    html = admin.client.get(f"/admin/canteen/{month}").get_data(as_text=True)
    main = main_file(app)
    in_month = f"date >= {month}-01 AND date <= {day + dt.timedelta(days=31 - day.day)}"
    canteen = fund_where("canteen")
    sales = -bean_query_sum(main, f"account ~ '提供服务收入' AND {canteen} AND {in_month}")
    subsidies = -bean_query_sum(main, f"account ~ '4401-政府补助收入' AND {canteen}")
    assert sales == Decimal("2430.00")
    assert row(html, "revenue")[0] == sales
    assert row(html, "subsidies")[0] == subsidies == Decimal("450.00")
    assert meals_row(html, "meals")[0] == 270
    assert meals_row(html, "meals-elder")[0] == 150
    assert row(html, "subsidy-per-elder-meal")[0] == Decimal("3.00")

    api = canteen_workflow  # the month through the API equals the page
    with app.app_context():
        assert api.month_json(get_book(), month)["total_revenue"] == "2430.00"


def test_a_repeated_day_is_refused_and_nothing_changes(app: Flask, signed_in: Client) -> None:
    admin = signed_in("admin")
    day = month_start(1) + dt.timedelta(days=2)
    assert sell(admin, day, staff_cash_meals="10", staff_cash_amount="50.00").status_code == 303
    before, rows = snapshot(app), counts(app)
    page = sell(admin, day, staff_cash_meals="12", staff_cash_amount="60.00")
    assert page.status_code == 400
    assert "已入账" in page.get_data(as_text=True)
    assert snapshot(app) == before
    assert counts(app) == rows
    bad = sell(admin, day + dt.timedelta(days=1), elder_cash_meals="5")
    assert bad.status_code == 400
    assert "金额为零" in bad.get_data(as_text=True)
    assert snapshot(app) == before
    assert counts(app) == rows


def test_a_cost_is_approved_by_someone_else(app: Flask, signed_in: Client) -> None:
    admin, approver = signed_in("admin"), signed_in("approver")
    day = month_start(1) + dt.timedelta(days=3)
    rid = request_cost(admin, day, "850.00")
    assert ledger_entry(app, rid) is None
    assert "不能审批自己" in approve(admin, rid)
    assert ledger_entry(app, rid) is None
    approve(approver, rid)
    entry = ledger_entry(app, rid)
    assert entry is not None
    assert entry.meta["approved-by"] == "approver"
    cost = bean_query_sum(main_file(app), f"account ~ '^Expenses' AND {fund_where('canteen')}")
    html = admin.client.get(f"/admin/canteen/{day:%Y-%m}").get_data(as_text=True)
    assert row(html, "costs")[0] == cost == Decimal("850.00")
    assert row(html, "cost-food")[0] == cost


def test_surplus_fed_back_loss_month_and_rule_change(app: Flask, signed_in: Client) -> None:
    admin, approver = signed_in("admin"), signed_in("approver")
    loss_day, good_day = month_start(2) + dt.timedelta(days=5), month_start(1) + dt.timedelta(5)
    loss_month, good_month = f"{loss_day:%Y-%m}", f"{good_day:%Y-%m}"
    assert add_rule(admin, loss_month, "0.5", "200", "zhulaocan").status_code == 303
    # a loss month: 1,000 sales, 1,500 costs
    sell(admin, loss_day, standard_cash_meals="50", standard_cash_amount="1000.00")
    approve(approver, request_cost(admin, loss_day, "1500.00", kind="rent"))
    # a surplus month: 5,000 sales, 2,000 costs → (3000 − 500 − 200) × 0.5 = 1150
    sell(admin, good_day, standard_wechat_meals="250", standard_wechat_amount="5000.00")
    approve(approver, request_cost(admin, good_day, "2000.00"))

    loss = admin.client.get(f"/admin/canteen/{loss_month}").get_data(as_text=True)
    assert 'class="no-proposal"' in loss
    assert "canteen-feedback" not in loss
    assert "亏损" in loss
    refused = admin.post(
        f"/admin/canteen/{loss_month}/feedback", {}, form_page=f"/admin/canteen/{good_month}"
    )
    assert refused.status_code == 303
    assert canteen_workflow.FEEDBACK_REQUEST not in str(_kinds(app))

    page = admin.client.get(f"/admin/canteen/{good_month}").get_data(as_text=True)
    proposed = re.search(r'<strong id="proposed-amount">(.*?)</strong>', page, re.S)
    assert proposed
    assert amounts_in(proposed.group(1)) == [Decimal("1150.00")]
    explanation = re.search(r'<p class="explanation">(.*?)</p>', page, re.S)
    assert explanation

    # a new rule from this month leaves last month's proposal as it was
    assert add_rule(admin, f"{today():%Y-%m}", "1", "0", "general").status_code == 303
    again = admin.client.get(f"/admin/canteen/{good_month}").get_data(as_text=True)
    assert re.search(r'<p class="explanation">(.*?)</p>', again, re.S) == explanation or (
        re.search(r'<p class="explanation">(.*?)</p>', again, re.S).group(1)  # type: ignore[union-attr]
        == explanation.group(1)
    )

    assert (
        admin.post(
            f"/admin/canteen/{good_month}/feedback", {}, form_page=f"/admin/canteen/{good_month}"
        ).status_code
        == 303
    )
    rid = f"canteen-feedback-{good_month}"
    assert "不能审批自己" in approve(admin, rid)
    approve(approver, rid)
    entry = ledger_entry(app, rid)
    assert entry is not None
    assert entry.meta["approved-by"] == "approver"
    main = main_file(app)
    kind = "entry_meta('kind') = 'canteen-feedback'"
    assert -bean_query_sum(
        main, f"account ~ '^Equity' AND {fund_where('zhulaocan')} AND {kind}"
    ) == Decimal("1150.00")
    assert bean_query_sum(
        main, f"account ~ '^Equity' AND {fund_where('canteen')} AND {kind}"
    ) == Decimal("1150.00")
    with app.app_context():
        summary = canteen_workflow.fed_back_summary(get_book())
    assert summary["total"] == Decimal("1150.00")
    assert summary["funds"] == [
        {"slug": "zhulaocan", "name": summary["funds"][0]["name"], "amount": Decimal("1150.00")}
    ]
    # rules for a month already fed back are refused; the history keeps both rows
    before = counts(app)
    refused_rule = add_rule(admin, good_month, "0.1", "0", "general")
    assert refused_rule.status_code == 400
    assert "已按原规则反哺" in refused_rule.get_data(as_text=True)
    assert counts(app) == before
    with app.app_context():
        assert CanteenFeedbackRule.query.count() == 2


def _kinds(app: Flask) -> list[str]:
    with app.app_context():
        return [r.kind for r in OutflowRequest.query.all()]


def test_the_api_records_a_day_and_reads_the_month(app: Flask, api: Client) -> None:
    day = month_start(1) + dt.timedelta(days=7)
    body = {
        "date": day.isoformat(),
        "sales": [{"meal_class": "elder", "channel": "cash", "meals": 20, "amount": "100.00"}],
    }
    assert api("POST", "/canteen/days", json=body).status_code == 201
    again = api("POST", "/canteen/days", json=body)
    assert again.status_code == 422
    assert again.get_json()["error"]["code"] == "day_recorded"
    assert api("POST", "/canteen/days", user="approver", json=body).status_code == 403
    month = api("GET", f"/canteen/months/{day:%Y-%m}").get_json()
    assert month["total_revenue"] == "100.00"
    assert month["meals"]["elder"] == 20
    assert month["feedback"] is None
    ops = {
        op["operationId"]
        for path in api("GET", "/openapi.json", user=None).get_json()["paths"].values()
        for op in path.values()
    }
    assert {"recordCanteenDay", "getCanteenMonth"} <= ops


def test_the_auditor_gets_403(app: Flask, signed_in: Client) -> None:
    auditor = signed_in("auditor")
    for path in (
        "/admin/canteen/",
        "/admin/canteen/day",
        "/admin/canteen/rules",
        f"/admin/canteen/{today():%Y-%m}",
        "/admin/canteen/costs/new",
    ):
        assert auditor.client.get(path).status_code == 403, path
    approver = signed_in("approver")
    assert approver.client.get("/admin/canteen/rules").status_code == 200
    assert approver.client.get("/admin/canteen/day").status_code == 403


def test_the_api_imports_a_pos_summary_and_a_repeat_posts_nothing(app, api):
    from pathlib import Path

    from app_testkit import snapshot as snap

    raw = (Path(__file__).resolve().parents[1] / "data" / "canteen" / "pos.csv").read_bytes()
    before = snap(app)
    preview = api("POST", "/canteen/imports", data=raw, headers={"Content-Type": "text/csv"})
    assert preview.status_code == 200, preview.get_json()
    assert [d["status"] for d in preview.get_json()["days"]] == ["new", "new"]
    assert snap(app) == before
    posted = api(
        "POST", "/canteen/imports?post=true", data=raw, headers={"Content-Type": "text/csv"}
    )
    assert [d["status"] for d in posted.get_json()["days"]] == ["posted", "posted"]
    after = snap(app)
    again = api(
        "POST", "/canteen/imports?post=true", data=raw, headers={"Content-Type": "text/csv"}
    )
    assert again.status_code == 422
    assert again.get_json()["error"]["field"] == "file"
    assert snap(app) == after
    bad = api(
        "POST",
        "/canteen/imports?post=true",
        data="日期,餐别\n".encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert bad.status_code == 422
    assert "缺少" in bad.get_json()["error"]["message"]
    assert api("POST", "/canteen/imports", user="auditor", data=raw).status_code == 403


def test_the_import_page_previews_then_posts_a_summary_and_refuses_a_bad_one(app, signed_in):
    import io
    from pathlib import Path

    from app_testkit import counts as db_counts
    from app_testkit import snapshot as snap

    raw = (Path(__file__).resolve().parents[1] / "data" / "canteen" / "pos.csv").read_bytes()
    admin = signed_in("admin")

    def upload(content: bytes, post: bool) -> object:
        token = admin.token("/admin/canteen/import")
        data = {"csrf_token": token, "file": (io.BytesIO(content), "pos.csv")}
        if post:
            data["post"] = "y"
        return admin.client.post(
            "/admin/canteen/import", data=data, content_type="multipart/form-data"
        )

    before = snap(app)
    preview = upload(raw, post=False)
    assert preview.status_code == 200
    assert "待入账" in preview.get_data(as_text=True)
    assert snap(app) == before
    assert upload(raw, post=True).status_code == 200
    after, rows = snap(app), db_counts(app)
    bad = upload("日期,餐别,支付方式,份数,金额\n2026-03-09,标准,微信,1,1E+3\n".encode(), post=True)
    assert bad.status_code == 400
    assert "第 2 行「金额」列" in bad.get_data(as_text=True)
    assert snap(app) == after
    assert db_counts(app) == rows
    assert signed_in("auditor").client.get("/admin/canteen/import").status_code == 403
