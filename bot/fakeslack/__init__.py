"""The built-in local stand-in for Slack: a Web API fake (HTTP on loopback) and an agent that
sends the bot signed requests the way Slack does. Used by the tests and by ``handover demo``."""

from bot.fakeslack.agent import SlackAgent
from bot.fakeslack.server import BOT_USER, TEAM, Call, FakeSlack, FakeUser, Message, View
from bot.fakeslack.validate import validate_blocks, validate_view

__all__ = [
    "BOT_USER",
    "TEAM",
    "Call",
    "FakeSlack",
    "FakeUser",
    "Message",
    "SlackAgent",
    "View",
    "validate_blocks",
    "validate_view",
]
