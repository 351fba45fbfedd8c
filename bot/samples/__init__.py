"""Bundled sample data: a small event export used by ``handover demo`` and the tests."""

from pathlib import Path

HERE = Path(__file__).parent


def sample_path(name: str) -> Path:
    path = HERE / name
    if not path.exists():
        raise FileNotFoundError(f"no bundled sample called {name}")
    return path
