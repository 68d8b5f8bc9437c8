"""Geometry of the public charts: bar lengths and positions for inline SVG drawn by Jinja.

The figures come finished from ``ledger.disclosure``; this only scales them to pixels, so the
templates place shapes and never compute anything from an amount.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ledger.disclosure import MonthFigure, Share

#: Width of the SVG coordinate system. Small on purpose: the drawing scales to the column, and
#: text drawn at 14 units stays legible on a 360 px phone.
WIDTH = 300
BAR_ROW = 40
MONTH_PLOT = 150
MONTH_TOP = 26


@dataclass(frozen=True)
class Bar:
    """One labelled horizontal bar."""

    key: str
    label: str
    amount: Decimal
    y: int
    length: int


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class MonthBars:
    """One month: the x position of its pair and each bar's top and height."""

    month: str
    year: int
    number: int
    income: Decimal
    spent: Decimal
    x: int
    income_y: int
    income_h: int
    spent_y: int
    spent_h: int
    #: The year, shown under the first month and under each January where there is room.
    year_label: str = ""


@dataclass(frozen=True)
class MonthChart:
    width: int
    height: int
    plot_top: int
    plot_bottom: int
    slot: int
    bar: int
    top_amount: Decimal
    months: tuple[MonthBars, ...]


def _scale(value: Decimal, top: Decimal, span: int) -> int:
    """``value`` as a share of ``span`` pixels (at least 1 px for any positive value)."""
    if top <= 0 or value <= 0:
        return 0
    return max(1, int((value / top * span).to_integral_value()))


def bar_chart(shares: Iterable[Share], labels: dict[str, str] | None = None) -> BarChart:
    """Horizontal bars, largest first, each on its own row below its label and amount."""
    rows = sorted((s for s in shares if s.amount > 0), key=lambda s: (-s.amount, s.key))
    top = rows[0].amount if rows else Decimal(0)
    bars = tuple(
        Bar(
            s.key,
            (labels or {}).get(s.key, s.label),
            s.amount,
            i * BAR_ROW,
            _scale(s.amount, top, WIDTH),
        )
        for i, s in enumerate(rows)
    )
    return BarChart(WIDTH, max(1, len(bars)) * BAR_ROW, bars)


def month_chart(months: Sequence[MonthFigure]) -> MonthChart:
    """Paired bars (income, spending) per month on one scale, with room for labels below."""
    top = max((max(m.income, m.spent) for m in months), default=Decimal(0))
    slot = WIDTH // max(1, len(months))
    bar = max(2, (slot - 6) // 2)
    bottom = MONTH_TOP + MONTH_PLOT
    parsed = [tuple(int(part) for part in m.month.split("-")) for m in months]
    januaries = [i for i, (_y, n) in enumerate(parsed) if n == 1]
    out = []
    for i, (m, (year, number)) in enumerate(zip(months, parsed, strict=True)):
        ih = _scale(m.income, top, MONTH_PLOT)
        sh = _scale(m.spent, top, MONTH_PLOT)
        x = i * slot + (slot - 2 * bar) // 2
        # A year label is about two slots wide: the first month gets one only if the next
        # January is far enough away not to collide with it.
        labelled = number == 1 or (i == 0 and all(j >= 3 for j in januaries))
        out.append(
            MonthBars(
                m.month,
                year,
                number,
                m.income,
                m.spent,
                x,
                bottom - ih,
                ih,
                bottom - sh,
                sh,
                str(year) if labelled else "",
            )
        )
    return MonthChart(WIDTH, bottom + 36, MONTH_TOP, bottom, slot, bar, top, tuple(out))
