"""A local HTTP stand-in for Slack's Web API.

It checks the bot token, records every call, implements the methods Handover uses with Slack's
response shapes and error codes, validates blocks and views, and can be told to fail, to be slow
or to rate-limit (429 + Retry-After), so tests and the demo meet the same boundary production
does. It runs on loopback in a thread; nothing here talks to Slack's servers.
"""

from __future__ import annotations

import itertools
import json
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from bot.fakeslack.socket_mode import SocketModeServer
from bot.fakeslack.validate import MESSAGE_TEXT, validate_blocks, validate_view

APP_ID = "AHANDOVER"
BOT_USER = "UHANDOVER"
BOT_ID = "BHANDOVER"
TEAM = "T0HANDOVER"
DEFAULT_SCOPES = (
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
)  # what slack-manifest.yaml asks for


@dataclass
class FakeUser:
    id: str
    email: str
    name: str
    real_name: str = ""
    tz: str = "Europe/Stockholm"
    deleted: bool = False
    is_bot: bool = False

    def as_slack(self) -> dict[str, Any]:
        offset = _tz_offset(self.tz)
        return {
            "id": self.id,
            "team_id": TEAM,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name or self.name,
            "tz": self.tz,
            "tz_offset": offset,
            "is_bot": self.is_bot,
            "profile": {"email": self.email, "real_name": self.real_name or self.name, "display_name": self.name},
        }


def _tz_offset(tz: str) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0
    except Exception:  # noqa: BLE001
        return 0


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    user: str = BOT_USER
    metadata: dict[str, Any] | None = None
    updated: int = 0
    deleted: bool = False
    ephemeral: bool = False  # shown to one person only (a command's answer, a response_url post)
    to_user: str | None = None  # whom an ephemeral message is shown to

    @property
    def from_bot(self) -> bool:
        return self.user == BOT_USER

    def as_slack(self, *, with_metadata: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "text": self.text,
            "user": self.user,
            "blocks": self.blocks,
        }
        if self.from_bot:
            out["bot_id"] = BOT_ID
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if with_metadata and self.metadata:
            out["metadata"] = self.metadata
        return out


@dataclass
class View:
    id: str
    user: str
    type: str
    callback_id: str
    blocks: list[dict[str, Any]]
    private_metadata: str
    hash: str
    raw: dict[str, Any]
    external_id: str | None = None
    root_view_id: str | None = None
    previous_view_id: str | None = None
    closed: bool = False

    @property
    def title(self) -> str:
        return (self.raw.get("title") or {}).get("text", "")

    def as_slack(self) -> dict[str, Any]:
        return {
            **self.raw,
            "id": self.id,
            "team_id": TEAM,
            "type": self.type,
            "callback_id": self.callback_id,
            "blocks": self.blocks,
            "private_metadata": self.private_metadata,
            "hash": self.hash,
            "external_id": self.external_id or "",
            "root_view_id": self.root_view_id or self.id,
            "previous_view_id": self.previous_view_id,
            "app_id": "AHANDOVER",
            "bot_id": BOT_ID,
            "state": {"values": {}},
        }


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None
    status: int
    at: float
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class UploadedFile:
    id: str
    filename: str
    title: str
    length: int
    content: bytes = b""
    channel: str | None = None
    initial_comment: str | None = None
    completed: bool = False


class SlackError(Exception):
    def __init__(self, error: str, status: int = 200, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.error, self.status, self.headers, self.extra = error, status, headers or {}, extra


APP_LEVEL_METHODS = ("apps.connections.open",)  # called with the app-level token (xapp-…), nothing else is


class FakeSlack:
    """``FakeSlack(token=...)``; ``start()``; point ``SLACK_API_URL`` at ``api_url``. Socket Mode:
    ``SLACK_APP_TOKEN`` = ``app_token``; ``socket_mode`` is the WebSocket side (bot/fakeslack/socket_mode.py)."""

    def __init__(
        self,
        token: str = "xoxb-fake",
        *,
        users: list[FakeUser] | None = None,
        scopes: tuple[str, ...] = DEFAULT_SCOPES,
        trigger_ttl: float = 3.0,
        app_token: str = "xapp-1-AHANDOVER-fake",
    ) -> None:
        self.token = token
        self.app_token = app_token
        self._socket_mode: Any = None  # started on first use; outlives reset() like the HTTP server
        self.scopes = tuple(scopes)
        self.trigger_ttl = trigger_ttl
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self.reset()
        for user in users or []:
            self.add_user(user)

    # ----- life ----------------------------------------------------------------------------
    def start(self, port: int = 0) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-slack", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._socket_mode is not None:
            self._socket_mode.stop()
            self._socket_mode = None
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def api_url(self) -> str:
        assert self._server, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    @property
    def socket_mode(self) -> Any:
        """The Socket Mode server (a ``SocketModeServer``), started on first use."""
        with self._lock:
            if self._socket_mode is None:
                self._socket_mode = SocketModeServer(APP_ID)
            return self._socket_mode

    def reset(self) -> None:
        """Forget everything but the token: users, messages, views, calls, failure modes."""
        with self._lock:
            self.users: dict[str, FakeUser] = {}
            self._messages: list[Message] = []
            self.views: dict[str, View] = {}
            self._opened: list[View] = []
            self.homes: dict[str, dict[str, Any]] = {}
            self.files: dict[str, UploadedFile] = {}
            self.calls: list[Call] = []
            self.ephemerals: list[dict[str, Any]] = []
            self.responses: list[Message] = []  # ephemeral answers: command acks shown, response_url posts
            self._response_urls: dict[str, tuple[str | None, str, str | None]] = {}
            self._triggers: dict[str, tuple[str, float]] = {}
            self._failures: dict[str, list[tuple[str, int, int | None]]] = {}
            self._delays: dict[str, list[float]] = {}
            self._limits: dict[str, float] = {}
            self._last_call: dict[tuple[str, str], float] = {}
            self._outage = False
            self._trouble: tuple[int, float, int] | None = None

    # ----- the directory ----------------------------------------------------------------------
    def add_user(self, user: FakeUser) -> FakeUser:
        with self._lock:
            self.users[user.id] = user
        return user

    def deactivate_user(self, user_id: str) -> None:
        with self._lock:
            self.users[user_id].deleted = True

    def dm_channel_for(self, user_id: str) -> str:
        return "D" + user_id

    def _user_of_dm(self, channel: str) -> FakeUser | None:
        return self.users.get(channel[1:]) if channel.startswith("D") else None

    # ----- failure modes --------------------------------------------------------------------
    def fail(self, method: str, error: str = "internal_error", *, status: int = 200, times: int | None = 1) -> None:
        """The next ``times`` calls of ``method`` (every call when None) fail with ``error``."""
        with self._lock:
            self._failures.setdefault(method, []).append((error, status, times))

    def clear_failures(self, method: str | None = None) -> None:
        """Forget the failures ``fail`` set up (for ``method``, or all): Slack works again."""
        with self._lock:
            if method is None:
                self._failures.clear()
            else:
                self._failures.pop(method, None)

    def set_outage(self, down: bool) -> None:
        """Every method answers HTTP 503 while Slack is "down"."""
        with self._lock:
            self._outage = down

    def trouble(self, status: int | None, seconds: float = 0.0, *, retry_after: int = 2) -> None:
        """Every method answers HTTP ``status`` (429 with Retry-After, or a 5xx) for ``seconds``;
        None ends it early (the sandbox's "Slack trouble" switch)."""
        with self._lock:
            self._trouble = (status, time.monotonic() + seconds, retry_after) if status else None

    def delay(self, method: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` are carried out, then answered ``seconds`` late."""
        with self._lock:
            self._delays.setdefault(method, []).extend([seconds] * times)

    def rate_limit(self, method: str, per_channel_per_second: float | None) -> None:
        """At most this many calls per second per channel, like chat.postMessage's 1/s; None lifts it."""
        with self._lock:
            if per_channel_per_second is None:
                self._limits.pop(method, None)
            else:
                self._limits[method] = per_channel_per_second

    # ----- what happened --------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def messages(self, channel: str | None = None) -> list[Message]:
        """Every message still there, oldest first, thread replies included."""
        with self._lock:
            return [m for m in self._messages if not m.deleted and (channel is None or m.channel == channel)]

    def message(self, channel: str, ts: str) -> Message | None:
        with self._lock:
            return next((m for m in self._messages if m.channel == channel and m.ts == ts and not m.deleted), None)

    def delete_message(self, channel: str, ts: str) -> None:
        """Someone deleted the message in Slack."""
        with self._lock:
            for m in self._messages:
                if m.channel == channel and m.ts == ts:
                    m.deleted = True

    def add_message(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> Message:
        """A person wrote in Slack (the agent sends the matching event)."""
        with self._lock:
            message = Message(channel=channel, ts=self._next_ts(), text=text, thread_ts=thread_ts, user=user)
            self._messages.append(message)
            return message

    def views_opened_by(self, user: str) -> list[View]:
        """Modals opened for ``user``, in order, each in its latest state."""
        with self._lock:
            return [self.views[v.id] for v in self._opened if v.user == user]

    def published_home(self, user: str) -> dict[str, Any] | None:
        with self._lock:
            return self.homes.get(user)

    def issue_trigger(self, user: str) -> str:
        """What Slack puts in an interaction payload: valid for ``trigger_ttl`` seconds, once."""
        trigger = f"{next(self._ids)}.{int(time.time())}.{secrets.token_hex(8)}"
        with self._lock:
            self._triggers[trigger] = (user, time.monotonic())
        return trigger

    def issue_response_url(
        self, user: str | None, channel: str, message_ts: str | None = None, *, kind: str = "actions"
    ) -> str:
        """What Slack puts in a command or interaction payload: a URL to answer ``user`` in ``channel``
        (replacing the message ``message_ts`` on ``replace_original``)."""
        key = secrets.token_hex(16)
        with self._lock:
            self._response_urls[key] = (user, channel, message_ts)
        return self.api_url.removesuffix("api/") + f"{kind}/" + key

    def show_ephemeral(self, user: str, channel: str, body: dict[str, Any]) -> Message:
        """What Slack does with a command's ephemeral ack body: shows it to ``user`` (blocks checked)."""
        problems = validate_blocks(body.get("blocks") or [])
        assert not problems, f"Slack would refuse this message: {problems}"
        with self._lock:
            message = Message(
                channel=channel,
                ts=self._next_ts(),
                text=body.get("text") or "",
                blocks=body.get("blocks") or [],
                ephemeral=True,
                to_user=user,
            )
            self.responses.append(message)
            return message

    def responses_to(self, user: str) -> list[Message]:
        """Ephemeral answers shown to ``user``, oldest first, each in its latest state."""
        with self._lock:
            return [m for m in self.responses if m.to_user == user and not m.deleted]

    def _respond(self, request: BaseHTTPRequestHandler, key: str, raw: bytes) -> None:
        """A POST to a response_url: a new ephemeral message, or the original one replaced or deleted."""
        with self._lock:
            target = self._response_urls.get(key)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if target is None or not isinstance(body, dict):
            self._record("response_url", {}, False, "invalid_url" if target is None else "invalid_json", 404)
            self._send(
                request,
                404 if target is None else 400,
                {"ok": False},
                {},
                text_body=b"invalid_url" if target is None else b"invalid_payload",
            )
            return
        problems = validate_blocks(body.get("blocks") or [])
        if problems or not (body.get("text") or body.get("blocks") or body.get("delete_original")):
            self._record("response_url", body, False, "invalid_blocks" if problems else "no_text", 400)
            self._send(request, 400, {"ok": False}, {}, text_body=b"invalid_blocks" if problems else b"no_text")
            return
        user, channel, message_ts = target
        with self._lock:
            original = next(
                (
                    m
                    for m in [*self.responses, *self._messages]
                    if message_ts and m.channel == channel and m.ts == message_ts
                ),
                None,
            )
            if original is not None and body.get("delete_original"):
                original.deleted = True
            elif original is not None and body.get("replace_original"):
                original.text, original.blocks = body.get("text") or "", body.get("blocks") or []
                original.updated += 1
            else:
                self.responses.append(
                    Message(
                        channel=channel,
                        ts=self._next_ts(),
                        text=body.get("text") or "",
                        blocks=body.get("blocks") or [],
                        ephemeral=body.get("response_type") != "in_channel",
                        to_user=user,
                    )
                )
        self._record("response_url", body, True, None, 200)
        self._send(request, 200, {"ok": True}, {})

    def apply_view_response(self, view_id: str, response: dict[str, Any]) -> None:
        """What Slack does with a view_submission answer (update, push, clear or close)."""
        with self._lock:
            action = response.get("response_action")
            current = self.views[view_id]
            if action == "update":
                problems = validate_view(response["view"])
                assert not problems, f"Slack would refuse this view update: {problems}"
                self.views[view_id] = self._view(response["view"], current.user, view_id=view_id, previous=current)
            elif action == "push":
                problems = validate_view(response["view"])
                assert not problems, f"Slack would refuse this pushed view: {problems}"
                pushed = self._view(response["view"], current.user, previous=current)
                self.views[pushed.id] = pushed
                self._opened.append(pushed)
            elif action == "errors":
                return
            else:  # clear, or no body: the modal closes
                current.closed = True

    # ----- HTTP -----------------------------------------------------------------------------
    def _next_ts(self) -> str:
        return f"{time.time():.0f}.{next(self._ts):06d}"

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlparse(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        if url.path.startswith(("/commands/", "/actions/")):
            self._respond(request, url.path.rsplit("/", 1)[-1], raw)
            return
        if url.path.startswith("/upload/"):
            self._send(request, 200, {"ok": True}, {}, text_body=b"OK - " + str(len(raw)).encode())
            self._uploaded(url.path.rsplit("/", 1)[-1], raw)
            return
        method = url.path.removeprefix("/api/")
        args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(url.query).items()}
        content_type = request.headers.get("Content-Type", "")
        try:
            if raw and "json" in content_type:
                args.update(json.loads(raw))
            elif raw:
                args.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
        except ValueError:
            self._record(method, args, False, "invalid_json", 200)
            self._send(request, 200, {"ok": False, "error": "invalid_json"}, {})
            return
        status, body, headers = self._dispatch(method, args, request.headers.get("Authorization", ""))
        delay = 0.0
        with self._lock:
            if self._delays.get(method):
                delay = self._delays[method].pop(0)
        if delay:
            time.sleep(delay)
        try:
            self._send(request, status, body, headers)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting: fine
            pass

    def _send(
        self,
        request: BaseHTTPRequestHandler,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str],
        text_body: bytes | None = None,
    ) -> None:
        data = text_body if text_body is not None else json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "text/plain" if text_body is not None else "application/json")
        request.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            request.send_header(k, v)
        request.end_headers()
        request.wfile.write(data)

    def _record(
        self,
        method: str,
        args: dict[str, Any],
        ok: bool,
        error: str | None,
        status: int,
        response: dict[str, Any] | None = None,
    ) -> None:
        with self._lock:
            self.calls.append(
                Call(
                    method=method,
                    args=args,
                    ok=ok,
                    error=error,
                    status=status,
                    at=time.time(),
                    response=response or {"ok": ok, "error": error},
                )
            )

    def _dispatch(self, method: str, args: dict[str, Any], auth: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        headers: dict[str, str] = {}
        try:
            token = auth.removeprefix("Bearer ").strip() if auth else args.get("token", "")
            if self._outage:
                raise SlackError("service_unavailable", status=503)
            trouble = self._trouble
            if trouble and time.monotonic() < trouble[1]:
                if trouble[0] == 429:
                    raise SlackError("ratelimited", status=429, headers={"Retry-After": str(trouble[2])})
                raise SlackError("internal_error", status=trouble[0])
            if not token:
                raise SlackError("not_authed")
            expected = self.app_token if method in APP_LEVEL_METHODS else self.token
            if token != expected:
                # a real token of the other kind: Slack names the mix-up
                raise SlackError("not_allowed_token_type" if token in (self.token, self.app_token) else "invalid_auth")
            self._maybe_fail(method)
            self._maybe_limit(method, args)
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if handler is None:
                raise SlackError("unknown_method")
            with self._lock:
                body = handler(args)
            if method == "auth.test":
                headers["x-oauth-scopes"] = ",".join(self.scopes)
            self._record(method, args, True, None, 200, {"ok": True, **body})
            return 200, {"ok": True, **body}, headers
        except SlackError as exc:
            self._record(method, args, False, exc.error, exc.status)
            return exc.status, {"ok": False, "error": exc.error, **exc.extra}, exc.headers

    def _maybe_fail(self, method: str) -> None:
        with self._lock:
            queue = self._failures.get(method) or []
            if not queue:
                return
            error, status, times = queue[0]
            if times is not None:
                if times <= 1:
                    queue.pop(0)
                else:
                    queue[0] = (error, status, times - 1)
        raise SlackError(error, status=status)

    def _maybe_limit(self, method: str, args: dict[str, Any]) -> None:
        with self._lock:
            rate = self._limits.get(method)
            if not rate:
                return
            key = (method, str(args.get("channel") or args.get("channel_id") or ""))
            now = time.monotonic()
            last = self._last_call.get(key)
            if last is not None and now - last < 1.0 / rate:
                wait = math.ceil(1.0 / rate - (now - last))
                raise SlackError("ratelimited", status=429, headers={"Retry-After": str(max(1, wait))})
            self._last_call[key] = now

    # ----- helpers --------------------------------------------------------------------------
    def _channel(self, channel: Any) -> str:
        if not isinstance(channel, str) or not channel:
            raise SlackError("channel_not_found")
        if channel.startswith("U") or channel.startswith("W"):
            user = self.users.get(channel)
            if user is None:
                raise SlackError("channel_not_found")
            channel = self.dm_channel_for(user.id)
        if channel.startswith("D"):
            user = self._user_of_dm(channel)
            if user is None:
                raise SlackError("channel_not_found")
            if user.deleted:
                raise SlackError("user_disabled")
        return channel

    @staticmethod
    def _json_arg(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise SlackError("invalid_arguments") from None
        return value

    def _blocks(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        blocks = self._json_arg(args.get("blocks")) or []
        problems = validate_blocks(blocks)
        if problems:
            raise SlackError("invalid_blocks", errors=problems)
        return blocks

    def _text(self, args: dict[str, Any], blocks: list[dict[str, Any]]) -> str:
        text = args.get("text") or ""
        if not text and not blocks:
            raise SlackError("no_text")
        if len(text) > MESSAGE_TEXT:
            raise SlackError("msg_too_long")
        return text

    def _view(
        self, raw: dict[str, Any], user: str, *, view_id: str | None = None, previous: View | None = None
    ) -> View:
        return View(
            id=view_id or f"V{next(self._ids):08d}",
            user=user,
            type=raw.get("type", "modal"),
            callback_id=raw.get("callback_id", ""),
            blocks=raw.get("blocks", []),
            private_metadata=raw.get("private_metadata", ""),
            hash=secrets.token_hex(6),
            raw=raw,
            external_id=raw.get("external_id"),
            root_view_id=(previous.root_view_id or previous.id) if previous else None,
            previous_view_id=previous.id
            if previous and view_id is None
            else (previous.previous_view_id if previous else None),
        )

    def _user(self, user_id: Any) -> FakeUser:
        user = self.users.get(user_id) if isinstance(user_id, str) else None
        if user is None:
            raise SlackError("user_not_found")
        return user

    # ----- methods --------------------------------------------------------------------------
    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://handover-fake.slack.com/",
            "team": "Handover (local)",
            "user": "handover",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
        }

    def _m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.socket_mode.issue_url()}

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        blocks = self._blocks(args)
        text = self._text(args, blocks)
        metadata = self._json_arg(args.get("metadata")) if args.get("metadata") else None
        thread_ts = args.get("thread_ts") or None
        if thread_ts and not any(m.channel == channel and m.ts == thread_ts for m in self._messages):
            raise SlackError("thread_not_found")
        message = Message(
            channel=channel, ts=self._next_ts(), text=text, blocks=blocks, thread_ts=thread_ts, metadata=metadata
        )
        self._messages.append(message)
        return {"channel": channel, "ts": message.ts, "message": message.as_slack(with_metadata=True)}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        message = next((m for m in self._messages if m.channel == channel and m.ts == args.get("ts")), None)
        if message is None or message.deleted:
            raise SlackError("message_not_found")
        if not message.from_bot:
            raise SlackError("cant_update_message")
        blocks = self._blocks(args)
        message.text = self._text(args, blocks)
        message.blocks = blocks
        message.updated += 1
        return {"channel": channel, "ts": message.ts, "text": message.text}

    def _m_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        message = next((m for m in self._messages if m.channel == channel and m.ts == args.get("ts")), None)
        if message is None or message.deleted:
            raise SlackError("message_not_found")
        message.deleted = True
        return {"channel": channel, "ts": message.ts}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        if not isinstance(channel, str) or not channel:
            raise SlackError("channel_not_found")
        user = self._user(args.get("user"))
        if user.deleted:
            raise SlackError("user_not_in_channel")
        blocks = self._blocks(args)
        text = self._text(args, blocks)
        ts = self._next_ts()
        self.ephemerals.append({"channel": channel, "user": user.id, "text": text, "blocks": blocks, "ts": ts})
        return {"message_ts": ts}

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if len(users) != 1:
            raise SlackError("not_enough_users" if not users else "too_many_users")
        user = self._user(users[0])
        if user.deleted:
            raise SlackError("user_disabled")
        return {"channel": {"id": self.dm_channel_for(user.id)}}

    def _listing(self, messages: list[Message], args: dict[str, Any]) -> list[dict[str, Any]]:
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or math.inf)
        limit = int(args.get("limit") or 100)
        picked = [m for m in messages if oldest <= float(m.ts) <= latest]
        return [m.as_slack(with_metadata=with_metadata) for m in picked][:limit]

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        top = [
            m
            for m in self._messages
            if m.channel == channel and not m.deleted and (not m.thread_ts or m.thread_ts == m.ts)
        ]
        return {"messages": self._listing(list(reversed(top)), args), "has_more": False}

    def _m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        ts = args.get("ts")
        parent = next((m for m in self._messages if m.channel == channel and m.ts == ts and not m.deleted), None)
        if parent is None:
            raise SlackError("thread_not_found")
        replies = [
            m for m in self._messages if m.channel == channel and m.thread_ts == ts and m.ts != ts and not m.deleted
        ]
        return {"messages": self._listing([parent, *replies], args), "has_more": False}

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"user": self._user(args.get("user")).as_slack()}

    def _m_users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email") or "").strip().lower()
        user = next((u for u in self.users.values() if u.email.lower() == email), None)
        if user is None:
            raise SlackError("users_not_found")
        return {"user": user.as_slack()}

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = args.get("trigger_id")
        issued = self._triggers.pop(trigger, None) if isinstance(trigger, str) else None
        if issued is None:
            raise SlackError("invalid_trigger_id")
        user, at = issued
        if time.monotonic() - at > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        raw = self._json_arg(args.get("view"))
        problems = validate_view(raw)
        if problems:
            raise SlackError("invalid_arguments", response_metadata={"messages": problems})
        view = self._view(raw, user)
        self.views[view.id] = view
        self._opened.append(view)
        return {"view": view.as_slack()}

    def _find_view(self, args: dict[str, Any]) -> View:
        view_id, external = args.get("view_id"), args.get("external_id")
        view = (
            self.views.get(view_id)
            if view_id
            else next((v for v in self.views.values() if external and v.external_id == external), None)
        )
        if view is None:
            raise SlackError("not_found")
        return view

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        current = self._find_view(args)
        if args.get("hash") and args["hash"] != current.hash:
            raise SlackError("hash_conflict")
        raw = self._json_arg(args.get("view"))
        problems = validate_view(raw)
        if problems:
            raise SlackError("invalid_arguments", response_metadata={"messages": problems})
        view = self._view(raw, current.user, view_id=current.id, previous=current)
        self.views[view.id] = view
        return {"view": view.as_slack()}

    def _m_views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = args.get("trigger_id")
        issued = self._triggers.pop(trigger, None) if isinstance(trigger, str) else None
        if issued is None or time.monotonic() - issued[1] > self.trigger_ttl:
            raise SlackError("expired_trigger_id" if issued else "invalid_trigger_id")
        raw = self._json_arg(args.get("view"))
        problems = validate_view(raw)
        if problems:
            raise SlackError("invalid_arguments", response_metadata={"messages": problems})
        view = self._view(raw, issued[0])
        self.views[view.id] = view
        self._opened.append(view)
        return {"view": view.as_slack()}

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._user(args.get("user_id"))
        raw = self._json_arg(args.get("view"))
        problems = validate_view(raw)
        if problems:
            raise SlackError("invalid_arguments", response_metadata={"messages": problems})
        if raw.get("type") != "home":
            raise SlackError("invalid_arguments")
        self.homes[user.id] = raw
        return {"view": {**raw, "id": f"V{next(self._ids):08d}"}}

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = args.get("filename")
        try:
            length = int(args["length"])
        except (KeyError, TypeError, ValueError):
            raise SlackError("invalid_arguments") from None
        if not filename:
            raise SlackError("invalid_arguments")
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = UploadedFile(id=file_id, filename=filename, title=filename, length=length)
        return {"upload_url": self.api_url.removesuffix("api/") + "upload/" + file_id, "file_id": file_id}

    def _uploaded(self, file_id: str, content: bytes) -> None:
        with self._lock:
            if file_id in self.files:
                self.files[file_id].content = content

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = self._json_arg(args.get("files")) or []
        done = []
        for f in files:
            uploaded = self.files.get(f.get("id"))
            if uploaded is None or not uploaded.content:
                raise SlackError("file_not_found")
            uploaded.title = f.get("title") or uploaded.filename
            uploaded.channel = args.get("channel_id")
            uploaded.initial_comment = args.get("initial_comment")
            uploaded.completed = True
            done.append({"id": uploaded.id, "title": uploaded.title, "name": uploaded.filename})
        return {"files": done}
