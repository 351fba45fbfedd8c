"""`handover sandbox`: the real bot against the built-in Slack stand-in, with a browser workspace
to act in, a clock to move and the Web API calls to watch. A development and evaluation tool."""

from bot.sandbox.world import Sandbox

__all__ = ["Sandbox"]
