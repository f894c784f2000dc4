from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.auth.roles import STAFF_ROLES, Role

#: ``Principal.profile_version`` when the session lookup did not read it.
UNREAD: Any = type("Unread", (), {"__repr__": lambda self: "UNREAD"})()


@dataclass(frozen=True)
class Principal:
    """Who is calling, as read from the session. Plain values only."""

    user_id: int
    role: Role
    enterprise_id: int | None = None
    department_id: int | None = None
    session_digest: str = ""
    #: The enterprise's profile version as Redis held it when the session was read (same
    #: round trip; ``None``: no write since the key expired), or ``UNREAD``. The policy
    #: feed trusts its cached profile only under this value, read before any database load.
    profile_version: Any = field(default=UNREAD, compare=False, repr=False)
    #: The caller's count in the route's per-user window after this request, when the
    #: route counts (``endpoint(counts=...)``) and the session lookup counted it; else None.
    rate_count: int | None = field(default=None, compare=False, repr=False)
    #: The Redis key that count is in (for taking it back, see ``sessions.uncount``).
    rate_key: str = field(default="", compare=False, repr=False)
    #: The user's WeChat openid when the session holds it (a WeChat login), else None.
    #: A consultation's content check needs it on every intake: read here, it costs no query.
    openid: str | None = field(default=None, compare=False, repr=False)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES
