"""QR codes for the PDFs: a square, vector flowable that also makes its area a link.

We use ReportLab's own encoder (:mod:`reportlab.graphics.barcode.qr`) rather than the ``qrcode``
package: the code is drawn as vector rectangles, so it stays sharp at any print size, adds no
raster image (and no PIL) to the PDF, and needs nothing beyond ReportLab. The flowable also puts a
``/URI`` link annotation over the code, so the PDF opened on a phone or computer is clickable and
the URL can be read back from the file.
"""

from __future__ import annotations

from typing import Any

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.attrmap import AttrMap, AttrMapValue
from reportlab.lib.units import mm
from reportlab.lib.validators import isAnything, isNumber, isString

from reports.fonts import register_fonts

#: Error correction: "M" survives a smudge or a crease on a printed sheet (≈15% of the code).
ERROR_LEVEL = "M"
#: The blank margin round the code, in modules; the QR specification asks for four.
QUIET_ZONE = 4


class QrDrawing(Drawing):  # type: ignore[misc]  # reportlab ships no type information
    """A square Drawing of one QR code, ``size`` points wide including the quiet zone.

    Attributes:
        value: the text (URL) encoded in the code.
        size: the side of the square in points.
    """

    # A Drawing refuses attributes its map does not declare.
    _attrMap = AttrMap(
        BASE=Drawing,
        value=AttrMapValue(isString, desc="the encoded text"),
        size=AttrMapValue(isNumber, desc="side of the square in points"),
        widget=AttrMapValue(isAnything, desc="the QrCodeWidget"),
        initialFontName=AttrMapValue(isString, desc="the font the renderer starts with"),
    )

    def __init__(self, value: str, size: float) -> None:
        super().__init__(size, size)
        self.value = value
        self.size = size
        # The renderer otherwise selects Helvetica, which the page would then declare without
        # embedding it; the code has no text, so start with the embedded CJK font instead.
        self.initialFontName = register_fonts().regular
        widget = QrCodeWidget(
            value, barLevel=ERROR_LEVEL, barBorder=QUIET_ZONE, barWidth=size, barHeight=size
        )
        self.add(widget)
        self.widget = widget

    def draw(self, *args: Any, **kwargs: Any) -> None:
        """Draw the code, then make its square a link to :attr:`value`."""
        super().draw(*args, **kwargs)
        self.canv.linkURL(self.value, (0, 0, self.size, self.size), relative=1, thickness=0)


def qr_flowable(url: str, size_mm: float) -> QrDrawing:
    """A QR code of ``url`` as a vector flowable ``size_mm`` millimetres square.

    Args:
        url: what the code opens, e.g. ``https://host/verify?no=2026-000123&code=ABCD1234``.
        size_mm: the printed side of the code including its quiet zone; 25 mm or more scans
            comfortably from a printed sheet.

    Returns:
        A :class:`QrDrawing` (a ReportLab ``Drawing``, usable in a story or a table cell) whose
        ``value`` is ``url``.
    """
    if not url:
        raise ValueError("a QR code needs a URL")
    return QrDrawing(url, size_mm * mm)
