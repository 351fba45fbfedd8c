"""``SocketModeAgent``: the agent of :mod:`bot.fakeslack.agent` over the Socket Mode stand-in
(bot/fakeslack/socket_mode.py) instead of signed HTTP: the same payloads, sent as envelopes; the
ack's payload comes back as the response, so a test reads it exactly like an HTTP answer."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import httpx

from bot.fakeslack.agent import SlackAgent
from bot.fakeslack.server import FakeSlack
from bot.fakeslack.socket_mode import SocketModeServer


class SocketModeAgent(SlackAgent):
    """The agent over Socket Mode: every request the HTTP agent would POST to /slack/events is
    sent as the envelope Slack would use, and the ack is returned as an HTTP-like response (200,
    with the ack's payload as its JSON body). There is no signature in Socket Mode."""

    def __init__(self, fake: FakeSlack, *, timeout: float = 10.0) -> None:
        super().__init__(fake, bot_url="socket-mode://", signing_secret="", timeout=timeout)
        self.timeout = timeout
        self.last_envelope: str | None = None

    @property
    def socket(self) -> SocketModeServer:
        return self.fake.socket_mode

    def raw(
        self,
        body: bytes,
        content_type: str,
        *,
        sign: bool = True,
        timestamp: int | None = None,
        secret: str | None = None,
        tamper: bool = False,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        if not sign or tamper or secret is not None or timestamp is not None:
            raise ValueError("Socket Mode requests carry no signature to break")
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        if content_type.startswith("application/json"):
            kind, payload = "events_api", json.loads(body)
        else:
            fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
            if set(fields) == {"payload"}:
                kind, payload = "interactive", json.loads(fields["payload"])
            else:
                kind, payload = "slash_commands", fields
        envelope_id = self.socket.send(
            kind,
            payload,
            retry_attempt=int(headers.get("x-slack-retry-num", 0)),
            retry_reason=headers.get("x-slack-retry-reason", ""),
        )
        self.last_envelope = envelope_id
        ack = self.socket.wait_for_ack(envelope_id, timeout=self.timeout)
        request = httpx.Request("POST", f"ws://127.0.0.1:{self.socket.port}/#{envelope_id}")
        if "payload" in ack:
            return httpx.Response(200, json=ack["payload"], request=request)
        return httpx.Response(200, request=request)
