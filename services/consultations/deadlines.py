"""Working-day deadline arithmetic on the mainland China calendar (pure core).

Definition (consultation issue): a case is due at 23:59:59 Asia/Shanghai on the
N-th working day after the day of intake; an intake on a weekend or holiday
counts the same way (the clock starts at intake, not at the next working day).
Working days follow the State Council holiday notices, 调休 make-up days included,
as carried by the ``chinesecalendar`` package. For a year the package does not
cover yet (the notice for next year comes out in November), Monday–Friday is
used and the result says it is provisional, so nothing fails on 31 December.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

TZ = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)


def is_working_day(day: date) -> tuple[bool, bool]:
    """(is it a working day, is that certain — i.e. covered by a published notice)."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False


@dataclass(frozen=True)
class Due:
    due_at: datetime
    working_days: int
    provisional: bool  # some day counted lies in a year without a published holiday notice


def due_after(start: datetime, working_days: int) -> Due:
    """The deadline ``working_days`` working days after the intake moment ``start``."""
    if working_days < 0:
        raise ValueError("working_days must be >= 0")
    local = start.astimezone(TZ) if start.tzinfo else start.replace(tzinfo=TZ)
    day = local.date()
    certain = True
    counted = 0
    while counted < working_days:
        day += timedelta(days=1)
        working, sure = is_working_day(day)
        certain = certain and sure
        if working:
            counted += 1
    return Due(due_at=datetime.combine(day, END_OF_DAY, tzinfo=TZ), working_days=working_days,
               provisional=not certain)


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]: how much of a deadline has been used."""
    n, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day)[0]:
            n += 1
    return n
