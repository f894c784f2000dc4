"""Pure arithmetic of delivery timing: quiet hours, the daily digest, retry backoff,
and what an error answer means for a delivery. Plain values in, plain values out.

Times are epoch milliseconds; "minute of day" is minutes after local midnight in
Asia/Shanghai. China has had no daylight saving since 1991 and its offset is a
whole number of hours, so local minutes are plain arithmetic on epoch time — the
same arithmetic the outbox writes as SQL (see :mod:`notifications.sqltext`), which
is why it lives here in one small, tested place.
"""

from __future__ import annotations

import re
from typing import Literal

MINUTES_PER_DAY = 1440
MINUTE_MS = 60_000
SHANGHAI_OFFSET_MS = 8 * 3600 * 1000
DEFAULT_QUIET_START = 21 * 60
DEFAULT_QUIET_END = 8 * 60

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

Outcome = Literal["delivered", "transient", "permanent"]

#: Permanent for a delivery: the same request can never succeed. These are the
#: handbook's (§5) plus the gateway's PERMANENT_CODES that apply to sends.
#: 43101 no consent, 40003 bad openid, 40037 bad template, 47003 bad data,
#: 43004 not a follower (template messages), 41030 bad page, 48001 not authorised.
PERMANENT_SEND_CODES = frozenset({43101, 40003, 40037, 47003, 43004, 41030, 48001, 40013})


def parse_hhmm(value: str) -> int:
    """``"21:30"`` → 1290. Raises ``ValueError`` for anything else."""
    match = _HHMM.match(value)
    if match is None:
        raise ValueError(f"not a HH:MM time: {value!r}")
    return int(match.group(1)) * 60 + int(match.group(2))


def format_hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def minute_of_day(now_ms: int) -> int:
    return ((now_ms + SHANGHAI_OFFSET_MS) // MINUTE_MS) % MINUTES_PER_DAY


def in_quiet_hours(minute: int, start: int, end: int) -> bool:
    """Is ``minute`` inside [start, end)? The window may wrap past midnight;
    start == end means the user has no quiet hours."""
    if start == end:
        return False
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def _at_next(now_ms: int, target_minute: int) -> int:
    """The next moment the local clock shows ``target_minute`` (now, if it does)."""
    minute_start = now_ms - now_ms % MINUTE_MS
    return minute_start + ((target_minute - minute_of_day(now_ms)) % MINUTES_PER_DAY) * MINUTE_MS


def quiet_release(now_ms: int, start: int, end: int) -> int | None:
    """When a message held back by quiet hours may go out; ``None`` if not held."""
    if not in_quiet_hours(minute_of_day(now_ms), start, end):
        return None
    return _at_next(now_ms, end)


def digest_minute(digest_at: int, start: int, end: int) -> int:
    """A digest falls at ``digest_at`` unless that is inside the user's quiet hours,
    then at their end (the first moment the user wants to hear from us)."""
    return end if in_quiet_hours(digest_at, start, end) else digest_at


def digest_due(now_ms: int, digest_at: int, start: int, end: int) -> int:
    """When today's (or, past it, tomorrow's) digest for this user goes out."""
    return _at_next(now_ms, digest_minute(digest_at, start, end))


def retry_delay_ms(attempt: int, *, base_seconds: float, cap_seconds: float, jitter: float) -> int:
    """Delay before attempt ``attempt + 1`` after ``attempt`` failed (``attempt`` ≥ 1).

    Exponential (base · 2^(attempt−1), capped) times a jitter factor in [0.8, 1.2):
    ``jitter`` is a uniform draw in [0, 1), passed in so the schedule is testable.
    The spread keeps thousands of deliveries that failed together in one second
    (a quota error hits a whole batch) from all coming back in one second.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    nominal = min(cap_seconds, base_seconds * 2 ** (attempt - 1))
    return int(nominal * (0.8 + 0.4 * jitter) * 1000)


def min_retry_delay_ms(attempt: int, *, base_seconds: float, cap_seconds: float) -> int:
    """The shortest delay :func:`retry_delay_ms` can give (used to verify schedules)."""
    return int(min(cap_seconds, base_seconds * 2 ** (attempt - 1)) * 0.8 * 1000)


def classify(errcode: int, *, transient: bool = False) -> Literal["transient", "permanent"]:
    """What a failed send means for the delivery.

    ``transient`` is the gateway's own verdict (timeouts, connection errors, HTTP 5xx
    and 429, -1, 45009, 45011); it wins. Listed permanent codes get one attempt.
    Anything else unknown is retried within the attempt limit: a code we do not
    know is more likely new than hopeless, and the limit bounds the cost.
    """
    if transient:
        return "transient"
    if errcode in PERMANENT_SEND_CODES:
        return "permanent"
    return "transient"
