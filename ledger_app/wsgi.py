"""The WSGI entry point for gunicorn: ``gunicorn -c gunicorn.conf.py ledger_app.wsgi:app``.

The Book is opened here, before gunicorn forks its workers (``preload_app``), so a large ledger is
loaded once and shared copy-on-write instead of once per worker on its first request.
"""

from __future__ import annotations

from ledger_app import create_app
from ledger_app.books import LedgerNotInitialisedError, get_book

app = create_app()
with app.app_context():
    try:
        get_book()
    except LedgerNotInitialisedError:
        app.logger.warning("ledger not initialised yet: run flask --app ledger_app init")
