"""The sandbox's world: the real bot (the app `handover serve` builds, its outbox dispatcher and its
scheduler) on a temporary SQLite database, the built-in Slack stand-in with one person per e-mail
of the bundled configuration and sample event, a clock the visitor moves, and the signed-request
agent that turns every click in the browser into the request Slack would send."""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa
from sqlmodel import SQLModel, select

from bot import migrate, outbox
from bot.clock import FakeClock
from bot.config import Config, load_config
from bot.context import Context
from bot.db import make_engine, transaction
from bot.fakeslack import FakeSlack, FakeUser
from bot.fakeslack.directory import emails_in
from bot.fakeslack.server import BOT_USER
from bot.flows.importing import import_file
from bot.handlers.app import create_bolt_app
from bot.ids import CallbackId
from bot.models import Outbox
from bot.runtime import Background
from bot.samples import sample_path
from bot.sandbox.agent import SandboxAgent
from bot.scheduler import tick
from bot.scheduling import company_schedule
from bot.serverthread import ServerThread
from bot.settings import Settings
from bot.web import create_web_app

log = logging.getLogger("handover.sandbox")

SAMPLE = "global_event_2026.csv"
EVENT = "Global Event 2026"
NOT_IN_SLACK = "m.berg@example.com"  # a sample row's account owner without a Slack account (the fallback shows)
COMMAND = "/handover"
# people shown first in the switcher, in this order: the handover's cast
CAST = (
    "kim.stand@example.com",
    "marketing.ops@example.com",
    "anna.berg@example.com",
    "tom.hughes@example.com",
    "lena.lindqvist@example.com",
    "maria.santos@example.com",
    "handover.desk@example.com",
)
TEAM_TZ = {"uk-sales": "Europe/London", "dach-sales": "Europe/Berlin"}
SHORTCUTS = [  # what slack-manifest.yaml declares
    {"callback_id": str(CallbackId.NEW_ITEM_SHORTCUT), "type": "global", "name": "Hand over an item"},
    {"callback_id": str(CallbackId.LOOKUP_SHORTCUT), "type": "global", "name": "Look up a customer"},
    {"callback_id": str(CallbackId.MESSAGE_SHORTCUT), "type": "message", "name": "Hand over this message"},
]
MOVES = {
    "hour": "+1 h",
    "morning": "Next working morning",
    "monday": "Next Monday 08:00",
    "fortnight": "+14 days",
    "month": "Next month's first working day",
}
SAMPLE_ITEM = {
    "external_id": "sandbox-1",
    "event": "Sandbox webinar",
    "customer": "Lakeside Hotels AB",
    "customer_domain": "lakesidehotels.se",
    "contact_name": "Maja Ek",
    "contact_email": "maja.ek@lakesidehotels.se",
    "description": "Guest Wi-Fi in 14 hotels keeps failing at conferences; wants a proposal before summer.",
    "customer_request": "Send a proposal",
    "region": "nordics",
    "category": "lead",
    "business_builder_email": "kim.stand@example.com",
    "sender_email": "marketing.ops@example.com",
    "checklist": {"painpoint": True, "offering": True, "timeframe": True, "budget": True},
}


class RunningClock(FakeClock):
    """A FakeClock that also runs: real seconds pass on it (so retries and trigger times behave),
    and the sandbox jumps it forward."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        with self._lock:
            return self._now + timedelta(seconds=time.monotonic() - self._t0)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        with self._lock:
            self._now += delta if delta is not None else timedelta(**kwargs)
        return self.now()

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now, self._t0 = when, time.monotonic()


@dataclass
class Person:
    id: str
    email: str
    name: str
    role: str
    tz: str
    cast: bool


def default_start(config: Config, today: date | None = None) -> datetime:
    """09:00 (company time) on this week's second working day (a Tuesday, normally): a working
    morning with a working day ahead, and more than a day after the week's digest moment (Monday
    08:30) — a scheduler starting within a day of it catches the digest up, which would make the
    first "next working morning" look like a digest day."""
    tz = config.tz
    day = today or datetime.now(tz).date()
    monday = day - timedelta(days=day.weekday())
    schedule = company_schedule(config)
    first = schedule.next_working_moment(datetime.combine(monday, dtime(0), tz)).astimezone(tz)
    second = schedule.next_working_moment(datetime.combine(first.date() + timedelta(days=1), dtime(0), tz))
    return datetime.combine(second.astimezone(tz).date(), dtime(9), tz).astimezone(UTC)


def move_target(config: Config, now: datetime, move: str) -> datetime:
    """Where each clock button moves the clock to (company time zone and working days)."""
    tz, schedule = config.tz, company_schedule(config)
    local = now.astimezone(tz)
    first = config.working_hours.start
    if move == "hour":
        return now + timedelta(hours=1)
    if move == "fortnight":
        return now + timedelta(days=14)
    if move == "morning":
        day = local.date() + timedelta(days=1)
        while not schedule.is_working_day(day):
            day += timedelta(days=1)
        return datetime.combine(day, first, tz).astimezone(UTC)
    if move == "monday":
        day = local.date() + timedelta(days=7 - local.weekday())
        return datetime.combine(day, dtime(8), tz).astimezone(UTC)
    if move == "month":
        day = (local.date().replace(day=1) + timedelta(days=32)).replace(day=1)
        while not schedule.is_working_day(day):
            day += timedelta(days=1)
        return datetime.combine(day, first, tz).astimezone(UTC)
    raise ValueError(f"unknown clock move {move!r}; one of {', '.join(MOVES)}")


def cast_of(config: Config) -> list[tuple[str, str, str]]:
    """(e-mail, role, time zone) of everyone the configuration and the sample event name."""
    from bot.intake.tabular import read_items

    roles: dict[str, list[str]] = {}
    tzs: dict[str, str] = {}

    def add(email: str | None, role: str) -> None:
        if email and email.lower() != NOT_IN_SLACK:
            roles.setdefault(email.lower(), [])
            if role and role not in roles[email.lower()]:
                roles[email.lower()].append(role)

    report = read_items(sample_path(SAMPLE), checklist_keys=config.checklist.labels)
    for row in report.rows:
        add(row.item.business_builder_email, "Business Builder")
        add(row.item.sender_email, "Qualifier (sends the event's items)")
        add(row.item.account_owner_email, "Account owner")
    for team in config.teams:
        sales = bool(team.region)
        if team.lead:
            add(team.lead, f"Team lead · {team.name}")
            tzs.setdefault(team.lead.lower(), TEAM_TZ.get(team.key, ""))
        for m in team.members:
            add(m, f"{'Account manager' if sales else 'Member'} · {team.name}")
            tzs.setdefault(m.lower(), TEAM_TZ.get(team.key, ""))
    for e in config.roles.admins:
        add(e, "Admin")
    for e in config.roles.reviewers:
        add(e, "Reviewer")
    add(config.routing.fallback, "Fallback receiver")
    for e in emails_in(config):
        add(e, "")
    order = [e for e in CAST if e in roles] + [e for e in roles if e not in CAST]
    return [(e, ", ".join(roles[e]) or "Colleague", tzs.get(e) or config.timezone) for e in order]


class Sandbox:
    """``Sandbox().start()``; the bot's web app is at ``bot_url``; ``stop()`` ends everything."""

    def __init__(
        self, *, start: datetime | None = None, database_url: str | None = None, config_path: Path | None = None
    ) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="handover-sandbox-"))
        self.config = load_config(config_path)
        self.start_at = start or default_start(self.config)
        self.database_url = database_url or f"sqlite:///{self.tmp / 'sandbox.db'}"
        self.fake = FakeSlack(token="xoxb-sandbox-" + secrets.token_hex(8), trigger_ttl=10.0)
        self.clock = RunningClock(self.start_at)
        self.lock = threading.RLock()  # one world-changing action at a time (clock moves, reset, imports)
        self.people: list[Person] = []
        self.names: dict[str, str] = {}
        self.view_errors: dict[str, dict[str, str]] = {}
        self.notices: list[dict[str, Any]] = []
        self.trouble_until = 0.0
        self.trouble_kind = ""
        self.jumps: list[tuple[float, datetime]] = [(time.time(), self.start_at)]  # (real time, clock time)

    # ----- life ------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        self.fake.start()
        self._add_people()
        settings = Settings(
            slack_bot_token=self.fake.token,
            slack_signing_secret=secrets.token_hex(16),
            slack_api_url=self.fake.api_url,
            database_url=self.database_url,
            handover_api_token=secrets.token_hex(16),
        )
        self.ctx = Context(
            engine=make_engine(settings.database_url), config=self.config, settings=settings, clock=self.clock
        )
        migrate.upgrade(self.ctx.engine)
        # the same app `handover serve` runs, with its dispatcher and scheduler, on another loopback port
        self.server = ServerThread(create_web_app(self.ctx, create_bolt_app(self.ctx))).start()
        self.background = Background(self.ctx, scheduler=True).start()
        self.agent = SandboxAgent(
            self.fake, bot_url=self.server.url + "/slack/events", signing_secret=settings.signing_secret
        )
        return self

    def stop(self) -> None:
        self.background.shutdown()
        self.server.stop()
        self.fake.stop()
        self.ctx.engine.dispose()
        shutil.rmtree(self.tmp, ignore_errors=True)  # the temporary database goes with the sandbox

    @property
    def bot_url(self) -> str:
        return self.server.url

    def _add_people(self) -> None:
        self.people, self.names = [], {BOT_USER: "Handover"}
        for n, (email, role, tz) in enumerate(cast_of(self.config), start=100):
            uid = f"U{n}"
            local = email.split("@")[0]
            real = local.replace(".", " ").title()
            self.fake.add_user(FakeUser(id=uid, email=email, name=local, real_name=real, tz=tz))
            self.people.append(Person(id=uid, email=email, name=real, role=role, tz=tz, cast=email in CAST))
            self.names[uid] = real

    def user_of(self, email: str) -> str:
        return next(p.id for p in self.people if p.email == email.lower())

    # ----- what the visitor does -----------------------------------------------------------------
    def load_sample(self) -> dict[str, Any]:
        """The bundled sample event, imported as `handover import` does; the dispatcher sends the cards."""
        with self.lock:
            summary = import_file(self.ctx, sample_path(SAMPLE), event=EVENT)
        rejected = [{"line": e.line, "reasons": list(e.reasons)} for e in summary.errors]
        text = (
            f"Imported {SAMPLE}: {summary.created} item(s) created, {summary.existing} already imported, "
            f"{len(rejected)} row(s) rejected."
        )
        for w in summary.warnings:
            text += f" {w}"
        self.notice(text)
        return {"created": summary.created, "existing": summary.existing, "rejected": rejected, "text": text}

    def post_item(self, item: Any) -> dict[str, Any]:
        """One item through the intake API, with its bearer token, as a system would send it."""
        response = httpx.post(
            self.bot_url + "/api/items",
            json=item,
            timeout=10,
            headers={"Authorization": f"Bearer {self.ctx.settings.api_token}"},
        )
        body = response.json() if response.content else {}
        self.notice(f"POST /api/items → {response.status_code}: {body}")
        return {"status": response.status_code, "body": body}

    def move_clock(self, move: str) -> dict[str, Any]:
        """Jump the clock and let the scheduler tick at once (what its next minute would do)."""
        with self.lock:
            before = self.clock.now()
            target = move_target(self.config, before, move)
            self.clock.set(target)
            self.jumps.append((time.time(), target))
            done = tick(self.ctx)
        local = target.astimezone(self.config.tz)
        text = (
            f"Clock moved to {local:%a %d %b %Y %H:%M} ({self.config.timezone}); the scheduler ticked: "
            f"{len(done.reminders)} reminder(s), {len(done.escalations)} escalation(s), "
            f"{len(done.follow_ups)} follow-up reminder(s), {len(done.reassigned)} reassigned, "
            f"{len(done.reasked)} question(s) re-asked."
        )
        self.notice(text)
        return {"now": target.isoformat(), "text": text}

    def set_trouble(self, kind: str, seconds: float = 20.0) -> dict[str, Any]:
        """Slack answers every Web API call with 429 (Retry-After) or 500 for ``seconds``."""
        if kind in ("429", "500"):
            self.fake.trouble(int(kind), seconds)
            self.trouble_kind, self.trouble_until = kind, time.monotonic() + seconds
            self.notice(
                f"Slack answers HTTP {kind} to every Web API call for {seconds:.0f} s; the outbox keeps "
                f"the messages and sends them when it recovers."
            )
        else:
            self.fake.trouble(None)
            self.trouble_kind, self.trouble_until = "", 0.0
        return {"trouble": self.trouble_kind}

    def trouble(self) -> dict[str, Any]:
        left = self.trouble_until - time.monotonic()
        if left <= 0:
            return {"kind": "", "left": 0}
        return {"kind": self.trouble_kind, "left": max(1, round(left))}

    def reset(self) -> None:
        """An empty world again: the database wiped, Slack forgotten, the clock back at the start."""
        with self.lock:
            self.fake.reset()
            self._add_people()
            self.clock.set(self.start_at)
            self.jumps = [(time.time(), self.start_at)]
            tables = list(reversed(SQLModel.metadata.sorted_tables))
            with self.ctx.engine.begin() as conn:
                if self.ctx.engine.dialect.name == "postgresql":
                    conn.exec_driver_sql(
                        "TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"
                    )
                else:
                    for t in tables:
                        conn.execute(t.delete())
                    if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'").first():
                        conn.exec_driver_sql("DELETE FROM sqlite_sequence")
            self.view_errors.clear()
            self.notices.clear()
            self.trouble_kind, self.trouble_until = "", 0.0
        self.notice("Reset: an empty database, a fresh Slack workspace, the clock back at the start.")

    def notice(self, text: str) -> None:
        self.notices.append({"at": time.time(), "text": text})
        del self.notices[:-20]

    # ----- what the page shows -----------------------------------------------------------------
    def outbox_counts(self) -> dict[str, int]:
        with transaction(self.ctx.engine) as s:
            rows = s.exec(select(Outbox.status, sa.func.count()).group_by(Outbox.status)).all()
        return {str(status): n for status, n in rows} | {"pending_total": outbox.pending_count(self.ctx.engine)}

    def clock_info(self) -> dict[str, Any]:
        now = self.clock.now()
        tz = self.config.tz
        return {
            "utc": now.isoformat(),
            "local": now.astimezone(tz).strftime("%a %d %b %Y %H:%M"),
            "timezone": self.config.timezone,
            "moves": MOVES,
            "digest": f"{self.config.digest.day.title()} {self.config.digest.time:%H:%M}",
        }

    def sim_time(self, real: float) -> str:
        """The clock's time (company time zone) when the real moment ``real`` happened: a message's
        ts is real time, the people live on the moved clock."""
        base_real, base = next(((r, c) for r, c in reversed(self.jumps) if r <= real), self.jumps[0])
        when = base + timedelta(seconds=max(0.0, real - base_real))
        return when.astimezone(self.config.tz).strftime("%a %d %b %H:%M")

    def channel_name(self, channel: str) -> str:
        named = {v: k for k, v in self.config.channels.model_dump().items() if isinstance(v, str)}
        return {"review": "lead-review", "reports": "handover-reports"}.get(named.get(channel, ""), channel)

    def person(self, uid: str) -> Person | None:
        return next((p for p in self.people if p.id == uid), None)

    def local_time(self, tz: str) -> str:
        return self.clock.now().astimezone(ZoneInfo(tz)).strftime("%a %H:%M")
