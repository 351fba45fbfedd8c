"""Logging: readable text for people, one JSON object per line in production
(``HANDOVER_LOG_FORMAT=json``). Every line carries the request id and, when known, the item id;
tokens and secrets are scrubbed from every line, whatever logger wrote it.

- The request id comes from the caller's ``X-Request-Id`` when it is a sane one, else a new one;
  it is kept in a :class:`contextvars.ContextVar` for the whole request (the thread pool that runs
  Bolt and the API copies the context), and echoed in the response's ``X-Request-Id`` header.
- The item id is bound once the request names an item (a parsed ``ItemRef``, an item the API
  created); a log call's own ``extra={"item_id": …}`` wins.
- Scrubbing: the configured secrets themselves (bot token, signing secret, app token, API token),
  anything shaped like a Slack token (``xoxb-``, ``xoxp-``, ``xapp-``…), bearer tokens, the value
  of an ``Authorization`` header and ``token=``/``secret=`` parameters.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

REDACTED = "[redacted]"
_PATTERNS = [
    (re.compile(r"\bx(?:ox[a-z]|app)-[A-Za-z0-9-]{6,}"), REDACTED),
    (
        re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|token)\s+)?[^\s\"',;}]+"),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer " + REDACTED),
    (
        re.compile(
            r"(?i)\b((?:client_)?(?:token|secret|signing_secret|password|api_key)[\"']?\s*[=:]\s*[\"']?)"
            r"[^\s&\"',;}]+"
        ),
        r"\1" + REDACTED,
    ),
]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_FIELDS = ("request_id", "item_id")
_EXTRA = ("ms", "status", "method", "path", "event_id", "outbox_id")

_scope: ContextVar[dict[str, Any] | None] = ContextVar("handover_log_scope", default=None)


# ----- the request's context ---------------------------------------------------------------------------


def new_request_id(supplied: str | None = None) -> str:
    """The caller's request id when it is a sane token, else a fresh one."""
    if supplied and _REQUEST_ID.match(supplied):
        return supplied
    return uuid.uuid4().hex[:16]


@contextmanager
def request_scope(request_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Everything logged inside (this thread, and tasks and worker threads started from it) carries
    ``request_id``; :func:`bind` adds to the same scope, so the request's last line sees it too."""
    scope: dict[str, Any] = {"request_id": request_id or new_request_id()}
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def ensure_request(request_id: str | None = None) -> None:
    """Give the current thread a request scope when none is open — Socket Mode, where no HTTP request
    opened one. Each such request replaces the last one's scope in its worker thread."""
    current = _scope.get()
    if current is None or current.get("socket"):
        _scope.set({"request_id": new_request_id(request_id), "socket": True})


def bind(**fields: Any) -> None:
    """Add fields (``item_id``, ``event_id``) to the current request's log lines."""
    scope = _scope.get()
    if scope is not None:
        scope.update({k: v for k, v in fields.items() if v is not None})


def current(field: str) -> Any:
    scope = _scope.get()
    return scope.get(field) if scope else None


class ContextFilter(logging.Filter):
    """Puts the request id and the item id on every record (unless the call passed its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        scope = _scope.get() or {}
        for name in (*_FIELDS, "event_id"):
            if getattr(record, name, None) is None:
                setattr(record, name, scope.get(name))
        return True


# ----- scrubbing ---------------------------------------------------------------------------------------


class Redactor:
    def __init__(self, secrets: list[str] | tuple[str, ...] = ()) -> None:
        # the longest first, so a secret that contains another is removed whole
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


def scrub(text: str) -> str:
    """The pattern part of the scrubbing, for text that is about to be shown or stored."""
    return Redactor()(text)


# ----- formats ------------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, item_id (+ a few extras,
    and the scrubbed traceback as ``error``)."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        for name in _FIELDS:
            out[name] = getattr(record, name, None)
        for name in _EXTRA:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = self.redact(value) if isinstance(value, str) else value
        if record.exc_info:
            out["error"] = self.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            out["error"] = self.redact(record.exc_text)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s%(item)s] %(message)s")
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        item_id = getattr(record, "item_id", None)
        record.item = f" item {item_id}" if item_id else ""
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return self.redact(super().format(record))


def make_handler(settings: Any, stream: TextIO | None = None) -> logging.Handler:
    """The one handler: context filter, scrubbing, and the configured format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    redact = Redactor([settings.bot_token, settings.signing_secret, settings.app_token, settings.api_token])
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter(redact) if settings.log_format == "json" else TextFormatter(redact))
    return handler


def setup_logging(settings: Any, stream: TextIO | None = None) -> logging.Handler:
    handler = make_handler(settings, stream)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    return handler
