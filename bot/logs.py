"""Logging: readable text for people, one JSON object per line in production
(HANDOVER_LOG_FORMAT=json). Tokens and secrets are scrubbed from every line."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

_SECRET = re.compile(r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|Bearer\s+[A-Za-z0-9._~+/=-]+)")
_FIELDS = ("request_id", "item_id", "ms")


def scrub(text: str) -> str:
    return _SECRET.sub(lambda m: m.group(0)[:5] + "…redacted", text)


class ScrubFilter(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for secret in self.secrets:
            message = message.replace(secret, "…redacted")
        record.msg, record.args = scrub(message), None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for f in _FIELDS:
            out[f] = getattr(record, f, None)
        if record.exc_info:
            out["error"] = scrub(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


def setup_logging(settings: Any) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(ScrubFilter([settings.bot_token, settings.signing_secret, settings.app_token,
                                   settings.api_token]))
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
