"""Reading WeChat Pay, Alipay and bank statement exports (ledger/statements.py)."""

from __future__ import annotations

import codecs
import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from ledger import services
from ledger.book import Book
from ledger.errors import RuleError
from ledger.model import ID_PATTERN
from ledger.statements import (
    MAX_ROWS,
    StatementError,
    guess_donor_kind,
    import_entry_id,
    parse_date,
    parse_statement,
    safe_ext_id,
    statement_amount,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "statements"
WECHAT_HEADER = (
    "交易时间,交易类型,交易对方,商品,收/支,金额(元),支付方式,当前状态,交易单号,商户单号,备注"
)
BANK_HEADER = "交易日期,交易时间,收入金额,支出金额,账户余额,对方户名,对方账号,摘要,交易流水号"


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def wechat(*rows: str, header: str = WECHAT_HEADER, encoding: str = "utf-8-sig") -> bytes:
    lines = [
        "微信支付账单明细,,,,,,,,,,",
        "微信昵称：[测试],,,,,,,,,,",
        ",,,,,,,,,,",
        header,
        *rows,
    ]
    return "\r\n".join(lines).encode(encoding)


def wx_row(
    tid: str = "1000050001202601050123456789012",
    *,
    when: str = "2026-01-05 10:02:11",
    party: str = "陈秀英",
    direction: str = "收入",
    amount: str = "¥200.00",
    state: str = "已存入零钱",
    kind: str = "转账",
) -> str:
    return f"{when},{kind},{party},/,{direction},{amount},/,{state},{tid}\t,/,/"


def bank(*rows: str, header: str = BANK_HEADER, encoding: str = "gbk") -> bytes:
    return "\r\n".join(["账号,123456,,,,,,,", header, *rows]).encode(encoding)


def problem_texts(exc: pytest.ExceptionInfo[StatementError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


# -- the three formats --------------------------------------------------------------------------


def test_wechat_export_with_bom_and_header_lines() -> None:
    raw = sample("wechat.csv")
    assert raw.startswith(codecs.BOM_UTF8)
    statement = parse_statement(raw)
    assert statement.format == "wechat"
    assert statement.channel == "wechat"
    assert statement.header_line == 17
    assert len(statement.rows) == 6
    first = statement.rows[0]
    assert first.line_no == 18
    assert first.ext_id == "1000050001202601050123456789012"  # the export's trailing tab is gone
    assert first.date == dt.date(2026, 1, 5)
    assert first.amount == Decimal("200.00")
    assert first.counterparty == "陈秀英"
    assert first.memo == "转账备注:助老餐"
    assert (first.direction, first.channel, first.candidate) == ("in", "wechat", True)
    company = statement.rows[4]
    assert company.amount == Decimal("1200.00")  # "¥1,200.00"
    assert [r.line_no for r in statement.candidates] == [18, 19, 22]


def test_wechat_outgoing_neutral_and_refunded_rows_are_skipped() -> None:
    rows = {r.line_no: r for r in parse_statement(sample("wechat.csv")).rows}
    assert rows[20].direction == "out"
    assert rows[20].skip_reason.startswith("支出")
    assert rows[21].direction == "neutral"  # 零钱提现
    assert rows[21].skip_reason.startswith("不计收支")
    assert rows[23].direction == "in"  # a refunded red packet is not a donation
    assert "退款" in rows[23].skip_reason
    assert not any(rows[n].candidate for n in (20, 21, 23))


def test_alipay_export_in_gbk() -> None:
    raw = sample("alipay.csv")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    statement = parse_statement(raw)
    assert statement.format == "alipay"
    assert statement.encoding == "gb18030"
    assert [(r.counterparty, r.amount, r.direction) for r in statement.rows] == [
        ("李四光", Decimal("500.00"), "in"),
        ("刘德明", Decimal("150.00"), "in"),
        ("某某五金店", Decimal("30.00"), "out"),
        ("赵六", Decimal("50.00"), "in"),
    ]
    assert statement.rows[1].memo == "给美院子的捐款"
    closed = statement.rows[3]
    assert closed.state == "交易关闭"
    assert not closed.candidate
    assert "交易关闭" in closed.skip_reason
    assert len(statement.candidates) == 2


def test_alipay_older_web_export_with_padded_cells() -> None:
    header = (
        "交易号                  ,商家订单号               ,交易创建时间              ,付款时间                ,"
        "最近修改时间              ,交易来源地     ,类型              ,交易对方            ,商品名称                ,"
        "金额（元）   ,收/支     ,交易状态    ,服务费（元）   ,成功退款（元）  ,备注                  ,资金状态     ,"
    )
    row = (
        "2026011322001412345678901234\t,\t,2026-01-13 09:00:00 ,2026-01-13 09:00:05 ,2026-01-13 09:00:05 ,"
        "其他（包括阿里巴巴和外部商家）,即时到账交易 ,孙丽                ,捐款                    ,"
        "66.60         ,收入      ,交易成功    ,0.00           ,0.00           ,                      ,已收入     ,"
    )
    raw = "\n".join(
        [
            "支付宝交易记录明细查询",
            "账号:[fund@example.org]",
            "起始日期:[2026-01-01 00:00:00]    终止日期:[2026-02-01 00:00:00]",
            "---------------------------------交易记录明细列表------------------------------------",
            header,
            row,
            "------------------------------------------------------------------------------------",
            "共1笔记录",
            "已收入:1笔,66.60元",
        ]
    ).encode("gbk")
    statement = parse_statement(raw)
    assert statement.format == "alipay"
    (only,) = statement.rows
    assert only.ext_id == "2026011322001412345678901234"
    assert only.date == dt.date(2026, 1, 13)
    assert only.counterparty == "孙丽"
    assert only.amount == Decimal("66.60")
    assert only.candidate


def test_bank_statement_in_gbk_with_total_row() -> None:
    statement = parse_statement(sample("bank.csv"))
    assert statement.format == "bank"
    assert statement.channel == "bank"
    assert [(r.line_no, r.direction, r.amount) for r in statement.rows] == [
        (6, "in", Decimal("5000.00")),
        (7, "out", Decimal("800.00")),
        (8, "in", Decimal("300.00")),
    ]  # the 合计 line is not a transaction
    first = statement.rows[0]
    assert first.counterparty == "成都市锦江区督院街街道办事处"
    assert first.ext_id == "B20260104000123"
    assert first.memo == "社区微基金补助"


def test_bank_debit_credit_column_names_and_compact_dates() -> None:
    raw = bank(
        "20260103,,1200.00,北京某某科技有限公司,0001",
        "20260104,300.00,,某某物业,0002",
        header="交易日期,借方金额,贷方金额,对方户名,流水号",
        encoding="utf-8",
    )
    rows = parse_statement(raw, "bank").rows
    assert [(r.date, r.direction, r.amount) for r in rows] == [
        (dt.date(2026, 1, 3), "in", Decimal("1200.00")),
        (dt.date(2026, 1, 4), "out", Decimal("300.00")),
    ]


def test_utf8_without_bom_gbk_wechat_utf16_and_tabs_all_read() -> None:
    row = wx_row()
    for raw in (
        wechat(row, encoding="utf-8"),
        wechat(row, encoding="gb18030"),
        wechat(wx_row(amount="￥200.00"), encoding="gbk"),  # GBK has no ¥, exports use ￥
        wechat(row, encoding="utf-16"),
        wechat(row, encoding="utf-8").replace(b",", b"\t"),
    ):
        (only,) = parse_statement(raw).rows
        assert (only.counterparty, only.amount) == ("陈秀英", Decimal("200.00"))


def test_format_can_be_named_and_a_mismatch_is_refused() -> None:
    assert parse_statement(sample("bank.csv"), "bank").format == "bank"
    with pytest.raises(StatementError) as exc:
        parse_statement(sample("alipay.csv"), "wechat")
    assert "微信支付账单的表头" in exc.value.message
    with pytest.raises(RuleError) as bad:
        parse_statement(sample("alipay.csv"), "excel")
    assert bad.value.field == "format"


# -- malformed files: each problem names its row and its column -----------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bad_amount.csv", "第 19 行「金额(元)」列：金额格式不正确"),
        ("bad_date.csv", "第 19 行「交易时间」列：日期格式不正确"),
        (
            "duplicate_id.csv",
            "第 19 行「交易单号」列：交易号 1000050001202601050123456789012 与第 18 行重复",
        ),
        ("missing_column.csv", "第 17 行「交易单号」列：微信支付账单的表头缺少此列"),
    ],
)
def test_malformed_sample_files(name: str, expected: str) -> None:
    with pytest.raises(StatementError) as exc:
        parse_statement(sample(name))
    assert exc.value.message.startswith(expected), exc.value.message
    assert exc.value.field == "file"
    assert isinstance(exc.value, RuleError)


@pytest.mark.parametrize(
    "amount", ["1E+3", "NaN", "Infinity", "-200.00", "200.001", "¥1,2,00", "２００", "0.00", "abc"]
)
def test_bad_amounts_name_row_and_column(amount: str) -> None:
    with pytest.raises(StatementError) as exc:
        parse_statement(wechat(wx_row(amount=f'"{amount}"')))
    assert exc.value.message.startswith("第 5 行「金额(元)」列："), exc.value.message


def test_amounts_accepted() -> None:
    assert statement_amount("¥1,200.50") == Decimal("1200.50")
    assert statement_amount("￥200") == Decimal("200.00")
    assert statement_amount(" +88.8 ") == Decimal("88.80")
    for bad in ("1e3", "nan", "--1", "¥", "1 000"):
        with pytest.raises(RuleError):
            statement_amount(bad)


def test_dates_accepted_and_refused() -> None:
    for text in (
        "2026-01-05",
        "2026/1/5 10:00",
        "2026.01.05",
        "20260105",
        "2026年1月5日",
        "2026-01-05T08:00:00",
    ):
        assert parse_date(text) == dt.date(2026, 1, 5), text
    for text in ("2026-02-30", "05/01/2026", "1999-01-01", "yesterday", "", "2026-01-05 25"):
        with pytest.raises(ValueError, match="bad date"):
            parse_date(text)


def test_every_problem_is_listed() -> None:
    raw = wechat(
        wx_row("1", amount="1E+3"),
        wx_row("2", when="2026-13-01 00:00:00"),
        wx_row("3", direction="借"),
        wx_row(""),
    )
    with pytest.raises(StatementError) as exc:
        parse_statement(raw)
    texts = problem_texts(exc)
    assert texts[0].startswith("第 5 行「金额(元)」列")
    assert texts[1].startswith("第 6 行「交易时间」列")
    assert texts[2].startswith("第 7 行「收/支」列")
    assert texts[3].startswith("第 8 行「交易单号」列：缺少交易号")
    assert "另有 3 处错误" in exc.value.message


def test_bank_row_with_both_or_neither_amount() -> None:
    with pytest.raises(StatementError) as exc:
        parse_statement(bank("2026-01-04,09:00,100.00,50.00,0,甲,1,摘要,B1"))
    assert exc.value.message.startswith("第 3 行「收入金额」列：同一行既有收入又有支出")
    with pytest.raises(StatementError) as exc:
        parse_statement(bank("2026-01-04,09:00,,-,0,甲,1,摘要,B1"))
    assert exc.value.message.startswith("第 3 行「收入金额」列：收入和支出金额都为空")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "文件是空的"),
        (codecs.BOM_UTF8 + b"\r\n\r\n", "文件是空的"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "不是 CSV 文本文件"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "不是 CSV 文本文件"),
        (
            "日期,金额,说明\n2026-01-01,1,x\n".encode(),
            "找不到微信支付账单、支付宝账单、银行流水的表头",
        ),
        (wechat(), "表头下面没有任何交易"),
    ],
)
def test_unreadable_files(raw: bytes, words: str) -> None:
    with pytest.raises(StatementError) as exc:
        parse_statement(raw)
    assert words in exc.value.message


def test_more_than_the_row_limit_is_refused() -> None:
    rows = [wx_row(f"T{i:08d}") for i in range(MAX_ROWS + 1)]
    with pytest.raises(StatementError) as exc:
        parse_statement(wechat(*rows))
    assert f"超过 {MAX_ROWS} 行" in exc.value.message
    assert len(parse_statement(wechat(*rows[:MAX_ROWS])).rows) == MAX_ROWS


def test_unsafe_cells_stay_data() -> None:
    raw = wechat(wx_row(party='"=HYPERLINK(""x"")"'), wx_row("T2", party='"李\u202e四"'))
    rows = parse_statement(raw).rows
    assert rows[0].counterparty == '=HYPERLINK("x")'
    assert rows[1].counterparty == "李\u202e四"  # refused later by the ledger's text rules


# -- ids, donors, results ---------------------------------------------------------------------------


def test_transaction_ids_become_safe_stable_ledger_ids() -> None:
    assert safe_ext_id("4200001234202601051234567890") == "4200001234202601051234567890"
    odd = safe_ext_id("流水/2026/001")
    assert odd == safe_ext_id("流水/2026/001")
    assert odd != safe_ext_id("流水/2026/002")
    assert ID_PATTERN.fullmatch(odd)
    long_a, long_b = "A" * 64, "A" * 63 + "B"
    assert import_entry_id("1000050001") == "imp-1000050001"
    for value in (long_a, long_b):
        assert ID_PATTERN.fullmatch(import_entry_id(value))
    assert import_entry_id(long_a) != import_entry_id(long_b)
    (row,) = parse_statement(bank("2026-01-04,09:00,100.00,,0,甲,1,摘要,流水/2026/001")).rows
    assert row.ext_id == odd
    assert row.raw_id == "流水/2026/001"


def test_donor_kind_guess() -> None:
    assert guess_donor_kind("成都市锦江区督院街街道办事处") == "government"
    assert guess_donor_kind("锦江区某某餐饮有限公司") == "organisation"
    assert guess_donor_kind("陈秀英") == "person"


def test_rows_are_frozen() -> None:
    row = parse_statement(sample("bank.csv")).rows[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.amount = Decimal(1)  # type: ignore[misc]


def test_a_row_passes_the_donation_rules_once(book: Book) -> None:
    row = parse_statement(sample("bank.csv")).rows[2]
    cmd = services.DonationCommand(
        id=import_entry_id(row.ext_id),
        date=row.date,
        amount=row.amount,
        fund="zhulaocan",
        channel=row.channel,
        donor_ref="d-000000000001",
        donor_public="周*",
        entered_by="admin",
        source="import",
        ext_id=row.ext_id,
    )
    services.check_donation(book, cmd)
    services.record_donation(book, cmd)
    assert book.by_ext_id(row.ext_id) == "imp-B20260116000789"
    again = dataclasses.replace(cmd, id="imp-other")
    with pytest.raises(RuleError) as exc:
        services.check_donation(book, again)
    assert exc.value.code == "duplicate"
