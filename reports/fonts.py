"""The CJK font every report embeds, found on the machine and registered with ReportLab once.

ReportLab's built-in CID fonts (STSong-Light …) are not embedded: the PDF then looks right only on
a viewer that happens to have a matching font. We embed a TrueType subset instead, from WenQuanYi
Zen Hei (Debian ``fonts-wqy-zenhei``) or AR PL UMing (``fonts-arphic-uming``). Noto CJK is not a
candidate: its CFF outlines do not load in ReportLab.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

#: Environment variable naming a TTF/TTC file to use instead of the Debian fonts.
FONT_ENV = "LEDGER_CJK_FONT"

#: Searched in order after ``LEDGER_CJK_FONT``.
DEFAULT_FONT_PATHS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
)

REGULAR = "LedgerCJK"
#: The same face as ``REGULAR``: neither Debian font has a bold weight, and a faked stroke would
#: not survive text extraction. Headings are set apart by size and rules instead.
BOLD = "LedgerCJK-Bold"

_lock = threading.Lock()
_registered: CJKFont | None = None


class FontNotFoundError(RuntimeError):
    """No usable CJK TrueType font is installed."""


@dataclass(frozen=True)
class CJKFont:
    """The registered font names and the file they came from."""

    regular: str
    bold: str
    path: Path


def find_cjk_font(env: dict[str, str] | None = None) -> Path:
    """The CJK font file to embed: ``$LEDGER_CJK_FONT``, else the first Debian font present.

    Args:
        env: the environment to read (``os.environ`` when None).

    Returns:
        The path of an existing font file.

    Raises:
        FontNotFoundError: ``LEDGER_CJK_FONT`` names a missing file, or no Debian font is installed.
    """
    environ = os.environ if env is None else env
    chosen = environ.get(FONT_ENV, "").strip()
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise FontNotFoundError(f"{FONT_ENV}={chosen} is not a font file")
        return path
    for path in DEFAULT_FONT_PATHS:
        if path.is_file():
            return path
    searched = ", ".join(str(p) for p in DEFAULT_FONT_PATHS)
    raise FontNotFoundError(
        "No CJK font for PDF reports (报表需要中文字体). Install one with "
        f"`apt-get install fonts-wqy-zenhei` or set {FONT_ENV} to a TTF/TTC file. "
        f"Searched: {searched}"
    )


def register_fonts() -> CJKFont:
    """Register the CJK font with ReportLab; later calls return the first registration.

    Raises:
        FontNotFoundError: as :func:`find_cjk_font`.
    """
    global _registered  # one registration per process is the point
    with _lock:
        if _registered is None:
            path = find_cjk_font()
            # subfontIndex 0 is the proportional face in both TTCs (1 is the monospaced one).
            pdfmetrics.registerFont(TTFont(REGULAR, str(path), subfontIndex=0))
            pdfmetrics.registerFont(TTFont(BOLD, str(path), subfontIndex=0))
            # Lets <b> inside a Paragraph resolve to a registered face instead of failing.
            addMapping(REGULAR, 0, 0, REGULAR)
            addMapping(REGULAR, 1, 0, BOLD)
            addMapping(REGULAR, 0, 1, REGULAR)
            addMapping(REGULAR, 1, 1, BOLD)
            _registered = CJKFont(REGULAR, BOLD, path)
        return _registered
