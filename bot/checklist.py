"""Checklist rules: which items are filled, what is missing, and the category they suggest.

Which items qualify a Lead differs by region and product area, so the rule comes from the
configuration: either "these items are required" or "N of these M".
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config
from bot.ids import Category

INTELLIGENCE = {Category.OPPORTUNITY_INTELLIGENCE, Category.CUSTOMER_INTELLIGENCE}


@dataclass(frozen=True)
class Assessment:
    filled: list[str]  # checklist keys, in configured order
    missing: list[str]
    lead_ready: bool
    suggested: Category
    lead_gap: str  # what a Lead still needs, in words ("" when ready)


def filled_keys(config: Config, checklist: dict[str, bool]) -> list[str]:
    return [i.key for i in config.checklist.items if checklist.get(i.key)]


def assess(config: Config, checklist: dict[str, bool], category: Category | None = None) -> Assessment:
    filled = filled_keys(config, checklist)
    filled_set = set(filled)
    missing = [i.key for i in config.checklist.items if i.key not in filled_set]
    rule = config.checklist.lead_rule
    lead_ready = rule.is_met(filled_set)
    if category in INTELLIGENCE:
        suggested = category  # intelligence is about what the item is, not how qualified it is
    elif lead_ready:
        suggested = Category.LEAD
    else:
        suggested = Category.PROSPECT
    gap = "" if lead_ready else rule.missing(filled_set, config.checklist.labels)
    return Assessment(filled=filled, missing=missing, lead_ready=lead_ready, suggested=suggested, lead_gap=gap)
