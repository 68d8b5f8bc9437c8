"""One Book per process, opened on first use and shared by its requests."""

from __future__ import annotations

import threading

from flask import Flask, current_app

from ledger.book import Book
from ledger.store import LedgerStore

_lock = threading.Lock()


class LedgerNotInitialisedError(RuntimeError):
    """The ledger folder has no ledger yet: run ``flask --app ledger_app init``."""


def init_app(app: Flask) -> None:
    app.extensions["ledger_book"] = None


def store() -> LedgerStore:
    """The ledger folder of this app."""
    return LedgerStore(current_app.config["LEDGER_DIR"])


def get_book() -> Book:
    """The process's Book, opened (repairing any torn tail) on first use."""
    book: Book | None = current_app.extensions.get("ledger_book")
    if book is not None:
        return book
    with _lock:
        book = current_app.extensions.get("ledger_book")
        if book is None:
            st = store()
            if not st.exists():
                raise LedgerNotInitialisedError(str(st.root))
            book = Book(st).open()
            current_app.extensions["ledger_book"] = book
    return book


def reset_book() -> None:
    """Forget the process's Book (after ``init`` or ``demo`` replaced the files)."""
    current_app.extensions["ledger_book"] = None
