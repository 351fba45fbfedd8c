"""Acts as Slack towards the bot: signed HTTP requests to ``/slack/events`` with the payloads Slack
sends for slash commands, button clicks, modal submissions, shortcuts and events.

Payload shapes follow Slack's reference (api.slack.com/reference/interaction-payloads and
api.slack.com/events-api); requests are signed with v0 HMAC-SHA256 over
``v0:{timestamp}:{body}`` like Slack signs them.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from bot.fakeslack.server import APP_ID, BOT_USER, TEAM, FakeSlack, Message, View


class SlackAgent:
    def __init__(self, fake: FakeSlack, *, bot_url: str, signing_secret: str, timeout: float = 10.0) -> None:
        self.fake = fake
        self.bot_url = bot_url
        self.signing_secret = signing_secret
        self.http = httpx.Client(timeout=timeout)

    # ----- the wire ----------------------------------------------------------------------------
    def raw(
        self,
        body: bytes,
        content_type: str,
        *,
        sign: bool = True,
        timestamp: int | None = None,
        secret: str | None = None,
        tamper: bool = False,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST ``body`` as Slack would; each knob breaks one part of the signature on purpose."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sent = dict(headers or {})
        sent["Content-Type"] = content_type
        if sign:
            verifier = SignatureVerifier(secret if secret is not None else self.signing_secret)
            sent["X-Slack-Request-Timestamp"] = ts
            signature = verifier.generate_signature(timestamp=ts, body=body)
            assert signature is not None  # None only without a timestamp or a body
            sent["X-Slack-Signature"] = signature
        if tamper:
            body = body.replace(b"item_accept", b"item_discard") if b"item_accept" in body else body + b"&x=1"
        return self.http.post(self.bot_url, content=body, headers=sent)

    def _interaction(self, payload: dict[str, Any]) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.raw(body, "application/x-www-form-urlencoded")

    def _user(self, user: str) -> dict[str, Any]:
        known = self.fake.users.get(user)
        name = known.name if known else user.lower()
        return {"id": user, "username": name, "name": name, "team_id": TEAM}

    def _base(self, kind: str, user: str) -> dict[str, Any]:
        return {
            "type": kind,
            "token": "legacy-verification-token",
            "api_app_id": APP_ID,
            "team": {"id": TEAM, "domain": "handover-fake"},
            "user": self._user(user),
            "is_enterprise_install": False,
            "enterprise": None,
        }

    # ----- slash commands -----------------------------------------------------------------------
    def command(self, *, user: str, command: str, text: str = "", channel: str = "C0GENERAL") -> httpx.Response:
        body = urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": TEAM,
                "team_domain": "handover-fake",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": self._user(user)["name"],
                "command": command,
                "text": text,
                "api_app_id": APP_ID,
                "is_enterprise_install": "false",
                "response_url": self.fake.issue_response_url(user, channel, kind="commands"),
                "trigger_id": self.fake.issue_trigger(user),
            }
        ).encode()
        return self.raw(body, "application/x-www-form-urlencoded")

    def shown(self, response: httpx.Response, *, user: str, channel: str = "C0GENERAL") -> Message:
        """The ephemeral message ``user`` sees from a command's answer (Slack checks its blocks)."""
        assert response.status_code == 200, response.text
        body = response.json() if response.content else {}
        return self.fake.show_ephemeral(user, channel, body if isinstance(body, dict) else {})

    # ----- messages with buttons ---------------------------------------------------------------
    @staticmethod
    def _find(message: Message, action_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        for block in message.blocks:
            elements = (
                block.get("elements")
                if block.get("type") == "actions"
                else [block["accessory"]]
                if block.get("accessory")
                else []
            )
            for element in elements or []:
                if element.get("action_id") == action_id:
                    return block, element
        raise AssertionError(f"there is no {action_id!r} on this message: a person could not click it")

    def _message_container(self, message: Message, user: str | None = None) -> dict[str, Any]:
        out = {
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": message.ephemeral,
            },
            "channel": {"id": message.channel, "name": "directmessage"},
            "message": message.as_slack(with_metadata=False),
            "response_url": self.fake.issue_response_url(user, message.channel, message.ts),
            "state": {"values": {}},
        }
        if message.ephemeral:
            del out["message"]  # Slack does not send an ephemeral message back
        return out

    def click(self, *, user: str, message: Message, action_id: str, value: str | None = None) -> httpx.Response:
        """``user`` clicks the button ``action_id`` on ``message``."""
        block, element = self._find(message, str(action_id))
        action = {
            "action_id": element["action_id"],
            "block_id": block.get("block_id", ""),
            "text": element.get("text"),
            "value": value if value is not None else element.get("value"),
            "type": element["type"],
            "action_ts": f"{time.time():.6f}",
        }
        payload = {
            **self._base("block_actions", user),
            "trigger_id": self.fake.issue_trigger(user),
            **self._message_container(message, user),
            "actions": [action],
        }
        return self._interaction(payload)

    def click_in_home(self, *, user: str, action_id: str, block_id: str) -> httpx.Response:
        """``user`` clicks the button ``action_id`` in the block ``block_id`` of their App Home tab."""
        home = self.fake.published_home(user)
        if home is None:
            raise AssertionError(f"{user} has no Home tab published")
        block = next((b for b in home.get("blocks", []) if b.get("block_id") == block_id), None)
        element = next((e for e in (block or {}).get("elements", []) if e.get("action_id") == str(action_id)), None)
        if element is None:
            raise AssertionError(f"there is no {action_id!r} in block {block_id!r} of the Home tab")
        action = {
            "action_id": element["action_id"],
            "block_id": block_id,
            "text": element.get("text"),
            "value": element.get("value"),
            "type": element["type"],
            "action_ts": f"{time.time():.6f}",
        }
        payload = {
            **self._base("block_actions", user),
            "trigger_id": self.fake.issue_trigger(user),
            "container": {"type": "view", "view_id": "VHOME" + user},
            "view": {**home, "id": "VHOME" + user, "type": "home"},
            "actions": [action],
        }
        return self._interaction(payload)

    def click_checkbox(
        self, *, user: str, message: Message, action_id: str, selected_values: list[str]
    ) -> httpx.Response:
        """``user`` ticks checkboxes so that exactly ``selected_values`` are selected."""
        block, element = self._find(message, action_id)
        options = [o for o in element.get("options", []) if o["value"] in selected_values]
        action = {
            "action_id": action_id,
            "block_id": block.get("block_id", ""),
            "type": "checkboxes",
            "selected_options": options,
            "action_ts": f"{time.time():.6f}",
        }
        payload = {
            **self._base("block_actions", user),
            "trigger_id": self.fake.issue_trigger(user),
            **self._message_container(message, user),
            "actions": [action],
        }
        return self._interaction(payload)

    def select(self, *, user: str, message: Message, action_id: str, value: str) -> httpx.Response:
        """``user`` picks ``value`` in a static select or an overflow menu."""
        block, element = self._find(message, action_id)
        option = next(o for o in element.get("options", []) if o["value"] == value)
        action = {
            "action_id": action_id,
            "block_id": block.get("block_id", ""),
            "type": element["type"],
            "selected_option": option,
            "action_ts": f"{time.time():.6f}",
        }
        payload = {
            **self._base("block_actions", user),
            "trigger_id": self.fake.issue_trigger(user),
            **self._message_container(message, user),
            "actions": [action],
        }
        return self._interaction(payload)

    # ----- modals -----------------------------------------------------------------------------
    def click_in_view(self, *, user: str, view: View, action_id: str, value: str | None = None) -> httpx.Response:
        """``user`` clicks the button ``action_id`` inside the modal ``view`` (in its latest state)."""
        current = self.fake.views.get(view.id, view)
        block, element = self._find(current, str(action_id))  # type: ignore[arg-type]
        action = {
            "action_id": element["action_id"],
            "block_id": block.get("block_id", ""),
            "text": element.get("text"),
            "value": value if value is not None else element.get("value"),
            "type": element["type"],
            "action_ts": f"{time.time():.6f}",
        }
        payload = {
            **self._base("block_actions", user),
            "trigger_id": self.fake.issue_trigger(user),
            "container": {"type": "view", "view_id": current.id},
            "view": {**current.as_slack(), "state": {"values": {}}},
            "actions": [action],
        }
        return self._interaction(payload)

    @staticmethod
    def _state(view: View, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
        state: dict[str, dict[str, Any]] = {}
        for block in view.blocks:
            bid = block.get("block_id")
            element = block.get("element") if block.get("type") == "input" else block.get("accessory")
            if not bid or not element or (block.get("type") != "input" and bid not in values):
                continue
            value = values.get(bid)
            kind = element["type"]
            entry: dict[str, Any] = {"type": kind}
            if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
                entry["value"] = None if value in (None, "") else str(value)
            elif kind in ("static_select", "radio_buttons"):
                entry["selected_option"] = next((o for o in element.get("options", []) if o["value"] == value), None)
                if value is not None and entry["selected_option"] is None:
                    raise AssertionError(f"{value!r} is not an option of {bid}")
            elif kind in ("checkboxes", "multi_static_select"):
                chosen = list(value or [])
                entry["selected_options"] = [o for o in element.get("options", []) if o["value"] in chosen]
            elif kind == "users_select":
                entry["selected_user"] = value
            elif kind == "multi_users_select":
                entry["selected_users"] = list(value or [])
            elif kind == "datepicker":
                entry["selected_date"] = value
            else:
                entry["value"] = value
            state[bid] = {element.get("action_id", "input"): entry}
        unknown = set(values) - set(state)
        if unknown:
            raise AssertionError(f"the modal has no input for {sorted(unknown)}")
        return state

    def submit_view(self, *, user: str, view: View, values: dict[str, Any] | None = None) -> httpx.Response:
        """``user`` fills ``view`` with ``values`` (block_id -> value) and presses Submit; whatever the
        bot answers (errors, update, push, clear) is applied as Slack would."""
        current = self.fake.views.get(view.id, view)
        slack_view = {**current.as_slack(), "state": {"values": self._state(current, values or {})}}
        payload = {
            **self._base("view_submission", user),
            "trigger_id": self.fake.issue_trigger(user),
            "view": slack_view,
            "response_urls": [],
        }
        response = self._interaction(payload)
        if response.status_code == 200:
            body = response.json() if response.content else {}
            self.fake.apply_view_response(view.id, body if isinstance(body, dict) else {})
        return response

    def close_view(self, *, user: str, view: View) -> httpx.Response:
        payload = {**self._base("view_closed", user), "view": view.as_slack(), "is_cleared": False}
        response = self._interaction(payload)
        if view.id in self.fake.views:
            self.fake.views[view.id].closed = True
        return response

    # ----- shortcuts ---------------------------------------------------------------------------
    def shortcut(self, *, user: str, callback_id: str) -> httpx.Response:
        payload = {
            **self._base("shortcut", user),
            "callback_id": str(callback_id),
            "trigger_id": self.fake.issue_trigger(user),
            "action_ts": f"{time.time():.6f}",
        }
        return self._interaction(payload)

    def message_shortcut(
        self, *, user: str, callback_id: str, message: dict[str, Any], channel: str = "C0GENERAL"
    ) -> httpx.Response:
        payload = {
            **self._base("message_action", user),
            "callback_id": str(callback_id),
            "trigger_id": self.fake.issue_trigger(user),
            "action_ts": f"{time.time():.6f}",
            "message_ts": message.get("ts"),
            "message": {"type": "message", **message},
            "channel": {"id": channel, "name": "general"},
            "response_url": self.fake.issue_response_url(user, channel),
        }
        return self._interaction(payload)

    # ----- events -----------------------------------------------------------------------------
    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> httpx.Response:
        envelope = {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        }
        headers = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        return self.raw(json.dumps(envelope).encode(), "application/json", headers=headers)

    def user_message(
        self, *, user: str, channel: str, text: str, thread_ts: str | None = None, event_id: str | None = None
    ) -> tuple[str, httpx.Response]:
        """``user`` writes ``text`` in ``channel`` (in a thread when ``thread_ts``); Slack stores it
        and sends the bot the message event."""
        message = self.fake.add_message(channel, user, text, thread_ts)
        event = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": message.ts,
            "event_ts": message.ts,
            "channel_type": "im" if channel.startswith("D") else "channel",
            "team": TEAM,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return message.ts, self.event(event, event_id=event_id)

    def app_home_opened(self, *, user: str) -> httpx.Response:
        return self.event(
            {
                "type": "app_home_opened",
                "user": user,
                "channel": self.fake.dm_channel_for(user),
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            }
        )
