"""Finding the CJK font, and turning user text into Paragraph markup."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports import fonts
from reports.escape import escape_markup
from reports.fonts import FONT_ENV, FontNotFoundError, find_cjk_font, register_fonts


def test_the_environment_variable_wins_over_the_debian_fonts(tmp_path: Path) -> None:
    chosen = tmp_path / "mine.ttf"
    chosen.write_bytes(b"not really a font, but find_cjk_font only looks for the file")
    assert find_cjk_font({FONT_ENV: str(chosen)}) == chosen


def test_a_missing_file_in_the_environment_variable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FontNotFoundError, match=FONT_ENV):
        find_cjk_font({FONT_ENV: str(tmp_path / "absent.ttc")})


def test_without_any_font_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fonts, "DEFAULT_FONT_PATHS", (tmp_path / "a.ttc", tmp_path / "b.ttc"))
    with pytest.raises(FontNotFoundError, match="fonts-wqy-zenhei"):
        find_cjk_font({})


def test_the_first_debian_font_present_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    second = tmp_path / "uming.ttc"
    second.write_bytes(b"x")
    monkeypatch.setattr(fonts, "DEFAULT_FONT_PATHS", (tmp_path / "wqy.ttc", second))
    assert find_cjk_font({}) == second


def test_registering_twice_returns_the_same_registration() -> None:
    assert register_fonts() is register_fonts()


@pytest.mark.parametrize(
    ("text", "markup"),
    [
        ("<b>x</b> & <script>", "&lt;b&gt;x&lt;/b&gt; &amp; &lt;script&gt;"),
        ("张*", "张*"),
        ("一行\n两行", "一行<br/>两行"),
        ("a\x00b\x1bc", "a b c"),
        ("&amp;", "&amp;amp;"),
    ],
)
def test_user_text_becomes_markup_that_shows_it_literally(text: str, markup: str) -> None:
    assert escape_markup(text) == markup
