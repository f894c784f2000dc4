"""JSON-lines logs with a request id, and no personal data.

Phone numbers and tokens are scrubbed by a processor as a last line of defence:
code should not log them in the first place.
"""

from __future__ import annotations

import logging
import re
import sys

import structlog

_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_BEARER = re.compile(r"(?i)bearer\s+[\w\-.~+/=]+")
_SENSITIVE_KEYS = {"password", "token", "session_key", "contact_phone", "phone", "secret",
                   "authorization", "code"}


def _scrub(_logger, _name, event: dict) -> dict:
    for key, value in list(event.items()):
        if key.lower() in _SENSITIVE_KEYS:
            event[key] = "***"
        elif isinstance(value, str):
            event[key] = _BEARER.sub("Bearer ***", _PHONE.sub("1**********", value))
    return event


def configure(level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level)
    for noisy in ("aiohttp.access", "tortoise", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=False),
            _scrub,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=True,
    )
