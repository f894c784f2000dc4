from __future__ import annotations

from dataclasses import dataclass

from services.auth.roles import STAFF_ROLES, Role


@dataclass(frozen=True)
class Principal:
    """Who is calling, as read from the session. Plain values only."""

    user_id: int
    role: Role
    enterprise_id: int | None = None
    department_id: int | None = None
    session_digest: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES
