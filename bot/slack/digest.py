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


def _part(macro: str, lines: list[Any]) -> Any:
    return b.section(_say(macro, lines=lines[:SHOWN], more=max(len(lines) - SHOWN, 0)))


def build(week: str, digest: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    owner = digest.get("owner", {})
    parts: list[Any] = [b.header(_say("title", week=week))]
    for key in ("waiting", "no_follow_up", "asked", "to_answer", "handed_over"):
        if owner.get(key):
            parts.append(_part(key, owner[key]))
    for team in digest.get("teams", []):
        if not team["has_news"]:
            continue
        parts += [b.divider(), b.section(f"*{_say('team_title', name=team['name'])}*")]
        if team["pending"]:
            parts.append(b.section(_say("team_pending", people=team["pending"][:SHOWN],
                                        more=max(len(team["pending"]) - SHOWN, 0))))
        parts.append(b.section(_say("team_figures", accepted=team["accepted"], discarded=team["discarded"],
                                    rate=team["acceptance_rate"], median=team["median_accept_hours"])))
        if team["discards"]:
            parts.append(_part("team_discards", team["discards"]))
    parts += [b.context(_say("footer")),
              ActionsBlock(block_id="digest", elements=[b.button(_say("off_button"), ActionId.DIGEST_OFF, week)])]
    return _say("text", week=week), b.to_dicts(parts)
