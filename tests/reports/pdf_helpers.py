"""What the PDF tests share: text extraction, fonts, links, and rendering pages to PNG."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"


def page_texts(pdf: bytes) -> list[str]:
    """The extracted text of each page."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def text_of(pdf: bytes) -> str:
    """All pages' text, one page after another."""
    return "\n".join(page_texts(pdf))


def flat(pdf: bytes) -> str:
    """The text without line breaks, for sentences that wrap."""
    return "".join(t.replace("\n", "") for t in page_texts(pdf))


def fonts_of(pdf: bytes) -> list[DictionaryObject]:
    """Every font dictionary the pages use."""
    fonts = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources = page["/Resources"].get_object()
        for ref in resources.get("/Font", {}).get_object().values():
            fonts.append(ref.get_object())
    return fonts


def assert_fonts_embedded(pdf: bytes) -> None:
    """Every font is a TrueType subset embedded in the file (/FontFile2) of our CJK face."""
    fonts = fonts_of(pdf)
    assert fonts
    for font in fonts:
        assert font["/Subtype"] == "/TrueType", font
        descriptor = font["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor, font["/BaseFont"]
        assert "WenQuanYi" in font["/BaseFont"] or "UMing" in font["/BaseFont"]


def link_uris(pdf: bytes) -> list[str]:
    """The targets of the link annotations (the QR codes are links too)."""
    uris = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for annot in page.get("/Annots", []) or []:
            action = annot.get_object().get("/A")
            if action is not None and "/URI" in action:
                uris.append(str(action["/URI"]))
    return uris


def render_png(pdf: bytes, name: str, page: int = 1, *, dpi: int = 80) -> Path:
    """Render one page with pdftoppm into test-artifacts/reports/, for a person to look at."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf_path = ARTIFACTS / f"{name}.pdf"
    pdf_path.write_bytes(pdf)
    prefix = ARTIFACTS / f"{name}-p{page}"
    command = ["pdftoppm", "-r", str(dpi), "-png", "-f", str(page), "-l", str(page)]
    subprocess.run([*command, "-singlefile", str(pdf_path), str(prefix)], check=True, timeout=60)
    return prefix.with_suffix(".png")
