"""Demo 微创投: one completed call (funded and rejected projects, one closed with a return) and one
open call, written through the same workflow the pages use."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ledger.book import Book
from ledger_app import grants_workflow as gw
from ledger_app import workflow

CRITERIA = [
    {"name": "居民需求", "weight": 40},
    {"name": "可行性", "weight": 30},
    {"name": "居民参与", "weight": 20},
    {"name": "预算合理", "weight": 10},
]
STAGES = ("提议", "商议", "审议", "决议")


def _lines(*items: tuple[str, str, str]) -> list[dict[str, Any]]:
    return [{"item": i, "quantity": q, "unit_price": p} for i, q, p in items]


def _approve(book: Book, request_id: str) -> None:
    workflow.approve_request(book, request_id, "approver")


def load_demo_grants(book: Book, days: list[dt.date]) -> str:
    """The spring call runs its whole course; the autumn call is open now."""
    spring = gw.create_call(
        book,
        gw.CallInput(
            id="2026-spring",
            title="2026年春季社区微创投",
            fund="general",
            budget="20000",
            ceiling="8000",
            opens_on=days[60],
            closes_on=days[90],
            criteria=CRITERIA,
            purpose="支持居民自组织开展院落微更新、邻里互助和为老服务的小项目。",
        ),
        "admin",
        today=days[55],
    )
    proposals = [
        (
            "3号院居民自治小组",
            "王**",
            "3号院花台与扶手改造",
            "60户居民、12位高龄老人",
            _lines(
                ("花台砖石", "40", "45"), ("不锈钢扶手（米）", "30", "120"), ("人工", "6", "150")
            ),
            "6000",
        ),
        (
            "督院雏鹰志愿队",
            "李**",
            "四点半课堂",
            "社区双职工家庭儿童约30名",
            _lines(
                ("图书与文具", "1", "1800"), ("志愿者保险", "20", "30"), ("场地布置", "1", "600")
            ),
            "3000",
        ),
        (
            "春熙嬢嬢互助队",
            "张**",
            "独居老人上门修理日",
            "独居老人45户",
            _lines(("维修工具", "1", "1500"), ("耗材", "1", "1200")),
            "2700",
        ),
        (
            "兴趣摄影小组",
            "赵**",
            "社区摄影展",
            "全体居民",
            _lines(("相框与打印", "60", "80"), ("展板", "10", "200")),
            "6800",
        ),
    ]
    ids = []
    for k, (group, contact, title, who, lines, requested) in enumerate(proposals):
        app = gw.submit_application(
            book,
            gw.ApplicationInput(
                call_id=spring.id,
                group_name=group,
                contact_name=contact,
                title=title,
                budget_lines=lines,
                beneficiaries=who,
                requested=requested,
                description=f"{group}提出的{title}项目。",
                id=f"2026-S{k + 1:02d}",
            ),
            "admin",
            today=days[70 + k],
        )
        ids.append(app.id)
        gw.set_eligibility(app.id, True, "材料齐全", "admin")
        for reviewer, base in (("approver", 7), ("admin", 8)):
            scores = {c["name"]: max(3, base - k - (i % 2)) for i, c in enumerate(CRITERIA)}
            gw.record_review(app.id, reviewer, scores, "")
    for n, stage in enumerate(STAGES):
        gw.record_deliberation(
            gw.DeliberationInput(
                call_id=spring.id,
                stage=stage,
                held_on=days[95 + n * 4],
                attendees=23,
                quorum=15,
                votes_for=20 if stage == "决议" else 0,
                votes_against=1 if stage == "决议" else 0,
                abstentions=2 if stage == "决议" else 0,
                minutes=f"居民议事会{stage}：讨论春季微创投申请。",
                supervisor_opinion="程序符合议事规则。" if stage == "决议" else "",
                dissent="有居民认为摄影展优先级较低。" if stage == "决议" else "",
            ),
            "admin",
            today=days[95 + n * 4],
        )
    decisions = {ids[0]: "6000", ids[1]: "3000", ids[2]: "2500", ids[3]: None}
    for app_id, amount in decisions.items():
        gw.record_decision(
            app_id,
            amount is not None,
            amount,
            "经决议通过" if amount else "本期预算有限，建议下期再申请",
            "admin",
            published_on=days[110],
            today=days[110],
        )
    for app_id, amount in decisions.items():
        if amount:
            _approve(book, gw.request_award(book, app_id, days[118], "admin").id)
    # The courtyard project: two tranches, a mid-term review, a report, a close-out with a return.
    first = ids[0]
    _approve(book, gw.request_disbursement(book, first, days[120], "3000", "admin").id)
    gw.record_midterm(first, True, "花台已砌好，扶手材料到位，进度符合计划。", "admin", book)
    _approve(book, gw.request_disbursement(book, first, days[150], "3000", "admin").id)
    report = gw.request_expense_report(
        book,
        first,
        days[180],
        "花台、扶手和人工",
        "admin",
        lines=[
            {"line": 0, "amount": "1800"},
            {"line": 1, "amount": "2700"},
            {"line": 2, "amount": "900"},
        ],
        paper_receipts=9,
    )
    _approve(book, report.id)
    close = gw.request_close(
        book,
        first,
        days[190],
        "600",
        "剩余扶手材料4米移交社区仓库，用于5号院",
        gw.EvaluationInput("yes", 60, 92, "老人出入更安全，院内有了共同照料的花台。"),
        "admin",
    )
    _approve(book, close.id)
    # The homework corner and repair days are running.
    _approve(book, gw.request_disbursement(book, ids[1], days[125], "1500", "admin").id)
    _approve(book, gw.request_disbursement(book, ids[2], days[126], "1200", "admin").id)
    autumn = gw.create_call(
        book,
        gw.CallInput(
            id="2026-autumn",
            title="2026年秋季社区微创投",
            fund="general",
            budget="15000",
            ceiling="5000",
            opens_on=days[-20],
            closes_on=days[-1] + dt.timedelta(days=30),
            criteria=CRITERIA,
            purpose="重点支持适老化改造和邻里互助项目。",
        ),
        "admin",
        today=days[-20],
    )
    gw.submit_application(
        book,
        gw.ApplicationInput(
            call_id=autumn.id,
            group_name="5号院楼栋长小组",
            contact_name="陈**",
            title="5号院楼道照明",
            budget_lines=_lines(("感应灯", "24", "85"), ("安装", "1", "400")),
            beneficiaries="5号院42户",
            requested="2440",
            id="2026-A01",
        ),
        "admin",
        today=days[-5],
    )
    return "grants: spring call (3 funded, 1 rejected, 1 closed with a return), autumn call open"
