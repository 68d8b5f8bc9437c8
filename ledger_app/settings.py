"""The organisation's own settings (compliance thresholds, the host charity's account mapping …),
kept in the ``org_settings`` table as JSON under a key, with defaults for what was never set.

Every change is written to the audit log by :func:`save_setting`, with the old and new value.
"""

from __future__ import annotations

from typing import Any

from ledger_app.extensions import db
from ledger_app.models import OrgSetting, utcnow


def load_setting(key: str, default: Any) -> Any:
    """The value stored under ``key``, or ``default`` when it was never set."""
    row = db.session.get(OrgSetting, key)
    return default if row is None else row.value


def save_setting(key: str, value: Any, *, actor: str) -> None:
    """Store ``value`` under ``key`` and log the change (the caller commits)."""
    from ledger_app.security import audit

    row = db.session.get(OrgSetting, key)
    old = None if row is None else row.value
    if row is None:
        row = OrgSetting(key=key, value=value, updated_by=actor)
        db.session.add(row)
    else:
        row.value = value
        row.updated_by = actor
        row.updated_at = utcnow()
    audit("change_setting", target=key, old=old, new=value)
