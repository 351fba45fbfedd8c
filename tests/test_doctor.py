"""`handover doctor` says exactly what is wrong: token, scopes, database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import load_config
from bot.fakeslack import FakeSlack
from bot.fakeslack.directory import directory, emails_in
from bot.fakeslack.server import DEFAULT_SCOPES

TOKEN = "xoxb-doctor-test"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(token=TOKEN, users=directory(emails_in(load_config(None)))).start()
    yield fake
    fake.stop()


def doctor(tmp_path: Path, fake: FakeSlack, *, token: str = TOKEN, migrate: bool = True) -> tuple[int, str]:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'handover.db'}",
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": fake.api_url,
        "HANDOVER_CONFIG": "",
    }
    runner = CliRunner()
    if migrate:
        assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(app, ["doctor"], env=env)
    return result.exit_code, " ".join(result.output.split())


def test_all_good(tmp_path: Path, slack: FakeSlack) -> None:
    code, output = doctor(tmp_path, slack)
    assert code == 0, output
    assert "✘" not in output and "scopes: all granted" in output and "connected, schema at" in output


def test_the_first_line_names_the_version(tmp_path: Path, slack: FakeSlack) -> None:
    from bot.version import version

    _, output = doctor(tmp_path, slack)
    assert output.startswith(f"Handover {version()} ")


def test_a_wrong_token_is_named(tmp_path: Path, slack: FakeSlack) -> None:
    code, output = doctor(tmp_path, slack, token="xoxb-wrong")
    assert code != 0 and "invalid_auth" in output
    assert "SLACK_BOT_TOKEN is invalid" in output


def test_a_slack_outage_is_not_blamed_on_the_token(tmp_path: Path, slack: FakeSlack) -> None:
    slack.set_outage(True)
    code, output = doctor(tmp_path, slack)
    assert code != 0 and "unavailable" in output and "503" in output
    assert "invalid" not in output


def test_an_unknown_fallback_receiver_is_named(tmp_path: Path) -> None:
    fake = FakeSlack(token=TOKEN).start()  # nobody in the workspace
    try:
        code, output = doctor(tmp_path, fake)
    finally:
        fake.stop()
    assert code != 0 and "handover.desk@example.com" in output


def test_a_missing_scope_is_named(tmp_path: Path) -> None:
    fake = FakeSlack(token=TOKEN, scopes=tuple(s for s in DEFAULT_SCOPES if s != "users:read.email")).start()
    try:
        code, output = doctor(tmp_path, fake)
    finally:
        fake.stop()
    assert code != 0 and "missing users:read.email" in output
    assert "chat:write," not in output  # only what is missing is named


def test_an_unmigrated_database_says_what_to_run(tmp_path: Path, slack: FakeSlack) -> None:
    code, output = doctor(tmp_path, slack, migrate=False)
    assert code != 0 and "handover db upgrade" in output
