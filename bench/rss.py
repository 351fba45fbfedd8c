"""Memory of ``handover serve`` over many interactions: the resident set size of the real web app
(with its outbox dispatcher, in its own process, as bench.ack_latency starts it) after a warm-up
and after N checklist ticks (default 20,000) from C clients; the bound is 50 MB of growth. The
Slack fake shares that process: its record of every Web API call is dropped as the run goes, so
the figure is Handover's own memory.

    python -m bench.rss [--interactions 20000] [--concurrency 4] [--database-url ...] [--out f.json]
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.ack_latency import Server, checklist_maker, run_concurrent, run_sequential
from bench.common import database_spec, emit, parser

BOUND_MB = 50


def run(*, interactions: int = 20_000, concurrency: int = 4, warmup: int = 200, database_url: str = "sqlite",
        out: Path | None = None, quiet: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="handover-bench-") as tmp, database_spec(database_url, tmp) as url:
        server = Server("handover", tmp, concurrency + 1, True, url, True)
        try:
            cards = server.info["cards"]
            run_sequential(server.info["url"], checklist_maker(cards[0]), warmup)
            before = server.stats()
            load = run_concurrent(server.info["url"], [checklist_maker(c) for c in cards[1:]], interactions,
                                  concurrency)
            after = server.stats()
        finally:
            server.stop()
    ticks = after["events"].get("checklist", 0) - before["events"].get("checklist", 0)
    results = {"backend": "postgresql" if url and url.startswith("postgresql") else "sqlite",
               "interactions": interactions, "concurrency": concurrency,
               "rss_mb_before": before["rss_kb"] / 1024, "rss_mb_after": after["rss_kb"] / 1024,
               "growth_mb": (after["rss_kb"] - before["rss_kb"]) / 1024, "bound_mb": BOUND_MB,
               "status_counts": load["status_counts"], "req_per_s": load.get("throughput_rps"),
               "checklist_events": ticks, "refused_clicks": interactions - ticks}
    if not quiet:
        emit("rss", results, out)
    return results


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--interactions", type=int, default=20_000)
    p.add_argument("--concurrency", type=int, default=4)
    a = p.parse_args()
    run(interactions=a.interactions, concurrency=a.concurrency, database_url=a.database_url, out=a.out)


if __name__ == "__main__":
    main()
