"""Outbound webhooks: every state change of an item, as a signed CloudEvent, to the endpoints the
configuration names (``webhooks:``), delivered through their own outbox.

- :mod:`bot.webhooks.events`: which audit records are webhook events, their payload (CloudEvents
  1.0 JSON) and its JSON Schema; the audit trail's hook (bot/audit.py) records them in the
  decision's own transaction, so no flow can forget one.
- :mod:`bot.webhooks.queue`: the tables: fan-out to endpoints, claims (an item's events in order
  per endpoint), results, retry horizon, disabled endpoints.
- :mod:`bot.webhooks.sender`: the transport (httpx, Standard Webhooks signatures), one worker per
  endpoint beside the Slack dispatcher.
"""
