"""Delivery timing without a database: quiet hours, digests, backoff, error meaning."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.schedule import (classify, digest_due, format_hhmm, in_quiet_hours, min_retry_delay_ms,
                                    minute_of_day, parse_hhmm, quiet_release, retry_delay_ms)
from wechat.gateway import WeChatError

TZ = ZoneInfo("Asia/Shanghai")
NIGHT = (parse_hhmm("21:00"), parse_hhmm("08:00"))


def at(text: str) -> int:
    """Epoch ms of a Beijing wall-clock time."""
    return int(datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp() * 1000)


def test_times_of_day_read_and_write_as_hh_mm():
    assert parse_hhmm("21:30") == 1290
    assert format_hhmm(1290) == "21:30"
    assert format_hhmm(parse_hhmm("00:00")) == "00:00"
    for bad in ("24:00", "7:00", "07:60", "", "0700"):
        with pytest.raises(ValueError):
            parse_hhmm(bad)


def test_minute_of_day_is_beijing_time_whatever_the_host_zone():
    assert minute_of_day(at("2026-03-02 00:00")) == 0
    assert minute_of_day(at("2026-03-02 23:59:59")) == 1439
    assert minute_of_day(at("2026-03-02 08:30")) == 510


def test_quiet_hours_across_midnight_hold_late_evening_and_early_morning():
    assert in_quiet_hours(parse_hhmm("21:00"), *NIGHT)
    assert in_quiet_hours(parse_hhmm("23:59"), *NIGHT)
    assert in_quiet_hours(parse_hhmm("00:00"), *NIGHT)
    assert in_quiet_hours(parse_hhmm("07:59"), *NIGHT)
    assert not in_quiet_hours(parse_hhmm("08:00"), *NIGHT)
    assert not in_quiet_hours(parse_hhmm("20:59"), *NIGHT)


def test_quiet_hours_within_one_day_and_switched_off():
    lunch = (parse_hhmm("12:00"), parse_hhmm("14:00"))
    assert in_quiet_hours(parse_hhmm("12:30"), *lunch)
    assert not in_quiet_hours(parse_hhmm("14:00"), *lunch)
    assert not in_quiet_hours(parse_hhmm("11:59"), *lunch)
    assert not any(in_quiet_hours(m, 600, 600) for m in range(1440))


def test_a_message_at_night_waits_for_the_morning():
    assert quiet_release(at("2026-03-02 23:30:15"), *NIGHT) == at("2026-03-03 08:00")
    assert quiet_release(at("2026-03-03 02:00"), *NIGHT) == at("2026-03-03 08:00")
    assert quiet_release(at("2026-03-02 21:00"), *NIGHT) == at("2026-03-03 08:00")
    assert quiet_release(at("2026-03-03 10:00"), *NIGHT) is None


def test_the_digest_goes_out_at_nine_or_when_quiet_hours_end():
    nine = parse_hhmm("09:00")
    assert digest_due(at("2026-03-02 10:00"), nine, *NIGHT) == at("2026-03-03 09:00")
    assert digest_due(at("2026-03-02 06:00"), nine, *NIGHT) == at("2026-03-02 09:00")
    # A late riser whose quiet hours last until 10:00 hears from us at 10:00.
    assert digest_due(at("2026-03-02 06:00"), nine, parse_hhmm("22:00"), parse_hhmm("10:00")) == at("2026-03-02 10:00")
    # The very minute of the digest: due now, not tomorrow.
    assert digest_due(at("2026-03-02 09:00:30"), nine, *NIGHT) == at("2026-03-02 09:00")


@given(now=st.integers(min_value=at("2020-01-01 00:00"), max_value=at("2040-01-01 00:00")),
       start=st.integers(0, 1439), end=st.integers(0, 1439))
def test_a_held_message_is_released_within_a_day_at_the_end_of_the_window(now, start, end):
    release = quiet_release(now, start, end)
    if release is None:
        assert not in_quiet_hours(minute_of_day(now), start, end)
    else:
        assert now - 60_000 < release <= now + 24 * 3600 * 1000
        assert minute_of_day(release) == end
        assert not in_quiet_hours(minute_of_day(release), start, end)


def test_backoff_doubles_from_the_base_up_to_the_cap():
    nominal = [retry_delay_ms(a, base_seconds=30, cap_seconds=600, jitter=0.5) for a in range(1, 8)]
    assert nominal == [30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000]


def test_jitter_spreads_retries_between_80_and_120_percent():
    low = retry_delay_ms(3, base_seconds=30, cap_seconds=3600, jitter=0.0)
    high = retry_delay_ms(3, base_seconds=30, cap_seconds=3600, jitter=0.999999)
    assert low == 96_000 == min_retry_delay_ms(3, base_seconds=30, cap_seconds=3600)
    assert 143_000 < high < 144_000
    with pytest.raises(ValueError):
        retry_delay_ms(0, base_seconds=30, cap_seconds=3600, jitter=0.5)


@pytest.mark.parametrize("code", [43101, 40003, 47003, 40037, 43004])
def test_refusals_and_invalid_requests_are_permanent(code):
    exc = WeChatError(code, "refused")
    assert classify(exc.errcode, transient=exc.transient) == "permanent"


@pytest.mark.parametrize("exc", [WeChatError(-1, "system busy"), WeChatError(45009, "quota"),
                                 WeChatError(-2, "timeout"), WeChatError(-4, "HTTP 502", http_status=502),
                                 WeChatError(45011, "too often")])
def test_busy_quota_timeouts_and_server_errors_are_transient(exc):
    assert classify(exc.errcode, transient=exc.transient) == "transient"


def test_an_unknown_code_is_retried_within_the_limit_rather_than_dropped():
    assert classify(99999) == "transient"
