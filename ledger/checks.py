"""The project's own checks over a whole ledger, beyond what bean-check verifies.

Run by ``flask ledger check``; the same rules the writer enforces, applied to files that may have
been edited by hand.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from beancount import loader
from beancount.core import data

from ledger import chain
from ledger.book import Book, fund_of_posting
from ledger.money import format_cny

_FUND_ROOTS = ("Income", "Expenses", "Equity")


@dataclass(frozen=True)
class Problem:
    """One thing wrong, with where to look."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _where(entry: data.Directive) -> str:
    meta = entry.meta or {}
    return f"{meta.get('filename', '?')}:{meta.get('lineno', '?')}"


def check_ledger(book: Book) -> list[Problem]:
    """Beancount's errors plus this project's rules, on the files as they are now."""
    entries, errors, _ = loader.load_file(str(book.store.main))
    problems = [
        Problem("beancount", e) for e in map(str, (getattr(x, "message", x) for x in errors))
    ]
    problems += rule_problems(book, entries)
    report = chain.verify(entries)
    if not report.ok:
        problems.append(Problem(report.location or "chain", f"{report.entry_id}: {report.problem}"))
    return problems


def rule_problems(book: Book, entries: list[data.Directive]) -> list[Problem]:
    """This project's own rules over entries already loaded: every income, expense and net-asset
    posting belongs to a declared fund, ids are unique, and no donated fund is overdrawn."""
    problems: list[Problem] = []
    ids: Counter[str] = Counter()
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        entry_id = (entry.meta or {}).get("id")
        if isinstance(entry_id, str):
            ids[entry_id] += 1
        for posting in entry.postings:
            if posting.account.split(":", 1)[0] not in _FUND_ROOTS:
                continue
            fund = fund_of_posting(entry, posting)
            if fund is None:
                problems.append(
                    Problem(_where(entry), f"{posting.account} 的过账不属于任何基金（no fund）")
                )
            elif fund not in book.funds:
                problems.append(Problem(_where(entry), f"未声明的基金 {fund}（undeclared fund）"))
    problems += [
        Problem("ids", f"编号 {i} 出现了 {n} 次（duplicate id）") for i, n in ids.items() if n > 1
    ]
    for info in book.funds.values():
        balance = book.fund_balance(info.slug)
        if balance < 0 and not info.may_overdraw:
            problems.append(
                Problem(
                    f"fund {info.slug}",
                    f"基金「{info.name}」余额为负：{format_cny(balance)}（overdrawn）",
                )
            )
    return problems
