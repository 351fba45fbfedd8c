"""A webhook receiver for the tests: a small HTTP server on 127.0.0.1 that verifies each request's
signature with the ``standardwebhooks`` library itself (as a CRM's integration would), keeps what
it accepted, and can be told to fail (5xx), to answer 410 or 400, to be slow, or to be down.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    webhook_id: str
    headers: dict[str, str]
    body: bytes
    answered: int
    at: float

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str  # the only secret this receiver knows
    status: int = 200  # what it answers to a correctly signed request
    delay: float = 0.0  # seconds it takes to answer
    requests: list[Received] = field(default_factory=list)  # every request, whatever it answered
    refused: list[str] = field(default_factory=list)  # why requests failed verification
    cut_short: int = 0  # requests whose sender went away before the whole body arrived (never answered)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    # ----- what it accepted -------------------------------------------------------------------
    @property
    def accepted(self) -> list[Received]:
        """The verified requests it answered 2xx to, in arrival order."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.answered < 300]

    def events(self) -> list[dict[str, Any]]:
        return [r.event for r in self.accepted]

    def ids(self) -> Counter:
        return Counter(r.webhook_id for r in self.accepted)

    # ----- life -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request (a killed server): no request at all
                    with receiver._lock:
                        receiver.cut_short += 1
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError as exc:
                    verified = False
                    receiver.refused.append(str(exc))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.status if verified else 401
                with receiver._lock:
                    receiver.requests.append(
                        Received(headers.get("webhook-id", ""), headers, body, status, time.monotonic())
                    )
                self.send_response(status)
                self.send_header("content-type", "application/json")
                reply = json.dumps({"ok": 200 <= status < 300}).encode()
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True, name="webhook-receiver").start()
        return self

    def stop(self) -> None:
        """Down: the port refuses connections until :meth:`start` (same port) again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
