"""The insights rollup: facts equal a plain grouping of the raw rows, a second run changes
nothing, a re-run day replaces that day, and today's figures come from live rows — on
both tiers (the SQL differs per dialect)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.insights import CASE_DIMENSIONS, CASE_MEASURES, CLOSE_BUCKETS, FIRST_ANSWER_BUCKETS, HIST_BOUNDS

pytestmark = pytest.mark.usefixtures("catalogue")
TZ = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")


async def generate(*, days: int = 8, cases: int = 240, enterprises: int = 30, seed: int = 7) -> dict:
    """Enterprises and cases spread over the last ``days`` days (today included), with
    answers, closings, ratings, rectifications and call-backs at plausible offsets.
    Timestamps are stored in mixed offsets (UTC and +08:00) on purpose: the rollup must
    put each on its Shanghai day whatever the stored offset."""
    from models import (CallbackTask, Consultation, Department, Enterprise, Rating, Rectification, ServiceItem,
                        Topic)

    rng = random.Random(seed)
    depts = list(await Department.all().values_list("id", flat=True))
    items = list(await ServiceItem.all().limit(6).values_list("id", "department_id"))
    for code in ("tax", "social", "license"):
        await Topic.get_or_create(code=code, defaults={"name": code, "keywords": []})
    ents = []
    for n in range(enterprises):
        ents.append(await Enterprise.create(
            credit_code=f"T{seed:03d}{n:014d}", name=f"测试企业{n}", industry_code="65",
            industry_group=rng.choice(["I", "C", "F"]), region_code=rng.choice(["440305", "440306"]),
            size_class=rng.choice(["micro", "small", "medium"]), size_rule_version="t"))
    now = datetime.now(TZ)
    start = datetime.combine(now.date() - timedelta(days=days - 1), datetime.min.time(), TZ)
    span = (now - start).total_seconds()
    made = []
    for _ in range(cases):
        at = start + timedelta(seconds=rng.uniform(0, span - 60))
        item = rng.choice(items) if rng.random() < 0.6 else None
        due = at + timedelta(days=rng.choice([1, 3, 5]))
        first = at + timedelta(seconds=rng.choice([30, 200, 4000, 90000, 300000])) if rng.random() < 0.8 else None
        first = first if first and first < now else None
        closed = first + timedelta(hours=rng.uniform(1, 60)) if first and rng.random() < 0.6 else None
        closed = closed if closed and closed < now else None
        tz = rng.choice([TZ, UTC])
        c = await Consultation.create(
            enterprise_id=rng.choice(ents).id, channel=rng.choice(["miniprogram", "phone", "walk_in"]),
            kind=rng.choice(["consultation", "consultation", "suggestion", "complaint"]), content="关于办理的问题 13800138000",
            service_item_id=item[0] if item else None, element=rng.choice([None, "materials", "steps"]),
            topic_code=rng.choice(["tax", "social", "license"]),
            department_id=item[1] if item else rng.choice(depts + [None]),
            accepted_at=at.astimezone(tz), working_days=3, due_at=due, remind_at=due, escalate_at=due,
            overdue=due < now and rng.random() < 0.3, first_answered_at=first and first.astimezone(tz),
            closed_at=closed, merged_into_id=None)
        made.append(c)
        if closed and rng.random() < 0.7:
            r = await Rating.create(consultation=c, enterprise_id=c.enterprise_id, score=rng.randint(1, 5))
            await Rating.filter(id=r.id).update(created_at=closed + timedelta(minutes=5))
            if r.score <= 2:
                x = await Rectification.create(consultation=c, department_id=c.department_id, score=r.score,
                                               due_at=closed + timedelta(days=3))
                done = closed + timedelta(hours=3) if closed + timedelta(hours=3) < now else None
                await Rectification.filter(id=x.id).update(created_at=closed + timedelta(minutes=6),
                                                           status="closed" if done else "open", closed_at=done)
            b_done = closed + timedelta(hours=2) if rng.random() < 0.5 and closed + timedelta(hours=2) < now else None
            await CallbackTask.create(consultation=c, department_id=c.department_id, due_at=closed + timedelta(days=1),
                                      status="done" if b_done else "open", done_at=b_done)
    for c in rng.sample(made, 10):  # duplicates merged into another case
        await Consultation.filter(id=c.id).update(merged_into_id=made[0].id)
    return {"start": start.date(), "today": now.date()}


def _day(at: datetime | None) -> date | None:
    return at.astimezone(TZ).date() if at else None


def _bucket(seconds: float) -> int:
    return next((i for i, b in enumerate(HIST_BOUNDS) if seconds < b), len(HIST_BOUNDS))


def _by_day_topic(day: date, c) -> tuple:
    return day, c.topic_code


async def expected_by_day_topic(group=_by_day_topic) -> dict[tuple, Counter]:
    """The plain grouping over raw rows, in Python: ``group(event day, case)`` (by
    default (day, topic)) → measures."""
    from models import CallbackTask, Consultation, Rating, Rectification

    cases = {c.id: c for c in await Consultation.all()}
    out: dict[tuple, Counter] = defaultdict(Counter)
    ents: dict[tuple, set] = defaultdict(set)
    for c in cases.values():
        key = group(_day(c.accepted_at), c)
        out[key]["cases"] += 1
        ents[key].add(c.enterprise_id)
        out[key]["merged"] += c.merged_into_id is not None
        same = [p for p in cases.values() if p.enterprise_id == c.enterprise_id and p.id != c.id
                and c.accepted_at - timedelta(days=30) <= p.accepted_at <= c.accepted_at
                and (p.service_item_id == c.service_item_id if c.service_item_id
                     else p.service_item_id is None and p.topic_code == c.topic_code)]
        out[key]["repeats"] += bool(same)
        if c.first_answered_at:
            k = group(_day(c.first_answered_at), c)
            secs = round((c.first_answered_at - c.accepted_at).total_seconds())
            out[k]["answered"] += 1
            out[k]["answered_on_time"] += c.first_answered_at <= c.due_at
            out[k]["first_answer_seconds"] += secs
            out[k][FIRST_ANSWER_BUCKETS[_bucket(secs)]] += 1
        if c.closed_at:
            k = group(_day(c.closed_at), c)
            out[k]["close_count"] += 1
            out[k][CLOSE_BUCKETS[_bucket(round((c.closed_at - c.accepted_at).total_seconds()))]] += 1
        if c.overdue:
            out[group(_day(c.due_at), c)]["overdue"] += 1
    for r in await Rating.all():
        out[group(_day(r.created_at), cases[r.consultation_id])][f"rating_{r.score}"] += 1
    for x in await Rectification.all():
        out[group(_day(x.created_at), cases[x.consultation_id])]["rectifications_opened"] += 1
        if x.status == "closed":
            out[group(_day(x.closed_at), cases[x.consultation_id])]["rectifications_closed"] += 1
    for b in await CallbackTask.all():
        out[group(_day(b.due_at), cases[b.consultation_id])]["callbacks_due"] += 1
        if b.status == "done":
            out[group(_day(b.done_at), cases[b.consultation_id])]["callbacks_done"] += 1
    for key, s in ents.items():
        out[key]["enterprises_distinct"] = len(s)
    return out


CHECKED = ("cases", "merged", "repeats", "answered", "answered_on_time", "first_answer_seconds", "close_count",
           "overdue", "rating_1", "rating_2", "rating_5", "rectifications_opened", "rectifications_closed",
           "callbacks_due", "callbacks_done", *FIRST_ANSWER_BUCKETS, *CLOSE_BUCKETS)


async def _assert_backfill_gives_the_rolled_rows(migration_name: str, models: tuple) -> None:
    """The migration's backfill, run on emptied tables, writes the rows the rollup wrote."""
    import importlib

    from tortoise import connections

    migration = importlib.import_module(f"models.migrations.{migration_name}")
    tables = []
    for model in models:
        cols = sorted(model._meta.db_fields - {"id"})
        tables.append((model, cols, sorted(await model.all().values_list(*cols))))
        assert tables[-1][2]
        await model.all().delete()

    class Editor:
        client = connections.get("default")

    await migration._backfill(None, Editor())
    for model, cols, rolled in tables:
        assert sorted(await model.all().values_list(*cols)) == rolled, model


async def _fact_rows() -> list[tuple]:
    from models.insights import CaseFact

    return sorted(await CaseFact.all().values_list(*CASE_DIMENSIONS, *CASE_MEASURES))


async def test_facts_equal_a_grouping_of_raw_rows_and_a_second_run_changes_nothing(client):
    from services.insights import facts
    from services.insights.rollup import rollup

    span = await generate()
    first = await rollup(span["start"] - timedelta(days=1), span["today"] + timedelta(days=10))
    assert first["case_rows"] > 0
    once = await _fact_rows()
    await rollup(span["start"] - timedelta(days=1), span["today"] + timedelta(days=10))
    assert await _fact_rows() == once  # idempotent: twice = once

    expected = await expected_by_day_topic()
    until = span["today"] + timedelta(days=10)
    rows = await facts.query(span["start"] - timedelta(days=1), until, group_by=["day", "topic_code"],
                             today=until + timedelta(days=1))  # everything from the fact table
    got = {(r["day"], r["topic_code"]): r for r in rows}
    assert set(got) == {k for k, v in expected.items() if any(v.values())}
    for key, exp in expected.items():
        for m in CHECKED:
            assert got[key][m] == exp[m], (key, m)
    assert sum(r["cases"] for r in rows) == sum(e["cases"] for e in expected.values()) == 240


async def test_distinct_enterprises_per_cell_matches_raw_rows(client):
    from models import Consultation, Enterprise
    from models.insights import CaseFact
    from services.insights.rollup import rollup

    span = await generate(seed=11)
    await rollup(span["start"], span["today"])
    ents = {e.id: e for e in await Enterprise.all()}
    cells: dict[tuple, set] = defaultdict(set)
    for c in await Consultation.all():
        e = ents[c.enterprise_id]
        cells[(_day(c.accepted_at), c.topic_code, c.service_item_id or 0, c.element or "", c.department_id or 0,
               c.channel, e.industry_group, e.size_class, e.region_code, c.kind)].add(c.enterprise_id)
    facts = {tuple(r[:10]): r[10] for r in await CaseFact.filter(cases__gt=0).values_list(*CASE_DIMENSIONS, "enterprises")}
    assert facts == {k: len(v) for k, v in cells.items()}


async def test_re_running_a_changed_day_replaces_it(client):
    from models import Consultation
    from services.insights import facts
    from services.insights.rollup import rollup

    span = await generate(seed=3)
    day = span["today"] - timedelta(days=2)
    await rollup(span["start"], span["today"])
    before = await _fact_rows()
    lo = datetime.combine(day, datetime.min.time(), TZ)
    moved = await Consultation.filter(accepted_at__gte=lo, accepted_at__lt=lo + timedelta(days=1)).first()
    await Consultation.filter(id=moved.id).update(topic_code="license" if moved.topic_code != "license" else "tax")
    await rollup(day, day)
    after = await _fact_rows()
    assert after != before
    # only that day's rows changed, and they now equal the raw grouping again
    assert [r for r in after if r[0] != day] == [r for r in before if r[0] != day]
    expected = await expected_by_day_topic()
    rows = await facts.query(day, day, group_by=["topic_code"], today=span["today"] + timedelta(days=1))
    assert {r["topic_code"]: r["cases"] for r in rows if r["cases"]} == \
        {t: v["cases"] for (d, t), v in expected.items() if d == day and v["cases"]}


async def test_today_comes_from_live_rows(client):
    from models import Consultation
    from services.insights import facts
    from services.insights.rollup import rollup

    span = await generate(seed=5, days=3, cases=60)
    today = span["today"]
    await rollup(span["start"], today - timedelta(days=1))  # the facts stop at yesterday
    expected = await expected_by_day_topic()
    rows = await facts.query(span["start"], today, group_by=["day"], measures=["cases", "answered"])
    # just after midnight today may have no case yet, and then no row
    by_day = defaultdict(lambda: {"cases": 0, "answered": 0}, {r["day"]: r for r in rows})
    for d in (span["start"], today):
        assert by_day[d]["cases"] == sum(v["cases"] for (k, _), v in expected.items() if k == d)
        assert by_day[d]["answered"] == sum(v["answered"] for (k, _), v in expected.items() if k == d)
    # a case accepted just now counts at once, without a rollup
    c = await Consultation.filter().first()
    now = datetime.now(TZ)
    await Consultation.create(enterprise_id=c.enterprise_id, channel="phone", kind="consultation", content="x",
                              topic_code="tax", accepted_at=now, working_days=1, due_at=now, remind_at=now,
                              escalate_at=now)
    rows = await facts.query(today, today, group_by=["day"], measures=["cases"])
    assert rows[0]["cases"] == by_day[today]["cases"] + 1
    # and today's fact rows, if the scheduled job wrote them, are not counted twice
    await rollup(today, today)
    rows = await facts.query(today, today, group_by=["day"], measures=["cases"])
    assert rows[0]["cases"] == by_day[today]["cases"] + 1


async def test_weekly_cases_equal_raw_rows_with_and_without_filters(client):
    """Weekly cases read through the weekly summary (whole weeks), the daily facts (the
    partial weeks at the ends) and live rows (today) equal a plain count of the raw rows,
    for the unfiltered dashboard and for each filter; re-running a changed day rebuilds
    its week."""
    from models import Consultation, Enterprise
    from models.insights import ALL, CaseWeek
    from services.insights import facts
    from services.insights.rollup import monday, rollup

    span = await generate(seed=13, days=26, cases=300)
    since, today = span["start"] + timedelta(days=1), span["today"]
    await rollup(span["start"], today)
    ents = {e.id: e for e in await Enterprise.all()}

    async def raw(where: dict) -> dict:
        counts: Counter = Counter()
        for c in await Consultation.all():
            e, day = ents[c.enterprise_id], _day(c.accepted_at)
            values = {"department_id": c.department_id or 0, "region_code": e.region_code,
                      "industry_group": e.industry_group}
            if since <= day <= today and all(values[k] == v for k, v in where.items()):
                counts[(monday(day), c.topic_code)] += 1
        return dict(counts)

    async def read(where: dict) -> dict:
        rows = await facts.query(since, today, group_by=["week", "topic_code"], measures=["cases"], where=where)
        return {(r["week"], r["topic_code"]): r["cases"] for r in rows}

    assert await CaseWeek.filter(region_code=ALL).exists() and await CaseWeek.exclude(region_code=ALL).exists()
    some = await Consultation.filter(department_id__not_isnull=True).first()
    for where in ({}, {"region_code": "440305"}, {"industry_group": "C", "region_code": "440306"},
                  {"department_id": some.department_id}):
        expected = await raw(where)
        assert expected and await read(where) == expected, where
    # a changed day: its week is rebuilt, and the reads follow
    day = today - timedelta(days=9)
    lo = datetime.combine(day, datetime.min.time(), TZ)
    moved = await Consultation.filter(accepted_at__gte=lo, accepted_at__lt=lo + timedelta(days=1)).first()
    await Consultation.filter(id=moved.id).update(topic_code="license" if moved.topic_code != "license" else "tax")
    await rollup(day, day)
    assert await read({}) == await raw({})
    total = sum(await CaseWeek.filter(region_code=ALL, week=monday(day)).values_list("cases", flat=True))
    assert total == sum(n for (w, _), n in (await raw({})).items() if w == monday(day))


async def test_weekly_item_measures_equal_raw_rows_and_follow_a_changed_day(client):
    """``insight_case_item_week`` holds, per week × item × element × kind × department,
    what a plain grouping of the raw rows gives (each measure in the week of its own
    event); a second run changes nothing; re-running from a changed day rebuilds its weeks;
    and a read by department through it (whole weeks), the daily facts (the partial
    weeks) and live rows (today) equals the raw rows too."""
    from models import Consultation
    from models.insights import ITEM_WEEK_DIMENSIONS, CaseItemWeek
    from services.insights import facts
    from services.insights.rollup import monday, rollup

    span = await generate(seed=17, days=26, cases=300)
    first, last = span["start"] - timedelta(days=1), span["today"] + timedelta(days=10)

    def by_week(day: date, c) -> tuple:
        return monday(day), c.service_item_id or 0, c.element or "", c.kind, c.department_id or 0

    async def table() -> dict:
        rows = await CaseItemWeek.all().values(*ITEM_WEEK_DIMENSIONS, *CHECKED)
        return {tuple(r[k] for k in ITEM_WEEK_DIMENSIONS): {m: r[m] for m in CHECKED} for r in rows}

    async def expected() -> dict:
        return {k: {m: v[m] for m in CHECKED} for k, v in (await expected_by_day_topic(by_week)).items()
                if any(v[m] for m in CHECKED)}

    await rollup(first, last)
    once = await table()
    assert once and once == await expected()
    await rollup(first, last)
    assert await table() == once  # idempotent

    day = span["today"] - timedelta(days=9)
    lo = datetime.combine(day, datetime.min.time(), TZ)
    moved = await Consultation.filter(accepted_at__gte=lo, accepted_at__lt=lo + timedelta(days=1)).first()
    await Consultation.filter(id=moved.id).update(kind="complaint" if moved.kind != "complaint" else "suggestion",
                                                  element="fees")
    # Each measure sits in the week of its own event, and the moved case's later events
    # (its call-back falling due, its deadline passing) may lie days after its intake:
    # re-run every day from the change on, as `rollup --since` does. Re-running the
    # intake day alone passed or failed by the hour the data was generated at.
    await rollup(day, last)
    assert await table() == await expected()

    since, today = span["start"] + timedelta(days=1), span["today"]
    plain: dict = defaultdict(Counter)
    for (d, *_, dept), v in (await expected_by_day_topic(lambda d, c: (d, c.department_id or 0))).items():
        if since <= d <= today:
            plain[dept].update({m: v[m] for m in CHECKED})
    rows = await facts.query(since, today, group_by=["department_id"], measures=CHECKED)
    assert {r["department_id"]: {m: r[m] for m in CHECKED} for r in rows} == \
        {k: {m: v[m] for m in CHECKED} for k, v in plain.items()}


async def test_the_migration_fills_weeks_rolled_up_before_it(client):
    """Upgrading a database whose facts were rolled up before migration 0009: the
    migration gives those weeks the same rows the rollup would have written."""
    import importlib

    from tortoise import connections

    from models.insights import CaseItemWeek

    migration = importlib.import_module("models.migrations.0009_insights_item_week")
    span = await generate(seed=19, days=12, cases=120)
    await rollup_all(span)
    cols = sorted(CaseItemWeek._meta.db_fields - {"id"})
    rolled = sorted(await CaseItemWeek.all().values_list(*cols))
    assert rolled
    await CaseItemWeek.all().delete()

    class Editor:
        client = connections.get("default")

    await migration._backfill(None, Editor())
    assert sorted(await CaseItemWeek.all().values_list(*cols)) == rolled


async def rollup_all(span: dict) -> None:
    from services.insights.rollup import rollup

    await rollup(span["start"] - timedelta(days=1), span["today"] + timedelta(days=10))


async def test_daily_mirrors_equal_raw_rows_and_the_migration_fills_them(client):
    """Reads by day (rising topics), with and without filters, come from the daily mirror
    of the weekly summary and equal a plain count of the raw rows; upgrading a database
    rolled up before migration 0013 gives the mirrors the rows the rollup writes."""
    from models import Consultation, Enterprise
    from models.insights import CaseDay, CaseItemDay, CaseItemTotal
    from services.insights import facts

    span = await generate(seed=23, days=20, cases=240)
    await rollup_all(span)
    since, today = span["start"] + timedelta(days=1), span["today"]
    ents = {e.id: e for e in await Enterprise.all()}

    async def raw(where: dict) -> dict:
        counts: Counter = Counter()
        for c in await Consultation.all():
            e, day = ents[c.enterprise_id], _day(c.accepted_at)
            values = {"department_id": c.department_id or 0, "region_code": e.region_code,
                      "size_class": e.size_class}
            if since <= day <= today and all(values[k] == v for k, v in where.items()):
                counts[(day, c.topic_code)] += 1
        return dict(counts)

    some = await Consultation.filter(department_id__not_isnull=True).first()
    for where in ({}, {"region_code": "440305"}, {"size_class": "micro"}, {"department_id": some.department_id}):
        rows = await facts.query(since, today, group_by=["day", "topic_code"], measures=["cases"], where=where)
        expected = await raw(where)
        assert expected and {(r["day"], r["topic_code"]): r["cases"] for r in rows} == expected, where

    await _assert_backfill_gives_the_rolled_rows("0013_insights_daily", (CaseDay, CaseItemDay, CaseItemTotal))


async def test_item_totals_are_running_sums_of_the_weeks_whatever_order_days_are_rolled_up(client):
    """``insight_case_item_total`` holds, for every week from a cell's first on, the sum
    of ``insight_case_item_week`` up to that week — also when later days are rolled up
    before earlier ones, with a gap between, or a past day again; and a period read
    through it equals the same read from the weekly table."""
    from models.insights import ITEM_WEEK_DIMENSIONS, ITEM_WEEK_MEASURES, CaseItemTotal, CaseItemWeek
    from services.insights import facts
    from services.insights.rollup import drop_totals, rebuild_totals, rollup

    span = await generate(seed=29, days=40, cases=300)
    start, today = span["start"], span["today"]
    keys = ITEM_WEEK_DIMENSIONS[1:]

    async def check() -> None:
        weeks = sorted(set(await CaseItemWeek.all().values_list("week", flat=True)))
        running: dict = {}
        expected = {}
        by_week: dict = defaultdict(dict)
        for row in await CaseItemWeek.all().values(*ITEM_WEEK_DIMENSIONS, *ITEM_WEEK_MEASURES):
            by_week[row["week"]][tuple(row[k] for k in keys)] = row
        week = weeks[0]
        while week <= weeks[-1]:
            for cell, row in by_week.get(week, {}).items():
                acc = running.setdefault(cell, dict.fromkeys(ITEM_WEEK_MEASURES, 0))
                for m in ITEM_WEEK_MEASURES:
                    acc[m] += row[m]
            for cell, acc in running.items():
                expected[(week, *cell)] = dict(acc)
            week += timedelta(days=7)
        got = {tuple(r[k] for k in ITEM_WEEK_DIMENSIONS): {m: r[m] for m in ITEM_WEEK_MEASURES}
               for r in await CaseItemTotal.all().values(*ITEM_WEEK_DIMENSIONS, *ITEM_WEEK_MEASURES)}
        # rows from before the first rebuilt week may start earlier than a cell's first week: zeros
        got = {k: v for k, v in got.items() if any(v.values()) or k in expected}
        assert got == expected

    await rollup(today - timedelta(days=6), today)  # the latest days first
    await rollup(start, start + timedelta(days=9))  # then the earliest, with a gap between
    await check()
    await rollup(start + timedelta(days=10), today - timedelta(days=7))  # the gap
    await check()
    await rollup(start + timedelta(days=15), start + timedelta(days=15))  # a past day again
    await check()
    since = start + timedelta(days=3)
    measures = ("cases", "overdue", "close_seconds", "rating_1", "callbacks_done")
    through = await facts.query(since, today, group_by=["service_item_id", "kind"], measures=measures)
    # as ``python -m server rollup --since`` does: drop from a day on, days without totals, then rebuild
    await drop_totals(start + timedelta(days=12))
    assert await facts.query(since, today, group_by=["service_item_id", "kind"], measures=measures) == through
    for n in range(12, 20):
        await rollup(start + timedelta(days=n), start + timedelta(days=n), totals=False)
    assert await facts.query(since, today, group_by=["service_item_id", "kind"], measures=measures) == through
    await rebuild_totals(start + timedelta(days=12))
    await check()
    await CaseItemTotal.all().delete()  # the same read from the weekly table
    assert await facts.query(since, today, group_by=["service_item_id", "kind"], measures=measures) == through


async def test_period_reads_equal_the_daily_facts_for_every_alignment_of_the_period(client):
    """Whole weeks, running totals, the days at the ends or a whole end week less its days
    out: whatever a read takes, for periods starting and ending on every weekday it sums
    to what the daily facts give (groups with nothing to count left out)."""
    from models.insights import CaseFact
    from services.insights import facts
    from services.insights.rollup import rollup

    span = await generate(seed=31, days=35, cases=400)
    await rollup(span["start"], span["today"])
    yesterday = span["today"] - timedelta(days=1)
    reads = ((["week", "topic_code"], ("cases",)), (["department_id"], ("cases", "overdue", "rating_1", "callbacks_due")),
             (["week", "kind"], ("cases", "answered")),
             (["service_item_id", "element", "kind"], ("cases", "repeats", "close_seconds", "cl_b05")))
    for first in range(0, 8):
        for last in range(0, 8):
            since, until = span["start"] + timedelta(days=first), yesterday - timedelta(days=last)
            for group_by, measures in reads:
                expected: dict = defaultdict(Counter)
                for row in await CaseFact.filter(day__gte=since, day__lte=until).values(
                        "day", "topic_code", "department_id", "service_item_id", "element", "kind", *measures):
                    row["week"] = row["day"] - timedelta(days=row["day"].weekday())
                    expected[tuple(row[g] for g in group_by)].update({m: row[m] for m in measures})
                expected = {k: dict(v) for k, v in expected.items() if any(v.values())}
                got = await facts.query(since, until, group_by=group_by, measures=measures)
                assert {tuple(r[g] for g in group_by): {m: r[m] for m in measures} for r in got} == \
                    {k: {m: v.get(m, 0) for m in measures} for k, v in expected.items()}, (since, until, group_by)


async def test_two_rollups_of_the_same_days_at_once_both_succeed_and_equal_one(client):
    """The scheduled job and an administrator's ``rollup --since`` may overlap: without
    serialising, the later transaction inserts keys the earlier one just wrote (on
    PostgreSQL, a unique violation)."""
    import asyncio

    from services.insights.rollup import rollup

    span = await generate(seed=5)
    await rollup(span["start"], span["today"])
    once = await _fact_rows()
    results = await asyncio.gather(*(rollup(span["start"], span["today"]) for _ in range(3)))
    assert all(r["case_rows"] == results[0]["case_rows"] > 0 for r in results)
    assert await _fact_rows() == once


MIX_WHERES = ({}, {"region_code": "440305"}, {"region_code": "440306", "size_class": "micro"},
              {"industry_group": "I"}, {"size_class": "small", "industry_group": "C", "region_code": "440305"})


async def _raw_by_mix(since: date, until: date) -> dict[tuple, Counter]:
    """Measures per (item, department, county, industry group, size class) of the events in
    ``since`` … ``until``, from the raw rows — the complaints and poor ratings naming each
    element friction weighs included."""
    from models import Consultation, Enterprise, Rating
    from models.insights import COMPLAINED_ELEMENTS

    ents = {e.id: e for e in await Enterprise.all()}

    def mixed(day: date, c) -> tuple:
        e = ents[c.enterprise_id]
        return day, c.service_item_id or 0, c.department_id or 0, e.region_code, e.industry_group, e.size_class

    by_event = await expected_by_day_topic(mixed)
    cases = {c.id: c for c in await Consultation.all()}
    for c in cases.values():
        if c.kind == "complaint" and c.element in COMPLAINED_ELEMENTS:
            by_event[mixed(_day(c.accepted_at), c)][f"complaints_{c.element}"] += 1
        if c.closed_at:
            by_event[mixed(_day(c.closed_at), c)]["close_seconds"] += max(
                0, round((c.closed_at - c.accepted_at).total_seconds()))
    for r in await Rating.all():
        c = cases[r.consultation_id]
        if r.score <= 2 and c.element in COMPLAINED_ELEMENTS:
            by_event[mixed(_day(r.created_at), c)][f"complaints_{c.element}"] += 1
    out: dict[tuple, Counter] = defaultdict(Counter)
    for (day, *cell), v in by_event.items():
        if since <= day <= until:
            out[tuple(cell)].update(v)
    return out


def _summed(raw: dict[tuple, Counter], key: str, measures, where: dict) -> dict:
    names = ("service_item_id", "department_id", "region_code", "industry_group", "size_class")
    out: dict = defaultdict(Counter)
    for cell, v in raw.items():
        values = dict(zip(names, cell))
        if all(values[k] == w for k, w in where.items()):
            out[values[key]].update({m: v[m] for m in measures})
    return {k: {m: v[m] for m in measures} for k, v in out.items() if any(v.values())}


async def test_reads_by_enterprise_mix_equal_raw_rows_and_follow_a_rerolled_day(client, rt, monkeypatch):
    """Friction's and department performance's reads under a county, an industry group or a
    size class — alone or together, with a department or not — come from the mix tables
    (whole weeks as two weeks of running totals, the days at the ends, today live) and
    equal a plain grouping of the raw rows, the complaints naming each element included —
    and so do the friction index and department performance a staff member sees: also once the daily facts are gone (so they were not read), and after a past case
    moves to an enterprise of another county and its day is rolled up again. Upgrading a
    database rolled up before migration 0015 gives the mix tables the rows the rollup
    writes; the running totals a re-rolled day shifted equal a rebuild."""
    from models import Consultation, Enterprise
    from models.insights import (ITEM_WEEK_MEASURES, MIX_MEASURES, CaseFact, CaseItemTotal, CaseMixDay, CaseMixTotal,
                                 CaseMixWeek)
    from services.insights import analysis as A
    from services.insights import facts
    from services.insights import views as V
    from services.insights.rollup import rebuild_totals, rollup
    from services.insights.views import DEPT_MEASURES, FRICTION_MEASURES

    monkeypatch.setattr(rt.settings, "insights_cache", False)
    span = await generate(seed=37, days=30, cases=360)
    await rollup_all(span)
    since, today = span["start"] + timedelta(days=2), span["today"]
    dept = (await Consultation.filter(department_id__not_isnull=True).first()).department_id

    async def check() -> None:
        raw = await _raw_by_mix(since, today)
        for where in (*MIX_WHERES, {"region_code": "440305", "department_id": dept}):
            for key, measures in (("service_item_id", FRICTION_MEASURES), ("department_id", DEPT_MEASURES)):
                rows = await facts.query(since, today, group_by=[key], measures=measures, where=where)
                expected = _summed(raw, key, measures, where)
                assert expected and {r[key]: {m: r[m] for m in measures} for r in rows} == expected, (key, where)
            await views_equal_raw(raw, where)

    async def views_equal_raw(raw: dict, where: dict) -> None:
        f = V.Filters(since, today, where.get("department_id"), where.get("region_code"), where.get("industry_group"),
                      where.get("size_class"))
        audience = await Enterprise.filter(**{k: v for k, v in where.items() if k != "department_id"}).count()
        items = _summed(raw, "service_item_id", (*FRICTION_MEASURES, "rating_3", "rating_4"), where)
        expected = A.friction_index([A.ItemStats(
            item_id=i, cases=m["cases"], repeats=m["repeats"], overdue=m["overdue"], close_seconds=m["close_seconds"],
            close_count=m["close_count"], rated=sum(m[f"rating_{n}"] for n in range(1, 6)),
            poor=m["rating_1"] + m["rating_2"], audience=audience,
            element_complaints={e: m[f"complaints_{e}"] for e in ("materials", "steps", "time_limit", "fees")})
            for i, m in items.items() if i])
        shown = (await V.friction(rt, f))["items"]
        assert expected and [{k: r[k] for k in expected[0]} for r in shown] == expected, where
        depts = _summed(raw, "department_id", DEPT_MEASURES, where)
        shown = {d["department_id"]: d for d in (await V.departments(rt, f))["departments"]}
        expected = {d: A.department_performance(m) for d, m in depts.items() if d}
        assert {d: {k: r[k] for k in next(iter(expected.values()))} for d, r in shown.items()} == expected, where

    await check()

    await _assert_backfill_gives_the_rolled_rows("0015_insights_mix", (CaseMixDay, CaseMixWeek, CaseMixTotal))

    await CaseFact.all().delete()  # reads of past days take the mix tables only
    await check()

    day = today - timedelta(days=12)
    lo = datetime.combine(day, datetime.min.time(), TZ)
    # a case whose only event is its intake (no answer, deadline passed or rating on other days)
    moved = await Consultation.filter(accepted_at__gte=lo, accepted_at__lt=lo + timedelta(days=1),
                                      first_answered_at__isnull=True, overdue=False).first()
    owner = await Enterprise.get(id=moved.enterprise_id)
    other = await Enterprise.filter(region_code__not=owner.region_code).first()
    await Consultation.filter(id=moved.id).update(enterprise_id=other.id, kind="complaint", element="fees")
    await rollup(day, day)  # the running totals shifted by the change of the day's week
    await check()

    async def totals() -> list:  # rows of zeros aside: a rebuild leaves out cells emptied since
        out = []
        for model in (CaseMixTotal, CaseItemTotal):
            cols = sorted(model._meta.db_fields - {"id"})
            measures = [i for i, c in enumerate(cols) if c in (*MIX_MEASURES, *ITEM_WEEK_MEASURES)]
            out.append(sorted(r for r in await model.all().values_list(*cols) if any(r[i] for i in measures)))
        return out

    shifted = await totals()
    await rebuild_totals(span["start"])
    assert await totals() == shifted
