"""The dashboard's pure cores: the stated tests behave as stated, on generated data."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.insights import analysis as A


# ---------------------------------------------------------------- trends

@given(st.lists(st.integers(0, 1000), max_size=30))
def test_week_over_week_is_relative_to_the_previous_week(values):
    wow = A.week_over_week(values)
    assert len(wow) == len(values)
    for i, c in enumerate(wow):
        if i == 0 or values[i - 1] == 0:
            assert c is None
        else:
            assert math.isclose(values[i - 1] * (1 + c), values[i], abs_tol=values[i - 1] * 1e-4)


# ---------------------------------------------------------------- rising topics

def test_poisson_upper_p_equals_the_tail_sum():
    lam = 3.2
    for x in range(0, 15):
        tail = 1 - sum(math.exp(-lam) * lam ** k / math.factorial(k) for k in range(x))
        assert math.isclose(A.poisson_upper_p(x, lam), tail, abs_tol=1e-9)


def test_a_spike_is_the_first_rising_topic_and_steady_topics_do_not_rise():
    rng = random.Random(3)
    weekly = {f"t{i}": [sum(rng.random() < 0.2 for _ in range(50)) for _ in range(9)] for i in range(20)}
    weekly["spike"] = [4, 6, 5, 3, 5, 4, 6, 5, 22]
    ranked = A.rising_topics(weekly)
    assert ranked[0]["topic_code"] == "spike" and ranked[0]["rising"]
    assert ranked[0]["baseline_mean"] == 4.75 and ranked[0]["this_week"] == 22
    assert [r["topic_code"] for r in ranked if r["rising"]] == ["spike"]


def test_small_counts_never_rise_even_from_nothing():
    ranked = A.rising_topics({"new": [0] * 8 + [4], "big": [0] * 8 + [5]})
    assert {r["topic_code"]: r["rising"] for r in ranked} == {"new": False, "big": True}


@given(st.lists(st.integers(0, 40), min_size=2, max_size=10), st.integers(0, 60))
def test_more_this_week_never_makes_a_topic_less_significant(base, x):
    lo = A.rising_topics({"a": [*base, x]})[0]
    hi = A.rising_topics({"a": [*base, x + 1]})[0]
    assert 0 <= hi["p_value"] <= lo["p_value"] <= 1
    assert hi["rising"] >= lo["rising"]


# ---------------------------------------------------------------- emerging topics

def test_clusters_find_the_groups_and_their_terms():
    rng = random.Random(1)
    groups = {"跨境": ["跨境", "电商", "出口", "退税", "海外仓"], "直播": ["直播", "带货", "主播", "平台", "佣金"],
              "低空": ["无人机", "低空", "空域", "飞行", "申报"]}
    docs, truth = [], []
    for g, words in groups.items():
        for _ in range(12):
            docs.append(rng.sample(words, 3) + [rng.choice(["请问", "怎么办"])])
            truth.append(g)
    clusters = A.cluster_questions(docs)
    assert len(clusters) == 3 and sum(c["size"] for c in clusters) == 36
    for c in clusters:
        labels = {truth[i] for i in c["members"]}
        assert len(labels) == 1  # each cluster is one group
        assert set(c["terms"][:3]) <= set(groups[labels.pop()])
        assert 1 < c["k"] + 1 and -1 <= c["silhouette"] <= 1


def test_too_few_questions_make_no_clusters():
    assert A.cluster_questions([["社保"], ["税"], [], ["社保"]]) == []


# ---------------------------------------------------------------- friction

item_stats = st.builds(
    lambda i, cases, r, o, cs, cc, rated, poor, m, s, aud: A.ItemStats(
        i, cases, min(r, cases), min(o, cases), cs, cc, rated, min(poor, rated), {"materials": m, "steps": s}, aud),
    st.integers(1, 10_000), st.integers(0, 500), st.integers(0, 500), st.integers(0, 500),
    st.integers(0, 10 ** 8), st.integers(0, 500), st.integers(0, 500), st.integers(0, 500),
    st.integers(0, 50), st.integers(0, 50), st.integers(0, 10 ** 5))


@given(st.lists(item_stats, max_size=12, unique_by=lambda s: s.item_id))
def test_friction_scores_are_bounded_and_ranked(items):
    ranked = A.friction_index(items)
    assert len(ranked) == sum(s.cases >= 3 for s in items)
    scores = [r["score"] for r in ranked]
    assert scores == sorted(scores, reverse=True)
    for r in ranked:
        assert 0 <= r["score"] <= 100
        assert all(r["components"][d] >= 0.5 for d in r["drivers"])


def test_the_item_worst_on_everything_tops_the_index_and_names_its_elements():
    good = A.ItemStats(1, 10, 0, 0, 3600 * 10, 10, 10, 0, {}, 1000)
    mid = A.ItemStats(2, 20, 2, 2, 3600 * 40, 20, 10, 2, {"steps": 1}, 1000)
    bad = A.ItemStats(3, 40, 20, 10, 3600 * 400, 40, 10, 8, {"materials": 9, "fees": 2, "other": 5}, 1000)
    ranked = A.friction_index([good, mid, bad])
    assert [r["service_item_id"] for r in ranked] == [3, 2, 1]
    assert ranked[0]["score"] == 100 and ranked[-1]["score"] == 0
    assert ranked[0]["cases_per_1000"] == 40 and ranked[0]["repeat_share"] == 0.5
    assert ranked[0]["elements"] == [{"element": "materials", "count": 9}, {"element": "fees", "count": 2}]
    assert set(ranked[0]["drivers"]) == set(A.FRICTION_COMPONENTS)


# ---------------------------------------------------------------- bundles

def _naive_bundles(events, depts, window, min_ent):
    """Brute force: an enterprise has a set if some event starts a window holding all of it."""
    by: dict = {}
    for e, i, at in events:
        by.setdefault(e, []).append((at, i))
    counts: dict = {}
    single: dict = {}
    for e, evs in by.items():
        for i in {i for _, i in evs}:
            single[i] = single.get(i, 0) + 1
        have = set()
        for start, _ in evs:
            inside = sorted({i for at, i in evs if start <= at <= start + timedelta(days=window)})
            for size in (2, 3):
                for combo in combinations(inside, size):
                    if len({depts[i] for i in combo}) >= 2:
                        have.add(combo)
        for c in have:
            counts[c] = counts.get(c, 0) + 1
    n = len(by)
    return {c: (k, (k / n) / math.prod(single[i] / n for i in c)) for c, k in counts.items() if k >= min_ent}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 12), st.integers(1, 6), st.integers(0, 120)), max_size=80),
       st.integers(1, 4))
def test_bundles_match_a_brute_force_count(raw, min_ent):
    depts = {1: 10, 2: 10, 3: 20, 4: 20, 5: 30, 6: 30}
    t0 = datetime(2025, 1, 1)
    events = [(e, i, t0 + timedelta(days=d)) for e, i, d in raw]
    got = A.bundle_candidates(events, depts, min_enterprises=min_ent)
    want = _naive_bundles(events, depts, 30, min_ent)
    assert {tuple(b["items"]): b["enterprises"] for b in got} == {c: k for c, (k, _) in want.items()}
    for b in got:
        assert math.isclose(b["lift"], want[tuple(b["items"])][1], rel_tol=1e-2)
        assert b["departments"] >= 2
    assert [b["support"] for b in got] == sorted((b["support"] for b in got), reverse=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 14), st.integers(0, 40)), min_size=20, max_size=200))
def test_pairs_are_counted_exactly_even_in_windows_crowded_with_items(raw):
    """Up to 14 items per enterprise within a month: more than a window's triples are
    taken from, but every pair is still counted (the busiest enterprises must not lose
    the pairs of their higher-numbered items)."""
    depts = {i: 10 * (1 + i % 4) for i in range(1, 15)}
    t0 = datetime(2025, 1, 1)
    events = [(e, i, t0 + timedelta(days=d)) for e, i, d in raw]
    got = A.bundle_candidates(events, depts, min_enterprises=1)
    want = _naive_bundles(events, depts, 30, 1)
    assert {tuple(b["items"]): b["enterprises"] for b in got if b["size"] == 2} == \
        {c: k for c, (k, _) in want.items() if len(c) == 2}


def test_days_work_as_well_as_times():
    depts = {1: 1, 2: 2}
    d0 = date(2025, 3, 1)
    events = [(e, 1, d0) for e in range(5)] + [(e, 2, d0 + timedelta(days=30)) for e in range(5)]
    got = A.bundle_candidates(events, depts, min_enterprises=5)
    assert [(b["items"], b["enterprises"]) for b in got] == [([1, 2], 5)]
    assert A.bundle_candidates(events, depts, min_enterprises=5, window_days=29) == []


def test_items_needed_together_have_lift_above_one_and_far_apart_do_not_count():
    depts = {1: 1, 2: 2, 3: 3, 4: 1}
    t0 = datetime(2025, 3, 1)
    events = []
    for e in range(10):  # 1 and 2 within a week
        events += [(e, 1, t0), (e, 2, t0 + timedelta(days=5))]
    for e in range(10, 30):  # 3 alone, or 1 and 3 two months apart
        events += [(e, 3, t0)] + ([(e, 1, t0 + timedelta(days=60))] if e < 16 else [])
    events += [(e, 4, t0) for e in range(30, 36)] + [(0, 4, t0)]  # 1 and 4: same department
    got = A.bundle_candidates(events, depts, min_enterprises=5)
    assert [(b["items"], b["enterprises"]) for b in got] == [([1, 2], 10)]
    assert got[0]["lift"] > 1 and got[0]["support"] == round(10 / 36, 4)


# ---------------------------------------------------------------- evaluation

def test_a_real_drop_is_beyond_noise_and_no_change_is_not():
    before = {"cases": 200, "overdue": 60, "repeats": 40}
    after = {"cases": 120, "overdue": 6, "repeats": 24}
    res = {r["metric"]: r for r in A.evaluate(before, after, ["cases", "overdue_share", "repeat_share"])}
    assert res["cases"]["change"] == -80 and res["cases"]["beyond_noise"]
    assert res["overdue_share"]["before"] == 0.3 and res["overdue_share"]["after"] == 0.05
    assert res["overdue_share"]["beyond_noise"] and res["overdue_share"]["test"] == "two_proportion_z"
    assert res["repeat_share"]["change"] == 0 and not res["repeat_share"]["beyond_noise"]


@given(st.integers(0, 500), st.integers(0, 500))
def test_rate_ratio_test_is_symmetric(a, b):
    assert math.isclose(A.rate_ratio_test(a, b), A.rate_ratio_test(b, a))
    assert 0 <= A.rate_ratio_test(a, b) <= 1


@given(st.integers(1, 400), st.integers(0, 400))
def test_equal_shares_are_never_significant(n, x):
    x = min(x, n)
    assert A.two_proportion_test(x, n, x, n) == 1.0
    assert A.two_proportion_test(x, n, x, 0) is None


@given(st.dates(date(2024, 1, 1), date(2026, 1, 1)), st.integers(-5, 400))
def test_equal_windows_are_equal_and_adjacent(go_live, days):
    w = A.equal_windows(go_live, go_live + timedelta(days=days))
    if days < 1:
        assert w is None
        return
    (b0, b1), (a0, a1) = w
    assert (b1 - b0) == (a1 - a0) and b1 + timedelta(days=1) == go_live == a0
    assert (a1 - a0).days + 1 == min(days, 90)


@pytest.mark.parametrize("lam", [0.5, 1, 3.2, 8, 40, 250, 3000])
def test_the_poisson_tail_agrees_with_scipy(lam):
    from scipy import stats

    for x in sorted({0, 1, 2, 5, int(lam) - 1, int(lam), int(lam) + 1, int(lam * 1.5) + 3, int(lam * 3) + 10}):
        if x < 0:
            continue
        want = 1.0 if x <= 0 else float(stats.poisson.sf(x - 1, lam))
        assert math.isclose(A.poisson_upper_p(x, lam), want, rel_tol=1e-9, abs_tol=1e-15), (x, lam)
