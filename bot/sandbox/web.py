"""The sandbox page's own small server: the static page (package data, no CDN, no build step) and
the JSON endpoints it polls and posts to. Every person's action goes to the bot as Slack would
send it (bot/sandbox/agent.py); nothing here calls the bot's flows directly."""

from __future__ import annotations

from importlib.resources import files
from typing import Annotated, Any

from fastapi import Body, FastAPI, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

from bot.fakeslack.server import BOT_USER, Message
from bot.sandbox.world import COMMAND, SAMPLE_ITEM, SHORTCUTS, Sandbox

STATIC = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "index.html": "text/html; charset=utf-8",
}
CALLS_SHOWN = 300


def static_text(name: str) -> str:
    return (files("bot.sandbox") / "static" / name).read_text(encoding="utf-8")


def _message(sb: Sandbox, m: Message, replies: int = 0) -> dict[str, Any]:
    return {
        "ts": m.ts,
        "user": m.user,
        "author": sb.names.get(m.user, m.user),
        "bot": m.user == BOT_USER,
        "text": m.text,
        "blocks": m.blocks,
        "thread_ts": m.thread_ts,
        "edited": m.updated > 0,
        "ephemeral": m.ephemeral,
        "channel": m.channel,
        "replies": replies,
        "when": sb.sim_time(float(m.ts)),
    }


def conversation(sb: Sandbox, user: str, channel: str) -> dict[str, Any]:
    """The channel's top-level messages (with reply counts), its threads, and the ephemeral answers
    only ``user`` sees there (a command's answer, a response_url post, chat.postEphemeral)."""
    messages = sb.fake.messages(channel)
    threads: dict[str, list[dict[str, Any]]] = {}
    for m in messages:
        if m.thread_ts and m.thread_ts != m.ts:
            threads.setdefault(m.thread_ts, []).append(_message(sb, m))
    timeline = [_message(sb, m, len(threads.get(m.ts, []))) for m in messages if not m.thread_ts or m.thread_ts == m.ts]
    if channel.startswith("D"):
        timeline += [_message(sb, m) for m in sb.fake.responses_to(user)]
        with sb.fake._lock:
            posted = [e for e in sb.fake.ephemerals if e["user"] == user]
        for e in posted:
            timeline.append(
                {
                    "ts": e.get("ts", "0"),
                    "user": BOT_USER,
                    "author": "Handover",
                    "bot": True,
                    "text": e["text"],
                    "blocks": e["blocks"],
                    "thread_ts": None,
                    "edited": False,
                    "ephemeral": True,
                    "channel": e["channel"],
                    "replies": 0,
                    "when": sb.sim_time(float(e.get("ts", "0"))),
                }
            )
    for f in list(sb.fake.files.values()):
        if f.completed and f.channel == channel:
            timeline.append(
                {
                    "ts": f"{f.id}",
                    "user": BOT_USER,
                    "author": "Handover",
                    "bot": True,
                    "text": f.initial_comment or "",
                    "blocks": [],
                    "thread_ts": None,
                    "edited": False,
                    "ephemeral": False,
                    "channel": channel,
                    "replies": 0,
                    "when": "",
                    "file": {"id": f.id, "title": f.title, "url": f"/api/file/{f.id}"},
                }
            )
    timeline.sort(key=lambda m: float(m["ts"]) if m["ts"].replace(".", "").isdigit() else 9e12)
    return {"channel": channel, "timeline": timeline, "threads": threads}


def open_view(sb: Sandbox, user: str) -> dict[str, Any] | None:
    views = [v for v in sb.fake.views_opened_by(user) if not v.closed]
    if not views:
        return None
    v = views[-1]
    return {
        "id": v.id,
        "hash": v.hash,
        "view": v.as_slack(),
        "errors": sb.view_errors.get(v.id, {}),
        "depth": len(views),
    }


def create_sandbox_app(sb: Sandbox, *, loopback_only: bool = True) -> FastAPI:
    app = FastAPI(title="Handover sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    if loopback_only:  # another web page can't reach it through DNS rebinding either
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", "[::1]"])

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(static_text("index.html"))

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404, "no such file")
        return Response(static_text(name), media_type=STATIC[name], headers={"Cache-Control": "no-cache"})

    @app.get("/api/state")
    def state(user: str, channel: str | None = None) -> dict[str, Any]:
        person = sb.person(user)
        if person is None:
            raise HTTPException(404, f"no person {user} in this workspace")
        dm = sb.fake.dm_channel_for(user)
        with sb.fake._lock:
            calls = [
                {
                    "method": c.method,
                    "at": c.at,
                    "ok": c.ok,
                    "error": c.error,
                    "status": c.status,
                    "channel": str(c.args.get("channel") or c.args.get("user_id") or c.args.get("users") or ""),
                }
                for c in sb.fake.calls[-CALLS_SHOWN:]
            ]
            total_calls = len(sb.fake.calls)
            channels = sorted(
                {m.channel for m in sb.fake.messages() if not m.channel.startswith("D")}
                | {f.channel for f in sb.fake.files.values() if f.completed and f.channel}
            )
        counts = {
            p.id: sum(1 for m in sb.fake.messages(sb.fake.dm_channel_for(p.id)) if m.user == BOT_USER)
            for p in sb.people
        }
        return {
            "me": user,
            "clock": sb.clock_info(),
            "people": [
                {
                    "id": p.id,
                    "name": p.name,
                    "email": p.email,
                    "role": p.role,
                    "tz": p.tz,
                    "local": sb.local_time(p.tz),
                    "cast": p.cast,
                    "messages": counts.get(p.id, 0),
                }
                for p in sb.people
            ],
            "names": sb.names,
            "conversation": conversation(sb, user, channel if channel and not channel.startswith("D") else dm),
            "channels": [{"id": c, "name": sb.channel_name(c)} for c in channels],
            "modal": open_view(sb, user),
            "home": sb.fake.published_home(user),
            "calls": calls,
            "total_calls": total_calls,
            "outbox": sb.outbox_counts(),
            "trouble": sb.trouble(),
            "notices": sb.notices[-5:],
            "shortcuts": SHORTCUTS,
            "command": COMMAND,
            "sample_item": SAMPLE_ITEM,
            "bot_url": sb.bot_url,
        }

    def answered(response: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"status": response.status_code}
        if response.status_code != 200:
            out["error"] = f"Handover answered HTTP {response.status_code}: {response.text[:300]}"
        return out

    def find_message(user: str, channel: str, ts: str) -> Message:
        message = sb.fake.message(channel, ts) or next((m for m in sb.fake.responses_to(user) if m.ts == ts), None)
        if message is None:
            raise HTTPException(404, "that message is no longer there")
        return message

    @app.post("/api/act")
    def act(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        """A click, a selection, a ticked box or a picked date, in a message, a modal or the Home tab."""
        user, where = body["user"], body.get("where", "message")
        index, action_id, chosen = int(body["index"]), str(body["action_id"]), body.get("chosen")
        try:
            if where == "message":
                message = find_message(user, body["channel"], body["ts"])
                response = sb.agent.act_on_message(
                    user=user, message=message, index=index, action_id=action_id, chosen=chosen
                )
            elif where == "view":
                view = sb.fake.views.get(body["view_id"])
                if view is None or view.closed:
                    raise HTTPException(404, "that modal is closed")
                response = sb.agent.act_in_view(
                    user=user,
                    view=view,
                    index=index,
                    action_id=action_id,
                    chosen=chosen,
                    values=body.get("values") or {},
                )
            else:
                response = sb.agent.act_in_home(user=user, index=index, action_id=action_id, chosen=chosen)
        except LookupError as exc:
            raise HTTPException(409, str(exc)) from None
        return answered(response)

    @app.post("/api/submit")
    def submit(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        """The modal's Submit: a view_submission with the form's state; Slack applies the answer."""
        user, view_id = body["user"], body["view_id"]
        view = sb.fake.views.get(view_id)
        if view is None or view.closed:
            raise HTTPException(404, "that modal is closed")
        try:
            response = sb.agent.submit_view(user=user, view=view, values=body.get("values") or {})
        except AssertionError as exc:
            raise HTTPException(400, str(exc)) from None
        out = answered(response)
        answer = response.json() if response.status_code == 200 and response.content else {}
        answer = answer if isinstance(answer, dict) else {}
        if answer.get("response_action") == "errors":
            sb.view_errors[view_id] = answer.get("errors") or {}
            out["errors"] = sb.view_errors[view_id]
        else:
            sb.view_errors.pop(view_id, None)
            if answer.get("response_action") == "clear":
                for v in sb.fake.views_opened_by(user):
                    v.closed = True
        return out

    @app.post("/api/close")
    def close(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        """The modal's Cancel: view_closed goes to the bot when the view asked for it (notify_on_close)."""
        user, view_id = body["user"], body["view_id"]
        view = sb.fake.views.get(view_id)
        if view is None:
            raise HTTPException(404, "that modal is closed")
        if view.raw.get("notify_on_close"):
            return answered(sb.agent.close_view(user=user, view=view))
        view.closed = True
        return {"status": 200}

    @app.post("/api/say")
    def say(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        """The message box: a slash command (a form post to /slack/events), or a message in the DM or
        in a thread (Slack keeps it and sends the bot message.im)."""
        user, text = body["user"], str(body.get("text") or "").strip()
        thread_ts = body.get("thread_ts") or None
        dm = sb.fake.dm_channel_for(user)
        if not text:
            raise HTTPException(400, "write something first")
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            if command != COMMAND:
                raise HTTPException(
                    400,
                    f"{command} is not a valid command. In Slack, all messages that start "
                    f'with "/" are interpreted as commands; this app has {COMMAND}.',
                )
            response = sb.agent.command(user=user, command=COMMAND, text=rest.strip(), channel=dm)
            out = answered(response)
            if response.status_code == 200 and response.content:
                try:
                    sb.agent.shown(response, user=user, channel=dm)
                except AssertionError as exc:
                    out["error"] = f"Slack would not show this answer: {exc}"
            return out
        if thread_ts and sb.fake.message(dm, thread_ts) is None:
            raise HTTPException(400, "that thread is not in your conversation with Handover")
        _, response = sb.agent.user_message(user=user, channel=dm, text=text, thread_ts=thread_ts)
        return answered(response)

    @app.post("/api/shortcut")
    def shortcut(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        user, callback_id = body["user"], body["callback_id"]
        if body.get("ts"):
            message = find_message(user, body["channel"], body["ts"])
            return answered(
                sb.agent.message_shortcut(
                    user=user,
                    callback_id=callback_id,
                    message=message.as_slack(with_metadata=False),
                    channel=message.channel,
                )
            )
        return answered(sb.agent.shortcut(user=user, callback_id=callback_id))

    @app.post("/api/home")
    def home(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        """The person opens the App Home tab: Slack sends app_home_opened."""
        return answered(sb.agent.app_home_opened(user=body["user"]))

    @app.post("/api/clock")
    def clock(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        try:
            return sb.move_clock(str(body.get("move")))
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None

    @app.post("/api/sample")
    def sample() -> dict[str, Any]:
        return sb.load_sample()

    @app.post("/api/item")
    def item(body: Annotated[Any, Body()]) -> dict[str, Any]:
        return sb.post_item(body)

    @app.post("/api/reset")
    def reset() -> dict[str, Any]:
        sb.reset()
        return {"ok": True}

    @app.post("/api/trouble")
    def trouble(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        return sb.set_trouble(str(body.get("kind") or ""), float(body.get("seconds") or 20))

    @app.get("/api/file/{file_id}")
    def file(file_id: str) -> Response:
        f = sb.fake.files.get(file_id)
        if f is None or not f.completed:
            raise HTTPException(404, "no such file")
        kind = "image/png" if f.filename.lower().endswith(".png") else "application/octet-stream"
        return Response(f.content, media_type=kind)

    @app.exception_handler(KeyError)  # a request without a field the endpoint needs
    async def missing(_: Any, exc: KeyError) -> JSONResponse:
        return JSONResponse({"error": f"missing field {exc}"}, status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(_: Any, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    return app
