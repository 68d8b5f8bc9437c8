"""The ledger integrity attestation (账本完整性证明) as a PDF, from a finished integrity report.

It states what was verified (the hash chain, bean-check, the project's rules), the result, the
head hash and the sha256 of every file, and how a later reader re-verifies, so that whoever holds
the paper can tell whether the books changed since. It only lays out :class:`IntegrityReport`;
it never reads the ledger.
"""

from __future__ import annotations

from typing import Any, ClassVar

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, LongTable, Paragraph, Spacer, Table

from ledger.integrity import IntegrityReport
from reports.base import ReportDocument, format_timestamp, para
from reports.escape import escape_markup

#: The embedded fonts have no ✔/✘ glyphs; √ and × they have.
MARK_OK = "√ 通过 PASS"
MARK_FAIL = "× 未通过 FAIL"


def build_attestation(
    report: IntegrityReport, *, org_name: str, verified_by: str = "", archive_url: str = ""
) -> bytes:
    """Render the attestation for one verification as PDF bytes.

    Args:
        report: the finished result of :func:`ledger.integrity.verify_integrity`.
        org_name: the organisation named in the header of every page.
        verified_by: who asked for the verification (a user name), printed on the attestation.
        archive_url: where the ledger archive is downloaded, named in the re-verification steps.

    Returns:
        The PDF document.
    """
    return AttestationReport(
        report, org_name=org_name, verified_by=verified_by, archive_url=archive_url
    ).render()


def verdict_text(report: IntegrityReport) -> str:
    """The one-line verdict, in Chinese and English."""
    if report.ok:
        return "核验通过：账本文件完整、未被改动，各项检查均通过。VERIFIED: all checks pass."
    return "核验未通过：见下表中未通过的项目。NOT VERIFIED: see the failed checks below."


class AttestationReport(ReportDocument):
    """Title and particulars, verdict, the checks, the break (if any), the files, how to re-check."""

    doc_title: ClassVar[str] = "账本完整性证明 Ledger Integrity Attestation"
    good_hex: ClassVar[str] = "#1F7A4D"
    bad_hex: ClassVar[str] = "#B4232A"
    good_fill: ClassVar[colors.Color] = colors.HexColor("#EEF7F1")
    bad_fill: ClassVar[colors.Color] = colors.HexColor("#FDF0F0")
    cell_padding: ClassVar[float] = 3

    def __init__(
        self,
        report: IntegrityReport,
        *,
        org_name: str,
        verified_by: str = "",
        archive_url: str = "",
    ) -> None:
        super().__init__(
            org_name=org_name,
            generated_at=report.checked_at,
            head_hash=report.head_hash,
            head_seq=report.seq,
        )
        self.report = report
        self.verified_by = verified_by
        self.archive_url = archive_url

    def story(self) -> list[Flowable]:
        """Title, particulars, verdict, checks, break, files, re-verification, signatures."""
        return [
            *self.title_section(),
            Spacer(1, 3 * mm),
            self.verdict_box(),
            Spacer(1, 2 * mm),
            *self.checks_section(),
            *self.break_section(),
            Spacer(1, 4 * mm),
            *self.files_section(),
            Spacer(1, 4 * mm),
            *self.howto_section(),
            Spacer(1, 2 * mm),
            self.signature_block(),
        ]

    # -- sections ---------------------------------------------------------------------------

    def title_section(self) -> list[Flowable]:
        """The title and a table of particulars, the full head hash among them."""
        s = self.styles
        r = self.report

        def label(zh: str, en: str) -> Paragraph:
            return Paragraph(f'{zh} <font size="7" color="#666666">{en}</font>', s.meta)

        entries = f"{r.entries}（其中 {r.chained} 笔在哈希链中 chained"
        entries += f"，{r.unchained} 笔手工录入 hand-written）" if r.unchained else "）"
        rows: list[list[Any]] = [
            [
                label("编制单位", "Organisation"),
                para(self.org_name, s.meta),
                label("账本", "Ledger"),
                para(r.title or "—", s.meta),
            ],
            [
                label("核验时间", "Verified at"),
                para(format_timestamp(r.checked_at), s.meta),
                label("核验人", "Verified by"),
                para(self.verified_by or "—", s.meta),
            ],
            [
                label("链头序号", "Head seq"),
                para(str(r.seq), s.meta),
                label("分录数", "Entries"),
                para(entries, s.meta),
            ],
            [label("链头哈希", "Head hash"), self._head_hash_cell(), "", ""],
        ]
        table = self.particulars_table(rows)
        return [
            Paragraph("账本完整性证明", s.title),
            Paragraph("Ledger Integrity Attestation", s.subtitle),
            Spacer(1, 4 * mm),
            table,
        ]

    def verdict_box(self) -> Flowable:
        """The verdict in a coloured box: what a reader looks at first."""
        s = self.styles
        ok = self.report.ok
        color = self.good_hex if ok else self.bad_hex
        mark = MARK_OK if ok else MARK_FAIL
        text = (
            f'<font size="12" color="{color}">{escape_markup(mark)}</font>　'
            f"{escape_markup(verdict_text(self.report))}"
        )
        return Table(
            [[Paragraph(text, s.body)]],
            colWidths=[self.frame_width],
            style=self.table_style(
                [
                    ("BOX", (0, 0), (-1, -1), 1.2, colors.HexColor(color)),
                    ("BACKGROUND", (0, 0), (-1, -1), self.good_fill if ok else self.bad_fill),
                    ("LEFTPADDING", (0, 0), (-1, -1), 6),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                    ("TOPPADDING", (0, 0), (-1, -1), 5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ]
            ),
        )

    def checks_section(self) -> list[Flowable]:
        """One row per check: what was done and its result."""
        s = self.styles
        r = self.report
        chain_result = (
            f"共 {r.chained} 笔，链头哈希与上表一致。"
            if r.chain_ok
            else f"第一处不符：{r.chain_break.problem}"
            if r.chain_break
            else "未通过"
        )
        tool = r.tool
        if not tool.ran:
            tool_note = "（未找到 bean-check 程序，仅以 Beancount 加载器核验）"
        elif tool.ok:
            tool_note = f"（{tool.command} 亦无错误）"
        else:
            tool_note = f"（{tool.command} 报告 {len(tool.errors)} 项错误）"
        bean_errors = [
            *r.beancount_errors,
            *(e for e in tool.errors if e not in r.beancount_errors),
        ]
        bean_result = (
            "无错误。" + tool_note
            if r.beancheck_ok
            else f"{len(bean_errors)} 项错误：" + "；".join(bean_errors[:5]) + tool_note
        )
        rules_result = (
            "无问题。"
            if r.rules_ok
            else f"{len(r.rule_problems)} 项问题：" + "；".join(r.rule_problems[:5])
        )
        rows = [
            (
                "哈希链\nHash chain",
                "按序号 1…N 逐笔重算 sha256(前一笔哈希 + 分录规范文本)，与每笔分录记录的 hash 比对；"
                "序号须连续无缺、无重复。",
                r.chain_ok,
                chain_result,
            ),
            (
                "bean-check",
                "用 Beancount 加载器重新读取磁盘上的账本文件（含 bean-check 的全部校验）："
                "借贷平衡、科目已开设、余额断言等。",
                r.beancheck_ok,
                bean_result,
            ),
            (
                "项目规则\nProject rules",
                "每笔收入、费用、净资产过账属于已声明的基金；分录编号不重复；"
                "限定性基金余额不为负。",
                r.rules_ok,
                rules_result,
            ),
        ]
        header = [
            self._head("核验项目", "Check"),
            self._head("核验内容", "What was verified"),
            self._head("结果", "Result"),
            self._head("说明", "Detail"),
        ]
        body = [
            [
                Paragraph(escape_markup(name).replace("\n", "<br/>"), s.cell),
                para(what, s.cell),
                self._mark(ok),
                para(detail, s.cell),
            ]
            for name, what, ok, detail in rows
        ]
        width = self.frame_width
        table = Table(
            [header, *body],
            colWidths=[22 * mm, 64 * mm, 24 * mm, width - 110 * mm],
            repeatRows=1,
            style=self.table_style([*self._grid_commands(), ("VALIGN", (0, 0), (-1, -1), "TOP")]),
        )
        return [Paragraph("一、核验项目与结果 Checks", s.heading), table]

    def break_section(self) -> list[Flowable]:
        """Where the chain broke: the entry's id, seq and file:line (nothing when it holds)."""
        brk = self.report.chain_break
        if brk is None:
            return []
        s = self.styles
        lines = [
            f"分录编号 entry id：{brk.entry_id or '—'}",
            f"序号 seq：{brk.seq if brk.seq is not None else '—'}",
            f"位置 file:line：{brk.location}",
            f"问题 problem：{brk.problem}",
        ]
        if brk.missing_seq is not None:
            lines.insert(0, f"缺少的序号 missing seq：{brk.missing_seq}（该分录已被删除）")
        lines.append(
            f"序号 {brk.seq if brk.seq is not None else '?'} 之前的分录已核验一致，其链头为 "
            f"{self.report.verified_head}。"
        )
        return [
            Spacer(1, 3 * mm),
            KeepTogether(
                [
                    Paragraph("哈希链第一处不符 First break in the chain", s.heading),
                    *(para(line, s.body) for line in lines),
                ]
            ),
        ]

    def files_section(self) -> list[Flowable]:
        """The sha256 of every file verified, for comparison with a later copy."""
        s = self.styles
        files = self.report.files
        header = [
            self._head("文件（相对账本目录）", "File"),
            self._head("大小（字节）", "Bytes", right=True),
            self._head("SHA-256", "SHA-256"),
        ]
        body = [
            [para(f.path, s.cell), para(f"{f.size:,}", s.cell_right), para(f.sha256, s.mono)]
            for f in files
        ]
        width = self.frame_width
        table = LongTable(
            [header, *body],
            colWidths=[width - 22 * mm - 108 * mm, 22 * mm, 108 * mm],
            repeatRows=1,
            style=self.table_style(
                [
                    *self._grid_commands(),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [None, self.stripe_fill]),
                ]
            ),
        )
        return [
            Paragraph(f"二、文件清单 Files（{len(files)} 个）", s.heading),
            table,
        ]

    def howto_section(self) -> list[Flowable]:
        """How a later reader re-verifies, with the commands to type."""
        s = self.styles
        r = self.report
        where = f"（{escape_markup(self.archive_url)}）" if self.archive_url else ""
        steps: list[list[Flowable]] = [
            [
                Paragraph(
                    f"下载账本文件归档 ledger.zip{where} 并解压，在解压后的文件夹中运行下列命令核对每个"
                    "文件完好；文件的 SHA-256 与上表相同，即与本证明核验时逐字节一致（之后新增分录只会"
                    "改变年度文件 txns/YYYY.beancount）。Download the ledger archive and check it; "
                    "a file whose SHA-256 equals the table above is byte for byte what was verified.",
                    s.note,
                ),
                Paragraph("sha256sum -c MANIFEST.txt", s.code),
            ],
            [
                Paragraph("用 Beancount 检查账本（Check with Beancount）：", s.note),
                Paragraph("bean-check ledger/main.beancount", s.code),
            ],
            [
                Paragraph(
                    f"在之后的账本中找到序号 seq {r.seq} 的分录，其 hash 元数据应等于本证明的链头哈希"
                    f" {escape_markup(r.head_hash)}；并在本程序的“账本完整性”页面"
                    "（/audit/integrity）或用 flask ledger verify 重新计算整条哈希链。"
                    "两者都成立，说明本证明时已有的分录此后未被改动、删除或插入。"
                    f"The entry with seq {r.seq} must still carry this head hash and the chain "
                    "must verify: then no entry up to this attestation has changed since.",
                    s.note,
                ),
                Paragraph(f"grep -n -A12 'seq: {r.seq}$' ledger/txns/*.beancount", s.code),
            ],
        ]
        table = self.numbered_notes(steps)
        return [Paragraph("三、如何复核 How to re-verify", s.heading), table]

    def signature_block(self) -> Flowable:
        """Lines for the people who sign the attestation off."""
        s = self.styles
        width = self.frame_width / 2
        cells = [
            [
                Paragraph("审计 / 监事签字 Auditor：", s.body),
                Paragraph("日期 Date：", s.body),
            ]
        ]
        return KeepTogether(
            [
                Table(
                    cells,
                    colWidths=[width, width],
                    rowHeights=[11 * mm],
                    style=self.table_style(
                        [
                            ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                            ("LINEBELOW", (0, 0), (0, 0), 0.5, self.rule_color),
                            ("LINEBELOW", (1, 0), (1, 0), 0.5, self.rule_color),
                            ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ]
                    ),
                )
            ]
        )

    # -- cells ------------------------------------------------------------------------------

    def _head_hash_cell(self) -> Paragraph:
        r = self.report
        text = escape_markup(r.head_hash)
        if not r.chain_ok:
            # The head entry's recorded hash cannot be trusted once the chain is broken before it.
            text += (
                f'<br/><font color="{self.bad_hex}">哈希链未通过，此值未经核验'
                "（unverified: the chain is broken）</font>"
            )
        return Paragraph(text, self.styles.mono)

    def _mark(self, ok: bool) -> Paragraph:
        color = self.good_hex if ok else self.bad_hex
        text = MARK_OK if ok else MARK_FAIL
        return Paragraph(f'<font color="{color}">{escape_markup(text)}</font>', self.styles.cell)

    def _head(self, zh: str, en: str, *, right: bool = False) -> Paragraph:
        style = self.styles.cell_head_right if right else self.styles.cell_head
        return Paragraph(f'{zh}<br/><font size="6.5" color="#555555">{en}</font>', style)

    def _grid_commands(self) -> list[tuple[Any, ...]]:
        pad = self.cell_padding
        return [
            ("GRID", (0, 0), (-1, -1), 0.35, self.grid_color),
            ("BOX", (0, 0), (-1, -1), 0.9, self.rule_color),
            ("BACKGROUND", (0, 0), (-1, 0), self.head_fill),
            ("LINEBELOW", (0, 0), (-1, 0), 0.9, self.rule_color),
            ("LEFTPADDING", (0, 0), (-1, -1), pad),
            ("RIGHTPADDING", (0, 0), (-1, -1), pad),
            ("TOPPADDING", (0, 0), (-1, -1), pad - 0.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), pad),
        ]
