"""Chinese by default, English on request; catalogs compiled from the .po files when stale."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request, session
from flask_babel import get_locale

from ledger_app.extensions import babel

TRANSLATIONS = Path(__file__).parent / "translations"


def compile_catalogs() -> None:
    """Compile each messages.po whose .mo is missing or older (cheap; runs at start-up)."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog)
        tmp.replace(mo)


def select_locale() -> str:
    """``?lang=`` (remembered in the session), else Chinese."""
    lang = request.args.get("lang")
    if lang in ("zh", "en"):
        session["lang"] = lang
        return lang
    stored = session.get("lang")
    return stored if stored in ("zh", "en") else "zh"


def init_app(app: Flask) -> None:
    compile_catalogs()
    babel.init_app(app, locale_selector=select_locale)
    app.context_processor(lambda: {"get_locale": get_locale, "fund_label": fund_label})


def fund_label(slug: str, name: str) -> str:
    """A fund's name in the reader's language (the English name its declaration gives, if any)."""
    if str(get_locale()) != "en":
        return name
    from ledger_app.books import get_book

    info = get_book().funds.get(slug)
    return info.name_en if info and info.name_en else name
