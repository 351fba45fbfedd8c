"""Reports (bot/reports.py): the figures on a fixture whose every expected value is worked out by
hand below; `handover report` and its CSV (formulas defused); `/handover stats` as a person sees
it; the weekly chart uploaded once to the reports channel through the Slack fake's files API;
and an item's history exported for a CRM.

The report is a read model, so the fixture writes items and their history straight into the
tables (what the flows would have written), with known timestamps.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from bot import csvsafe, messages, outbox, reports, scheduler
from bot.charts import PNG_MAGIC
from bot.cli import console
from bot.config import parse
from bot.fakeslack.validate import validate_blocks
from bot.flows import weekly_chart
from bot.models import Customer, Feedback, FollowUp, Item, ItemEvent, Question, QuestionMessage
from tests.flow import accept, hand_over
from tests.harness import START, Bench

UTC = UTC
T0 = START  # Monday 2 March 2026, 08:00 UTC (09:00 in Stockholm)
WEEK_START = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # Monday 2 March 00:00 in Stockholm
WEEK_END = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)  # Monday 9 March 00:00 in Stockholm
GE, NS = "Global Event 2026", "Nordic Summit"
ANNA, PETRA, TOM = "anna.berg@example.com", "petra.huber@example.com", "tom.hughes@example.com"
S1, S2 = "bb.one@example.com", "bb.two@example.com"
NOT_ENOUGH, DUPLICATE = "Not enough information to handle it", "Duplicate"


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


def seed(bench: Bench, *, outside: bool = True) -> dict[int, int]:
    """Ten items handed over in the week of 2 March (two events, three receivers), and — with
    ``outside`` — two just outside it. Returns fixture number -> item id.

    | #  | event | receiver | sender | created      | what happened                                               |
    |----|-------|----------|--------|--------------|-------------------------------------------------------------|
    | 1  | GE    | anna     | S1     | T0           | accepted +1 h; follow-ups contacted, opportunity_created;   |
    |    |       |          |        |              | feedback: useful 5, opportunity, reached                    |
    | 2  | GE    | anna     | S1     | T0           | accepted +3 h; follow-up contacted; feedback 4, won, reached |
    | 3  | GE    | petra    | S1     | T0           | accepted +2 h (accepted_at only, no audit entry); feedback  |
    |    |       |          |        |              | asked but never answered                                    |
    | 4  | GE    | petra    | S2     | T0           | discarded: not enough information, justified                |
    | 5  | GE    | tom      | S2     | T0           | accepted +10 h; follow-up won; feedback 2, nothing yet, not reached |
    | 6  | NS    | tom      | S2     | T0+1 d       | recategorized lead -> prospect, then discarded: duplicate, justified |
    | 7  | NS    | anna     | S1     | T0+1 d       | accepted +5 h, follow-up meeting, closed                    |
    | 8  | NS    | anna     | S2     | week start   | still pending (created on the very first instant: counted)  |
    | 9  | NS    | petra    | S1     | T0+2 d       | accepted +24 h, recategorized +30 h (pending again), accepted again +40 h |
    | 10 | NS    | tom      | S2     | T0+2 d       | discarded: not enough information, no justification; no region |
    | 11 | GE    | anna     | S1     | 1 min before | accepted, followed up, feedback: outside the period         |
    | 12 | NS    | tom      | S2     | week end     | discarded: outside the period (the end is excluded)         |
    """
    rows = [
        # n, event, receiver, sender, created, category, status, region, team_key
        (1, GE, ANNA, S1, T0, "lead", "accepted", "nordics", "nordics-sales"),
        (2, GE, ANNA, S1, T0, "lead", "accepted", "nordics", "nordics-sales"),
        (3, GE, PETRA, S1, T0, "lead", "accepted", "dach", None),
        (4, GE, PETRA, S2, T0, "prospect", "discarded", "dach", None),
        (5, GE, TOM, S2, T0, "lead", "accepted", "uk", None),
        (6, NS, TOM, S2, T0 + h(24), "prospect", "discarded", "uk", None),
        (7, NS, ANNA, S1, T0 + h(24), "prospect", "closed", "nordics", "nordics-sales"),
        (8, NS, ANNA, S2, WEEK_START, "lead", "pending", "nordics", None),
        (9, NS, PETRA, S1, T0 + h(48), "opportunity_intelligence", "accepted", "dach", None),
        (10, NS, TOM, S2, T0 + h(48), "customer_intelligence", "discarded", None, None),
    ]
    if outside:
        rows += [
            (11, GE, ANNA, S1, WEEK_START - h(1 / 60), "lead", "accepted", "nordics", "nordics-sales"),
            (12, NS, TOM, S2, WEEK_END, "lead", "discarded", "uk", None),
        ]
    accepted_after = {1: 1, 2: 3, 3: 2, 5: 10, 7: 5, 9: 40, 11: 1}  # item.accepted_at (9: the second acceptance)
    ids: dict[int, int] = {}
    with bench.db() as s:
        customer = Customer(name="Nordic Fibre AB", normalized_name="nordic fibre ab", created_at=T0)
        s.add(customer)
        s.flush()
        for n, event, receiver, sender, created, category, status, region, team in rows:
            item = Item(
                external_key=f"fixture:{n}",
                source="import",
                event_name=event,
                customer_id=customer.id,
                description=f"fixture item {n}",
                region=region,
                category=category,
                status=status,
                sender_email=sender,
                business_builder_email=sender,
                receiver_email=receiver,
                team_key=team,
                created_at=created,
                offered_at=created,
                accepted_at=created + h(accepted_after[n]) if n in accepted_after else None,
                discard_reason={4: "not_enough_info", 6: "duplicate", 10: "not_enough_info", 12: "duplicate"}.get(n),
            )
            s.add(item)
            s.flush()
            ids[n] = item.id
            s.add(ItemEvent(item_id=item.id, at=created, actor="import", kind="handed_over"))

        def event(n: int, after: float, kind: str, text: str | None = None, **detail: object) -> None:
            if n in ids:
                s.add(
                    ItemEvent(
                        item_id=ids[n], at=created_at[n] + h(after), actor="U1", kind=kind, text=text, detail=detail
                    )
                )

        def follow_up(n: int, after: float, kind: str) -> None:
            if n in ids:
                s.add(FollowUp(item_id=ids[n], by="U1", kind=kind, at=created_at[n] + h(after)))

        def feedback(n: int, after: float, **answer: object) -> None:
            if n in ids:
                s.add(Feedback(item_id=ids[n], owner_user_id="U1", asked_at=created_at[n] + h(after), **answer))

        created_at = {r[0]: r[4] for r in rows}
        for n in (1, 2, 5, 7, 11):
            event(n, accepted_after[n], "accepted")
        event(9, 24, "accepted")
        event(9, 30, "recategorized", old="lead", new="opportunity_intelligence")
        event(9, 40, "accepted")
        event(4, 6, "discarded", "The contact left no details at all.", reason="not_enough_info")
        event(6, 2, "recategorized", old="lead", new="prospect")
        event(6, 3, "discarded", "Same request as item 2, same person.", reason="duplicate")
        event(10, 4, "discarded", None, reason="not_enough_info")
        event(12, 1, "discarded", "Duplicate of an earlier one.", reason="duplicate")
        follow_up(1, 20, "contacted")
        follow_up(1, 50, "opportunity_created")
        follow_up(2, 30, "contacted")
        follow_up(5, 40, "won")
        follow_up(7, 30, "meeting_booked")
        follow_up(11, 30, "won")
        feedback(1, 300, answered_at=T0 + h(320), reached_customer=True, outcome="opportunity", usefulness=5)
        feedback(2, 300, answered_at=T0 + h(330), reached_customer=True, outcome="won", usefulness=4)
        feedback(3, 300)  # asked, never answered: not counted
        feedback(5, 300, answered_at=T0 + h(340), reached_customer=False, outcome="nothing_yet", usefulness=2)
        feedback(11, 300, answered_at=T0 + h(340), reached_customer=True, outcome="won", usefulness=1)
        s.commit()
    return ids


def compute(bench: Bench, by: str = "none", event: str | None = None) -> reports.Report:
    with bench.db() as s:
        return reports.compute(s, bench.ctx.config, WEEK_START, WEEK_END, by=by, event=event)


def figures(f: reports.Figures) -> dict[str, object]:
    return {k: v for k, v in f.row().items() if k != "group"}


# ----- (a) the figures ---------------------------------------------------------------------------


def test_the_figures_of_a_week_worked_out_by_hand(bench: Bench) -> None:
    seed(bench)
    total = compute(bench).total
    assert figures(total) == {
        "handed_over": 10,  # items 1–10: 11 is a minute early, 12 at the (excluded) end
        "accepted": 6,  # 1, 2, 3, 5, 7, 9 (9 is pending-again but was accepted)
        "accept_rate": 0.6,
        "median_accept_hours": 4.0,  # sorted 1, 2, 3, 5, 10, 24: (3 + 5) / 2
        "p90_accept_hours": 24.0,  # nearest rank ⌈0.9 × 6⌉ = 6th: 24 (item 9's *first* acceptance)
        "recategorized": 2,  # 6 and 9
        "discarded": 3,
        "justified": 2,  # 4, 6, 10 (10 has no justification)
        "reasons": {NOT_ENOUGH: 2, DUPLICATE: 1},
        "followed_up": 4,  # accepted items with a follow-up: 1, 2, 5, 7
        "follow_up_rate": 4 / 6,
        "follow_ups": 5,  # 1 has two
        "feedback": 3,  # 1, 2, 5 answered (3 was only asked)
        "usefulness": (5 + 4 + 2) / 3,
        "reached": 2,
        "opportunities": 3,  # 1 (follow-up and feedback: once), 2 (won), 5 (won)
        "won": 2,  # 2 (feedback), 5 (follow-up)
    }


def test_the_figures_by_event_receiver_team_region_category_and_sender(bench: Bench) -> None:
    seed(bench)
    by_event = {g.group: figures(g) for g in compute(bench, "event").groups}
    assert by_event == {
        GE: {
            "handed_over": 5,
            "accepted": 4,
            "accept_rate": 0.8,
            "median_accept_hours": 2.5,  # 1, 2, 3, 10
            "p90_accept_hours": 10.0,
            "recategorized": 0,
            "discarded": 1,
            "justified": 1,
            "reasons": {NOT_ENOUGH: 1},
            "followed_up": 3,
            "follow_up_rate": 0.75,
            "follow_ups": 4,
            "feedback": 3,
            "usefulness": 11 / 3,
            "reached": 2,
            "opportunities": 3,
            "won": 2,
        },
        NS: {
            "handed_over": 5,
            "accepted": 2,
            "accept_rate": 0.4,
            "median_accept_hours": 14.5,  # 5, 24
            "p90_accept_hours": 24.0,
            "recategorized": 2,
            "discarded": 2,
            "justified": 1,
            "reasons": {NOT_ENOUGH: 1, DUPLICATE: 1},
            "followed_up": 1,
            "follow_up_rate": 0.5,
            "follow_ups": 1,
            "feedback": 0,
            "usefulness": None,
            "reached": 0,
            "opportunities": 0,
            "won": 0,
        },
    }

    def split(by: str) -> dict[str, tuple]:
        return {
            g.group: (g.handed_over, g.accepted, g.median_accept_hours, g.p90_accept_hours)
            for g in compute(bench, by).groups
        }

    assert split("receiver") == {
        ANNA: (4, 3, 3.0, 5.0),  # 1, 2, 7, 8: hours 1, 3, 5
        PETRA: (3, 2, 13.0, 24.0),  # 3, 4, 9: hours 2, 24
        TOM: (3, 1, 10.0, 10.0),
    }  # 5, 6, 10: hours 10
    # anna's items name their team; petra's and tom's are found through the configured members
    assert split("team") == {
        "nordics-sales": (4, 3, 3.0, 5.0),
        "dach-sales": (3, 2, 13.0, 24.0),
        "uk-sales": (3, 1, 10.0, 10.0),
    }
    assert split("region") == {
        "nordics": (4, 3, 3.0, 5.0),
        "dach": (3, 2, 13.0, 24.0),
        "uk": (2, 1, 10.0, 10.0),
        "(no region)": (1, 0, None, None),
    }
    assert split("category") == {
        "lead": (5, 4, 2.5, 10.0),
        "prospect": (3, 1, 5.0, 5.0),
        "opportunity_intelligence": (1, 1, 24.0, 24.0),
        "customer_intelligence": (1, 0, None, None),
    }
    assert (
        split("sender")
        == split("business_builder")
        == {
            S1: (5, 5, 3.0, 24.0),  # 1, 2, 3, 7, 9
            S2: (5, 1, 10.0, 10.0),
        }
    )  # 4, 5, 6, 8, 10
    assert [g.group for g in compute(bench, "none").groups] == ["all"]


def test_one_event_by_part_of_its_name_and_wildcards_are_taken_literally(bench: Bench) -> None:
    seed(bench)
    nordic = compute(bench, event="nordic").total
    assert (nordic.handed_over, nordic.accepted, nordic.recategorized, nordic.discarded) == (5, 2, 2, 2)
    assert compute(bench, event="%").total.handed_over == 0
    assert compute(bench, event="_").total.handed_over == 0
    with pytest.raises(ValueError):
        compute(bench, by="weather")


def test_nearest_rank_percentile_and_empty_figures() -> None:
    assert reports.percentile([], 90) is None
    assert reports.percentile([7.0], 90) == 7.0
    assert reports.percentile([float(v) for v in range(1, 11)], 90) == 9.0  # ⌈9⌉
    assert reports.percentile([float(v) for v in range(1, 12)], 90) == 10.0  # ⌈9.9⌉
    empty = reports.Figures("total")
    assert (empty.accept_rate, empty.median_accept_hours, empty.follow_up_rate, empty.usefulness_mean) == (
        None,
        None,
        None,
        None,
    )


# ----- (b) handover report and its CSV -------------------------------------------------------------


def cli(bench: Bench, *args: str) -> object:
    from bot.cli import app

    env = {"DATABASE_URL": bench.ctx.settings.database_url, "HANDOVER_CONFIG": "", "COLUMNS": "200"}
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_handover_report_prints_the_table_and_writes_csv_with_formulas_defused(
    bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = seed(bench)
    hostile = {GE: '=HYPERLINK("http://evil.example","click")', NS: "@SUM(1+1)*cmd"}
    with bench.db() as s:
        for _n, item_id in ids.items():
            item = s.get(Item, item_id)
            item.event_name = hostile[item.event_name]
            s.add(item)
        s.commit()
    out = tmp_path / "week.csv"
    monkeypatch.setattr(
        console, "_width", 120
    )  # a terminal wide enough for the table (undone to "ask the terminal", not to a fixed 80)
    result = cli(bench, "report", "--from", "2026-03-02", "--to", "2026-03-09", "--by", "event", "--csv", str(out))
    assert "Handover report · Mon 2 Mar 2026 – Sun 8 Mar 2026 · by event" in result.output
    [total_line] = [line for line in result.output.splitlines() if line.strip().startswith("total")]
    assert total_line.split() == [
        "total",
        "10",
        "6",
        "(60%)",
        "4.0/24.0",
        "2/3",
        "4",
        "(67%)",
        "5",
        "3.7",
        "(3)",
        "3/2",
    ]
    assert NOT_ENOUGH in result.output and f"Wrote {out}." in result.output

    rows = read_csv(out)
    assert [r["event"] for r in rows] == ["'" + hostile[GE], "'" + hostile[NS], "total"]
    ge, ns, total = rows
    assert {
        k: total[k]
        for k in (
            "handed_over",
            "accepted",
            "accept_rate_pct",
            "median_hours_to_accept",
            "p90_hours_to_accept",
            "recategorized",
            "discarded",
            "discarded_justified",
            "followed_up",
            "follow_up_rate_pct",
            "follow_ups",
            "feedback_answers",
            "usefulness_mean",
            "reached_customer",
            "opportunities",
            "won",
            f"discarded: {NOT_ENOUGH}",
            f"discarded: {DUPLICATE}",
        )
    } == {
        "handed_over": "10",
        "accepted": "6",
        "accept_rate_pct": "60.0",
        "median_hours_to_accept": "4.0",
        "p90_hours_to_accept": "24.0",
        "recategorized": "2",
        "discarded": "3",
        "discarded_justified": "2",
        "followed_up": "4",
        "follow_up_rate_pct": "66.7",
        "follow_ups": "5",
        "feedback_answers": "3",
        "usefulness_mean": "3.67",
        "reached_customer": "2",
        "opportunities": "3",
        "won": "2",
        f"discarded: {NOT_ENOUGH}": "2",
        f"discarded: {DUPLICATE}": "1",
    }
    assert (ge["accept_rate_pct"], ge["median_hours_to_accept"], ns["accept_rate_pct"], ns["usefulness_mean"]) == (
        "80.0",
        "2.5",
        "40.0",
        "",
    )
    assert total["period_from"] == "2026-03-01T23:00:00+00:00" and total["period_to"] == "2026-03-08T23:00:00+00:00"
    raw = out.read_text(encoding="utf-8")
    assert "\n=" not in raw and ",=" not in raw and ",@" not in raw and '"=' not in raw and '"@' not in raw


@pytest.mark.parametrize(
    "value, cell",
    [
        ("=1+1", "'=1+1"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain = text", "plain = text"),
        ("", ""),
        (None, ""),
        (3, 3),
        (2.5, 2.5),
        (True, "yes"),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_get_an_apostrophe(value: object, cell: object) -> None:
    assert csvsafe.cell(value) == cell


# ----- (c) /handover stats ----------------------------------------------------------------------------


def stats(bench: Bench, text: str) -> dict:
    user = bench.user(ANNA)
    r = bench.agent.command(user=user, command="/handover", text=text)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["response_type"] == "ephemeral"
    assert validate_blocks(body["blocks"]) == []
    return body


def shown(body: dict) -> str:
    """What a person reads: every text of every block."""
    parts = []
    for block in body["blocks"]:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                parts.append(block[key]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [e["text"] for e in block.get("elements", []) if "text" in e]
    return "\n".join(parts)


def test_stats_shows_the_last_30_days_by_event(bench: Bench) -> None:
    seed(bench, outside=False)
    bench.clock.set(T0 + timedelta(days=10))
    body = stats(bench, "stats")
    assert body["text"] == ":bar_chart: Handover figures, in the last 30 days: 10 handed over, 60% accepted."
    seen = shown(body)
    for line in [
        "Handover figures · last 30 days",
        "*Handed over*\n10 items",
        "*Accepted*\n6 · *60%* (field average 42%)",
        "*Time to accept*\nmedian 4 h · 90% within 24 h",
        "*Recategorized / discarded*\n2 / 3 (2 with a justification)",
        "*Followed up*\n4 of 6 accepted (67%) · 5 follow-ups",
        "*Feedback*\nusefulness 3.7/5 from 3 answers · 2 reached the customer",
        "*Outcome*\n3 opportunities · 2 won",
        f"• {NOT_ENOUGH}: 2\n• {DUPLICATE}: 1",
        "*By event*",
        f"• *{GE}*: 5 handed over · 80% accepted · median 2 h 30 min · 3 followed up · 3 opportunities",
        f"• *{NS}*: 5 handed over · 40% accepted · median 14 h 30 min · 1 followed up · 0 opportunities",
    ]:
        assert line in seen, line
    # 40 days later the same items are out of the window
    bench.clock.set(T0 + timedelta(days=40))
    assert stats(bench, "stats")["text"] == ":bar_chart: No items were handed over in the last 30 days."


def test_stats_for_one_event_is_split_by_category(bench: Bench) -> None:
    seed(bench, outside=False)
    bench.clock.set(T0 + timedelta(days=10))
    seen = shown(stats(bench, "stats NORDIC summit"))
    assert "*Handed over*\n5 items" in seen and "*Accepted*\n2 · *40%*" in seen
    assert "*By category*" in seen
    assert "• *lead*: 1 handed over · 0% accepted · median – · 0 followed up · 0 opportunities" in seen
    body = stats(bench, "stats <Fake & Event>")
    assert body["text"] == (
        ":bar_chart: No items were handed over for an event matching “&lt;Fake &amp; Event&gt;” in the last 30 days."
    )


# ----- (d) the weekly chart ---------------------------------------------------------------------------


def uploads(bench: Bench) -> list:
    return [f for f in bench.fake.files.values() if f.completed]


def test_the_weekly_chart_is_uploaded_to_the_reports_channel_once(bench: Bench) -> None:
    seed(bench)
    bench.clock.set(datetime(2026, 3, 9, 7, 0, tzinfo=UTC))  # Monday 08:00 in Stockholm: before 08:30
    scheduler.tick(bench.ctx)
    bench.deliver()
    assert uploads(bench) == []
    bench.clock.set(datetime(2026, 3, 9, 7, 31, tzinfo=UTC))  # the first tick after Monday 08:30
    scheduler.tick(bench.ctx)
    bench.deliver()
    bench.clock.set(datetime(2026, 3, 9, 7, 32, tzinfo=UTC))
    scheduler.tick(bench.ctx)  # and again: nothing new
    assert weekly_chart.run(bench.ctx) is False
    bench.deliver()
    [chart] = uploads(bench)
    assert chart.channel == "C0HANDOVERREPORTS"
    assert chart.content.startswith(PNG_MAGIC) and len(chart.content) == chart.length > 10_000
    assert chart.filename == "handover-2026-W10.png" and chart.title == "Handover · week 2026-W10"
    assert chart.initial_comment.startswith(
        ":bar_chart: *Handover week 2026-W10* (Mon 2 Mar 2026 – Sun 8 Mar 2026): 10 handed over, 6 accepted (60%; "
        "field average 42%), 4 followed up, 3 opportunities. Time to accept: median 4 h, 90% within 24 h."
    )
    assert [c.method for c in bench.fake.calls if c.method.startswith("files.")] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    [row] = [r for r in bench.outbox() if r.kind == "file"]
    assert row.idempotency_key == "chart:2026-W10" and row.status == "sent"
    assert "png" not in json.dumps(row.payload).lower()  # the image is rendered when sent, not stored
    # the next week charts the next week
    bench.clock.set(datetime(2026, 3, 16, 9, 0, tzinfo=UTC))
    assert weekly_chart.run(bench.ctx) is True
    assert [r.idempotency_key for r in bench.outbox() if r.kind == "file"] == ["chart:2026-W10", "chart:2026-W11"]


def test_two_schedulers_at_once_queue_one_chart(bench: Bench) -> None:
    """Another scheduler has queued the chart in a transaction still open when this one runs: on
    PostgreSQL this run's insert waits on the unique key and then fails (caught in its savepoint),
    on SQLite it waits for the write lock and then finds the row. Either way: one chart."""
    now = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    bench.clock.set(now)
    week = weekly_chart.due(bench.ctx.config, now)
    results: list[bool] = []
    with Session(bench.ctx.engine) as other:
        outbox.enqueue(
            other,
            messages.File(
                what="weekly_chart",
                channel="C0HANDOVERREPORTS",
                week=week.label,
                start=week.start.isoformat(),
                end=week.end.isoformat(),
            ),
            key=week.key,
            now=now,
            channel_key="C0HANDOVERREPORTS",
        )
        other.flush()
        run = threading.Thread(target=lambda: results.append(weekly_chart.run(bench.ctx)))
        run.start()
        run.join(timeout=0.5)  # let it reach the point where it waits for the other transaction
        other.commit()
    run.join()
    assert results == [False]
    assert weekly_chart.run(bench.ctx) is False
    assert [r.idempotency_key for r in bench.outbox()] == ["chart:2026-W10"]


def test_no_chart_without_a_reports_channel_or_for_an_empty_week(bench: Bench) -> None:
    bench.clock.set(datetime(2026, 3, 9, 8, 0, tzinfo=UTC))
    bench.ctx.config = parse("channels: {reports: null}")
    assert weekly_chart.run(bench.ctx) is False
    bench.ctx.config = bench.default_config
    assert weekly_chart.run(bench.ctx) is True  # queued: but nothing was handed over that week
    bench.deliver()
    assert uploads(bench) == []
    [row] = bench.outbox()
    assert row.status == "sent" and row.result == {"skipped": "nothing was handed over that week"}


# ----- (e) an item's history for a CRM ------------------------------------------------------------------


def test_an_items_history_exports_as_json_and_csv(bench: Bench) -> None:
    item_id = hand_over(bench, customer="Acme AB", description="=cmd|' /C calc'!A0 wants 40 switches")
    accept(bench, item_id)
    owner = bench.item(item_id).owner_user_id
    with bench.db() as s:
        q = Question(
            item_id=item_id, asked_by=owner, text="Which site?", asked_at=T0 + h(1), open=False, answered_at=T0 + h(2)
        )
        s.add(q)
        s.flush()
        s.add(QuestionMessage(question_id=q.id, author="U2", text="+46 site in Kista", at=T0 + h(2)))
        s.add(FollowUp(item_id=item_id, by=owner, kind="contacted", note="Called Eva", at=T0 + h(3)))
        s.add(
            Feedback(
                item_id=item_id,
                owner_user_id=owner,
                asked_at=T0 + h(300),
                answered_at=T0 + h(301),
                reached_customer=True,
                outcome="opportunity",
                usefulness=5,
                comment="Great lead",
                by=owner,
            )
        )
        s.commit()

    data = json.loads(cli(bench, "export", str(item_id), "--format", "json").stdout)
    [record] = data["items"]
    assert record["item"]["id"] == item_id and record["item"]["status"] == "accepted"
    assert record["item"]["customer"]["name"] == "Acme AB"
    assert record["item"]["description"].startswith("=cmd")  # JSON carries the data as it is
    assert [e["kind"] for e in record["events"]] == [e.kind for e in bench.trail(item_id)]
    assert {"handed_over", "accepted"} <= {e["kind"] for e in record["events"]}
    assert record["questions"][0]["messages"] == [
        {"at": (T0 + h(2)).isoformat(), "author": "U2", "text": "+46 site in Kista"}
    ]
    assert record["follow_ups"] == [
        {"at": (T0 + h(3)).isoformat(), "by": owner, "kind": "contacted", "note": "Called Eva"}
    ]
    assert record["feedback"]["usefulness"] == 5 and record["feedback"]["outcome"] == "opportunity"

    rows = list(csv.DictReader(io.StringIO(cli(bench, "export", str(item_id), "--format", "csv").stdout)))
    assert {r["item_id"] for r in rows} == {str(item_id)} and {r["customer"] for r in rows} == {"Acme AB"}
    assert [r["record"] for r in rows] == (
        ["item"] + ["event"] * len(record["events"]) + ["question", "message", "follow_up", "feedback"]
    )
    assert rows[0]["text"] == "'=cmd|' /C calc'!A0 wants 40 switches"  # defused for spreadsheets
    assert rows[-3]["text"] == "'+46 site in Kista"
    assert json.loads(rows[-1]["detail"]) == {"answered": True, "reached_customer": True, "usefulness": 5}

    everything = json.loads(cli(bench, "export", "--all", "--since", "2026-03-02").stdout)
    assert [r["item"]["id"] for r in everything["items"]] == [item_id]
    assert json.loads(cli(bench, "export", "--all", "--since", "2026-03-03").stdout)["items"] == []
