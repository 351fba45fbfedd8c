"""Use cases. Flows change state and queue messages (bot.outbox); they never call Slack."""
