"""The eligibility rules as a SQL ``WHERE`` over the ``enterprise`` table — a pure core
that only builds text and parameters.

Matching a policy against every enterprise (the live preview count, the recipients of a
push) happens in the database: one indexed scan, no rows shipped to Python. The
semantics are exactly those of :func:`services.policies.rules.evaluate` ``.eligible``
(a property test runs both on random rules and enterprises):

* a condition over a field the enterprise has not filled in (employees, revenue,
  founding date) passes — ``col IS NULL OR …``;
* industries and regions are prefix matches (``LIKE 'p%'``; the prefixes are validated
  digit strings, so they contain no wildcard);
* a qualification tag must be held (``EXISTS`` on ``enterprise_tag``).

Every fragment is two-valued (never NULL), so ``NOT (fragment)`` is the exact complement
— used to push a revised policy only to enterprises the previous version did not reach.

Placeholders are numbered: ``$1, $2 …`` for PostgreSQL (asyncpg), ``?1, ?2 …`` for
SQLite — or ``$n`` for both when the text is handed to the outbox, which takes
PostgreSQL numbering and translates it itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from services.policies.rules import age_bounds

__all__ = ["count_sql", "enterprise_where", "recipients_sql"]

_TZ = ZoneInfo("Asia/Shanghai")


class _Params:
    def __init__(self, dialect: str, first: int, dollar: bool) -> None:
        if dialect not in ("postgres", "sqlite"):
            raise ValueError(f"unsupported dialect {dialect!r}")
        self.dialect = dialect
        self.values: list[Any] = []
        self.first = first
        self.mark = "$" if dollar else "?"

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"{self.mark}{self.first + len(self.values) - 1}"

    def many(self, values: list[Any]) -> str:
        return ", ".join(self(v) for v in values)

    def day(self, value: date) -> str:
        # tortoise keeps SQLite dates as ISO text; asyncpg wants a date object.
        return self(value.isoformat() if self.dialect == "sqlite" else value)

    def amount(self, value: Any) -> str:
        # PostgreSQL compares numeric exactly. SQLite keeps the Decimal column as text, so
        # both sides are compared as REAL; figures with two decimals below 10^10 are exact
        # enough that no two different values collide.
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return self(float(number) if self.dialect == "sqlite" else number)


def enterprise_where(rules: Mapping[str, Any], dialect: str, *, today: date | None = None,
                     alias: str = "e", first_param: int = 1,
                     dollar: bool | None = None) -> tuple[str, list[Any]]:
    """``(fragment, params)`` selecting the enterprises (table alias ``alias``) that fit
    the normalised ``rules``; ``"1=1"`` when there is no condition. ``first_param`` is
    the number of the first placeholder, for embedding after other parameters;
    ``dollar`` forces ``$n`` placeholders whatever the dialect."""
    today = today or datetime.now(_TZ).date()
    p = _Params(dialect, first_param, dialect == "postgres" if dollar is None else dollar)
    a = alias
    parts: list[str] = []

    if (items := rules.get("industries")) is not None:
        options = [f"{a}.industry_code LIKE {p(code + '%')}" for code in items if code.isdigit()]
        groups = [g for g in items if not g.isdigit()]
        if groups:
            options.append(f"{a}.industry_group IN ({p.many(groups)})")
        parts.append("(" + " OR ".join(options) + ")")

    if (sizes := rules.get("size_classes")) is not None:
        parts.append(f"{a}.size_class IN ({p.many(list(sizes))})")

    if (regions := rules.get("regions")) is not None:
        parts.append("(" + " OR ".join(f"{a}.region_code LIKE {p(r + '%')}" for r in regions) + ")")

    if (age := rules.get("age_years")) is not None:
        latest, excluded = age_bounds(age, today)
        window = []
        if latest is not None:
            window.append(f"{a}.founded_on <= {p.day(latest)}")
        if excluded is not None:
            window.append(f"{a}.founded_on > {p.day(excluded)}")
        parts.append(f"({a}.founded_on IS NULL OR ({' AND '.join(window)}))")

    if (emp := rules.get("employees")) is not None:
        bounds = []
        if emp.get("min") is not None:
            bounds.append(f"{a}.employees >= {p(int(emp['min']))}")
        if emp.get("max") is not None:
            bounds.append(f"{a}.employees <= {p(int(emp['max']))}")
        parts.append(f"({a}.employees IS NULL OR ({' AND '.join(bounds)}))")

    if (rev := rules.get("revenue")) is not None:
        col = f"CAST({a}.revenue AS REAL)" if dialect == "sqlite" else f"{a}.revenue"
        bounds = []
        if rev.get("min") is not None:
            bounds.append(f"{col} >= {p.amount(rev['min'])}")
        if rev.get("max") is not None:
            bounds.append(f"{col} <= {p.amount(rev['max'])}")
        parts.append(f"({a}.revenue IS NULL OR ({' AND '.join(bounds)}))")

    if (tags := rules.get("tags")) is not None:
        parts.append(f"EXISTS (SELECT 1 FROM enterprise_tag t WHERE t.enterprise_id = {a}.id "
                     f"AND t.tag IN ({p.many(list(tags))}))")

    return (" AND ".join(parts) or "1=1"), p.values


def count_sql(rules: Mapping[str, Any], dialect: str, *, today: date | None = None) -> tuple[str, list[Any]]:
    where, params = enterprise_where(rules, dialect, today=today)
    return f"SELECT COUNT(*) AS n FROM enterprise e WHERE {where}", params


def recipients_sql(rules: Mapping[str, Any], dialect: str, *, today: date | None = None,
                   exclude: Mapping[str, Any] | None = None) -> tuple[str, list[Any]]:
    """One column ``user_id``: the active owners and members of fitting enterprises,
    with ``$n`` placeholders as :func:`notifications.outbox.create_campaign` expects.

    ``exclude`` (the rules of the version being superseded) leaves out enterprises that
    version already reached: a revision is not pushed twice to the same people, whose
    one-time subscribe-message credits are precious.
    """
    where, params = enterprise_where(rules, dialect, today=today, dollar=True)
    sql = ("SELECT u.id AS user_id FROM app_user u JOIN enterprise e ON e.id = u.enterprise_id "
           f"WHERE u.is_active = {'TRUE' if dialect == 'postgres' else '1'} AND {where}")
    if exclude is not None:
        old, old_params = enterprise_where(exclude, dialect, today=today, first_param=len(params) + 1,
                                           dollar=True)
        sql += f" AND NOT ({old})"
        params = params + old_params
    return sql, params
