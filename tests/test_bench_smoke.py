"""The ack-latency benchmark (bench/ack_latency.py) runs end to end.

Only that it completes and every request was acked with a 200: timings are not asserted here
(a loaded CI machine says nothing about the code); run the benchmark itself to read them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.ack_latency import render, run
from bench.common import emit


@pytest.mark.slow
def test_the_ack_benchmark_completes_with_both_series(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    results = run(requests=20, concurrency=2, warmup=2, rounds=1, log=lambda _: None)
    emit("ack", results, out)
    render(results)  # the table renders

    [written] = json.loads(out.read_text())["rounds"]
    assert written["series"].keys() >= {"baseline", "handover"}
    for name, series in written["series"].items():
        for mode in ("sequential", "concurrent"):
            run_ = series[mode]
            assert run_["requests"] == 20, (name, mode)
            assert run_["status_counts"] == {"200": 20}, (name, mode, run_["status_counts"])
            assert run_["latency_ms"]["p50"] is not None
    # Handover really did the work it acked: one checklist event per tick (warm-up included)
    assert written["handover_db"]["checklist_events_added"] == 2 + 20 + 20
