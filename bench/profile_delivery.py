"""Where a delivery's time goes: the setup of ``bench.delivery`` (600 cards to 60 receivers, the
fake's 1 msg/s per channel), then the outbox dispatcher run in this thread under pyinstrument until
every card is sent (another thread watches for that).

    python -m bench.profile_delivery [sqlite|postgresql|URL] > bench/results/profile-delivery-sqlite.txt
"""

from __future__ import annotations

import sys
import threading
import time

from pyinstrument import Profiler

from bench.common import BOT_TOKEN, database
from bench.delivery import cards_left, handed_over
from bot.fakeslack import FakeSlack
from bot.slack.dispatcher import Dispatcher


def main() -> None:
    fake = FakeSlack(token=BOT_TOKEN).start()
    with database(sys.argv[1] if len(sys.argv) > 1 else "sqlite") as db:
        ctx = handed_over(fake, db, 600, 60, 1.0)
        stop = threading.Event()

        def watch() -> None:
            while cards_left(db.engine):
                time.sleep(0.5)
            stop.set()

        threading.Thread(target=watch, daemon=True).start()
        profiler = Profiler(interval=0.001)
        profiler.start()
        t0 = time.monotonic()
        Dispatcher(ctx).run_forever(stop)
        profiler.stop()
        posts = fake.calls_to("chat.postMessage")
        print(
            f"all cards sent after {time.monotonic() - t0:.1f} s; chat.postMessage calls {len(posts)}, "
            f"of them refused (429) {sum(1 for c in posts if not c.ok)}"
        )
        print(profiler.output_text(unicode=False, color=False)[:12000])
    fake.stop()


if __name__ == "__main__":
    main()
