"""What an operator reads on ``/metrics`` when an API process answers slowly, and what
``python -m bench intake`` reports from it: how late the event loop runs what is due,
and how long an intake's own steps took (server/loop_lag.py,
``service.INTAKE_STAGE``)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bench.common import parse_histograms, quantile, server_view
from bench.intake import SERVER_SERIES
from tests.conftest import BACKEND, auth

pytestmark = pytest.mark.usefixtures("topics")

TAX_QUESTION = "我们是小规模纳税人，增值税发票怎么申报？需要准备什么材料？"


async def _scrape(client) -> dict:
    resp = await client.get("/metrics")
    assert resp.status == 200
    return parse_histograms(await resp.text())


async def test_the_event_loop_lag_is_measured_while_the_process_runs(api):
    before = await _scrape(api.client)
    await asyncio.sleep(0.35)  # a timer every 50 ms
    seen = server_view(before, await _scrape(api.client), {"loop_lag": SERVER_SERIES["loop_lag"]})
    assert seen["loop_lag"]["count"] >= 3
    # An idle test process runs its timers within a few milliseconds of their time.
    assert 0 <= seen["loop_lag"]["p50"] < 100


async def test_an_intake_reports_its_steps_and_its_request(api):
    token, _ = await api.owner("server-view-owner")
    before = await _scrape(api.client)
    resp = await api.client.post("/api/v1/consultations", json={"content": TAX_QUESTION},
                                 headers=auth(token) | {"Idempotency-Key": str(uuid.uuid4())})
    assert resp.status == 201
    seen = server_view(before, await _scrape(api.client), SERVER_SERIES)
    # On PostgreSQL the case went in one statement of the group writer (its round trip is
    # ``group_write``); on SQLite it was written step by step, with no such statement.
    assert {k: v["count"] for k, v in seen.items() if k != "loop_lag"} == {
        "request": 1, "classify": 1, "content_check": 1, "write": 1, "group_write": int(BACKEND == "pg")}
    for step in ("request", "classify", "content_check", "write"):
        assert seen[step]["p50"] is not None and seen[step]["p50"] >= 0
    # The steps are parts of the request: none took longer than the bucket holding it.
    assert seen["write"]["p99"] <= 2500 and seen["request"]["p99"] <= 2500


async def test_a_refused_question_is_not_counted_as_written(api):
    token, _ = await api.owner("server-view-risky")
    before = await _scrape(api.client)
    resp = await api.client.post("/api/v1/consultations", json={"content": "请问哪里可以代开发票，价格好商量"},
                                 headers=auth(token) | {"Idempotency-Key": str(uuid.uuid4())})
    assert resp.status == 422
    seen = server_view(before, await _scrape(api.client), SERVER_SERIES)
    assert seen["content_check"]["count"] == 1 and seen["write"]["count"] == 0 and seen["group_write"]["count"] == 0


def test_quantiles_are_interpolated_within_their_bucket():
    buckets = {0.01: 50.0, 0.02: 90.0, 0.04: 99.0, 0.08: 100.0, float("inf"): 100.0}
    assert quantile(buckets, 0.5) == pytest.approx(0.01)
    assert quantile(buckets, 0.7) == pytest.approx(0.015)
    assert quantile(buckets, 0.99) == pytest.approx(0.04)
    # beyond the last finite bound: that bound, as Prometheus answers
    assert quantile({0.01: 1.0, float("inf"): 10.0}, 0.99) == 0.01
    assert quantile({0.01: 0.0, float("inf"): 0.0}, 0.5) is None


def test_the_report_takes_the_difference_between_two_scrapes():
    key = ("sz_intake_stage_seconds", (("stage", "write"),))
    before = {key: {0.01: 10.0, 0.02: 10.0, float("inf"): 10.0}}
    after = {key: {0.01: 10.0, 0.02: 14.0, float("inf"): 14.0}}
    seen = server_view(before, after, {"write": ("sz_intake_stage_seconds", {"stage": "write"}),
                                       "missing": ("nothing_here", {})})
    # only the 4 observations made between the scrapes, all between 10 and 20 ms
    assert seen["write"] == {"p50": 15.0, "p99": 19.9, "count": 4}
    assert seen["missing"] == {"p50": None, "p99": None, "count": 0}


def test_the_bench_reads_how_the_event_loop_spent_its_time():
    import os
    import time

    from bench.intake import _loop_time, _schedstat

    pid = os.getpid()
    before = _schedstat(pid)
    if before is None:  # not Linux, or a kernel without schedstat: the JSON says null
        assert _loop_time(pid, before, 1.0) is None
        return
    started = time.monotonic()
    while time.monotonic() - started < 0.2:  # this thread busy the whole time
        pass
    spent = _loop_time(pid, before, time.monotonic() - started)
    assert spent["running"] + spent["waiting_for_cpu"] >= 0.8
    assert spent["running"] + spent["waiting_for_cpu"] + spent["idle"] == pytest.approx(1.0, abs=0.06)
