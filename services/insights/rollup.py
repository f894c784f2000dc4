"""The rollup: raw rows → daily fact tables, computed inside the database.

One ``INSERT … SELECT … GROUP BY`` per fact table over a ``UNION ALL`` of events, each
event on its own local (Asia/Shanghai) day: a case's intake, its first answer, its
closing, its deadline passing while overdue, its rating, a rectification opened or
closed, a call-back due or done; a policy message created or read, a push delivered,
a consent, a question citing the policy. Nothing is fetched into Python — a year of a
million cases is one statement, and the process's memory does not grow with the data.

``rollup(since, until)`` replaces the facts of those days in one transaction (delete
the range, insert): running it twice gives the same rows, and re-running a day after
late changes (a rating given, a case closed) replaces that day. The scheduler re-runs
the last 3 days every 10 minutes; ``python -m server rollup --since`` rebuilds any range.

Known approximation: a measure sits on the day of its event, so a rating changed more
than 3 days after it was first given is seen at the next rebuild of its day.

The same SELECT, restricted to today, is the "live" part of ``facts.query``.

The weekly tables (``insight_case_week``: cases by topic and enterprise mix, for the
trends; ``insight_case_mix_week``: what friction and departments read, by enterprise mix,
item and department; ``insight_case_item_week``: every summable measure by item, element,
kind and department, for evaluations) have daily mirrors (``insight_case_day``,
``insight_case_mix_day``, ``insight_case_item_day``: the same rows by day; rising topics read
days, and the period reads take the days at their ends from them). In the same
transaction the mirrors are rebuilt from the daily facts for the days of the range, the
weekly tables from the mirrors for every week the range touches, whole, and the running
totals of the mix and per-item weeks (``insight_case_mix_total``, ``insight_case_item_total``)
from the first of those weeks on — one more ``INSERT … SELECT`` each (the totals: one per
week).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.transactions import in_transaction

from models.insights import (ALL, CASE_DIMENSIONS, CASE_MEASURES, CLOSE_BUCKETS, COMPLAINED_ELEMENTS,
                             ELEMENT_COMPLAINT_SQL, ELEMENT_COMPLAINTS, FIRST_ANSWER_BUCKETS, HIST_BOUNDS,
                             ITEM_WEEK_DIMENSIONS, ITEM_WEEK_MEASURES, MIX_DIMENSIONS, MIX_MEASURES, POLICY_DIMENSIONS,
                             POLICY_MEASURES, RATING_COLUMNS, WEEK_DIMENSIONS, WEEK_ENTERPRISE_DIMENSIONS)

TZ = ZoneInfo("Asia/Shanghai")
REPEAT_WINDOW_DAYS = 30
SCHEDULED_DAYS = 3


@dataclass(frozen=True)
class Dialect:
    """The few fragments that differ between PostgreSQL and SQLite. Bounds are inlined as
    literals: they come from ``date`` objects, never from user input."""

    pg: bool

    def day(self, col: str) -> str:
        """The local calendar day of a stored aware timestamp (China has no DST)."""
        return f"(({col}) AT TIME ZONE 'Asia/Shanghai')::date" if self.pg else f"date({col}, '+8 hours')"

    def seconds(self, start: str, end: str) -> str:
        """Whole seconds from ``start`` to ``end``, never negative."""
        if self.pg:
            return f"GREATEST(0, CAST(EXTRACT(EPOCH FROM ({end}) - ({start})) AS BIGINT))"
        return f"MAX(0, CAST(round((julianday({end}) - julianday({start})) * 86400) AS INTEGER))"

    def ts(self, at: datetime) -> str:
        return f"TIMESTAMPTZ '{at.isoformat(' ')}'" if self.pg else f"julianday('{at.isoformat(' ')}')"

    def in_range(self, col: str, lo: datetime, hi: datetime) -> str:
        """``lo <= col < hi``; on PostgreSQL sargable, so the timestamp indexes serve it."""
        c = col if self.pg else f"julianday({col})"
        return f"{c} >= {self.ts(lo)} AND {c} < {self.ts(hi)}"

    def date(self, d: date) -> str:
        return f"DATE '{d.isoformat()}'" if self.pg else f"'{d.isoformat()}'"

    def days_before(self, col: str, days: int) -> str:
        return f"{col} - INTERVAL '{days} days'" if self.pg else f"julianday({col}) - {days}"

    def jd(self, col: str) -> str:
        return col if self.pg else f"julianday({col})"

    def week(self, col: str) -> str:
        """Monday of the ISO week of a date column, as a date."""
        if self.pg:
            return f"CAST(date_trunc('week', {col}) AS date)"
        return f"date({col}, '-' || ((CAST(strftime('%w', {col}) AS INTEGER) + 6) % 7) || ' days')"


def dialect() -> Dialect:
    return Dialect(connections.get("default").capabilities.dialect == "postgres")


def bounds(since: date, until: date) -> tuple[datetime, datetime]:
    """Local midnight of ``since`` and of the day after ``until``."""
    return datetime.combine(since, dtime(), TZ), datetime.combine(until + timedelta(days=1), dtime(), TZ)


def _bucket(d: Dialect, col: str, i: int) -> str:
    cond = [f"{col} IS NOT NULL"]
    if i:
        cond.append(f"{col} >= {HIST_BOUNDS[i - 1]}")
    if i < len(HIST_BOUNDS):
        cond.append(f"{col} < {HIST_BOUNDS[i]}")
    return f"SUM(CASE WHEN {' AND '.join(cond)} THEN 1 ELSE 0 END)"


_CASE_DIMS_SQL = ("COALESCE(c.topic_code, '') AS topic_code, COALESCE(c.service_item_id, 0) AS service_item_id, "
                  "COALESCE(c.element, '') AS element, COALESCE(c.department_id, 0) AS department_id, "
                  "c.channel AS channel, e.industry_group AS industry_group, e.size_class AS size_class, "
                  "e.region_code AS region_code, c.kind AS kind")
# Event columns, in order: ent, cases, merged, repeats, answered, on_time, overdue, fa_s, cl_s,
# score, rect_open, rect_closed, cb_due, cb_done.
_EVENT_COLS = ("ent", "cases", "merged", "repeats", "answered", "on_time", "overdue", "fa_s", "cl_s", "score",
               "rect_open", "rect_closed", "cb_due", "cb_done")


# Without the enterprise mix (a read that neither groups nor filters by it): the same rows
# with the three columns blank, and no join (every case has its enterprise: NOT NULL, FK).
_CASE_DIMS_NO_MIX_SQL = (_CASE_DIMS_SQL.replace("e.industry_group AS", "'' AS").replace("e.size_class AS", "'' AS")
                         .replace("e.region_code AS", "'' AS"))


def _event(d: Dialect, day_col: str, source: str, where: str, *, mix: bool = True, **values: str) -> str:
    cols = ", ".join(f"{values.get(name, 'CAST(NULL AS BIGINT)' if name in ('ent', 'fa_s', 'cl_s', 'score') else '0')} AS {name}"
                     for name in _EVENT_COLS)
    if not mix:
        return f"SELECT {d.day(day_col)} AS day, {_CASE_DIMS_NO_MIX_SQL}, {cols} FROM {source} WHERE {where}"
    return (f"SELECT {d.day(day_col)} AS day, {_CASE_DIMS_SQL}, {cols} "
            f"FROM {source} JOIN enterprise e ON e.id = c.enterprise_id WHERE {where}")


def case_select(d: Dialect, lo: datetime, hi: datetime, measures: Sequence[str] | None = None, *,
                mix: bool = True) -> str:
    """Fact-shaped rows (``CASE_DIMENSIONS`` + ``CASE_MEASURES``) for events in [lo, hi).

    ``measures`` narrows the rows to those measures and leaves out the events that feed
    none of them: today's live part of a cases-only read is then one index range over
    today's intakes, not nine event scans and a repeat probe per case. ``mix=False``
    leaves the enterprise columns blank and the enterprise table out, for a live read
    that does not use them (friction, departments: each event's join to it cost a hash
    of every enterprise)."""
    wanted = set(measures or CASE_MEASURES)
    same_need = ("(CASE WHEN c.service_item_id IS NOT NULL THEN p.service_item_id = c.service_item_id "
                 "ELSE p.service_item_id IS NULL AND p.topic_code = c.topic_code END)")
    repeat = (f"CASE WHEN EXISTS (SELECT 1 FROM consultation p WHERE p.enterprise_id = c.enterprise_id "
              f"AND {d.jd('p.accepted_at')} <= {d.jd('c.accepted_at')} "
              f"AND {d.jd('p.accepted_at')} >= {d.days_before('c.accepted_at', REPEAT_WINDOW_DAYS)} AND p.id <> c.id "
              f"AND {same_need}) THEN 1 ELSE 0 END")
    def ev(*args, **values):
        return _event(*args, mix=mix, **values)

    events = [
        ev(d, "c.accepted_at", "consultation c", d.in_range("c.accepted_at", lo, hi),
               ent="c.enterprise_id", cases="1", merged="CASE WHEN c.merged_into_id IS NULL THEN 0 ELSE 1 END",
               repeats=repeat if "repeats" in wanted else "0"),
        ev(d, "c.first_answered_at", "consultation c", d.in_range("c.first_answered_at", lo, hi),
               answered="1", on_time=f"CASE WHEN {d.jd('c.first_answered_at')} <= {d.jd('c.due_at')} THEN 1 ELSE 0 END",
               fa_s=d.seconds("c.accepted_at", "c.first_answered_at")),
        ev(d, "c.closed_at", "consultation c", d.in_range("c.closed_at", lo, hi),
               cl_s=d.seconds("c.accepted_at", "c.closed_at")),
        # the flag inside CASE: PostgreSQL would otherwise AND in the index of every overdue
        # case (tens of thousands of entries) to a day's few thousand deadlines
        ev(d, "c.due_at", "consultation c", f"{d.in_range('c.due_at', lo, hi)} AND (CASE WHEN c.overdue THEN 1 END) = 1",
           overdue="1"),
        ev(d, "r.created_at", "consultation_rating r JOIN consultation c ON c.id = r.consultation_id",
               d.in_range("r.created_at", lo, hi), score="r.score"),
        ev(d, "x.created_at", "rectification x JOIN consultation c ON c.id = x.consultation_id",
               d.in_range("x.created_at", lo, hi), rect_open="1"),
        ev(d, "x.closed_at", "rectification x JOIN consultation c ON c.id = x.consultation_id",
               f"x.status = 'closed' AND {d.in_range('x.closed_at', lo, hi)}", rect_closed="1"),
        ev(d, "b.due_at", "callback_task b JOIN consultation c ON c.id = b.consultation_id",
               d.in_range("b.due_at", lo, hi), cb_due="1"),
        ev(d, "b.done_at", "callback_task b JOIN consultation c ON c.id = b.consultation_id",
               f"b.status = 'done' AND {d.in_range('b.done_at', lo, hi)}", cb_done="1"),
    ]
    sums = {
        "cases": "SUM(cases)", "enterprises": "COUNT(DISTINCT ent)", "merged": "SUM(merged)",
        "repeats": "SUM(repeats)", "answered": "SUM(answered)", "answered_on_time": "SUM(on_time)",
        "overdue": "SUM(overdue)", "first_answer_seconds": "COALESCE(SUM(fa_s), 0)",
        "first_answer_count": "COUNT(fa_s)", "close_seconds": "COALESCE(SUM(cl_s), 0)", "close_count": "COUNT(cl_s)",
        **{name: _bucket(d, "fa_s", i) for i, name in enumerate(FIRST_ANSWER_BUCKETS)},
        **{name: _bucket(d, "cl_s", i) for i, name in enumerate(CLOSE_BUCKETS)},
        **{name: f"SUM(CASE WHEN score = {n} THEN 1 ELSE 0 END)" for n, name in enumerate(RATING_COLUMNS, 1)},
        "rectifications_opened": "SUM(rect_open)", "rectifications_closed": "SUM(rect_closed)",
        "callbacks_due": "SUM(cb_due)", "callbacks_done": "SUM(cb_done)",
        # not fact columns: what ``ELEMENT_COMPLAINT_SQL`` gives over fact rows, from the events
        **{f"complaints_{e}": f"SUM(CASE WHEN element = '{e}' THEN (CASE WHEN kind = 'complaint' THEN cases ELSE 0 END) "
                              f"+ (CASE WHEN score IN (1, 2) THEN 1 ELSE 0 END) ELSE 0 END)" for e in COMPLAINED_ELEMENTS},
    }
    assert tuple(sums)[:len(CASE_MEASURES)] == CASE_MEASURES
    # which measures each event (in the order of ``events``) feeds
    feeds = [("cases", "enterprises", "merged", "repeats", *ELEMENT_COMPLAINTS),
             ("answered", "answered_on_time", "first_answer_seconds", "first_answer_count", *FIRST_ANSWER_BUCKETS),
             ("close_seconds", "close_count", *CLOSE_BUCKETS), ("overdue",), (*RATING_COLUMNS, *ELEMENT_COMPLAINTS),
             ("rectifications_opened",), ("rectifications_closed",), ("callbacks_due",), ("callbacks_done",)]
    assert len(feeds) == len(events) and set(sums) == {m for f in feeds for m in f}
    events = [e for e, fed in zip(events, feeds) if wanted & set(fed)]
    dims = ", ".join(CASE_DIMENSIONS)
    cols = ", ".join(f"{sql} AS {name}" for name, sql in sums.items() if name in wanted)
    return f"SELECT {dims}, {cols} FROM ({' UNION ALL '.join(events)}) u GROUP BY {dims}"


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def day_select(d: Dialect, first: date, last: date) -> str:
    """``CaseDay`` rows for the days ``first`` … ``last``, summed from the daily facts: per
    enterprise mix, and with ``ALL`` over every mix."""
    keys = ["day", "topic_code", "service_item_id", "department_id"]
    source = f"FROM insight_case_fact WHERE day >= {d.date(first)} AND day <= {d.date(last)} AND cases > 0"
    detail = f"SELECT {', '.join(keys + list(WEEK_ENTERPRISE_DIMENSIONS))}, SUM(cases) {source} " \
             f"GROUP BY {', '.join(keys + list(WEEK_ENTERPRISE_DIMENSIONS))}"
    total = f"SELECT {', '.join(keys + [repr(ALL)] * len(WEEK_ENTERPRISE_DIMENSIONS))}, SUM(cases) {source} " \
            f"GROUP BY {', '.join(keys)}"
    return f"{detail} UNION ALL {total}"


def item_day_select(d: Dialect, first: date, last: date) -> str:
    """``CaseItemDay`` rows for the days ``first`` … ``last``, summed from the daily facts
    over every enterprise mix, channel and topic. Rows without cases are kept: an answer,
    a rating or a call-back falls on its own day, often not the intake day."""
    keys = ["day", *ITEM_WEEK_DIMENSIONS[1:]]
    sums = ", ".join(f"SUM({m})" for m in ITEM_WEEK_MEASURES)
    return (f"SELECT {', '.join(keys)}, {sums} FROM insight_case_fact "
            f"WHERE day >= {d.date(first)} AND day <= {d.date(last)} GROUP BY {', '.join(keys)}")


def mix_day_select(d: Dialect, first: date, last: date) -> str:
    """``CaseMixDay`` rows for the days ``first`` … ``last``, summed from the daily facts over
    channel, topic, element and kind: per enterprise mix, and with ``ALL`` over every mix.
    Rows without cases are kept, as in ``item_day_select``."""
    cell = ["day", "service_item_id", "department_id"]
    sums = ", ".join(f"SUM({ELEMENT_COMPLAINT_SQL.get(m, m)})" for m in MIX_MEASURES)
    source = f"FROM insight_case_fact WHERE day >= {d.date(first)} AND day <= {d.date(last)}"
    mix = list(WEEK_ENTERPRISE_DIMENSIONS)
    order = ["day", *MIX_DIMENSIONS[1:]]  # the enterprise columns after day, as the table lists them
    detail = f"SELECT {', '.join(order)}, {sums} {source} GROUP BY {', '.join(cell + mix)}"
    every = ", ".join(repr(ALL) if c in mix else c for c in order)
    return f"{detail} UNION ALL SELECT {every}, {sums} {source} GROUP BY {', '.join(cell)}"


def _week_cases_from_days(d: Dialect, span: str, sign: int) -> str:
    """Add (``sign`` 1) or take out (-1) the ``insight_case_day`` rows of the days in
    ``span`` to or from their weeks in ``insight_case_week`` (an upsert on its key)."""
    dims = WEEK_DIMENSIONS[1:]
    keys = ("region_code", "industry_group", "size_class", "week", "topic_code", "service_item_id", "department_id")
    return (f"INSERT INTO insight_case_week (week, {', '.join(dims)}, cases) "
            f"SELECT {d.week('day')}, {', '.join(dims)}, {sign} * SUM(cases) FROM insight_case_day WHERE {span} "
            f"GROUP BY {d.week('day')}, {', '.join(dims)} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET cases = insight_case_week.cases + excluded.cases")


def weeks_from_days(d: Dialect, mirror: str, first: date, last: date) -> str:
    """Rows of a weekly table for the weeks starting ``first`` … ``last`` (Mondays), summed
    from its daily mirror (same columns, ``day`` for ``week``; ``ALL`` rows carry through
    the grouping): a week is a few thousand mirror rows, against tens of thousands of
    daily facts."""
    weekly = {"insight_case_day": (WEEK_DIMENSIONS, ("cases",)),
              "insight_case_item_day": (ITEM_WEEK_DIMENSIONS, ITEM_WEEK_MEASURES),
              "insight_case_mix_day": (MIX_DIMENSIONS, MIX_MEASURES)}
    dims, measures = weekly[mirror]
    keys = [d.week("day"), *dims[1:]]
    return (f"SELECT {', '.join(keys)}, {', '.join(f'SUM({m})' for m in measures)} FROM {mirror} "
            f"WHERE day >= {d.date(first)} AND day <= {d.date(last + timedelta(days=6))} GROUP BY {', '.join(keys)}")


def _as_date(value) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


# Running totals and the weekly table each is summed from: (totals, weekly, cell, measures).
RUNNING_TOTALS = (("insight_case_item_total", "insight_case_item_week", ITEM_WEEK_DIMENSIONS[1:], ITEM_WEEK_MEASURES),
                  ("insight_case_mix_total", "insight_case_mix_week", MIX_DIMENSIONS[1:], MIX_MEASURES))


MIRRORS = {"insight_case_item_week": "insight_case_item_day", "insight_case_mix_week": "insight_case_mix_day"}


async def _totals_reach(conn, total: str, last: date) -> date | None:
    """The last week of the running totals ``total`` if it is ``last`` or later, else None."""
    _, rows = await conn.execute_query(f"SELECT MAX(week) AS top FROM {total}")
    top = _as_date(rows[0]["top"])
    return top if top and top >= last else None


async def _week_change(conn, d: Dialect, weekly: str, cell: Sequence[str], measures: Sequence[str], first: date,
                       last: date) -> None:
    """The temporary table ``week_change``: per week ``first`` … ``last`` and cell, what the
    weeks summed from the daily mirror now (the range's days just rewritten) differ from
    the rows of ``weekly`` still in place; cells that did not change are left out."""
    keys = ", ".join(("week", *cell))
    await conn.execute_script("DROP TABLE IF EXISTS week_change")
    await conn.execute_script(
        f"CREATE TEMP TABLE week_change AS SELECT {keys}, {', '.join(f'SUM({m}) AS {m}' for m in measures)} FROM ("
        f"SELECT {keys}, {', '.join(f'-{m} AS {m}' for m in measures)} FROM {weekly} "
        f"WHERE week >= {d.date(first)} AND week <= {d.date(last)} "
        f"UNION ALL {weeks_from_days(d, MIRRORS[weekly], first, last)}) t "
        f"GROUP BY {keys} HAVING {' OR '.join(f'SUM({m}) <> 0' for m in measures)}")


async def _shift_totals(conn, d: Dialect, total: str, cell: Sequence[str], measures: Sequence[str], first: date,
                        top: date) -> None:
    """Add ``week_change`` to the running totals: each week ``first`` … ``top`` of a changed
    cell gets the changes of its weeks up to that one (an upsert: a cell with no row
    there yet had nothing before, as rows run from a cell's first week on)."""
    weeks, week = [], first
    while week <= top:
        weeks.append(f"SELECT {d.date(week)} AS week")
        week += timedelta(days=7)
    keys = ", ".join(("week", *cell))
    await conn.execute_script(
        f"INSERT INTO {total} ({keys}, {', '.join(measures)}) "
        f"SELECT w.week, {', '.join(f'c.{k}' for k in cell)}, {', '.join(f'SUM(c.{m})' for m in measures)} "
        f"FROM ({' UNION ALL '.join(weeks)}) w JOIN week_change c ON c.week <= w.week "
        f"GROUP BY w.week, {', '.join(f'c.{k}' for k in cell)} "
        f"ON CONFLICT ({keys}) DO UPDATE SET {', '.join(f'{m} = {total}.{m} + excluded.{m}' for m in measures)}")
    await conn.execute_script("DROP TABLE week_change")


async def item_totals(conn, d: Dialect, first: date) -> None:
    """Rebuild ``insight_case_item_total`` from the week ``first`` (a Monday) on
    (``running_totals``; migration 0013 fills it with this)."""
    await running_totals(conn, d, first, *RUNNING_TOTALS[0])


async def all_totals(conn, d: Dialect, first: date) -> None:
    """Rebuild every table of running totals (``RUNNING_TOTALS``) from the week ``first`` on."""
    for spec in RUNNING_TOTALS:
        await running_totals(conn, d, first, *spec)


async def running_totals(conn, d: Dialect, first: date, total: str, weekly: str, cell: Sequence[str],
                         measures: Sequence[str]) -> None:
    """Rebuild the running totals ``total`` of ``weekly`` from the week ``first`` (a Monday)
    to the last week of ``weekly``, a week at a time: each week's rows are the week
    before's plus this week's measures, per cell (one small ``INSERT … SELECT … GROUP BY``
    per week — a window over all the weeks at once was slower). If the table stops
    before ``first``, the rebuild starts right after its last week, so no week goes
    missing. Every cell of the week before carries on, so each cell has a row for every
    week from its first on and a read needs no "latest row before" search."""
    _, rows = await conn.execute_query(f"SELECT MAX(week) AS top FROM {total}")
    top = _as_date(rows[0]["top"])
    _, rows = await conn.execute_query(f"SELECT MIN(week) AS lo, MAX(week) AS hi FROM {weekly}")
    lo, hi = _as_date(rows[0]["lo"]), _as_date(rows[0]["hi"])
    start = min(first, top + timedelta(days=7)) if top else (lo or first)
    await conn.execute_script(f"DELETE FROM {total} WHERE week >= {d.date(start)}")
    if hi is None:
        return
    keys = ", ".join(cell)
    cols = ", ".join(measures)
    week = start
    while week <= hi:
        await conn.execute_script(
            f"INSERT INTO {total} (week, {keys}, {cols}) "
            f"SELECT {d.date(week)}, {keys}, {', '.join(f'SUM({m})' for m in measures)} FROM ("
            f"SELECT {keys}, {cols} FROM {total} WHERE week = {d.date(week - timedelta(days=7))} "
            f"UNION ALL SELECT {keys}, {cols} FROM {weekly} WHERE week = {d.date(week)}) t "
            f"GROUP BY {keys}")
        week += timedelta(days=7)


def policy_select(d: Dialect, lo: datetime, hi: datetime) -> str:
    """Fact-shaped rows (``POLICY_DIMENSIONS`` + ``POLICY_MEASURES``) for events in [lo, hi).
    A recipient is counted once per campaign for "delivered" (on the day of the first
    push that reached them), whichever channels carried it."""
    dims = "e.size_class AS size_class, e.industry_group AS industry_group, e.region_code AS region_code"
    joins = ("JOIN notification_campaign k ON k.id = i.campaign_id AND k.kind = 'policy' "
             "JOIN policy p ON p.id = k.source_id JOIN app_user us ON us.id = i.user_id "
             "JOIN enterprise e ON e.id = us.enterprise_id")
    inbox = f"inbox_message i {joins}"
    # Recipients: inbox rows, and delivery rows the inbox has not picked up yet (publishing
    # writes an inbox row only for recipients without a delivery; see notifications.outbox).
    # Every row of a (campaign, recipient) carries the publish time, so one range serves both.
    reached = (f"(SELECT campaign_id, user_id, MIN(created_at) AS created_at FROM ("
               f"SELECT campaign_id, user_id, created_at FROM inbox_message WHERE {d.in_range('created_at', lo, hi)} "
               f"UNION ALL SELECT campaign_id, user_id, created_at FROM notification_delivery "
               f"WHERE {d.in_range('created_at', lo, hi)}) r GROUP BY campaign_id, user_id) i {joins}")
    sent = ("(SELECT campaign_id, user_id, MIN(sent_at) AS sent_at FROM notification_delivery "
            f"WHERE status = 'delivered' AND {d.in_range('sent_at', lo, hi)} GROUP BY campaign_id, user_id) s "
            "JOIN notification_campaign k ON k.id = s.campaign_id AND k.kind = 'policy' "
            "JOIN policy p ON p.id = k.source_id JOIN app_user us ON us.id = s.user_id "
            "JOIN enterprise e ON e.id = us.enterprise_id")

    def ev(day_col: str, series: str, source: str, where: str, measure: str) -> str:
        cols = ", ".join(f"{1 if m == measure else 0} AS {m}" for m in POLICY_MEASURES)
        return f"SELECT {d.day(day_col)} AS day, {series} AS policy_series_id, {dims}, {cols} FROM {source} WHERE {where}"

    events = [
        ev("i.created_at", "p.series_id", reached, "1 = 1", "matched"),
        ev("s.sent_at", "p.series_id", sent, "1 = 1", "delivered"),
        ev("i.read_at", "p.series_id", inbox, d.in_range("i.read_at", lo, hi), "read"),
        ev("pc.consented_at", "pc.series_id", "policy_consent pc JOIN enterprise e ON e.id = pc.enterprise_id",
           d.in_range("pc.consented_at", lo, hi), "consented"),
        # the test inside CASE: PostgreSQL would otherwise AND in the index of every case citing
        # a policy (tens of thousands of entries, 13 ms) to a day's few thousand intakes
        ev("c.accepted_at", "c.policy_series_id", "consultation c JOIN enterprise e ON e.id = c.enterprise_id",
           f"(CASE WHEN c.policy_series_id IS NOT NULL THEN 1 END) = 1 AND {d.in_range('c.accepted_at', lo, hi)}",
           "followups"),
    ]
    keys = ", ".join(POLICY_DIMENSIONS)
    return (f"SELECT {keys}, {', '.join(f'SUM({m}) AS {m}' for m in POLICY_MEASURES)} "
            f"FROM ({' UNION ALL '.join(events)}) u GROUP BY {keys}")


async def rollup(since: date, until: date, *, totals: bool = True) -> dict:
    """Replace the facts of the local days ``since`` … ``until`` (inclusive) in one
    transaction; returns the fact rows written and the seconds taken. ``totals=False``
    leaves the running totals alone — for a rebuild day by day (``python -m server
    rollup``), which drops them first (``drop_totals``) and rebuilds them once at the end
    (``rebuild_totals``) instead of every later week once per day."""
    if until < since:
        raise ValueError("until before since")
    d = dialect()
    lo, hi = bounds(since, until)
    span = f"day >= {d.date(since)} AND day <= {d.date(until)}"
    started = time.perf_counter()
    async with in_transaction() as conn:
        await serialise(conn, d)
        for table, dims, measures, select in (
                ("insight_case_fact", CASE_DIMENSIONS, CASE_MEASURES, case_select(d, lo, hi)),
                ("insight_policy_fact", POLICY_DIMENSIONS, POLICY_MEASURES, policy_select(d, lo, hi))):
            await conn.execute_script(f"DELETE FROM {table} WHERE {span}")
            await conn.execute_script(f"INSERT INTO {table} ({', '.join(dims + measures)}) {select}")
        # the daily mirrors of the weekly tables, for the days of the range
        day_dims = ", ".join(("day", *WEEK_DIMENSIONS[1:]))
        first, last = monday(since), monday(until)
        few = (until - since).days < 7
        if few:  # the weeks' cases: take the replaced days out (below: put the new ones in)
            await conn.execute_script(_week_cases_from_days(d, span, -1))
        await conn.execute_script(f"DELETE FROM insight_case_day WHERE {span}")
        await conn.execute_script(f"INSERT INTO insight_case_day ({day_dims}, cases) "
                                  f"{day_select(d, since, until)}")
        await conn.execute_script(f"DELETE FROM insight_case_item_day WHERE {span}")
        await conn.execute_script(f"INSERT INTO insight_case_item_day "
                                  f"({', '.join(('day', *ITEM_WEEK_DIMENSIONS[1:], *ITEM_WEEK_MEASURES))}) "
                                  f"{item_day_select(d, since, until)}")
        await conn.execute_script(f"DELETE FROM insight_case_mix_day WHERE {span}")
        await conn.execute_script(f"INSERT INTO insight_case_mix_day ({', '.join(('day', *MIX_DIMENSIONS[1:], *MIX_MEASURES))}) "
                                  f"{mix_day_select(d, since, until)}")
        # every week the range touches, whole, from the daily mirrors (the days of the range
        # just written, the week's other days from earlier runs: as in the daily facts). For
        # a few days the weeks' cases are adjusted instead — the days' old rows out, their
        # new rows in, emptied rows dropped —: a week is some 15,000 rows to rewrite, a day
        # a couple of thousand.
        week_span = f"week >= {d.date(first)} AND week <= {d.date(last)}"
        if few:
            await conn.execute_script(_week_cases_from_days(d, span, 1))
            await conn.execute_script(f"DELETE FROM insight_case_week WHERE {week_span} AND cases = 0")
        else:
            await conn.execute_script(f"DELETE FROM insight_case_week WHERE {week_span}")
            await conn.execute_script(f"INSERT INTO insight_case_week ({', '.join(WEEK_DIMENSIONS)}, cases) "
                                      f"{weeks_from_days(d, 'insight_case_day', first, last)}")
        # the per-item and mix weeks, and their running totals: for a few days inside weeks
        # the totals already hold, the change of those weeks is added to every later week
        # of the cells it touches (a re-rolled day that changed nothing writes nothing);
        # otherwise rebuilt from the first week on
        for total, weekly, cell, measures in RUNNING_TOTALS:
            shift = few and totals and await _totals_reach(conn, total, last)
            if shift:
                await _week_change(conn, d, weekly, cell, measures, first, last)
            await conn.execute_script(f"DELETE FROM {weekly} WHERE {week_span}")
            await conn.execute_script(f"INSERT INTO {weekly} (week, {', '.join((*cell, *measures))}) "
                                      f"{weeks_from_days(d, MIRRORS[weekly], first, last)}")
            if shift:
                await _shift_totals(conn, d, total, cell, measures, first, shift)
            elif totals:
                await running_totals(conn, d, first, total, weekly, cell, measures)
        _, rows = await conn.execute_query(
            f"SELECT (SELECT COUNT(*) FROM insight_case_fact WHERE {span}) AS c, "
            f"(SELECT COUNT(*) FROM insight_policy_fact WHERE {span}) AS p")
    row = dict(rows[0])
    return {"since": since.isoformat(), "until": until.isoformat(), "case_rows": row["c"], "policy_rows": row["p"],
            "seconds": round(time.perf_counter() - started, 3)}


#: The PostgreSQL advisory lock key every transaction that rewrites the insights tables takes.
ROLLUP_LOCK = 0x5A5A_0005


async def serialise(conn, d: Dialect) -> None:
    """Wait for any other rollup transaction to commit before this one starts rewriting.

    Two rollups over the same days at once (the scheduled job of one process and a
    ``rollup --since`` by an administrator, or the job of two processes) would otherwise
    each delete the rows the other cannot yet see and insert the same keys: the second
    fails on the unique index. The lock lasts until the transaction ends; SQLite's single
    writer already serialises them."""
    if d.pg:
        await conn.execute_query(f"SELECT pg_advisory_xact_lock({ROLLUP_LOCK})")


async def drop_totals(since: date) -> None:
    """Delete the running totals from the week of ``since`` on. Reads then take those weeks
    from ``insight_case_item_week`` (slower, never wrong), and the next rollup that
    rebuilds totals starts right after the last week left."""
    d = dialect()
    async with in_transaction() as conn:
        await serialise(conn, d)
        for total, *_ in RUNNING_TOTALS:
            await conn.execute_script(f"DELETE FROM {total} WHERE week >= {d.date(monday(since))}")


async def rebuild_totals(since: date) -> None:
    """Rebuild the running totals from the week of ``since`` to the last week there is."""
    d = dialect()
    async with in_transaction() as conn:
        await serialise(conn, d)
        await all_totals(conn, d, monday(since))


def today() -> date:
    return datetime.now(TZ).date()


async def scheduled(rt=None) -> dict:
    """The periodic job: the last ``SCHEDULED_DAYS`` days including today, so late
    answers, closings and ratings of recent cases land on their days. Then, with a
    runtime, the raw-row views are computed for the default filters and stored
    (``views.precompute``), and the dashboard's default views are computed again
    (``views.warm``): the rollup moved the facts' cache key, and the first officer to
    open the page would otherwise pay the uncached reads. A view failing there does not
    fail the job."""
    end = today()
    result = await rollup(end - timedelta(days=SCHEDULED_DAYS - 1), end)
    if rt is not None:
        from services.insights import views

        embedded = str(getattr(rt.settings, "redis_url", "")).startswith("memory://")
        result["precomputed"] = await views.precompute(embedded=embedded, rt=rt)
        result["warmed"] = await views.warm(rt)
    return result
