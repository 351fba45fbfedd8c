"""Socket Mode for the local Slack stand-in: ``apps.connections.open`` hands out a ``ws://127.0.0.1``
URL, and this WebSocket server speaks Socket Mode's protocol on it the way Slack does
(api.slack.com/apis/socket-mode): ``hello`` on connect, requests as envelopes (``events_api``,
``interactive``, ``slash_commands``) that the app acknowledges by ``envelope_id`` (with a response
payload where Slack accepts one), and ``disconnect`` asking the app to reconnect.

``SocketModeAgent`` (bot/fakeslack/socket_agent.py) is the agent of :mod:`bot.fakeslack.agent`
over this socket instead of signed HTTP.

Needs the ``websockets`` package (the ``test`` extra), imported only when Socket Mode is used.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

ENVELOPE_TYPES = ("events_api", "interactive", "slash_commands")


@dataclass
class Connection:
    """One WebSocket connection an app opened with a URL from apps.connections.open."""

    number: int
    ticket: str
    socket: Any
    opened_at: float = field(default_factory=time.time)
    closed: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)  # everything the app sent on it


class SocketModeServer:
    """Runs on loopback in a thread; ``FakeSlack.socket_mode`` starts one on first use."""

    def __init__(self, app_id: str) -> None:
        try:
            from websockets.sync.server import serve
        except ImportError as exc:  # pragma: no cover - the test extra installs it
            raise RuntimeError(
                "The Slack stand-in's Socket Mode needs the websockets package: "
                "pip install 'handover[test]' (or pip install websockets)"
            ) from exc
        self.app_id = app_id
        self._cond = threading.Condition()
        self._tickets: set[str] = set()
        self.connections: list[Connection] = []
        self.sent: list[dict[str, Any]] = []  # every envelope sent, in order
        self.acks: dict[str, dict[str, Any]] = {}  # envelope_id -> the app's acknowledgement
        self.refused: int = 0  # connection attempts with an unknown or reused ticket
        self._server = serve(self._handle, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-slack-socket", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.socket.getsockname()[1])

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    # ----- what apps.connections.open returns ---------------------------------------------------
    def issue_url(self) -> str:
        """A URL good for one connection, like Slack's (which expire and are single-use)."""
        ticket = secrets.token_hex(12)
        with self._cond:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    # ----- the wire ---------------------------------------------------------------------------
    def _handle(self, socket: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        query = parse_qs(urlparse(socket.request.path).query)
        ticket = (query.get("ticket") or [""])[0]
        with self._cond:
            if ticket not in self._tickets:
                self.refused += 1
                socket.close(code=4003, reason="invalid ticket")
                return
            self._tickets.discard(ticket)
            connection = Connection(number=len(self.connections) + 1, ticket=ticket, socket=socket)
            self.connections.append(connection)
            self._cond.notify_all()
        socket.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "fake-slack", "build_number": 1, "approximate_connection_time": 18060},
                    "connection_info": {"app_id": self.app_id},
                }
            )
        )
        try:
            for raw in socket:
                try:
                    message = json.loads(raw)
                except ValueError:
                    message = {"unparsable": raw}
                with self._cond:
                    connection.received.append(message)
                    if isinstance(message, dict) and message.get("envelope_id"):
                        self.acks.setdefault(str(message["envelope_id"]), message)
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                connection.closed = True
                self._cond.notify_all()

    def _current(self) -> Connection:
        with self._cond:
            open_ = [c for c in self.connections if not c.closed]
        if not open_:
            raise AssertionError("no app is connected over Socket Mode")
        return open_[-1]

    def wait_for_connections(self, count: int, timeout: float = 30.0) -> Connection:
        """Wait until ``count`` connections have been opened in all; return the newest open one."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.connections) < count or self.connections[-1].closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(self.connections)} Socket Mode connection(s) opened, waited for {count}"
                    )
                self._cond.wait(left)
            return self.connections[-1]

    def send(self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0, retry_reason: str = "") -> str:
        """Send one request to the app as Slack does; returns the envelope id to await the ack of."""
        if kind not in ENVELOPE_TYPES:
            raise ValueError(f"not a Socket Mode envelope type: {kind}")
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        if kind == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        connection = self._current()
        with self._cond:
            self.sent.append(envelope)
        connection.socket.send(json.dumps(envelope))
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The app's acknowledgement of ``envelope_id`` (Slack retries what is not acked in 3 s)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while envelope_id not in self.acks:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the app did not acknowledge envelope {envelope_id}")
                self._cond.wait(left)
            return self.acks[envelope_id]

    def disconnect(self, reason: str = "refresh_requested") -> Connection:
        """What Slack sends before it recycles a connection: the app is to open a new one."""
        connection = self._current()
        connection.socket.send(
            json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-slack"}})
        )
        return connection

    def close(self, connection: Connection) -> None:
        """Slack closes the old connection some seconds after a ``disconnect``."""
        connection.socket.close()
