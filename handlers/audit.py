from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from handlers.base import Call, endpoint
from handlers.schemas import AuditEntryRead, AuditPage
from services import audit
from services.auth.roles import Role


class AuditQuery(BaseModel):
    action: str | None = Field(default=None, max_length=64)
    actor_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    since: datetime | None = None
    until: datetime | None = None
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=50, ge=1, le=200)


@endpoint("GET", "/api/v1/audit-log", roles={Role.AUDIT_ADMIN}, tag="安全审计",
          summary="审计日志（只读；仅安全审计员可见）", query=AuditQuery, response=AuditPage)
async def list_audit(call: Call) -> AuditPage:
    q = call.query
    rows, total = await audit.list_entries(action=q.action, actor_id=q.actor_id, since=q.since,
                                           until=q.until, page=q.page, page_size=q.page_size)
    await audit.record("audit_log_viewed", actor=call.user, target_type="audit_log",
                       ip=call.client_ip, request_id=call.request_id)
    names = await audit.actor_names({r.actor_id for r in rows if r.actor_id})
    items = [AuditEntryRead.model_validate(r, from_attributes=True).model_copy(
        update={"actor_name": names.get(r.actor_id, "")}) for r in rows]
    return AuditPage(items=items,
                     total=total, page=q.page, page_size=q.page_size)
