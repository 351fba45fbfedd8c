"""CSV that spreadsheets never execute ("CSV injection", OWASP).

A cell starting with = + - @ is a formula in Excel, LibreOffice and Google Sheets, and a tab or a
carriage return at the start can be trimmed away in front of one. Our files are comma-separated,
but a Swedish or German spreadsheet opens a .csv splitting on ``;`` (and some imports on tabs), so
a value such as ``note;=cmd|' /C calc'!A0`` would start a live cell there. So:

- every text cell is quoted (``csv.QUOTE_NONNUMERIC``; numbers are written as numbers);
- an apostrophe goes in front of = + - @ wherever a cell could start in any locale: at the start
  of the text and after every separator (``,`` ``;`` tab) or line break, also with spaces or
  quotes in between; and in front of a leading tab or carriage return.

The apostrophe is what spreadsheets themselves use to mark text; the JSON export keeps the text
exactly as it was written.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SEPARATORS = (",", ";", "\t", "\r", "\n")  # where a cell can begin in some locale's reading
# a formula character at the start, or after a separator, with only spaces or quotes in between
_CELL_STARTS_WITH_FORMULA = re.compile("(^|[" + re.escape("".join(SEPARATORS)) + r'])([\s"]*)(?=[=+\-@])')


def defuse(text: str) -> str:
    """``text`` with an apostrophe in front of every formula a spreadsheet could find in it."""
    text = _CELL_STARTS_WITH_FORMULA.sub(r"\1\2'", text)
    return "'" + text if text.startswith(("\t", "\r")) else text


def cell(value: Any) -> Any:
    """A value as a CSV cell: None is empty, text that could run as a formula is defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value
    return defuse(str(value))


def write(out: TextIO, header: list[str], rows: Iterable[list[Any]]) -> None:
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])


def write_file(path: Path, header: list[str], rows: Iterable[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        write(out, header, rows)


def to_text(header: list[str], rows: Iterable[list[Any]]) -> str:
    out = io.StringIO()
    write(out, header, rows)
    return out.getvalue()
