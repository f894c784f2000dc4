"""Set-based SQL that runs unchanged on SQLite and PostgreSQL.

The outbox writes 100,000 rows in one statement, which the ORM cannot express, so
a little raw SQL is unavoidable. The differences that matter are few: parameters
(``$1`` vs ``?1`` — SQLite understands numbered ``?NNN``, so one numbering serves
both), PostgreSQL needing explicit types for parameters in a SELECT list, and
booleans. The quiet-hours and digest arithmetic mirrors :mod:`notifications.schedule`
and is tested against it.
"""

from __future__ import annotations

import re
import time
from typing import Any

from notifications.schedule import MINUTE_MS, MINUTES_PER_DAY

_DOLLAR = re.compile(r"\$(\d+)")


def now_ms() -> int:
    return int(time.time() * 1000)


class Statement:
    """Collects parameters and renders placeholders for one connection's dialect."""

    def __init__(self, conn: Any, params: list[Any] | None = None) -> None:
        self.pg = conn.capabilities.dialect == "postgres"
        self.params: list[Any] = list(params or [])

    def p(self, value: Any, cast: str | None = None) -> str:
        self.params.append(value)
        n = len(self.params)
        if not self.pg:
            return f"?{n}"
        return f"CAST(${n} AS {cast})" if cast else f"${n}"

    def many(self, values: list[Any], cast: str | None = None) -> str:
        """``IN (…)`` list; an empty list matches nothing."""
        if not values:
            return "(NULL)"
        return "(" + ", ".join(self.p(v, cast) for v in values) + ")"

    def isin(self, column: str, values: list[Any], pg_type: str) -> str:
        """``column`` is one of ``values``. On PostgreSQL one array parameter
        (``= ANY($n)``), so the statement text — and asyncpg's prepared statement —
        is the same for every batch size instead of one new plan per length."""
        if not self.pg:
            return f"{column} IN {self.many(values)}"
        return f"{column} = ANY({self.p(list(values), pg_type + '[]')})"

    def native(self, sql: str) -> str:
        """SQL written with ``$n`` placeholders, for this dialect."""
        return sql if self.pg else _DOLLAR.sub(r"?\1", sql)


def in_quiet_sql(minute: str, start: str, end: str) -> str:
    """SQL boolean-as-integer (1/0): :func:`notifications.schedule.in_quiet_hours`."""
    return (f"(CASE WHEN {start} = {end} THEN 0 "
            f"WHEN {start} < {end} THEN (CASE WHEN {minute} >= {start} AND {minute} < {end} THEN 1 ELSE 0 END) "
            f"ELSE (CASE WHEN {minute} >= {start} OR {minute} < {end} THEN 1 ELSE 0 END) END)")


def at_next_sql(minute_start_ms: int, minute_now: int, target: str) -> str:
    """SQL: the next moment (epoch ms) the local clock shows ``target`` (see schedule._at_next)."""
    return (f"({int(minute_start_ms)} + (({target} - {int(minute_now)} + {MINUTES_PER_DAY}) "
            f"% {MINUTES_PER_DAY}) * {MINUTE_MS})")
