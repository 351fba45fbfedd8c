"""The weekly digest as Block Kit: one section per part that has something in it."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock

from bot import texts
from bot.flows.digest import SHOWN
from bot.ids import ActionId
from bot.slack import blocks as b


def _say(macro: str, **values: Any) -> str:
    return texts.say("digest.j2", macro, **values)


def part(macro: str, lines: list[Any], **values: Any) -> Any:
    """One part of a digest (or of the Home tab): its first lines, and how many more there are."""
    return b.section(_say(macro, lines=lines[:SHOWN], more=max(len(lines) - SHOWN, 0), **values))


def team_parts(team: dict[str, Any]) -> list[Any]:
    """A team lead's view of one team: pending by person, the week's figures, the discards."""
    parts: list[Any] = [b.divider(), b.section(texts.Mrkdwn("*{}*").format(_say("team_title", name=team["name"])))]
    if team["pending"]:
        parts.append(
            b.section(_say("team_pending", people=team["pending"][:SHOWN], more=max(len(team["pending"]) - SHOWN, 0)))
        )
    parts.append(
        b.section(
            _say(
                "team_figures",
                accepted=team["accepted"],
                discarded=team["discarded"],
                rate=team["acceptance_rate"],
                median=team["median_accept_hours"],
            )
        )
    )
    if team["discards"]:
        parts.append(part("team_discards", team["discards"]))
    return parts


def build(week: str, digest: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    owner = digest.get("owner", {})
    parts: list[Any] = [b.header(_say("title", week=week))]
    for key in ("waiting", "no_follow_up", "asked", "to_answer", "handed_over"):
        if owner.get(key):
            parts.append(part(key, owner[key]))
    for team in digest.get("teams", []):
        if team["has_news"]:
            parts += team_parts(team)
    parts += [
        b.context(_say("footer")),
        ActionsBlock(block_id="digest", elements=[b.button(_say("off_button"), ActionId.DIGEST_OFF, week)]),
    ]
    return _say("text", week=week), b.to_dicts(parts)
