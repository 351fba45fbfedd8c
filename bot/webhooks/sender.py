"""The webhook sender: claims deliveries, signs them (Standard Webhooks) and POSTs them with httpx.

It runs beside the Slack dispatcher, never inside it: one worker thread per endpoint, each with
its own small pool (``concurrency``) and its own time-out, so a slow or dead endpoint delays
neither Slack messages nor the other endpoints. What an answer means:

- 2xx: delivered.
- 410 Gone: the endpoint is disabled (persisted) and the admins are told; nothing more is sent to it.
- 408, 429 (its Retry-After honoured), 5xx, a time-out or a connection error: tried again with
  backoff (10 s doubling to an hour) for ``webhooks.retry_for_hours`` (72 h by default), then failed.
- any other 4xx (and 3xx: redirects are not followed): failed at once, and visible.

``webhook-id`` is the CloudEvent id (stable across attempts and replays); ``webhook-timestamp`` is
the wall-clock time of the attempt (receivers check it is recent); ``webhook-signature`` holds one
``v1,`` signature per active secret (two while rotating), space-separated.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from standardwebhooks.webhooks import Webhook

from bot.clock import utcnow
from bot.config import WebhookEndpoint
from bot.context import Context
from bot.version import version
from bot.webhooks import queue

log = logging.getLogger("handover.webhooks")

RETRYABLE_4XX = {408, 429}
POLL_SECONDS = 0.5
IDLE_WITHOUT_ENDPOINTS = 30.0


class MissingSecret(Exception):
    pass


def secrets_of(endpoint: WebhookEndpoint, environ: dict[str, str] | None = None) -> list[str]:
    """The endpoint's active secrets (from the environment): the current one, and the previous
    one while rotating."""
    env = os.environ if environ is None else environ
    out = []
    for name in [endpoint.secret_env, endpoint.previous_secret_env]:
        if name is None:
            continue
        value = (env.get(name) or "").strip()
        if not value:
            raise MissingSecret(f"the environment variable {name} (the endpoint's secret) is not set")
        out.append(value)
    return out


def signed_headers(endpoint: WebhookEndpoint, msg_id: str, body: str, *, at: datetime | None = None) -> dict[str, str]:
    at = at or utcnow()
    signatures = " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets_of(endpoint))
    return {
        "content-type": "application/cloudevents+json; charset=utf-8",
        "user-agent": f"Handover/{version()}",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


@dataclass
class Answer:
    status: int | None
    text: str
    error: str | None = None  # a transport error (time-out, refused connection)
    retry_after: float | None = None


def post(client: httpx.Client, endpoint: WebhookEndpoint, msg_id: str, body: str) -> Answer:
    try:
        headers = signed_headers(endpoint, msg_id, body)
    except (MissingSecret, ValueError) as exc:
        return Answer(None, "", error=str(exc))
    try:
        response = client.post(
            endpoint.url, content=body.encode("utf-8"), headers=headers, timeout=endpoint.timeout_seconds
        )
    except httpx.TimeoutException as exc:
        return Answer(None, "", error=f"time-out after {endpoint.timeout_seconds:g} s ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return Answer(None, "", error=f"{type(exc).__name__}: {exc}")
    retry_after = None
    if response.headers.get("retry-after", "").strip().isdigit():
        retry_after = float(response.headers["retry-after"])
    return Answer(response.status_code, response.text[:300], retry_after=retry_after)


class WebhookSender:
    def __init__(self, ctx: Context, *, client: httpx.Client | None = None) -> None:
        self.ctx = ctx
        self.client = client or httpx.Client(follow_redirects=False)
        self.pools: dict[str, ThreadPoolExecutor] = {}

    @property
    def endpoints(self) -> list[WebhookEndpoint]:
        return list(self.ctx.config.webhooks.endpoints)

    def now(self) -> datetime:
        return self.ctx.clock.now()

    def fan_out(self) -> int:
        total = 0
        while n := queue.fan_out(self.ctx.engine, self.ctx.config, now=self.now()):
            total += n
        return total

    def _pool(self, endpoint: WebhookEndpoint) -> ThreadPoolExecutor:
        if endpoint.name not in self.pools:
            self.pools[endpoint.name] = ThreadPoolExecutor(
                endpoint.concurrency, thread_name_prefix=f"webhook-{endpoint.name}"
            )
        return self.pools[endpoint.name]

    def round(self, endpoint: WebhookEndpoint) -> int:
        """Claim and send one batch for ``endpoint`` (different items side by side); how many were tried."""
        claimed = queue.claim(
            self.ctx.engine,
            endpoint.name,
            now=self.now(),
            limit=endpoint.concurrency,
            lease=queue.lease_for(endpoint.timeout_seconds),
        )
        if not claimed:
            return 0
        list(self._pool(endpoint).map(lambda row: self.send(endpoint, row), claimed))
        return len(claimed)

    def send(self, endpoint: WebhookEndpoint, row: queue.Claimed) -> None:
        answer = post(self.client, endpoint, row.event_id, row.body)
        now, engine = self.now(), self.ctx.engine
        horizon = timedelta(hours=self.ctx.config.webhooks.retry_for_hours)
        status = answer.status
        if status is not None and 200 <= status < 300:
            queue.delivered(engine, row, now=now, status=status)
        elif status == 410:
            queue.gone(engine, self.ctx.config, row, now=now, error=f"410 Gone: {answer.text}")
        elif status is None or status >= 500 or status in RETRYABLE_4XX:
            error = answer.error or f"HTTP {status}: {answer.text}"
            log.info("webhook %s to %s: %s; trying again later", row.event_id, endpoint.name, error)
            queue.retry(
                engine,
                row,
                now=now,
                status=status,
                error=error,
                horizon=horizon,
                retry_after=answer.retry_after if status == 429 else None,
            )
        else:
            queue.failed(engine, row, now=now, status=status, error=f"HTTP {status}: {answer.text}")

    def run_until_idle(self, *, endpoint: str | None = None, max_seconds: float = 120.0) -> None:
        """Fan out, then send everything due now, each endpoint in its own thread (``handover
        dispatch`` and the tests; the clock does not move meanwhile)."""
        self.fan_out()
        chosen = [e for e in self.endpoints if endpoint is None or e.name == endpoint]
        deadline = time.monotonic() + max_seconds

        def drain(ep: WebhookEndpoint) -> None:
            while time.monotonic() < deadline and self.round(ep):
                pass

        threads = [threading.Thread(target=drain, args=(ep,), name=f"webhooks-{ep.name}") for ep in chosen]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def run_forever(self, stop: threading.Event) -> None:
        """The background sender of ``handover serve``: fan-out here, one worker per endpoint."""
        workers = [
            threading.Thread(target=self._endpoint_loop, args=(ep, stop), daemon=True, name=f"webhooks-{ep.name}")
            for ep in self.endpoints
        ]
        for w in workers:
            w.start()
        # without endpoints the recorded events are only marked as handled: no hurry, and no reason
        # to take SQLite's write lock twice a second beside the Slack dispatcher
        self._loop(stop, self.fan_out, idle=POLL_SECONDS if workers else IDLE_WITHOUT_ENDPOINTS)
        for w in workers:
            w.join(timeout=5)

    def _endpoint_loop(self, endpoint: WebhookEndpoint, stop: threading.Event) -> None:
        self._loop(stop, lambda: self.round(endpoint))

    @staticmethod
    def _loop(stop: threading.Event, work: Callable[[], int], idle: float = POLL_SECONDS) -> None:
        while not stop.is_set():
            try:
                busy = work()
            except Exception:
                log.exception("webhook sender round failed")
                busy = 0
            if not busy:
                stop.wait(idle)

    def close(self) -> None:
        for pool in self.pools.values():
            pool.shutdown(wait=False)
