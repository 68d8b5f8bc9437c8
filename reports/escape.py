"""Turning user text into Paragraph markup that shows exactly what was typed.

A ReportLab ``Paragraph`` parses its text as XML-ish markup, so a payee such as ``<b>x</b>`` would
turn bold and ``a & b`` or an unclosed ``<`` would raise. Every piece of user text goes through
:func:`escape_markup` before it reaches a Paragraph.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

# C0 controls other than tab and newline, and DEL: they have no glyph and trip the parser.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape_markup(text: str) -> str:
    """The Paragraph markup that displays ``text`` literally, newlines kept as line breaks.

    Args:
        text: plain text from a person (payee, narration, fund name …).

    Returns:
        ``text`` with ``&``, ``<`` and ``>`` escaped, control characters replaced by spaces and
        newlines turned into ``<br/>``.
    """
    cleaned = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    return escape(cleaned).replace("\n", "<br/>")
