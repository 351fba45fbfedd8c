"""Which column of an event export means what.

Badge scanners and event tools name their columns differently ("Company", "Account name",
"E-mail address"); headers are normalized and matched against the aliases below, and
checklist columns are matched by the checklist item's key or label from the configuration.
"""

from __future__ import annotations

import re
import unicodedata

ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": (
        "id",
        "external_id",
        "lead_id",
        "record_id",
        "scan_id",
        "badge_id",
        "row_id",
        "kontakt_id",
        "datensatz_id",
    ),
    "event": ("event", "event_name", "source_event", "campaign", "veranstaltung", "messe", "kampagne"),
    "customer": (
        "customer",
        "company",
        "company_name",
        "account",
        "account_name",
        "organization",
        "organisation",
        "customer_name",
        "firma",
        "firmenname",
        "unternehmen",
        "kunde",
    ),
    "customer_domain": ("domain", "website", "company_domain", "web", "url", "webseite", "internetseite"),
    "contact_name": (
        "contact",
        "contact_name",
        "name",
        "full_name",
        "attendee",
        "visitor",
        "ansprechpartner",
        "kontakt",
        "besucher",
    ),
    "first_name": ("first_name", "firstname", "given_name", "vorname"),
    "last_name": ("last_name", "lastname", "surname", "family_name", "nachname"),
    "contact_email": (
        "email",
        "e_mail",
        "contact_email",
        "email_address",
        "e_mail_address",
        "mail",
        "e_mail_adresse",
        "email_adresse",
    ),
    "contact_phone": (
        "phone",
        "telephone",
        "mobile",
        "contact_phone",
        "phone_number",
        "telefon",
        "telefonnummer",
        "mobil",
        "handy",
    ),
    "contact_title": (
        "title",
        "job_title",
        "role",
        "position",
        "contact_title",
        "berufsbezeichnung",
        "funktion",
        "titel",
    ),
    "description": (
        "description",
        "notes",
        "note",
        "comments",
        "comment",
        "what_was_discussed",
        "discussion",
        "what_the_customer_said",
        "notizen",
        "notiz",
        "bemerkungen",
        "bemerkung",
        "kommentar",
        "beschreibung",
    ),
    "customer_request": (
        "customer_request",
        "request",
        "follow_up_request",
        "requested",
        "explicit_request",
        "kundenwunsch",
        "anfrage",
    ),
    "region": ("region", "territory", "market", "sales_region", "vertriebsregion", "gebiet"),
    "product_area": (
        "product_area",
        "product",
        "product_interest",
        "interest",
        "solution",
        "produkt",
        "produktinteresse",
        "produktbereich",
    ),
    "category": ("category", "type", "lead_type", "item_type", "kategorie"),
    "business_builder_email": (
        "business_builder",
        "business_builder_email",
        "captured_by",
        "scanned_by",
        "bb_email",
        "bb",
        "erfasst_von",
    ),
    "sender_email": ("sender", "sender_email", "submitted_by", "handed_over_by", "absender"),
    "account_owner_email": (
        "account_owner",
        "account_owner_email",
        "account_manager",
        "opportunity_owner",
        "kundenbetreuer",
    ),
}

# Yes/no words of the exports' languages, compared after NFKC and case folding (so "JA", "Ja" and
# "ja" are one word, and "si"/"sí"/"sì", "nao"/"não", "kylla"/"kyllä" all read). Also the words a
# localized Excel writes for TRUE/FALSE into a CSV (WAHR/FALSCH, VRAI/FAUX, SANT/FALSKT, …).
# README "Import format reference" lists them; keep the two in step.
YES_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("yes", "y", "true", "x", "ok", "done", "filled"),
    "de": ("ja", "j", "wahr"),
    "fr": ("oui", "vrai"),
    "es": ("sí", "si", "verdadero"),
    "it": ("sì", "si", "vero"),
    "nl": ("ja", "waar"),
    "sv": ("ja", "sant"),
    "no": ("ja", "sann"),
    "da": ("ja", "sand"),
    "fi": ("kyllä", "kylla", "tosi"),
    "pt": ("sim", "verdadeiro"),
    "marks": ("1", "\u2713", "\u2714", "\u2611", "\u2705"),  # ✓ ✔ ☑ ✅
}
NO_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("no", "n", "false", "-", ""),
    "de": ("nein", "falsch"),
    "fr": ("non", "faux"),
    "es": ("no", "falso"),
    "it": ("no", "falso"),
    "nl": ("nee", "onwaar"),
    "sv": ("nej", "falskt"),
    "no": ("nei", "usann"),
    "da": ("nej", "falsk"),
    "fi": ("ei", "epätosi", "epatosi"),
    "pt": ("não", "nao", "falso"),
    "marks": ("0", "\u2717", "\u2718", "\u2610", "\u274c"),  # ✗ ✘ ☐ ❌
}
TRUE = {unicodedata.normalize("NFKC", w).casefold() for words in YES_WORDS.values() for w in words}
FALSE = {unicodedata.normalize("NFKC", w).casefold() for words in NO_WORDS.values() for w in words}
assert not TRUE & FALSE, TRUE & FALSE


def normalize(header: str) -> str:
    """'E-mail address ' -> 'e_mail_address'; accents dropped, anything else becomes '_'."""
    text = unicodedata.normalize("NFKD", header or "").encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def category_value(raw: str) -> str:
    """'Opportunity Intelligence' -> 'opportunity_intelligence' (labels and keys both work)."""
    return normalize(raw)


def truthy(raw: str) -> bool | None:
    """A checklist cell as yes (True), no (False) or unreadable (None)."""
    value = unicodedata.normalize("NFKC", raw or "").strip().casefold()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    return None


def match(headers: list[str], checklist: dict[str, str]) -> tuple[dict[int, str], dict[int, str], list[str]]:
    """Column index -> field, column index -> checklist key, and the headers nobody uses."""
    by_alias = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
    by_check: dict[str, str] = {}
    for key, label in checklist.items():
        for form in (key, label, f"checklist_{key}", f"check_{key}"):
            by_check[normalize(form)] = key
    fields: dict[int, str] = {}
    checks: dict[int, str] = {}
    unused: list[str] = []
    for n, header in enumerate(headers):
        norm = normalize(header)
        if norm in by_check:
            checks[n] = by_check[norm]
        elif norm in by_alias:
            fields[n] = by_alias[norm]
        elif header.strip():
            unused.append(header.strip())
    return fields, checks, unused
