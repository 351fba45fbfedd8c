"""Every scale benchmark (bench/) runs end to end at a small size, on SQLite and PostgreSQL, and
its counts are right. Timings are never asserted here (a loaded CI machine says nothing about the
code): run the benchmarks themselves to read them (bench/RESULTS.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import delivery, digest, import_speed, lookup, nudge_tick, rss
from tests.pg import Cluster, database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, pg_cluster: Cluster | None, tmp_path: Path) -> str:
    return database_url(
        request.param,
        tmp_path,
        pg_cluster,
        f"bench_{request.node.name[:20].lower()}".replace("[", "_").replace("]", "").replace("-", "_"),
    )


def test_import_speed_imports_every_row_once(url: str) -> None:
    [r] = import_speed.run(rows_n=300, database_url=url, rounds=1)["rounds"]
    assert r["counts"] == {
        "created": 300,
        "errors": 0,
        "items": 300,
        "cards_queued": 300,
        "handed_over_events": 300,
        "rerun_created": 0,
        "rerun_existing": 300,
    }
    assert r["import_rows_per_s"] > 0 and r["baseline_rows_per_s"] > 0


def test_lookup_answers_every_query(url: str) -> None:
    [r] = lookup.run(customers=600, queries_n=12, database_url=url, rounds=1)["rounds"]
    assert r["lookup_ms"]["n"] == 12 and r["baseline_indexed_equality_ms"]["n"] == 12
    assert r["queries_with_matches"] >= 10  # the exact, part, typo, domain and script queries find someone


def test_digest_reaches_everyone_and_no_click_is_refused(url: str) -> None:
    [run] = digest.run(people=40, items=[400], database_url=url, rounds=1)["runs"]
    [one] = run["rounds"]
    assert one["people_claimed"] == 40 and one["digests_queued"] == one["people_sent"] > 0
    assert one["clicks_during"]["errors"] == 0 and one["clicks_during"]["refused"] == 0


def test_nudge_tick_assesses_a_fresh_backlog(url: str) -> None:
    r = nudge_tick.run(items=600, people=30, max_ticks=20, database_url=url, rounds=1)
    [steady], [backlog] = r["steady"]["rounds"], r["fresh_backlog"]["rounds"]
    assert len(steady["tick_seconds"]) == 3
    assert backlog["unassessed_after_each_tick"][0] == 600 and backlog["ticks_to_assess_all"] is not None


def test_delivery_posts_every_card_once(url: str) -> None:
    [r] = delivery.run(cards=30, receivers=6, rate=5.0, database_url=url, rounds=1)["rounds"]
    assert r["seconds_until_all_arrived"] is not None
    assert (r["cards_posted"], r["lost"], r["duplicated"]) == (30, 0, 0)


def test_rss_run_acks_and_records_every_click() -> None:
    [r] = rss.run(interactions=60, concurrency=2, warmup=5, rounds=1)["rounds"]
    assert r["status_counts"] == {"200": 60} and r["checklist_events"] == 60 and r["refused_clicks"] == 0
    assert r["rss_mb_after"] > 0
