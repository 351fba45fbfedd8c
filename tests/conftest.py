"""Fixtures: every database test runs on SQLite and on PostgreSQL (a throwaway cluster)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bot import migrate
from bot.clock import FakeClock
from bot.config import load_config
from bot.context import Context
from bot.db import make_engine
from bot.fakeslack import FakeSlack, SlackAgent
from bot.handlers.app import create_bolt_app
from bot.serverthread import ServerThread
from bot.settings import Settings
from bot.web import create_web_app
from tests.harness import API_TOKEN, BOT_TOKEN, SIGNING_SECRET, START, Bench, directory, emails_in
from tests.pg import Cluster, database_url

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster | None]:
    if os.environ.get("HANDOVER_TEST_SKIP_PG") and not IN_CI:
        yield None
        return
    cluster = Cluster()
    if not cluster.available:
        if IN_CI:
            pytest.fail("PostgreSQL is not installed, and CI must run the PostgreSQL tests")
        yield None
        return
    try:
        cluster.start()
    except Exception as exc:  # noqa: BLE001
        if IN_CI:
            pytest.fail(f"could not start the throwaway PostgreSQL cluster: {exc}")
        yield None
        return
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(token=BOT_TOKEN)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def bench_session(
    backend: str, pg_cluster: Cluster | None, fake_slack: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bench]:
    url = database_url(backend, tmp_path_factory.mktemp(backend), pg_cluster, "handover_test")
    config = load_config(None)
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
        database_url=url,
        handover_api_token=API_TOKEN,
        # the moved clock stands still while a test delivers: per-channel pacing (1 s by
        # default) would hold every second message to a person; its own test turns it on
        outbox_channel_pace_seconds=0,
    )
    engine = make_engine(url)
    migrate.upgrade(engine)
    clock = FakeClock(START)
    ctx = Context(engine=engine, config=config, settings=settings, clock=clock)
    web = create_web_app(ctx, create_bolt_app(ctx))
    server = ServerThread(web).start()
    agent = SlackAgent(fake_slack, bot_url=server.url + "/slack/events", signing_secret=SIGNING_SECRET)
    bench = Bench(ctx=ctx, fake=fake_slack, agent=agent, url=server.url, clock=clock, default_config=config, web=web)
    yield bench
    server.stop()
    engine.dispose()


@pytest.fixture
def bench(bench_session: Bench) -> Iterator[Bench]:
    """A clean world for each test: empty database, a fresh Slack fake, the clock at START."""
    bench_session.reset()
    emails = emails_in(bench_session.ctx.config)
    bench_session.users = {}
    for user in directory(emails):
        bench_session.fake.add_user(user)
        bench_session.users[user.email] = user.id
    yield bench_session
