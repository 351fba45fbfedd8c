"""Writes merged_headers.xlsx (committed beside this script): an export as people shape it in Excel.

- C1:D1 is one merged header, "Notes", over two columns: the cells under both belong to the notes;
- column F has no header but holds remarks on lines 2 and 4, and H (right of the last header) on line 3;
- E holds an Excel date (2026-03-16) and C4 a date and time (2026-03-17 14:30) in text fields;
- G holds yes/no words in German and a check mark.

Run ``python tests/data/make_xlsx.py`` to write it again (openpyxl; the output is deterministic
apart from the workbook's timestamps).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent


def build(path: Path = HERE / "merged_headers.xlsx") -> Path:
    book = Workbook()
    ws = book.active
    ws.title = "Leads"
    ws.append(["Company", "E-mail", "Notes", None, "Customer request", None, "Painpoint"])
    ws.merge_cells("C1:D1")
    ws.append(
        [
            "Harbour Logistics Ltd",
            "emma.clarke@harbourlogistics.co.uk",
            "Evaluating SD-WAN for 12 depots.",
            "Decision in autumn; two competitors.",
            datetime(2026, 3, 16),
            "VIP: met the CEO",
            "Ja",
        ]
    )
    ws.append(
        [
            "Riverside Retail",
            "james.moore@riversideretail.co.uk",
            "Guest Wi-Fi for 40 stores.",
            None,
            "Call back next week",
            None,
            "\u2713",
            "stray remark right of the table",
        ]
    )
    ws.append(
        [
            "Kiruna Mining AB",
            "lars.svensson@kirunamining.se",
            datetime(2026, 3, 17, 14, 30),
            "Pilot budget exists.",
            None,
            "ask about references",
            "nein",
        ]
    )
    ws["E2"].number_format = "yyyy-mm-dd"
    ws["C4"].number_format = "yyyy-mm-dd hh:mm"
    book.save(path)
    return path


if __name__ == "__main__":
    print(build())
