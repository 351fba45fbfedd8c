"""Slack Web API clients, pointed at SLACK_API_URL (Slack itself, or the local fake)."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.settings import Settings


def reading_client(settings: Settings, timeout: int = 10, *, retry: bool = True) -> WebClient:
    """For calls that are safe to repeat (look-ups, views.open): slack_sdk's own retry handlers
    wait out 429 Retry-After, server errors and dropped connections. The outbox dispatcher reads
    with ``retry=False``: it retries durably itself, and sleeping in the client through an outage
    would hold up every other channel's messages."""
    return WebClient(
        token=settings.bot_token,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ]
        if retry
        else [],
    )


def sending_client(settings: Settings, timeout: int = 10) -> WebClient:
    """For the outbox's writes. No in-client retries: a repeated chat.postMessage after an
    ambiguous failure could post twice, and sleeping on one channel's Retry-After would hold up
    every other channel. The outbox retries durably instead (see bot.slack.dispatcher)."""
    return WebClient(token=settings.bot_token, base_url=settings.slack_api_url, timeout=timeout, retry_handlers=[])
