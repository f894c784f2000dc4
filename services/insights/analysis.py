"""The dashboard's analyses — pure cores (no I/O), fed by ``services.insights.views``.

Each function takes plain numbers or tuples and returns plain dicts, so the statistics
can be tested on generated tables (tests/unit/test_insights_analysis.py) without a
database, and the same core serves the API, the XLSX export and the proposal evaluation.

Tests used, stated once here and in the API's descriptions:

* **Rising topics** — this week's count ``x`` against the mean ``λ`` of the previous
  ``BASELINE_WEEKS`` weeks, under a Poisson model: one-sided ``p = P(X ≥ x | λ)``.
  A topic is flagged when ``x ≥ MIN_RISING_COUNT`` (a spike of 2 questions is news to no
  one) and ``p`` is below ``ALPHA`` divided by the number of topics tested (Bonferroni:
  with 30 topics, one would otherwise "rise" by chance every other week). ``λ`` is
  floored at 0.5 so that a topic new this week is tested against "about nothing".
* **Redesign evaluation** — equal windows before and after go-live. Counts: the Poisson
  rate-ratio test conditional on the total (``after ~ Binomial(n, ½)`` under no change),
  two-sided. Shares (on time, overdue, repeats, poor ratings): the two-proportion z-test
  with pooled variance, two-sided. Times (median close): the change is shown but not
  tested — the histogram sketch carries no variance. "Beyond noise" means ``p < ALPHA``.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import combinations


ALPHA = 0.05
BASELINE_WEEKS = 8
MIN_RISING_COUNT = 5
LAMBDA_FLOOR = 0.5
ELEMENTS = ("materials", "steps", "time_limit", "fees")


# ---------------------------------------------------------------- trends

def week_over_week(values: Sequence[int]) -> list[float | None]:
    """Relative change of each week against the one before (0.25 = +25 %); None for the
    first week and after a week of zero (a change from nothing has no ratio)."""
    return [None if i == 0 or not values[i - 1] else round((v - values[i - 1]) / values[i - 1], 4)
            for i, v in enumerate(values)]


# ---------------------------------------------------------------- rising topics

def poisson_upper_p(x: int, lam: float) -> float:
    """One-sided p-value P(X ≥ x) for X ~ Poisson(lam), in plain floating point: scipy
    would add some 70 MB to every API process for this one function (the rising-topics
    view calls it on every visit). Above the mean the tail is summed from ``x`` upwards,
    so tiny p-values keep their precision; at or below the mean it is 1 − P(X < x),
    which is then at least about a half, with P(X < x) summed from ``x − 1`` downwards.
    Either way the terms shrink away from the mean (each is ``lam / k`` or ``k / lam``
    times its neighbour, from one log-space pmf), so a week of thousands of cases costs
    a few hundred multiplications, not thousands of pmf evaluations."""
    if x <= 0:
        return 1.0
    if lam <= 0:
        return 0.0

    def pmf(k: int) -> float:
        return math.exp(k * math.log(lam) - lam - math.lgamma(k + 1))

    acc, term = 0.0, 1.0
    if x > lam:
        k = x
        while term > 1e-17 * acc:
            acc += term
            k += 1
            term *= lam / k
        return min(1.0, pmf(x) * acc)
    k = x - 1
    while term > 1e-17 * acc:
        acc += term
        term *= k / lam
        k -= 1
    return max(0.0, 1.0 - pmf(x - 1) * acc)


def rising_topics(weekly: Mapping[str, Sequence[int]], *, min_count: int = MIN_RISING_COUNT,
                  alpha: float = ALPHA) -> list[dict]:
    """``weekly``: topic → counts of the baseline weeks followed by this week (the last
    value). Every topic is returned with its figures; ``rising`` marks the significant
    ones, which come first, by p-value then by ratio."""
    tested = {t: v for t, v in weekly.items() if len(v) >= 2}
    threshold = alpha / max(1, len(tested))
    out = []
    for topic, values in tested.items():
        *base, x = values
        mean = sum(base) / len(base)
        lam = max(mean, LAMBDA_FLOOR)
        p = poisson_upper_p(x, lam)
        out.append({"topic_code": topic, "this_week": x, "baseline_mean": round(mean, 3),
                    "baseline_weeks": len(base), "ratio": round(x / lam, 3),
                    "z": round((x - lam) / math.sqrt(lam), 3), "p_value": p,
                    "rising": x >= min_count and x > lam and p < threshold})
    out.sort(key=lambda r: (not r["rising"], r["p_value"], -r["ratio"], r["topic_code"]))
    return out


# ---------------------------------------------------------------- emerging topics

MIN_CLUSTER_DOCS = 6


def cluster_questions(docs: Sequence[Sequence[str]], *, k_range: range = range(2, 7), seed: int = 7,
                      top_terms: int = 6, min_docs: int = MIN_CLUSTER_DOCS) -> list[dict]:
    """Cluster tokenised questions: TF-IDF (tokens as given — jieba upstream), k-means
    with each k of ``k_range`` that fits, keeping the k of the best silhouette.
    Returns clusters largest first: ``terms`` (highest mean TF-IDF in the cluster),
    ``size``, ``members`` (indices into ``docs``, nearest the centre first) and
    ``cohesion`` (mean cosine similarity to the centre). Too few usable questions → []."""
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import silhouette_score

    usable = [i for i, d in enumerate(docs) if d]
    if len(usable) < min_docs:
        return []
    vec = TfidfVectorizer(analyzer=lambda d: d, min_df=1, sublinear_tf=True)
    matrix = vec.fit_transform([docs[i] for i in usable])
    if matrix.shape[1] < 2:
        return []
    distinct = len({tuple(sorted(docs[i])) for i in usable})
    best = None
    for k in k_range:
        if k >= len(usable) or k > distinct:
            break
        with warnings.catch_warnings():  # identical questions: fewer distinct points than k
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = KMeans(n_clusters=k, n_init=5, random_state=seed).fit(matrix)
        if len(set(model.labels_)) < 2:
            continue
        score = silhouette_score(matrix, model.labels_, metric="cosine")
        if best is None or score > best[0] + 1e-9:
            best = (score, model)
    if best is None:
        return []
    score, model = best
    terms = vec.get_feature_names_out()
    out = []
    for c in range(model.n_clusters):
        rows = [j for j, label in enumerate(model.labels_) if label == c]
        if not rows:
            continue
        sub = matrix[rows]
        mean = sub.mean(axis=0).A1
        centre = model.cluster_centers_[c]
        norm = float((centre ** 2).sum()) ** 0.5 or 1.0
        sims = (sub @ centre) / norm
        order = sorted(range(len(rows)), key=lambda j: -sims[j])
        out.append({"terms": [terms[t] for t in mean.argsort()[::-1][:top_terms] if mean[t] > 0],
                    "size": len(rows), "members": [usable[rows[j]] for j in order],
                    "cohesion": round(float(sims.mean()), 4), "k": model.n_clusters,
                    "silhouette": round(float(score), 4)})
    out.sort(key=lambda c: (-c["size"], c["terms"]))
    return out


# ---------------------------------------------------------------- friction

#: Components of the friction index and whether higher is worse (all are).
FRICTION_COMPONENTS = ("cases_per_1000", "repeat_share", "close_hours", "overdue_share", "poor_share",
                       "element_complaints_per_100")


@dataclass
class ItemStats:
    """What the facts say about one service item over the period."""

    item_id: int
    cases: int
    repeats: int
    overdue: int
    close_seconds: int
    close_count: int
    rated: int
    poor: int  # ratings 1–2
    element_complaints: Mapping[str, int]  # element → complaints + poor ratings naming it
    audience: int  # enterprises the item is for


def friction_index(items: Iterable[ItemStats], *, min_cases: int = 3) -> list[dict]:
    """Each component min-max normalised over the items compared (0 = the best item,
    1 = the worst), the index the mean of the components × 100. ``drivers``: the
    components at or above 0.5, worst first; ``elements``: the elements complained
    about, most first. Items with fewer than ``min_cases`` are left out (their shares
    are noise)."""
    rows = []
    for s in items:
        if s.cases < min_cases:
            continue
        complaints = sum(s.element_complaints.get(e, 0) for e in ELEMENTS)
        rows.append({"service_item_id": s.item_id, "cases": s.cases, "audience": s.audience,
                     "cases_per_1000": round(1000 * s.cases / s.audience, 3) if s.audience else 0.0,
                     "repeat_share": _share(s.repeats, s.cases), "overdue_share": _share(s.overdue, s.cases),
                     "close_hours": round(s.close_seconds / s.close_count / 3600, 2) if s.close_count else 0.0,
                     "poor_share": _share(s.poor, s.rated), "rated": s.rated,
                     "element_complaints_per_100": round(100 * complaints / s.cases, 3),
                     "elements": sorted(({"element": e, "count": n} for e, n in s.element_complaints.items()
                                         if n and e in ELEMENTS), key=lambda x: (-x["count"], x["element"]))})
    norm = {c: _minmax([r[c] for r in rows]) for c in FRICTION_COMPONENTS}
    for i, r in enumerate(rows):
        parts = {c: norm[c][i] for c in FRICTION_COMPONENTS}
        r["components"] = {c: round(v, 4) for c, v in parts.items()}
        r["score"] = round(100 * sum(parts.values()) / len(parts), 2)
        r["drivers"] = [c for c, v in sorted(parts.items(), key=lambda kv: (-kv[1], kv[0])) if v >= 0.5]
    rows.sort(key=lambda r: (-r["score"], -r["cases"], r["service_item_id"]))
    return rows


def _share(n: int, d: int) -> float:
    return round(n / d, 4) if d else 0.0


def _minmax(values: Sequence[float]) -> list[float]:
    if not values:
        return []
    lo, hi = min(values), max(values)
    return [0.0 if hi == lo else (v - lo) / (hi - lo) for v in values]


# ---------------------------------------------------------------- departments

def department_performance(m: Mapping[str, int]) -> dict:
    """Rates from summed case-fact measures of one department."""
    ratings = [m.get(f"rating_{n}", 0) for n in range(1, 6)]
    rated = sum(ratings)
    return {"cases": m.get("cases", 0), "answered": m.get("answered", 0),
            "on_time_rate": _share(m.get("answered_on_time", 0), m.get("answered", 0)),
            "overdue": m.get("overdue", 0), "rated": rated,
            "rating_mean": round(sum(n * c for n, c in enumerate(ratings, 1)) / rated, 3) if rated else None,
            "satisfied_share": _share(ratings[3] + ratings[4], rated),
            "rectifications_opened": m.get("rectifications_opened", 0),
            "rectifications_closed": m.get("rectifications_closed", 0),
            "callbacks_due": m.get("callbacks_due", 0), "callbacks_done": m.get("callbacks_done", 0),
            "callback_rate": _share(m.get("callbacks_done", 0), m.get("callbacks_due", 0))}


# ---------------------------------------------------------------- policy reach

def reach_funnel(m: Mapping[str, int]) -> dict:
    """Matched → delivered → read → consented, each stage also as a share of matched,
    plus the follow-up questions citing the policy."""
    matched = m.get("matched", 0)
    out = {k: m.get(k, 0) for k in ("matched", "delivered", "read", "consented", "followups")}
    out.update({f"{k}_rate": _share(out[k], matched) for k in ("delivered", "read", "consented")})
    return out


# ---------------------------------------------------------------- one-window bundles

def bundle_candidates(events: Iterable[tuple[int, int, object]], departments: Mapping[int, int], *,
                      window_days: int = 30, max_size: int = 3, min_enterprises: int = 5,
                      max_items_per_window: int = 8) -> list[dict]:
    """Pairs and (when ``max_size`` is 3) triples of service items, from at least two
    departments, that the same enterprise needed within ``window_days`` of each other.

    ``events``: (enterprise, item, when) — ``when`` a date or a datetime; an enterprise
    counts once for a set when all the set's items occur in one window of
    ``window_days`` starting at one of its events (``enterprise_bundles``). Support =
    enterprises with the set / enterprises with any item; lift = support(set) / Π
    support(item) (> 1: needed together more often than chance). Sets needed by fewer
    than ``min_enterprises`` are dropped. Ranked by support then lift (``rank_bundles``).
    """
    single: dict[int, int] = defaultdict(int)
    sets: dict[tuple[int, ...], int] = defaultdict(int)
    n = 0
    for _, items, found in enterprise_bundles(events, departments, window_days=window_days, max_size=max_size,
                                              max_items_per_window=max_items_per_window):
        n += 1
        for item in items:
            single[item] += 1
        for combo in found:
            sets[combo] += 1
    return rank_bundles(sets, single, n, departments, min_enterprises=min_enterprises)


def enterprise_bundles(events: Iterable[tuple[int, int, object]], departments: Mapping[int, int], *,
                       window_days: int = 30, max_size: int = 3, max_items_per_window: int = 8):
    """Per enterprise with an item of ``departments``: (enterprise, its items, the sets it
    needed together). The counts of ``bundle_candidates`` are sums of these over
    enterprises, so they also add up over any grouping of the enterprises (the stored
    per-county, industry and size counts of ``views.precompute``).

    Pairs are counted exactly, however many items a window holds. Triples are counted
    from windows of at most ``max_items_per_window`` distinct items: a window crowded
    with more (an enterprise asking about everything at once) says little about which
    three belong together, and its combinations grow with the cube of its size."""
    by_ent: dict[int, dict] = defaultdict(lambda: defaultdict(set))
    for ent, item, at in events:
        if item in departments:
            by_ent[ent][at].add(item)
    span = timedelta(days=window_days)
    for ent, at_items in by_ent.items():
        whens = sorted(at_items)
        found: set[tuple[int, ...]] = set()
        inside: dict[int, int] = defaultdict(int)  # item → its events in [start, start + span]
        j = 0
        for start in whens:
            while j < len(whens) and whens[j] - start <= span:
                for it in at_items[whens[j]]:
                    inside[it] += 1
                j += 1
            # every set in this window holding one of the start's items; a set's earliest
            # event starts a window that holds it, so no set is missed
            window = sorted(inside)
            crowded = len(window) > max_items_per_window
            for x in at_items[start]:
                for y in window:
                    if y != x and departments[x] != departments[y]:
                        found.add((x, y) if x < y else (y, x))
                if max_size >= 3 and not crowded:
                    for a, b in combinations([y for y in window if y != x], 2):
                        combo = tuple(sorted((x, a, b)))
                        if len({departments[i] for i in combo}) >= 2:
                            found.add(combo)
            for it in at_items[start]:
                inside[it] -= 1
                if not inside[it]:
                    del inside[it]
        yield ent, set().union(*at_items.values()), found


def rank_bundles(sets: Mapping[tuple[int, ...], int], single: Mapping[int, int], n: int,
                 departments: Mapping[int, int], *, min_enterprises: int = 5) -> list[dict]:
    """The candidates from counts: ``sets`` (set → enterprises), ``single`` (item →
    enterprises) and ``n`` enterprises with any item; see ``bundle_candidates``."""
    out = []
    for combo, count in sets.items():
        if count < min_enterprises:
            continue
        support = count / n
        expected = math.prod(single[i] / n for i in combo)
        out.append({"items": list(combo), "size": len(combo), "enterprises": count,
                    "item_enterprises": [single[i] for i in combo], "support": round(support, 4),
                    "lift": round(support / expected, 3), "departments": len({departments[i] for i in combo})})
    out.sort(key=lambda r: (-r["support"], -r["lift"], r["size"], r["items"]))
    return out


# ---------------------------------------------------------------- redesign evaluation

def rate_ratio_test(before: int, after: int) -> float:
    """Two-sided p of "same rate" for counts over equal windows: conditional on the
    total, ``after ~ Binomial(before + after, ½)``."""
    from scipy import stats

    n = before + after
    return 1.0 if n == 0 else float(stats.binomtest(after, n, 0.5).pvalue)


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p of the pooled two-proportion z-test; None when a side is empty."""
    if not n1 or not n2:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x2 / n2 - x1 / n1) / se
    return math.erfc(abs(z) / math.sqrt(2))  # = 2·(1 − Φ(|z|))


#: metric → (kind, numerator, denominator, label). kind "count": rate-ratio test;
#: "share": two-proportion test; "time": shown, not tested.
METRICS: dict[str, tuple[str, str, str | None, str]] = {
    "cases": ("count", "cases", None, "咨询件数"),
    "repeat_share": ("share", "repeats", "cases", "重复咨询占比"),
    "overdue_share": ("share", "overdue", "cases", "超期占比"),
    "on_time_rate": ("share", "answered_on_time", "answered", "按时答复率"),
    "poor_share": ("share", "poor", "rated", "差评占比"),
    "complaints": ("count", "complaints", None, "投诉件数"),
    "close_p50_hours": ("time", "close_p50_hours", None, "办结时长中位数（小时）"),
}


def evaluate(before: Mapping[str, float], after: Mapping[str, float], metrics: Sequence[str],
             *, alpha: float = ALPHA) -> list[dict]:
    """Each metric before and after, its change, the p-value of the stated test and
    whether the change is beyond noise (p < alpha)."""
    out = []
    for name in metrics:
        if name not in METRICS:
            continue
        kind, num, den, label = METRICS[name]
        if kind == "count":
            b, a = before.get(num, 0), after.get(num, 0)
            p, test = rate_ratio_test(int(b), int(a)), "poisson_rate_ratio"
        elif kind == "share":
            bn, an = before.get(den, 0), after.get(den, 0)
            b = round(before.get(num, 0) / bn, 4) if bn else None
            a = round(after.get(num, 0) / an, 4) if an else None
            p, test = two_proportion_test(int(before.get(num, 0)), int(bn), int(after.get(num, 0)), int(an)), \
                "two_proportion_z"
        else:
            b, a, p, test = before.get(num), after.get(num), None, "none"
        change = None if a is None or b is None else round(a - b, 4)
        out.append({"metric": name, "label": label, "before": b, "after": a, "change": change,
                    "relative_change": round(change / b, 4) if change is not None and b else None,
                    "test": test, "p_value": p, "beyond_noise": None if p is None else p < alpha})
    return out


def equal_windows(go_live, today, *, max_days: int = 90) -> tuple[tuple, tuple] | None:
    """(before, after) as inclusive (first, last) day pairs of equal length: after runs
    from go-live to yesterday (at most ``max_days``), before the same number of days
    just before go-live. None while go-live has not passed a full day."""
    days = min((today - go_live).days, max_days)
    if days < 1:
        return None
    return ((go_live - timedelta(days=days), go_live - timedelta(days=1)),
            (go_live, go_live + timedelta(days=days - 1)))


def sum_rows(rows: Iterable[Mapping[str, int]], key: Callable[[Mapping], object], measures: Sequence[str]) -> dict:
    """Group-sum of fact rows in Python (after a coarser SQL grouping)."""
    acc: dict = defaultdict(lambda: dict.fromkeys(measures, 0))
    for r in rows:
        slot = acc[key(r)]
        for m in measures:
            slot[m] += r.get(m, 0) or 0
    return dict(acc)
