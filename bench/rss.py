"""Memory of ``handover serve`` over many interactions: the resident set size of the real web app
(with its outbox dispatcher, in its own process, as bench.ack_latency starts it) after a warm-up
and after N checklist ticks (default 20,000) from C clients; the bound is 50 MB of growth. The
Slack fake shares that process: its record of every Web API call is dropped as the run goes, so
the figure is Handover's own memory. Each round: a fresh server and database.

    python -m bench.rss [--interactions 20000] [--concurrency 4] [--rounds 3] [--database-url ...]
"""

from __future__ import annotations

import argparse
import tempfile
from typing import Any

from bench.ack_latency import Server, checklist_maker, run_concurrent, run_sequential
from bench.common import backend_of, command, database_spec, measured
from bench.common import rounds as run_rounds

BOUND_MB = 50


def one_round(interactions: int, concurrency: int, warmup: int, database_url: str) -> dict[str, Any]:
    """A fresh server and database: the warm-up, then the interactions."""
    with tempfile.TemporaryDirectory(prefix="handover-bench-") as tmp, database_spec(database_url, tmp) as url:
        server = Server("handover", tmp, concurrency + 1, True, url, True)
        try:
            cards = server.info["cards"]
            run_sequential(server.info["url"], checklist_maker(cards[0]), warmup)
            before = server.stats()
            load = run_concurrent(
                server.info["url"], [checklist_maker(c) for c in cards[1:]], interactions, concurrency
            )
            after = server.stats()
        finally:
            server.stop()
    ticks = after["events"].get("checklist", 0) - before["events"].get("checklist", 0)
    return {
        "rss_mb_before": before["rss_kb"] / 1024,
        "rss_mb_after": after["rss_kb"] / 1024,
        "growth_mb": (after["rss_kb"] - before["rss_kb"]) / 1024,
        "status_counts": load["status_counts"],
        "req_per_s": load.get("throughput_rps"),
        "checklist_events": ticks,
        "refused_clicks": interactions - ticks,
    }


def run(
    *,
    interactions: int = 20_000,
    concurrency: int = 4,
    warmup: int = 200,
    database_url: str = "sqlite",
    rounds: int = 3,
) -> dict[str, Any]:
    """``rounds`` runs one after another, each on a fresh server (the baseline is a bound)."""
    done = run_rounds(rounds, lambda k: one_round(interactions, concurrency, warmup, database_url))
    return {
        "backend": backend_of(database_url),
        "bound_mb": BOUND_MB,
        "params": {"interactions": interactions, "concurrency": concurrency, "warmup": warmup, "rounds": rounds},
        **measured(done, {"growth_mb": "growth_mb", "refused_clicks": "refused_clicks", "req_per_s": "req_per_s"}),
    }


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--interactions", type=int, default=20_000)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--warmup", type=int, default=200)


if __name__ == "__main__":
    command("rss", __doc__ or "", run, options)
