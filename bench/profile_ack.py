"""Where an ack's time goes: 300 checklist ticks dispatched straight into the real Bolt app (no HTTP,
so only Handover's own work), under pyinstrument; the outbox dispatcher is not running.

    python -m bench.profile_ack [sqlite|postgresql|URL] > bench/results/profile-ack-sqlite.txt
"""

from __future__ import annotations

import json
import sys
import time
from urllib.parse import urlencode

import sqlalchemy as sa
from pyinstrument import Profiler
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier
from sqlmodel import col

import bench.ack_latency as al
from bench.common import context, database
from bot.clock import Clock
from bot.db import run_in_transaction
from bot.fakeslack import FakeSlack
from bot.fakeslack.directory import emails_in
from bot.flows.deliver import hand_over
from bot.handlers.app import create_bolt_app
from bot.ids import Source
from bot.intake.schema import ItemIn
from bot.models import Item
from bot.slack.dispatcher import Dispatcher


def main() -> None:
    fake = FakeSlack(token=al.BOT_TOKEN).start()
    with database(sys.argv[1] if len(sys.argv) > 1 else "sqlite") as db:
        ctx = context(db, api_url=fake.api_url, clock=Clock())
        ctx.settings.slack_signing_secret = type(ctx.settings.slack_signing_secret)(al.SIGNING_SECRET)
        al._add_people(fake, emails_in(ctx.config) + [al.SENDER, al.BB])
        run_in_transaction(
            db.engine,
            lambda s: hand_over(
                s,
                ctx,
                ItemIn(
                    customer="Nordic Fibre AB",
                    description="x",
                    region="nordics",
                    checklist={"painpoint": True},
                    sender_email=al.SENDER,
                    business_builder_email=al.BB,
                ),
                source=Source.API,
                key="p1",
                actor="api",
            ),
        )
        Dispatcher(ctx).run_until_idle()
        with db.engine.connect() as c:
            item_id, ch, ts, rcv = c.execute(
                sa.select(col(Item.id), col(Item.card_channel), col(Item.card_ts), col(Item.receiver_user_id))
            ).one()
        if not (ch and ts):
            raise RuntimeError("the card was not delivered")
        card = {"item_id": item_id, "receiver": rcv, "message": al._message_dict(fake.message(ch, ts))}
        make = al.checklist_maker(card)
        app = create_bolt_app(ctx)
        v = SignatureVerifier(al.SIGNING_SECRET)

        def req(i):
            user, message, action = make(i)
            body = urlencode(
                {"payload": json.dumps(al._payload(user, message, {**action, "action_ts": al._action_ts()}))}
            )
            t = str(int(time.time()))
            return BoltRequest(
                body=body,
                headers={
                    "content-type": ["application/x-www-form-urlencoded"],
                    "x-slack-request-timestamp": [t],
                    "x-slack-signature": [v.generate_signature(timestamp=t, body=body)],
                },
            )

        for i in range(20):
            app.dispatch(req(i))
        reqs = [req(i) for i in range(20, 320)]
        pr = Profiler(interval=0.0005)
        pr.start()
        t0 = time.perf_counter()
        statuses = [app.dispatch(r).status for r in reqs]
        el = time.perf_counter() - t0
        pr.stop()
        print("per ack ms", el / len(reqs) * 1000, set(statuses))
        print(pr.output_text(unicode=False, color=False)[:6000])
    fake.stop()


if __name__ == "__main__":
    main()
