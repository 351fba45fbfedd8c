"""Handover's version, from one source: the installed distribution's metadata (what the wheel was
built as, from ``bot.__version__`` by hatchling), or ``bot.__version__`` when running from a source tree
that is not installed."""

from __future__ import annotations

from importlib import metadata

import bot

DISTRIBUTION = "handover"


def version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return bot.__version__
