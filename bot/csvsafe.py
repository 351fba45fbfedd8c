"""CSV that spreadsheets never execute: a cell starting with = + - @, a tab or a carriage return
is a formula (or becomes one) in Excel, LibreOffice and Google Sheets, so it gets a leading
apostrophe ("CSV injection", OWASP). Numbers are written as numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A value as a CSV cell: None is empty, text that could run as a formula is defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def write(out: TextIO, header: list[str], rows: Iterable[list[Any]]) -> None:
    writer = csv.writer(out, lineterminator="\n")
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
