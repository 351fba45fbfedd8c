"""What the fault tests (tests/test_faults.py) share.

- :class:`World`: the real web app on loopback with its own Slack fake, database and the real clock,
  plus the outbox dispatcher running as it does in ``handover serve`` (a background thread).
- :class:`Proc`: a real ``handover`` process (``serve``, ``dispatch``, ``import``) or the scheduler
  script below, started with the environment production uses and killed with SIGKILL.
- counting what people received: how often each outbox key reached Slack (the dispatcher puts the
  key in each message's metadata) and how many cards each item got.
- :func:`report`: prints a test's figure and keeps it in ``bench/results/faults.json``.

Run as ``python -m tests.faults_support scheduler`` it is a scheduler process on a movable clock:
it reads simulated times (ISO 8601) from stdin, one per line, and for each one runs a tick of the
service level (``bot.flows.nudge.run``) and the outbox dispatcher at that time, then prints one JSON
line with what it did. ``handover scheduler`` itself can't move its clock; everything else
(settings from the environment, the database, the Web API) is the production path.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "faults.json"
# the installed `handover` command next to this Python (a venv), else the same CLI as a module
_SCRIPT = Path(sys.executable).with_name("handover")
HANDOVER = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "bot.cli"]

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
API_TOKEN = "test-api-token-123"


# ----- databases ---------------------------------------------------------------------------------


def fresh_database(url: str) -> None:
    """Migrate ``url`` to head (``handover db upgrade`` does the same)."""
    from bot import migrate
    from bot.db import make_engine

    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


# ----- what people received ------------------------------------------------------------------------


def keys_posted(fake: Any) -> Counter:
    """How often each outbox key reached Slack, read from the messages' metadata."""
    from bot.slack.dispatcher import METADATA_EVENT

    seen: Counter = Counter()
    for m in fake.messages():
        meta = m.metadata or {}
        if meta.get("event_type") == METADATA_EVENT:
            seen[meta["event_payload"]["key"]] += 1
    return seen


def cards_per_item(fake: Any) -> Counter:
    """How many card messages each item id got (outbox keys ``card:<item>:<version>:<receiver>``)."""
    out: Counter = Counter()
    for key, n in keys_posted(fake).items():
        if key.startswith("card:"):
            out[int(key.split(":")[1])] += n
    return out


def duplicates(counter: Counter) -> int:
    return sum(n - 1 for n in counter.values() if n > 1)


def failed_calls(fake: Any, method: str | None = None) -> Counter:
    """Failed Web API calls by status (503 outage, 500, 429, 200 with ok=false)."""
    with fake._lock:
        calls = list(fake.calls)
    return Counter(c.status for c in calls if not c.ok and (method is None or c.method == method))


def wait_for(condition: Callable[[], Any], *, timeout: float, every: float = 0.2, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(every)


# ----- figures ----------------------------------------------------------------------------------------


def report(test: str, figure: str, **numbers: Any) -> None:
    """Print the figure a test shows and keep it (with its numbers) in bench/results/faults.json."""
    print(f"\nFIGURE {test}: {figure}", flush=True)
    try:
        data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    except ValueError:
        data = {}
    data.setdefault("about", "figures of the fault tests (pytest -m slow tests/test_faults.py), last run of each")
    data.setdefault("results", {})[test] = {
        "figure": figure,
        **numbers,
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpus": os.cpu_count(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


# ----- item bodies and files ---------------------------------------------------------------------------

REGIONS = ["nordics", "dach", "uk"]
LEAD = {"painpoint": True, "offering": True, "timeframe": True, "budget": True}


def item_body(n: int, prefix: str = "f", **fields: Any) -> dict[str, Any]:
    """An intake API body: a Lead in one of three regions, so it goes round robin to a sales team."""
    body = {
        "external_id": f"{prefix}-{n}",
        "event": "Fault Week 2026",
        "customer": f"{prefix.title()} Customer {n} AB",
        "contact_name": f"Contact {n}",
        "contact_email": f"contact{n}@{prefix}{n}.example",
        "description": "Wants a quote for new core switches this quarter.",
        "region": REGIONS[n % 3],
        "category": "lead",
        "checklist": LEAD,
    }
    body.update(fields)
    return body


HEADER = [
    "Scan ID",
    "Company",
    "First name",
    "Last name",
    "E-mail",
    "Job title",
    "Region",
    "Product interest",
    "Category",
    "Notes",
    "Customer request",
    "Business Builder",
    "Sender",
    "Account owner",
    "Painpoint",
    "Offering",
    "Timeframe",
    "Budget",
]


def write_csv(path: Path, rows: int, prefix: str = "CR") -> Path:
    """An event export with ``rows`` valid rows (semicolon-separated, as Excel writes it in Europe)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(HEADER)
        for n in range(rows):
            w.writerow(
                [
                    f"{prefix}-{n:06d}",
                    f"Crash Test {n} AB",
                    "Eva",
                    f"Lund{n}",
                    f"eva{n}@crash{n}.example",
                    "CTO",
                    ["Nordics", "DACH", "UK"][n % 3],
                    "Switching",
                    "Lead",
                    f"Row {n}: wants new switches; budget approved.",
                    "",
                    "kim.stand@example.com",
                    "marketing.ops@example.com",
                    "",
                    "yes",
                    "yes",
                    "yes",
                    "yes",
                ]
            )
    return path


def slack_fake(
    extra: Iterable[str] = ("sender@example.com", "kim.stand@example.com", "marketing.ops@example.com"),
) -> tuple[Any, dict[str, str]]:
    """A started Slack fake with one user per e-mail the default configuration names, and ``extra``."""
    from bot.config import load_config
    from bot.fakeslack import FakeSlack
    from bot.fakeslack.directory import directory, emails_in

    fake = FakeSlack(token=BOT_TOKEN).start()
    users: dict[str, str] = {}
    for user in directory(emails_in(load_config(None)) + list(extra)):
        fake.add_user(user)
        users[user.email] = user.id
    return fake, users


# ----- an in-process world (web app + dispatcher thread), real clock --------------------------------------


class World:
    """The web app (``/slack/events``, ``/api/items``) on loopback, a Slack fake of its own with one
    user per configured e-mail, a database, the real clock; ``start_dispatcher`` runs the outbox
    dispatcher the way ``handover serve`` does."""

    def __init__(self, url: str, *, api_rate: float = 1000.0) -> None:
        from bot.clock import Clock
        from bot.config import load_config
        from bot.context import Context
        from bot.db import make_engine
        from bot.fakeslack import SlackAgent
        from bot.handlers.app import create_bolt_app
        from bot.serverthread import ServerThread
        from bot.settings import Settings
        from bot.web import create_web_app

        config = load_config(None)
        self.fake, self.users = slack_fake()
        fresh_database(url)
        self.settings = Settings(
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=self.fake.api_url,
            database_url=url,
            handover_api_token=API_TOKEN,
            api_rate_per_second=api_rate,
            api_rate_burst=int(api_rate),
        )
        self.engine = make_engine(url)
        self.ctx = Context(engine=self.engine, config=config, settings=self.settings, clock=Clock())
        self.server = ServerThread(create_web_app(self.ctx, create_bolt_app(self.ctx))).start()
        self.url = self.server.url
        self.agent = SlackAgent(self.fake, bot_url=self.url + "/slack/events", signing_secret=SIGNING_SECRET)
        self.http = httpx.Client(timeout=30, headers={"Authorization": f"Bearer {API_TOKEN}"})
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def add_user(self, email: str) -> str:
        from bot.fakeslack import FakeUser

        uid = f"U{700 + len(self.users)}"
        self.fake.add_user(FakeUser(id=uid, email=email, name=email.split("@")[0]))
        self.users[email] = uid
        return uid

    def start_dispatcher(self, client: Any = None) -> None:
        from bot.slack.dispatcher import Dispatcher

        dispatcher = Dispatcher(self.ctx, client=client)
        t = threading.Thread(target=dispatcher.run_forever, args=(self._stop,), name="outbox-dispatcher", daemon=True)
        t.start()
        self._threads.append(t)

    def post_item(self, body: dict[str, Any], **headers: str) -> httpx.Response:
        return self.http.post(self.url + "/api/items", json=body, headers=headers)

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=15)
        self.server.stop()
        self.http.close()
        self.agent.http.close()
        self.fake.stop()
        self.engine.dispose()


# ----- real processes -----------------------------------------------------------------------------------


def app_env(*, database_url: str, api_url: str, **extra: str) -> dict[str, str]:
    """The environment a production process gets (bot/settings.py), pointing at the Slack fake."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOVER_", "DATABASE_URL"))}
    env.update(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": database_url,
            "HANDOVER_API_TOKEN": API_TOKEN,
            "HANDOVER_RUN_SCHEDULER": "false",
            "HANDOVER_API_RATE": "1000",
            "HANDOVER_API_BURST": "1000",
            "HANDOVER_LOG_LEVEL": "WARNING",
            # the Slack fake here has no rate limit, and the scenarios send one person far more than one
            # message a second (150 "accepted" DMs to one sender): paced at Slack's 1 message/s per
            # channel they alone take longer than a test waits. Pacing has its own tests (tests/test_outbox.py,
            # bench/delivery.py, against a rate-limited fake); as the in-process fixture, no pacing here
            "HANDOVER_OUTBOX_CHANNEL_PACE": "0",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class Proc:
    """One OS process; its output goes to a log file (shown when a test fails)."""

    def __init__(self, args: list[str], *, env: dict[str, str], cwd: Path, name: str, stdin: bool = False) -> None:
        self.name = name
        self.log_path = cwd / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE if stdin else self._log,
            stderr=self._log,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            text=stdin,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up, no atexit, no rollback in the process: what a power cut does."""
        if self.alive():
            os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    # the scheduler script's protocol: one line in, one JSON line out
    def send(self, line: str) -> None:
        assert self.popen.stdin
        self.popen.stdin.write(line + "\n")
        self.popen.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.popen.stdout
        answer = self.popen.stdout.readline()
        if not answer:
            raise AssertionError(f"{self.name} died: {self.log()}")
        return json.loads(answer)


def handover(*args: str, env: dict[str, str], cwd: Path, name: str) -> Proc:
    return Proc([*HANDOVER, *args], env=env, cwd=cwd, name=name)


def run_handover(*args: str, env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*HANDOVER, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def serve(*, env: dict[str, str], cwd: Path, port: int, name: str = "serve") -> Proc:
    """``handover serve`` on ``port``; returns once /healthz answers."""
    proc = handover("serve", "--port", str(port), env=env, cwd=cwd, name=name)
    url = f"http://127.0.0.1:{port}/healthz"

    def up() -> bool:
        if not proc.alive():
            raise AssertionError(f"{name} exited: {proc.log()}")
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=60, every=0.2, what=f"{name} to answer /healthz")
    return proc


def scheduler_process(*, env: dict[str, str], cwd: Path, name: str) -> Proc:
    return Proc([sys.executable, "-m", "tests.faults_support", "scheduler"], env=env, cwd=cwd, name=name, stdin=True)


def free_port() -> int:
    from bot.serverthread import free_port as fp

    return fp()


# ----- the scheduler on a movable clock (a subprocess) --------------------------------------------------------


def _scheduler_main() -> None:
    from bot.clock import FakeClock
    from bot.flows import nudge
    from bot.runtime import build_context
    from bot.slack.dispatcher import Dispatcher

    clock = FakeClock()
    ctx = build_context(clock=clock)
    dispatcher = Dispatcher(ctx, worker=f"scheduler-{os.getpid()}")
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        if line == "quit":
            break
        clock.set(datetime.fromisoformat(line))
        done = nudge.run(ctx)
        dispatcher.run_until_idle()
        print(
            json.dumps(
                {
                    "at": line,
                    "reminders": {u: ids for u, ids in done.reminders.items()},
                    "escalations": {u: ids for u, ids in done.escalations.items()},
                    "follow_ups": {u: ids for u, ids in done.follow_ups.items()},
                    "reassigned": done.reassigned,
                }
            ),
            flush=True,
        )
    ctx.engine.dispose()


if __name__ == "__main__":
    if sys.argv[1:] == ["scheduler"]:
        _scheduler_main()
    else:
        sys.exit("usage: python -m tests.faults_support scheduler")
