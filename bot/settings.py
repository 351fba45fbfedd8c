"""Secrets and connection settings, from the environment (and an optional .env file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.db import normalize_url


class Settings(BaseSettings):
    """Environment variables (names in capitals): see .env.example."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True)

    slack_bot_token: SecretStr = SecretStr("")
    slack_signing_secret: SecretStr = SecretStr("")
    slack_app_token: SecretStr = SecretStr("")
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///handover.db"
    handover_config: Path | None = None
    handover_api_token: SecretStr = SecretStr("")
    log_format: Literal["text", "json"] = Field("text", alias="HANDOVER_LOG_FORMAT")
    log_level: str = Field("INFO", alias="HANDOVER_LOG_LEVEL")
    host: str = Field("127.0.0.1", alias="HANDOVER_HOST")
    port: int = Field(3000, alias="HANDOVER_PORT")
    run_scheduler: bool = Field(True, alias="HANDOVER_RUN_SCHEDULER")
    api_rate_per_second: float = Field(20.0, alias="HANDOVER_API_RATE")
    api_rate_burst: int = Field(100, alias="HANDOVER_API_BURST")
    api_auth_failures: int = Field(10, alias="HANDOVER_API_AUTH_FAILURES")
    api_auth_window: float = Field(300.0, alias="HANDOVER_API_AUTH_WINDOW")
    # the outbox: how long a message is retried through transient Slack trouble (5xx, time-outs,
    # refused connections, 429, a refused token) before it is given up as dead, and the longest
    # wait between two attempts (so deliveries resume within about this long after Slack is back)
    outbox_horizon_hours: float = Field(72.0, gt=0, alias="HANDOVER_OUTBOX_HORIZON_HOURS")
    outbox_max_backoff_seconds: float = Field(60.0, gt=0, alias="HANDOVER_OUTBOX_MAX_BACKOFF")
    # the least time between two messages the dispatcher posts to one channel (Slack allows about one
    # message per second per channel and answers 429 with a whole-second Retry-After beyond it); 0: no pacing
    outbox_channel_pace_seconds: float = Field(1.0, ge=0, alias="HANDOVER_OUTBOX_CHANNEL_PACE")

    @field_validator("slack_api_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _db(cls, value: str) -> str:
        return normalize_url(value)

    @field_validator("handover_config", mode="before")
    @classmethod
    def _empty_path(cls, value: object) -> object:
        return None if value in ("", None) else value

    # plain values for the code that needs them (never logged: the fields are SecretStr)
    @property
    def bot_token(self) -> str:
        return self.slack_bot_token.get_secret_value()

    @property
    def signing_secret(self) -> str:
        return self.slack_signing_secret.get_secret_value()

    @property
    def app_token(self) -> str:
        return self.slack_app_token.get_secret_value()

    @property
    def api_token(self) -> str:
        return self.handover_api_token.get_secret_value()


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
