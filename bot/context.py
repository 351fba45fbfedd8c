"""What every flow needs: the database, the configuration, the settings and the clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.config import Config
from bot.settings import Settings


@dataclass
class Context:
    engine: Engine
    config: Config
    settings: Settings
    clock: Clock = field(default_factory=Clock)
