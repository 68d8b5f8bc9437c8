"""A believable year for a community like 督院街: residents, merchants and the street office give;
the fund buys meals for elders, renews courtyards and runs activities. Everything goes through the
same workflow functions the forms use."""

from __future__ import annotations

import datetime as dt
import os
import random
from decimal import Decimal

from sqlalchemy import select

from ledger.book import Book, china_now
from ledger_app import donors, workflow
from ledger_app.demo_canteen import feed_back_demo_months, load_demo_canteen
from ledger_app.demo_disclosures import load_demo_disclosures
from ledger_app.demo_grants import load_demo_grants
from ledger_app.demo_periods import close_demo_months
from ledger_app.demo_transfers import sweep_demo_months
from ledger_app.extensions import db
from ledger_app.models import User
from ledger_app.security import hash_password

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = [
    "秀英",
    "桂兰",
    "建国",
    "淑芬",
    "志强",
    "丽华",
    "德明",
    "玉珍",
    "国庆",
    "春梅",
    "文华",
    "小红",
    "明",
    "静",
    "伟",
    "芳",
    "军",
    "敏",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "霞",
    "婷",
    "磊",
]
MERCHANTS = [
    "春熙路口老灶火锅",
    "督院街便民超市",
    "蜀味小馆",
    "红星路药房",
    "锦江理发店",
    "天府茶社",
    "老成都面馆",
    "平安家政服务部",
]
COMPANIES = [
    "成都锦城物业服务有限公司",
    "四川蓉和餐饮管理有限公司",
    "督院街党建联盟单位·某银行支行",
]
DEMO_USERS = (
    ("admin", "admin", "李会计"),
    ("approver", "approver", "王监事"),
    ("auditor", "auditor", "街道审计"),
)


def ensure_demo_users() -> str:
    """Create the three demo users if missing; returns the password they share."""
    password = os.environ.get("LEDGER_DEMO_PASSWORD", "demo-password-2026")
    for username, role, display in DEMO_USERS:
        if not db.session.scalars(select(User).where(User.username == username)).first():
            db.session.add(
                User(
                    username=username,
                    role=role,
                    display_name=display,
                    password_hash=hash_password(password),
                )
            )
    db.session.commit()
    return password


def _amount(rng: random.Random, choices: list[int]) -> Decimal:
    return Decimal(rng.choice(choices)).quantize(Decimal("0.01"))


def load_demo(book: Book, *, seed: int = 2026, today: dt.date | None = None) -> str:
    """Write the demo year into the ledger (skipped if the ledger already has demo entries)."""
    password = ensure_demo_users()
    book.refresh()
    if any((t.meta or {}).get("source") == "demo" for t in book.latest(500)):
        return "demo data already loaded"
    rng = random.Random(seed)
    end = today or (china_now().date() - dt.timedelta(days=1))
    start = end - dt.timedelta(days=364)
    days = [start + dt.timedelta(days=i) for i in range(365)]
    donations = expenses = 0
    # The street office tops up the general fund each quarter; companies sponsor twice a year.
    for i, day in enumerate(days):
        if day.day == 5 and day.month in (1, 4, 7, 10):
            _give(
                book,
                rng,
                day,
                "四川省成都市锦江区督院街街道办事处",
                "government",
                "name",
                Decimal("30000.00"),
                "general",
                "bank",
                "街道季度补充资金",
            )
            donations += 1
        if day.day == 15 and day.month in (3, 9):
            _give(
                book,
                rng,
                day,
                rng.choice(COMPANIES),
                "organisation",
                "name",
                _amount(rng, [5000, 8000, 10000]),
                rng.choice(["zhulaocan", "meiyuanzi"]),
                "bank",
                "定向支持",
            )
            donations += 1
        # Residents and merchants give most days: small sums, mostly by WeChat Pay.
        for _ in range(rng.choice([0, 0, 1, 1, 1, 2])):
            if rng.random() < 0.15:
                name, kind, display = rng.choice(MERCHANTS), "organisation", "name"
                amount = _amount(rng, [200, 300, 500, 800, 1000])
            else:
                name = rng.choice(SURNAMES) + rng.choice(GIVEN)
                kind = "person"
                display = rng.choices(["masked", "name", "anonymous"], [6, 2, 2])[0]
                amount = _amount(rng, [10, 20, 50, 50, 66, 88, 100, 100, 200, 200, 500])
            fund = rng.choices(["general", "zhulaocan", "meiyuanzi"], [5, 4, 2])[0]
            channel = rng.choices(["wechat", "alipay", "cash", "bank"], [6, 2, 2, 1])[0]
            _give(book, rng, day, name, kind, display, amount, fund, channel, "")
            donations += 1
        if i > 20 and i % 7 == 3:
            expenses += _spend(
                book,
                rng,
                day,
                "zhulaocan",
                "督院街共享食堂",
                "助老餐补贴（本周老人用餐）",
                [600, 800, 900, 1200],
                "programme",
            )
        if i > 60 and i % 45 == 10:
            expenses += _spend(
                book,
                rng,
                day,
                "meiyuanzi",
                "成都安居建材经营部",
                "美院子：院落花台与扶手材料",
                [2500, 3800, 4600],
                "programme",
            )
        if i > 30 and i % 30 == 12:
            expenses += _spend(
                book,
                rng,
                day,
                "general",
                "社区志愿者服务队",
                "邻里节活动物资",
                [300, 450, 800],
                "programme",
            )
        if i % 90 == 40:
            expenses += _spend(
                book,
                rng,
                day,
                "general",
                "锦江区某打印店",
                "信息公示栏印刷与张贴",
                [120, 180],
                "admin",
            )
    donations += _special_gifts(book, days)
    # One correction: a duplicated entry, reversed with a reason and a second person's approval.
    dup_day = days[200]
    dup = _give(
        book,
        rng,
        dup_day,
        "周*",
        "person",
        "masked",
        Decimal("100.00"),
        "general",
        "cash",
        "重复录入示例",
    )
    req = workflow.request_reversal(
        book, dup, "同一笔现金捐赠录入了两次", days[201], "admin", entry_id=f"demo-rev-{seed}"
    )
    workflow.approve_request(book, req.id, "approver")
    grants = load_demo_grants(book, days)
    grants += "; " + load_demo_canteen(book, days, seed=seed)
    grants += "; " + feed_back_demo_months(book, days)
    grants += "; " + sweep_demo_months(book, days)
    grants += "; " + load_demo_disclosures(book, days)
    grants += "; " + close_demo_months(book, days)  # last: closed months take no entries
    return (
        f"demo: {donations + 1} donations, {expenses} approved expenses, 1 reversal; {grants}; "
        f"users admin / approver / auditor, password {password}"
    )


def _special_gifts(book: Book, days: list[dt.date]) -> int:
    """Gifts in kind, a sponsored project, a pledge paid in two parts, official receipts."""
    gifts = [
        (
            days[40],
            "督院街便民超市",
            "organisation",
            "name",
            "goods",
            "zhulaocan",
            "1860.00",
            "米、面、食用油一批，按超市销售发票价格",
            "李会计",
            "",
        ),
        (
            days[130],
            "红星路药房",
            "organisation",
            "name",
            "goods",
            "zhulaocan",
            "640.00",
            "老年人常用保健品与血压计，按药房零售价",
            "王监事",
            "",
        ),
        (
            days[150],
            "成都锦城物业服务有限公司",
            "organisation",
            "name",
            "money",
            "meiyuanzi",
            "12000.00",
            "",
            "",
            "3号院花园",
        ),
    ]
    count = 0
    for day, name, kind, display, form, fund, amount, basis, valuer, project in gifts:
        workflow.record_donation(
            book,
            workflow.DonationInput(
                id=f"demo-gift-{day:%Y%m%d}",
                date=day,
                amount=amount,
                fund=fund,
                channel="bank" if form == "money" else "in-kind",
                donor=workflow.DonorInput(name, "", display, kind),
                form=form,
                valuation_basis=basis,
                valued_by=valuer,
                project=project,
                note="企业冠名资助" if project else "实物捐赠",
            ),
            "admin",
            source="demo",
        )
        count += 1
    sponsor = workflow.find_or_create_donor(
        workflow.DonorInput("四川蓉和餐饮管理有限公司", "", "name", "organisation")
    )
    pledge = donors.create_pledge(
        book,
        sponsor,
        "12000.00",
        "zhulaocan",
        days[60],
        "admin",
        due_on=days[-1],
        note="全年助老餐认捐，分期支付",
        pledge_id="demo-pledge-ronghe",
    )
    for part, day in enumerate((days[90], days[240])):
        workflow.record_donation(
            book,
            workflow.DonationInput(
                id=f"demo-pledge-pay-{part + 1}",
                date=day,
                amount="4000.00",
                fund="zhulaocan",
                channel="bank",
                donor=workflow.DonorInput(sponsor.name, "", "name", "organisation"),
                pledge=pledge.id,
                note=f"认捐第{part + 1}期",
            ),
            "admin",
            source="demo",
        )
        count += 1
    # The host charity issued official receipts for the street office's quarterly transfers.
    for txn in book.transactions():
        meta = txn.meta or {}
        if meta.get("donor-kind") == "government" and isinstance(meta.get("receipt"), str):
            receipt_no = str(meta["receipt"])
            if donors.official_for(receipt_no) is None:
                issued = min(txn.date + dt.timedelta(days=20), days[-1])
                donors.record_official_receipt(
                    book,
                    receipt_no,
                    donors.OfficialInput("51010126", f"{receipt_no[-6:]}8", "C3F1", issued),
                    "admin",
                    today=days[-1],
                )
    return count


def _give(
    book: Book,
    rng: random.Random,
    day: dt.date,
    name: str,
    kind: str,
    display: str,
    amount: Decimal,
    fund: str,
    channel: str,
    note: str,
) -> str:
    phone = f"13{rng.randrange(10**8, 10**9)}" if kind == "person" and rng.random() < 0.7 else ""
    result = workflow.record_donation(
        book,
        workflow.DonationInput(
            id=f"demo-don-{day:%Y%m%d}-{rng.randrange(16**6):06x}",
            date=day,
            amount=amount,
            fund=fund,
            channel=channel,
            donor=workflow.DonorInput(name, phone, display, kind),
            note=note,
        ),
        "admin",
        source="demo",
    )
    return result.id


def _spend(
    book: Book,
    rng: random.Random,
    day: dt.date,
    fund: str,
    payee: str,
    purpose: str,
    amounts: list[int],
    line: str,
) -> int:
    amount = _amount(rng, amounts)
    if book.fund_balance(fund) < amount:
        return 0
    req = workflow.request_expense(
        book,
        workflow.ExpenseInput(
            id=f"demo-exp-{day:%Y%m%d}-{rng.randrange(16**6):06x}",
            date=day,
            amount=amount,
            fund=fund,
            payee=payee,
            purpose=purpose,
            line=line,
        ),
        "admin",
        source="demo",
    )
    workflow.approve_request(book, req.id, "approver")
    return 1
