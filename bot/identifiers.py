"""Identifiers as people paste them: e-mail addresses and domains copied from a web page, a PDF or a
spreadsheet carry characters nobody sees — a zero-width space, a no-break space, a byte-order mark
in the middle of a cell, right-to-left marks. Stored as they come, ``ola@acme.se`` and
``ola@acme.se`` + ZWSP are two people and ``acme.se`` + RLM is another company.

:func:`clean_identifier` is the one place that removes them. The intake schema
(bot/intake/schema.py) calls it for every e-mail and domain field, so the file import, the API
and the capture modal all store the same, visible identifier."""

from __future__ import annotations

import unicodedata

# Characters that look like a space but are not the ASCII one: inside an identifier they are never meant.
_SPACES = frozenset(
    "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def invisible(char: str) -> bool:
    """A character that shows nothing: Unicode format characters (Cf: zero-width space/joiner,
    BOM, LRM/RLM and the other bidi controls, soft hyphen, word joiner) and the non-ASCII spaces.
    Control characters are not invisible here: a NUL is refused by the schema, not hidden."""
    return char in _SPACES or unicodedata.category(char) == "Cf"


def clean_identifier(value: str | None) -> str | None:
    """``value`` without invisible characters and surrounding whitespace (None stays None).

    Only for identifiers (e-mail addresses, domains): in an identifier no invisible character and
    no non-ASCII space is ever meaningful, so every one is removed, wherever it stands."""
    if value is None:
        return None
    return "".join(c for c in value if not invisible(c)).strip()
