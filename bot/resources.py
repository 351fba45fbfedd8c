"""Where the files that are not Python live: the message templates, the migrations, the Slack manifest.

The repository keeps them at the top level (``templates/``, ``migrations/``, ``slack-manifest.yaml``);
the wheel carries them inside the package (``bot/_templates``, ``bot/_migrations``,
``bot/_data/slack-manifest.yaml``, see ``[tool.hatch.build.targets.wheel.force-include]`` in
pyproject.toml). They are looked up with :mod:`importlib.resources`, so the same code works from an
installed wheel, a zip (``PYTHONPATH=handover.whl``) and a source checkout or editable install,
where the packaged copy does not exist and the source tree's is used.
"""

from __future__ import annotations

import atexit
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

# packaged name (inside bot/) -> the source tree's name (next to bot/)
TEMPLATES = ("_templates", "templates")
MIGRATIONS = ("_migrations", "migrations")
MANIFEST = ("_data/slack-manifest.yaml", "slack-manifest.yaml")


def _source_tree() -> Path:
    return Path(__file__).resolve().parent.parent


def find(resource: tuple[str, str]) -> Traversable:
    """The packaged copy of ``resource`` if the package carries one, else the source tree's."""
    packaged, source = resource
    found = resources.files("bot").joinpath(*packaged.split("/"))
    if found.is_dir() or found.is_file():
        return found
    return _source_tree() / source


@contextmanager
def as_directory(resource: tuple[str, str]) -> Iterator[Path]:
    """A real directory holding ``resource``: the directory itself when it is on the file system
    (a wheel or a checkout), else a temporary copy (a zip), removed on exit. Alembic needs one."""
    found = find(resource)
    if isinstance(found, Path):
        yield found
        return
    if sys.version_info >= (3, 12):  # as_file extracts whole directories from 3.12 on
        with resources.as_file(found) as path:
            yield path
        return
    with tempfile.TemporaryDirectory(prefix="handover-") as tmp:
        target = Path(tmp) / resource[1]
        _copy(found, target)
        yield target


def _copy(source: Traversable, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.is_dir():
            if entry.name != "__pycache__":
                _copy(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())


_kept = ExitStack()
atexit.register(_kept.close)


@cache
def directory(resource: tuple[str, str]) -> Path:
    """Like :func:`as_directory`, for the life of the process (a zip's copy is removed at exit)."""
    return _kept.enter_context(as_directory(resource))


def read_text(resource: tuple[str, str]) -> str:
    return find(resource).read_text(encoding="utf-8")


__all__ = ["MANIFEST", "MIGRATIONS", "TEMPLATES", "as_directory", "directory", "find", "read_text"]
