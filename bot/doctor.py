"""`handover doctor`: checks configuration, database, Slack token and scopes, and says exactly
what is wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from rich.console import Console
from rich.markup import escape

from bot import resources
from bot.version import version

FALLBACK_SCOPES = [
    "chat:write",
    "im:write",
    "im:history",
    "users:read",
    "users:read.email",
    "commands",
    "files:write",
    "channels:read",
    "chat:write.public",
    "channels:history",
    "groups:history",
]


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def required_scopes() -> list[str]:
    try:
        manifest = yaml.safe_load(resources.read_text(resources.MANIFEST))
        return list(manifest["oauth_config"]["scopes"]["bot"])
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return FALLBACK_SCOPES


def checks() -> list[Check]:
    from bot.config import ConfigError, load_config
    from bot.settings import load_settings

    out: list[Check] = []
    try:
        settings = load_settings()
    except Exception as exc:  # noqa: BLE001
        return [Check("settings", False, f"environment settings are invalid: {exc}")]
    try:
        config = load_config(settings.handover_config)
        where = str(settings.handover_config) if settings.handover_config else "built-in defaults"
        out.append(
            Check(
                "configuration", True, f"{where}: {len(config.teams)} teams, {len(config.routing.rules)} routing rules"
            )
        )
    except ConfigError as exc:
        out.append(Check("configuration", False, str(exc)))
        config = None

    out.append(_database(settings))
    if out[-1].ok:
        out.append(_outbox(settings))
    out.extend(_slack(settings, config))
    if config is not None and config.webhooks.endpoints:
        out.extend(_webhooks(settings, config))
    return out


def _webhooks(settings, config) -> list[Check]:
    """Each endpoint: its secret is in the environment, it is not disabled (410), no failed deliveries."""
    from bot.db import make_engine
    from bot.webhooks import queue
    from bot.webhooks.sender import MissingSecret, secrets_of

    problem: str | None
    try:
        engine = make_engine(settings.database_url)
        figures = queue.figures(engine)
        engine.dispose()
    except Exception as exc:  # noqa: BLE001  (the database check above says why)
        figures, problem = {}, f"deliveries unknown ({type(exc).__name__})"
    else:
        problem = None
    out = []
    for ep in config.webhooks.endpoints:
        f = figures.get(ep.name, queue.EndpointFigures())
        try:
            secrets_of(ep)
        except MissingSecret as exc:
            out.append(Check(f"webhook {ep.name}", False, str(exc)))
            continue
        if f.disabled_at is not None:
            out.append(
                Check(
                    f"webhook {ep.name}",
                    False,
                    f"disabled since {f.disabled_at:%Y-%m-%d %H:%M} UTC: "
                    f"{f.disabled_reason}; `handover webhooks enable {ep.name}` "
                    "when it is back",
                )
            )
        elif f.failed:
            out.append(
                Check(
                    f"webhook {ep.name}",
                    False,
                    f"{f.failed} delivery(ies) failed, last: {f.last_error} (`handover webhooks list`)",
                )
            )
        else:
            out.append(Check(f"webhook {ep.name}", True, problem or f"{f.delivered} delivered, {f.pending} waiting"))
    return out


def _database(settings) -> Check:
    from bot import migrate, readiness
    from bot.db import make_engine

    missing = readiness.missing_sqlite_file(settings.database_url)
    if missing is not None:  # connecting would create an empty file: say so instead
        return Check(
            "database",
            False,
            f"no database file at {missing} (DATABASE_URL {settings.database_url}): "
            f"set DATABASE_URL, or run `handover db upgrade` to create it",
        )
    try:
        engine = make_engine(settings.database_url)
        current, head = migrate.current(engine), migrate.head()
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        return Check("database", False, f"cannot connect to DATABASE_URL ({type(exc).__name__}: {exc})")
    if current != head:
        return Check(
            "database", False, f"schema at {current or 'nothing'}, code expects {head}: run `handover db upgrade`"
        )
    return Check("database", True, f"connected, schema at {head}")


def _outbox(settings) -> Check:
    """Messages waiting, dead ones, the oldest's age: not OK while a message is dead or stale."""
    from bot.clock import utcnow
    from bot.db import make_engine
    from bot.outbox_admin import age_text, read_health

    try:
        engine = make_engine(settings.database_url)
        queue = read_health(engine, utcnow())
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        return Check("outbox", False, f"cannot read the outbox ({type(exc).__name__}: {exc})")
    detail = f"{queue.pending} waiting (oldest {age_text(queue.oldest_pending_seconds)}), {queue.dead} dead"
    if queue.dead:
        detail += ": `handover outbox list` shows why, `handover outbox retry` sends them again"
    elif queue.needs_attention:
        detail += ": `handover outbox list` shows why they wait"
    return Check("outbox", not queue.needs_attention, detail)


def _slack(settings, config) -> list[Check]:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    out = []
    if not settings.signing_secret:
        out.append(
            Check(
                "signing secret",
                False,
                "SLACK_SIGNING_SECRET is empty: Slack's requests can't be verified "
                "(Basic Information → App Credentials → Signing Secret)",
            )
        )
    else:
        out.append(Check("signing secret", True, "set"))
    if not settings.bot_token:
        out.append(
            Check("bot token", False, "SLACK_BOT_TOKEN is empty (OAuth & Permissions → Bot User OAuth Token, xoxb-…)")
        )
        return out
    client = WebClient(token=settings.bot_token, base_url=settings.slack_api_url, timeout=10)
    try:
        response = client.auth_test()
    except SlackApiError as exc:
        error, status = exc.response.get("error"), exc.response.status_code
        if (
            status == 429
            or status >= 500
            or error in ("ratelimited", "service_unavailable", "fatal_error", "internal_error", "request_timeout")
        ):
            out.append(
                Check(
                    "bot token",
                    False,
                    f"Slack at {settings.slack_api_url} is unavailable "
                    f"(HTTP {status}, {error}): the token could not be checked; "
                    "try again in a few minutes",
                )
            )
        else:
            out.append(
                Check(
                    "bot token",
                    False,
                    f"SLACK_BOT_TOKEN is invalid: auth.test says {error}; the token "
                    "is wrong, revoked, or from another workspace (OAuth & "
                    "Permissions → Bot User OAuth Token, xoxb-…)",
                )
            )
        return out
    except Exception as exc:  # noqa: BLE001
        out.append(Check("bot token", False, f"cannot reach {settings.slack_api_url}: {type(exc).__name__}"))
        return out
    out.append(Check("bot token", True, f"workspace {response.get('team')}, bot user {response.get('user')}"))
    granted = {s.strip() for s in (response.headers.get("x-oauth-scopes") or "").split(",") if s.strip()}
    missing = [s for s in required_scopes() if s not in granted]
    out.append(
        Check(
            "scopes",
            not missing,
            "all granted"
            if not missing
            else f"missing {', '.join(missing)}: add them under OAuth & "
            "Permissions (or re-paste slack-manifest.yaml) and reinstall",
        )
    )
    if config is not None:
        try:
            client.users_lookupByEmail(email=config.routing.fallback)
            out.append(Check("fallback receiver", True, f"{config.routing.fallback} is in Slack"))
        except SlackApiError as exc:
            out.append(
                Check(
                    "fallback receiver",
                    False,
                    f"{config.routing.fallback}: {exc.response.get('error')}; "
                    "items for unknown people would have nowhere to go",
                )
            )
        except Exception as exc:  # noqa: BLE001
            out.append(
                Check(
                    "fallback receiver",
                    False,
                    f"{config.routing.fallback} could not be looked up ({type(exc).__name__})",
                )
            )
    return out


def run_checks(console: Console) -> bool:
    console.print(f"Handover {version()}", highlight=False)
    results = checks()
    for c in results:
        mark = "[green]✔[/]" if c.ok else "[red]✘[/]"
        # the detail is plain text (file paths, YAML excerpts): no markup, and no folding of long paths
        console.print(f"{mark} [bold]{c.name}[/]: {escape(c.detail)}", soft_wrap=True)
    return all(c.ok for c in results)
