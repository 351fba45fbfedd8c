"""Packaging: what the wheel, the image and compose.yaml rely on.

There is no container engine where these tests run, so the Dockerfile and compose.yaml are checked
by reading them: every `handover …` command they run must exist in the CLI with those options.
The wheel itself is built and installed in a fresh virtualenv by .ci/run; here the lookup of the
packaged files is checked from a zip laid out as the wheel is (pyproject's force-include map).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.version import Version
from typer.main import get_command
from typer.testing import CliRunner

from bot import resources
from bot.cli import app

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


# ----- the Dockerfile and compose.yaml run only commands the CLI has ------------------------------
def _dockerfile_commands() -> list[list[str]]:
    text = (ROOT / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", text)  # continuation lines joined
    found: list[list[str]] = []
    for line in logical.splitlines():
        instruction, _, rest = line.strip().partition(" ")
        if instruction.upper() not in ("RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK"):
            continue
        rest = rest.strip()
        if instruction.upper() == "HEALTHCHECK":
            rest = rest.split(" CMD ", 1)[1].strip() if " CMD " in f" {rest}" else ""
        argv = json.loads(rest) if rest.startswith("[") else ["sh", "-c", rest]
        found.extend(_handover_calls(argv))
    return found


def _compose_commands() -> list[list[str]]:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    found: list[list[str]] = []
    for service in compose["services"].values():
        for key in ("command", "entrypoint"):
            value = service.get(key)
            if value:
                found.extend(_handover_calls(value if isinstance(value, list) else ["sh", "-c", value]))
        test = (service.get("healthcheck") or {}).get("test")
        if isinstance(test, list) and test and test[0] in ("CMD", "CMD-SHELL"):
            found.extend(_handover_calls(test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]))
    return found


def _handover_calls(argv: list[str]) -> list[list[str]]:
    """`handover …` in an exec-form command, or in each part of a shell command line."""
    if argv[:2] == ["sh", "-c"] or argv[:2] == ["/bin/sh", "-c"]:
        lexer = shlex.shlex(argv[2], posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        calls, words = [], []
        for token in [*lexer, ";"]:
            if token in ("&&", "||", ";", "|", "&"):
                if words and words[0] == "handover":
                    calls.append(words)
                words = []
            else:
                words.append(token)
        return calls
    return [list(argv)] if argv and argv[0] == "handover" else []


def _check_cli(argv: list[str]) -> None:
    """Parse ``argv`` with the real CLI (the click command typer builds from bot.cli's app): an
    unknown command, option or argument fails the assertion. Nothing is run."""
    command = get_command(app)
    rest = argv[1:]
    path = ["handover"]
    while hasattr(command, "commands"):  # a group (typer's own, or click's in older typer)
        if rest == ["--version"]:
            return
        assert rest, f"{' '.join(argv)}: names no command"
        name, rest = rest[0], rest[1:]
        assert name in command.commands, f"{' '.join(argv)}: `{' '.join(path)}` has no command {name!r}"
        command, path = command.commands[name], [*path, name]
    try:
        command.make_context(" ".join(path), list(rest))
    except Exception as exc:  # click's UsageError (typer vendors click in newer releases)
        if any(c.__name__ == "UsageError" for c in type(exc).__mro__):
            raise AssertionError(f"{' '.join(argv)}: {exc.format_message()}") from None
        raise


def test_the_dockerfile_and_compose_run_only_commands_the_cli_has() -> None:
    docker, compose = _dockerfile_commands(), _compose_commands()
    # what the files are known to run: if parsing found nothing, the check would prove nothing
    assert ["handover", "serve"] in docker and ["handover", "--version"] in docker
    assert ["handover", "db", "upgrade"] in compose and ["handover", "scheduler"] in compose
    assert any(c[:2] == ["handover", "serve"] for c in compose)
    for argv in docker + compose:
        _check_cli(argv)


def test_the_cli_check_catches_a_wrong_command_or_option() -> None:
    with pytest.raises(AssertionError, match="no command 'migrate'"):
        _check_cli(["handover", "db", "migrate"])
    with pytest.raises(AssertionError, match="--workers"):
        _check_cli(["handover", "serve", "--workers", "4"])
    with pytest.raises(AssertionError, match="now"):
        _check_cli(["handover", "scheduler", "now"])
    with pytest.raises(AssertionError, match="port"):
        _check_cli(["handover", "serve", "--port", "eighty"])


def test_the_image_is_built_from_the_wheel_by_a_non_root_user_and_checks_its_health() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s", text, flags=re.MULTILINE)
    assert len(stages) >= 2, "a multi-stage build"
    final = text[[m.start() for m in re.finditer(r"^FROM\s", text, flags=re.MULTILINE)][-1] :]
    assert "COPY --from=build" in final and ".whl" in final
    assert not re.search(r"^COPY\s+(?!--from)", final, flags=re.MULTILINE), "no source tree in the final image"
    assert "pip install -e" not in text and "--editable" not in text
    assert re.search(r"^USER\s+(?!root\b|0\b)\S+", final, flags=re.MULTILINE)
    assert re.search(r"^HEALTHCHECK\s.*healthz", re.sub(r"\\\n", " ", final), flags=re.MULTILINE)


def test_compose_migrates_once_before_the_web_app_and_the_scheduler_start() -> None:
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert services["migrate"]["command"] == ["handover", "db", "upgrade"]
    for name in ("web", "scheduler"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert "upgrade" not in str(services[name]["command"])
    assert services["web"]["environment"]["HANDOVER_RUN_SCHEDULER"] == "false"


def test_the_readme_says_the_image_was_not_built_here() -> None:
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"not (been )?built (here|on these machines)", readme)


# ----- dependencies: what bot/ imports is declared, what is declared is used --------------------
# import name -> distribution, where they differ
DISTRIBUTION_OF = {"yaml": "pyyaml", "jinja2": "jinja2"}
# declared but never imported by name, and why
USED_WITHOUT_IMPORT = {
    "psycopg": "SQLAlchemy's PostgreSQL driver (postgresql+psycopg://)",
    "tzdata": "time-zone data for zoneinfo where the system has none (slim images, Windows)",
}
# imported only by code that says what to install when it is missing
OPTIONAL_IMPORTS = {"websockets": "bot/fakeslack/socket_mode.py: the stand-in's Socket Mode (the test extra)"}


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _third_party_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if top != "bot" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_import_of_bot_is_a_declared_dependency_and_every_dependency_is_used() -> None:
    declared = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    test_extra = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]}
    imported = _third_party_imports()
    as_distributions = {DISTRIBUTION_OF.get(m, m.replace("_", "-")): m for m in imported}
    undeclared = {
        d: sorted(imported[m]) for d, m in as_distributions.items() if d not in declared and m not in OPTIONAL_IMPORTS
    }
    assert not undeclared, f"imported but not in [project] dependencies: {undeclared}"
    assert all(_name(m) in test_extra for m in OPTIONAL_IMPORTS)
    unused = declared - set(as_distributions) - set(USED_WITHOUT_IMPORT)
    assert not unused, f"declared but never imported: {sorted(unused)}"
    assert "starlette" in declared and "python-dotenv" not in declared


def test_the_minimum_constraints_pin_every_direct_dependency_at_its_lower_bound() -> None:
    pins = {}
    for line in (ROOT / "constraints-min.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[_name(name)] = version.strip()
    requirements = PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["test"]
    for requirement in requirements:
        lower = re.search(r">=\s*([0-9][^,;\s]*)", requirement)
        assert lower, f"{requirement}: no lower bound"
        pinned = pins.get(_name(requirement))
        assert pinned and Version(pinned) == Version(lower.group(1)), (
            f"{requirement}: constraints-min.txt pins {pinned}"
        )


# ----- the version, in one place -------------------------------------------------------------------
def test_handover_version_is_the_distributions() -> None:
    from importlib import metadata

    import bot
    from bot.version import version

    try:
        expected = metadata.version("handover")
    except metadata.PackageNotFoundError:
        expected = bot.__version__
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"handover {expected}" == f"handover {version()}"


# ----- the packaged files: found in the source tree, and in a zip laid out as the wheel --------------
def test_from_the_source_tree_the_top_level_directories_are_used() -> None:
    assert resources.find(resources.TEMPLATES) == ROOT / "templates"
    assert resources.directory(resources.MIGRATIONS) == ROOT / "migrations"
    assert "chat:write" in resources.read_text(resources.MANIFEST)


def _zip_like_the_wheel(target: Path) -> Path:
    """bot/ plus pyproject's force-include map (templates/ → bot/_templates, …), in a zip."""
    mapping = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    archive = target / "handover.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted((ROOT / "bot").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                z.write(path, path.relative_to(ROOT).as_posix())
        for source, inside in mapping.items():
            src = ROOT / source
            for path in [src] if src.is_file() else sorted(src.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    z.write(path, (Path(inside) / path.relative_to(src)).as_posix() if src.is_dir() else inside)
    return archive


def test_from_a_zip_the_packaged_templates_migrations_and_manifest_are_used(tmp_path: Path) -> None:
    archive = _zip_like_the_wheel(tmp_path)
    script = f"""
import sys
from importlib import resources as ir
from pathlib import Path
from bot import resources, texts, migrate, doctor
from bot.db import make_engine
assert Path(resources.__file__).is_relative_to({str(tmp_path)!r}), resources.__file__
assert not isinstance(resources.find(resources.TEMPLATES), Path), "the zip's templates, not the checkout's"
print(texts.say("help.j2", "help").splitlines()[0])
engine = make_engine("sqlite:///{tmp_path / "zip.db"}")
migrate.upgrade(engine)
print("revision", migrate.current(engine), migrate.head())
print("scopes", ",".join(doctor.required_scopes()))
"""
    env = {**os.environ, "PYTHONPATH": str(archive)}
    env.pop("HANDOVER_TEMPLATES", None)
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "Handover" in lines[0]
    head = max(p.name.split("_")[0] for p in (ROOT / "migrations" / "versions").glob("0*.py"))
    assert lines[1].startswith(f"revision {head}") and lines[1].split()[1] == lines[1].split()[2]
    assert "files:write" in lines[2]


def test_handover_templates_overrides_one_template_and_keeps_the_others(tmp_path: Path) -> None:
    (tmp_path / "help.j2").write_text("{% macro help() %}Ask Maria in #sales-ops.{% endmacro %}\n")
    script = """
from bot import texts
print(texts.say("help.j2", "help"))
print(texts.say("busy.j2", "busy"))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HANDOVER_TEMPLATES": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "Ask Maria in #sales-ops."
    assert "database is busy" in done.stdout.splitlines()[1]  # not overridden: the built-in wording
