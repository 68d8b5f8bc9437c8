"""The micro-grant register (微创投项目台账) for auditors: one A4 landscape row per grant.

The caller computes each row from the ledger (:func:`ledger.grants.grant_totals`) and passes
finished :class:`GrantRegisterRow` values; this module lays them out and adds the totals row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, LongTable, Paragraph, Spacer

from ledger.book import ZERO
from reports.base import ReportDocument, amount_para, format_timestamp, para
from reports.escape import escape_markup

#: The amount columns, in order: (attribute, Chinese heading, English heading).
AMOUNTS: tuple[tuple[str, str, str], ...] = (
    ("awarded", "资助金额", "Awarded"),
    ("disbursed", "已拨付", "Disbursed"),
    ("reported", "已报告支出", "Reported spent"),
    ("returned", "退回", "Returned"),
    ("outstanding", "待报告", "Outstanding"),
)


@dataclass(frozen=True)
class GrantRegisterRow:
    """One grant as the register shows it (figures from the ledger, names from the app)."""

    grant: str
    call: str
    group: str
    fund: str
    awarded: Decimal
    disbursed: Decimal
    reported: Decimal
    returned: Decimal
    outstanding: Decimal
    status: str
    awarded_on: dt.date | None = None
    last_disbursed_on: dt.date | None = None
    closed_on: dt.date | None = None
    tranches: int = 0


def build_grant_register(
    rows: Sequence[GrantRegisterRow],
    *,
    org_name: str,
    generated_at: dt.datetime,
    head_hash: str,
    head_seq: int | None,
) -> bytes:
    """Render the register of every grant as PDF bytes (A4 landscape)."""
    return GrantRegisterReport(
        rows, org_name=org_name, generated_at=generated_at, head_hash=head_hash, head_seq=head_seq
    ).render()


class GrantRegisterReport(ReportDocument):
    """Title and particulars, the register table with a totals row, notes."""

    pagesize: ClassVar[tuple[float, float]] = landscape(A4)
    margin_left: ClassVar[float] = 12 * mm
    margin_right: ClassVar[float] = 12 * mm
    margin_top: ClassVar[float] = 20 * mm
    margin_bottom: ClassVar[float] = 17 * mm
    doc_title: ClassVar[str] = "微创投项目台账 Grant Register"

    #: Column widths (mm) of everything but the amounts, which share what is left.
    widths: ClassVar[dict[str, float]] = {
        "grant": 24,
        "call": 32,
        "group": 38,
        "fund": 22,
        "status": 15,
        "dates": 41,
    }
    cell_padding: ClassVar[float] = 2.5

    def __init__(
        self,
        rows: Sequence[GrantRegisterRow],
        *,
        org_name: str,
        generated_at: dt.datetime,
        head_hash: str,
        head_seq: int | None,
    ) -> None:
        super().__init__(
            org_name=org_name, generated_at=generated_at, head_hash=head_hash, head_seq=head_seq
        )
        self.rows = list(rows)

    def totals(self) -> dict[str, Decimal]:
        """Each amount column summed over the rows."""
        return {
            key: sum((getattr(row, key) for row in self.rows), ZERO) for key, _zh, _en in AMOUNTS
        }

    def story(self) -> list[Flowable]:
        s = self.styles
        closed = sum(1 for row in self.rows if row.closed_on is not None)
        particulars = Paragraph(
            f"编制单位 Organisation：{escape_markup(self.org_name)}　·　"
            f"生成时间 Generated：{escape_markup(format_timestamp(self.generated_at))}　·　"
            f"项目 {len(self.rows)} 个（已结项 {closed} 个）　·　金额单位：人民币元 CNY",
            s.meta,
        )
        head = Paragraph(
            f"账本头哈希 Head hash（序号 seq {self.head_seq if self.head_seq is not None else '—'}）："
            f"{escape_markup(self.head_hash)}",
            s.mono,
        )
        return [
            Paragraph("微创投项目台账", s.title),
            Paragraph("Micro-grant register", s.subtitle),
            Spacer(1, 3 * mm),
            particulars,
            head,
            Spacer(1, 3 * mm),
            self.register_table(),
            Spacer(1, 4 * mm),
            *self.notes(),
        ]

    def register_table(self) -> Flowable:
        s = self.styles
        w = {key: value * mm for key, value in self.widths.items()}
        amount_width = (self.content_width - sum(w.values())) / len(AMOUNTS)
        header = [
            self._head("项目编号", "Grant"),
            self._head("征集", "Call"),
            self._head("申请团体", "Group"),
            self._head("基金", "Fund"),
            *(self._head(zh, en, right=True) for _key, zh, en in AMOUNTS),
            self._head("状态", "Status"),
            self._head("日期", "Dates"),
        ]
        body: list[list[Any]] = [self._row(row) for row in self.rows]
        if not body:
            body.append([Paragraph("暂无项目 No grants", s.cell), *[""] * (len(header) - 1)])
        totals = self.totals()
        body.append(
            [
                Paragraph(f"合计 Total（{len(self.rows)}）", s.cell_total),
                "",
                "",
                "",
                *(amount_para(totals[key], s.cell_total_right) for key, _zh, _en in AMOUNTS),
                "",
                "",
            ]
        )
        commands: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.35, self.grid_color),
            ("BOX", (0, 0), (-1, -1), 0.9, self.rule_color),
            ("BACKGROUND", (0, 0), (-1, 0), self.head_fill),
            ("LINEBELOW", (0, 0), (-1, 0), 0.9, self.rule_color),
            ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
            ("VALIGN", (0, 1), (-1, -1), "TOP"),
            ("ROWBACKGROUNDS", (0, 1), (-1, -2), [None, self.stripe_fill]),
            ("SPAN", (0, -1), (3, -1)),
            ("BACKGROUND", (0, -1), (-1, -1), self.total_fill),
            ("LINEABOVE", (0, -1), (-1, -1), 0.9, self.rule_color),
            ("LEFTPADDING", (0, 0), (-1, -1), self.cell_padding),
            ("RIGHTPADDING", (0, 0), (-1, -1), self.cell_padding),
            ("TOPPADDING", (0, 0), (-1, -1), self.cell_padding - 0.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), self.cell_padding),
        ]
        if not self.rows:
            commands.append(("SPAN", (0, 1), (-1, 1)))
        return LongTable(
            [header, *body],
            colWidths=[
                w["grant"],
                w["call"],
                w["group"],
                w["fund"],
                *[amount_width] * len(AMOUNTS),
                w["status"],
                w["dates"],
            ],
            repeatRows=1,
            splitInRow=1,
            style=self.table_style(commands),
        )

    def notes(self) -> list[Flowable]:
        s = self.styles
        lines = [
            "待报告 = 已拨付 - 已报告支出 - 退回：项目组手中尚未报账的预付款（Assets:1141-预付账款）。"
            "Outstanding = disbursed - reported spent - returned.",
            "每个项目的分录都带有链接 ^grant-&lt;项目编号&gt;，可用 bean-query 复算，例如："
            "SELECT sum(number) WHERE 'grant-&lt;id&gt;' IN links AND account ~ '^Expenses' "
            "（已报告支出）。",
            "日期：资助 = 资助生效（承诺）日；拨款 = 最近一期拨款日；结项 = 结项日。",
        ]
        return [
            Paragraph("说明 Notes", s.heading),
            *(Paragraph(f"{n}. {text}", s.note) for n, text in enumerate(lines, start=1)),
        ]

    def _head(self, zh: str, en: str, *, right: bool = False) -> Paragraph:
        style = self.styles.cell_head_right if right else self.styles.cell_head
        return Paragraph(f'{zh}<br/><font size="6.5" color="#555555">{en}</font>', style)

    def _row(self, row: GrantRegisterRow) -> list[Any]:
        s = self.styles
        dates = []
        if row.awarded_on:
            dates.append(f"资助 {row.awarded_on.isoformat()}")
        if row.last_disbursed_on:
            dates.append(f"拨款 {row.last_disbursed_on.isoformat()}（{row.tranches} 期）")
        if row.closed_on:
            dates.append(f"结项 {row.closed_on.isoformat()}")
        return [
            para(row.grant, s.cell),
            para(row.call or "—", s.cell),
            para(row.group, s.cell),
            para(row.fund, s.cell),
            *(amount_para(getattr(row, key), s.cell_right) for key, _zh, _en in AMOUNTS),
            para(row.status, s.cell),
            Paragraph("<br/>".join(escape_markup(d) for d in dates) or "—", s.cell),
        ]
