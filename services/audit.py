"""The append-only audit log of security-relevant actions.

Writing is one function used everywhere; reading is for the audit admin only
(see handlers). There is deliberately no update or delete function. Retention
removes rows only past ``audit_retention_days`` (at least 180, enforced by settings).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections

from models import AuditEntry
from services.auth.principal import Principal


async def record(action: str, *, actor: Principal | None = None, actor_id: int | None = None,
                 actor_role: str = "", target_type: str = "", target_id: Any = "",
                 outcome: str = "success", ip: str = "", request_id: str = "",
                 details: dict | None = None) -> None:
    if actor is not None:
        actor_id, actor_role = actor.user_id, str(actor.role)
    await AuditEntry.create(action=action, actor_id=actor_id, actor_role=actor_role,
                            target_type=target_type, target_id=str(target_id or ""),
                            outcome=outcome, ip=ip[:64], request_id=request_id[:64],
                            details=details or {})


async def list_entries(*, action: str | None, actor_id: int | None, since: datetime | None,
                       until: datetime | None, page: int, page_size: int) -> tuple[list[AuditEntry], int]:
    qs = AuditEntry.all()
    tz = ZoneInfo("Asia/Shanghai")
    since = since.replace(tzinfo=tz) if since and since.tzinfo is None else since
    until = until.replace(tzinfo=tz) if until and until.tzinfo is None else until
    if action:
        qs = qs.filter(action=action)
    if actor_id is not None:
        qs = qs.filter(actor_id=actor_id)
    if since:
        qs = qs.filter(at__gte=since)
    if until:
        qs = qs.filter(at__lt=until)
    total = await qs.count()
    rows = await qs.order_by("-id").offset((page - 1) * page_size).limit(page_size)
    return rows, total


async def actor_names(ids: set[int]) -> dict[int, str]:
    """Who the actors are, for people reading the log (staff by username)."""
    from models import User

    rows = await User.filter(id__in=list(ids)).values("id", "username", "display_name")
    return {r["id"]: r["username"] or r["display_name"] for r in rows}


async def purge_expired(*, retention_days: int, now: datetime) -> int:
    """Remove entries older than the retention period (never younger than 180 days)."""
    cutoff = now - timedelta(days=max(retention_days, 180))
    conn = connections.get("default")
    placeholder = "$1" if conn.capabilities.dialect == "postgres" else "?"
    count, _ = await conn.execute_query(f"DELETE FROM audit_entry WHERE at < {placeholder}", [cutoff])
    return count or 0
