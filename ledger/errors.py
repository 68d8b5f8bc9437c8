"""Errors the domain raises; each names the field at fault so a form or API can point at it."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error raised by the ledger package."""


class RuleError(LedgerError):
    """A business rule refused the operation; nothing was written.

    Attributes:
        field: the input field at fault (``amount``, ``fund``, ``date`` …), for forms and the API.
        message: a sentence for a person, in Chinese with the facts that matter.
        code: a stable machine-readable code.
    """

    def __init__(self, field: str, message: str, code: str = "invalid") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.code = code


class IdConflictError(RuleError):
    """The id was already used for a different entry."""

    def __init__(self, entry_id: str) -> None:
        super().__init__(
            "id", f"编号 {entry_id} 已用于另一笔不同的分录（the id is already used）", "id_conflict"
        )


class EntryNotFoundError(RuleError):
    """No entry with that id exists in the ledger."""

    def __init__(self, entry_id: str, field: str = "original_id") -> None:
        super().__init__(field, f"没有编号为 {entry_id} 的分录（no such entry）", "not_found")
        self.entry_id = entry_id


class LedgerUnavailableError(LedgerError):
    """The ledger files fail their checks, so writes are refused until a person fixes them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("账本文件未通过检查，暂停写入: " + "; ".join(problems[:5]))
        self.problems = problems
