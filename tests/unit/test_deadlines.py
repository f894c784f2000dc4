"""Deadline arithmetic, with the Spring Festival and National Day of 2025/2026 and
their 调休 make-up days. Dates checked against the State Council notices."""

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.consultations.deadlines import TZ, due_after, is_working_day, working_days_between


def at(y, m, d, h=10):
    return datetime(y, m, d, h, tzinfo=TZ)


@pytest.mark.parametrize("start, n, expected", [
    # A Monday intake, 3 working days: Thursday.
    (at(2026, 3, 2), 3, date(2026, 3, 5)),
    # Friday intake: the weekend does not count.
    (at(2026, 3, 6), 3, date(2026, 3, 11)),
    # Saturday intake counts the same way (the clock starts at intake).
    (at(2026, 3, 7), 3, date(2026, 3, 11)),
    # Spring Festival 2026: 2/15–2/23 off; Saturday 2/14 and Saturday 2/28 are make-up working days.
    (at(2026, 2, 13), 1, date(2026, 2, 14)),
    (at(2026, 2, 14), 1, date(2026, 2, 24)),
    (at(2026, 2, 12), 3, date(2026, 2, 24)),
    # Spring Festival 2026, the second make-up Saturday: Friday 2/27 + 1 is Saturday 2/28,
    # and a week that contains it has six working days.
    (at(2026, 2, 27), 1, date(2026, 2, 28)),
    (at(2026, 2, 26), 2, date(2026, 2, 28)),
    (at(2026, 2, 28), 1, date(2026, 3, 2)),
    # Spring Festival 2025 (1/28–2/4 off; Sunday 1/26 and Saturday 2/8 worked).
    (at(2025, 1, 24), 1, date(2025, 1, 26)),
    (at(2025, 1, 27), 1, date(2025, 2, 5)),
    (at(2025, 2, 7), 1, date(2025, 2, 8)),
    (at(2025, 1, 25), 3, date(2025, 2, 5)),
    # National Day 2025 (10/1–10/8 off; Sunday 9/28 and Saturday 10/11 worked).
    (at(2025, 9, 26), 1, date(2025, 9, 28)),
    (at(2025, 9, 30), 1, date(2025, 10, 9)),
    (at(2025, 10, 9), 2, date(2025, 10, 11)),
    # National Day 2026 (10/1–10/7 off; Sunday 9/20 and Saturday 10/10 worked).
    (at(2026, 9, 30), 1, date(2026, 10, 8)),
    (at(2026, 10, 9), 1, date(2026, 10, 10)),
    # Zero days: due at the end of the intake day.
    (at(2026, 3, 2), 0, date(2026, 3, 2)),
])
def test_due_dates_follow_the_holiday_notices(start, n, expected):
    due = due_after(start, n)
    assert due.due_at.date() == expected
    assert (due.due_at.hour, due.due_at.minute, due.due_at.second) == (23, 59, 59)
    assert due.due_at.utcoffset() == timedelta(hours=8)
    assert not due.provisional


def test_a_late_evening_utc_intake_counts_from_the_beijing_day():
    # 2026-03-01 17:00 UTC is Monday 2026-03-02 01:00 in Beijing.
    due = due_after(datetime.fromisoformat("2026-03-01T17:00:00+00:00"), 1)
    assert due.due_at.date() == date(2026, 3, 3)


def test_years_without_a_published_notice_are_provisional_weekdays():
    due = due_after(at(2026, 12, 30), 3)
    assert due.provisional
    assert due.due_at.date() == date(2027, 1, 4)


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        due_after(at(2026, 3, 2), -1)


days = st.dates(min_value=date(2005, 1, 1), max_value=date(2026, 11, 30))


@settings(max_examples=300, deadline=None)
@given(day=days, n=st.integers(min_value=0, max_value=30), hour=st.integers(0, 23))
def test_due_is_exactly_n_working_days_after_intake_and_lands_on_a_working_day(day, n, hour):
    start = datetime(day.year, day.month, day.day, hour, tzinfo=TZ)
    due = due_after(start, n).due_at.date()
    assert working_days_between(day, due) == n
    if n:
        assert is_working_day(due)[0]


@settings(max_examples=200, deadline=None)
@given(day=days, n=st.integers(min_value=0, max_value=20), extra=st.integers(min_value=1, max_value=10))
def test_more_days_never_give_an_earlier_deadline(day, n, extra):
    start = datetime(day.year, day.month, day.day, 9, tzinfo=TZ)
    assert due_after(start, n + extra).due_at > due_after(start, n).due_at


def test_a_week_with_a_make_up_saturday_has_six_working_days():
    # 2026-02-23 (Monday, still a holiday) … 2026-03-01: Tuesday–Saturday are worked.
    assert working_days_between(date(2026, 2, 22), date(2026, 3, 1)) == 5
    assert is_working_day(date(2026, 2, 28)) == (True, True)
    assert is_working_day(date(2026, 2, 23)) == (False, True)


# The stored marks of the supervision ladder (service.clock): the reminder falls strictly
# between intake and the deadline (at 75 % of the time), the escalation at the end of
# the next working day after the deadline — across the same holidays.


@pytest.mark.parametrize("start, n, escalate", [
    (at(2026, 3, 2), 3, date(2026, 3, 6)),  # due Thursday, escalated Friday
    (at(2026, 3, 5), 3, date(2026, 3, 11)),  # due Tuesday 3/10 (weekend skipped)
    (at(2026, 2, 13), 1, date(2026, 2, 24)),  # due Saturday 2/14 (make-up day), then the holiday
    (at(2026, 2, 25), 2, date(2026, 2, 28)),  # due Friday 2/27, escalated on Saturday 2/28 (worked)
    (at(2025, 9, 29), 1, date(2025, 10, 9)),  # due 9/30, National Day in between
])
def test_clock_marks_around_holidays(start, n, escalate):
    from services.consultations.service import clock

    c = clock(start, n)
    assert start < c["remind_at"] < c["due_at"] < c["escalate_at"]
    assert c["due_at"] == due_after(start, n).due_at
    assert c["escalate_at"].date() == escalate and c["escalate_at"].time() == c["due_at"].time()
    assert working_days_between(c["due_at"].date(), c["escalate_at"].date()) == 1


@settings(max_examples=200, deadline=None)
@given(day=days, n=st.integers(min_value=1, max_value=15), minute=st.integers(0, 24 * 60 - 1))
def test_clock_remind_is_three_quarters_of_the_time_and_escalate_the_next_working_day(day, n, minute):
    from services.consultations.service import clock

    start = datetime(day.year, day.month, day.day, tzinfo=TZ) + timedelta(minutes=minute)
    c = clock(start, n)
    assert start < c["remind_at"] < c["due_at"]
    used = (c["remind_at"] - start) / (c["due_at"] - start)
    assert abs(used - 0.75) < 1e-6
    esc = c["escalate_at"].astimezone(TZ)
    assert working_days_between(c["due_at"].astimezone(TZ).date(), esc.date()) == 1
    assert is_working_day(esc.date())[0] and esc.time() == c["due_at"].astimezone(TZ).time()
    assert c["working_days"] == n
