"""gunicorn settings for production (see docs/operations.md)."""

import multiprocessing

bind = "127.0.0.1:8000"
workers = max(2, multiprocessing.cpu_count())
preload_app = True  # ledger_app.wsgi opens the Book once, before the workers fork
timeout = 60
accesslog = "-"
