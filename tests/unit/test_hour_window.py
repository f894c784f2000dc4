"""The per-user rate window is the hour on the Asia/Shanghai clock; it is kept between
calls, so it must still turn with the hour."""

from datetime import datetime
from zoneinfo import ZoneInfo

from services.auth import sessions

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_window_is_the_shanghai_hour_and_turns_with_it(monkeypatch):
    # 2026-12-31 23:59:59.5 in Shanghai is 15:59:59.5 UTC; half a second later it is 2027
    last = datetime(2026, 12, 31, 23, 59, 59, 500000, tzinfo=SHANGHAI).timestamp()
    now = [last]
    monkeypatch.setattr(sessions.time, "time", lambda: now[0])
    assert sessions.hour_window() == "2026123123"
    now[0] += 0.5
    assert sessions.hour_window() == "2027010100"
    now[0] += 3599.9
    assert sessions.hour_window() == "2027010100"
    now[0] += 0.2
    assert sessions.hour_window() == "2027010101"


def test_the_window_agrees_with_the_clock():
    assert sessions.hour_window() in {f"{datetime.now(SHANGHAI):%Y%m%d%H}"} | {
        f"{datetime.fromtimestamp(datetime.now().timestamp() - 1, SHANGHAI):%Y%m%d%H}"}


def test_the_lookup_counts_in_the_window_it_is_given_though_it_keeps_the_arguments():
    """The counting arguments of the session lookup are kept per route and hour: a new
    hour must still count in its own key, and two routes' roles must not mix."""
    from models.redis_keys import Keys
    from services.auth.roles import Role
    from services.runtime import Runtime

    rt = Runtime(settings=None, redis=None, keys=Keys("t1"), cipher=None)
    asks = sessions.Count("consultation", frozenset({Role.ENTERPRISE_OWNER, Role.ENTERPRISE_MEMBER}))
    other = sessions.Count("consultation", frozenset({Role.ENTERPRISE_OWNER}))
    for window in ("2026123123", "2027010100", "2026123123"):
        head, tail, expiry, roles = sessions._counting(rt, asks, window)
        assert head + "42" + tail == rt.keys.rate("consultation", f"42:{window}")
        assert expiry == sessions.WINDOW_EXPIRY_SECONDS
        assert roles == ",enterprise_member,enterprise_owner,"
        assert sessions._counting(rt, other, window)[3] == ",enterprise_owner,"
