"""``python -m bench intake``'s headroom: the rate the p99 target needs at a run's latency
shape, against the rates the host's CPU allows (figures from a real run of this bench)."""

from __future__ import annotations

from bench.intake import headroom

#: cpu_us_per_intake of a run at 518.6 intakes/s, p99 167.08 ms, on a 2-core host
RUN_CPU = {"server": 1809.3, "postgres": 836.5, "sandbox": 232.2, "wrk": 75.5}


def test_a_run_far_from_the_target_says_the_host_cannot_reach_it():
    room = headroom(518.6, 167.08, RUN_CPU, processes=1, cores=2)
    # Latency at 64 busy connections scales as 1 / rate: 518.6 × 167.08 / 100.
    assert room["needed_rps"] == 866.5
    assert room["server_cpu_ceiling_rps"] == 552.7  # 1e6 / 1809.3
    assert room["machine_cpu_ceiling_rps"] == 677.2  # 2e6 / 2953.5
    assert room["within_reach"] is False


def test_a_faster_host_or_cheaper_intake_is_within_reach():
    halved = {k: v / 2 for k, v in RUN_CPU.items()}
    room = headroom(900.0, 105.0, halved, processes=1, cores=2)
    assert room["needed_rps"] == 945.0
    assert room["server_cpu_ceiling_rps"] == 1105.4
    assert room["machine_cpu_ceiling_rps"] == 1354.3
    assert room["within_reach"] is True


def test_more_processes_raise_the_loop_ceiling_but_not_the_machine_one():
    one = headroom(518.6, 167.08, RUN_CPU, processes=1, cores=2)
    two = headroom(518.6, 167.08, RUN_CPU, processes=2, cores=2)
    assert two["server_cpu_ceiling_rps"] == 1105.4  # each process's loop on a core of its own
    assert two["machine_cpu_ceiling_rps"] == one["machine_cpu_ceiling_rps"]
    assert two["within_reach"] is False  # 866.5 needed, 677.2 the machine's ceiling


def test_a_run_without_cpu_figures_claims_nothing():
    room = headroom(500.0, 120.0, {}, processes=1, cores=2)
    assert room["server_cpu_ceiling_rps"] is None and room["machine_cpu_ceiling_rps"] is None
    assert room["within_reach"] is False
