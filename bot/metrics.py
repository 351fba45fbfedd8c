"""Prometheus metrics (text format at ``/metrics``), via prometheus-client.

- Queue figures are gauges read from the database at scrape time (``OutboxCollector``), so every
  replica answers the same: messages waiting and dead per kind, the age of the oldest waiting one.
- What this process's dispatcher did are counters (per process, as Prometheus expects; sum them
  over the replicas): messages sent, retries, rows given up as dead, unchecked re-sends.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.context import Context
from bot.db import transaction

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# this process's counters live in their own registry (not the global one): a test run may build
# several apps in one process, and each must be able to expose them
PROCESS = CollectorRegistry(auto_describe=True)
SENT = Counter(
    "handover_outbox_sent", "Messages the outbox delivered (or found already delivered)", ["kind"], registry=PROCESS
)
RETRIES = Counter("handover_outbox_retries", "Failed attempts put back for a later try", ["kind"], registry=PROCESS)
DEAD = Counter(
    "handover_outbox_dead", "Rows given up as dead (permanent error, or past the horizon)", ["kind"], registry=PROCESS
)
UNCHECKED = Counter(
    "handover_outbox_unchecked_resends",
    "Uncertain sends posted again without the duplicate check (Slack refused the look)",
    ["kind"],
    registry=PROCESS,
)


class OutboxCollector(Collector):
    """The queue as the database has it now."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        from bot.outbox_admin import by_kind

        with transaction(self.ctx.engine) as session:
            figures = by_kind(session, self.ctx.clock.now())
        pending = GaugeMetricFamily("handover_outbox_pending", "Messages waiting to be sent", labels=["kind"])
        dead = GaugeMetricFamily(
            "handover_outbox_dead_rows",
            "Messages given up, waiting for `handover outbox retry` or `discard`",
            labels=["kind"],
        )
        oldest = GaugeMetricFamily(
            "handover_outbox_oldest_pending_seconds",
            "Age of the oldest message waiting to be sent (0 when none waits)",
            labels=["kind"],
        )
        for f in figures:
            pending.add_metric([f.kind], f.pending)
            dead.add_metric([f.kind], f.dead)
            oldest.add_metric([f.kind], f.oldest_pending_seconds or 0.0)
        total_pending = GaugeMetricFamily(
            "handover_outbox_depth", "Messages waiting to be sent, all kinds", value=sum(f.pending for f in figures)
        )
        ages = [f.oldest_pending_seconds for f in figures if f.oldest_pending_seconds is not None]
        total_oldest = GaugeMetricFamily(
            "handover_outbox_oldest_age_seconds",
            "Age of the oldest message waiting to be sent, all kinds",
            value=max(ages) if ages else 0.0,
        )
        yield from (pending, dead, oldest, total_pending, total_oldest)


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


def registry_for(ctx: Context) -> CollectorRegistry:
    """One app's registry: its database's queue and this process's counters."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OutboxCollector(ctx))
    registry.register(_Forward(PROCESS))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
