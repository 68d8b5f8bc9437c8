"""CSV output for every export: UTF-8 with a byte-order mark (so Excel reads the Chinese), amounts
as plain ``1234.56``, and no cell that a spreadsheet would run as a formula.

User text reaches these files (payees, narrations, donor names): a cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'`` (OWASP's advice for CSV
injection). Amounts are Decimals written by this module, never user text, so a negative amount
keeps its minus sign.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO

#: What a spreadsheet treats as the start of a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Cell = str | Decimal | int | dt.date | dt.datetime | bool | None


def cell_text(value: Cell) -> str:
    """One cell as written: amounts to cents without grouping, dates ISO, text defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.01")), "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def write_csv(out: IO[str], header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> int:
    """Write a header and rows to a text stream (opened with ``newline=""``); returns the rows
    written. Streams: the rows are never held in memory together."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell_text(h) for h in header])
    count = 0
    for row in rows:
        writer.writerow([cell_text(c) for c in row])
        count += 1
    return count


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """A whole CSV file as bytes, UTF-8 with a byte-order mark."""
    buffer = io.StringIO(newline="")
    write_csv(buffer, header, rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
