"""Placeholder: routes of this capability are added here (issue 6)."""

from __future__ import annotations

from ledger_app.audit.views import bp  # noqa: F401
