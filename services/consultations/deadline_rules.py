"""Answer deadlines per department and per service item (``deadline_rule``).

A rule applies to cases accepted after it is saved: a case's deadline is stored at
intake and never recomputed, so changing a rule cannot make an open case overdue
retroactively. A supervisor sets the rules of their own department and of its items;
the defaults (``CONSULTATION_DAYS``, ``FEEDBACK_DAYS``) apply where there is none.

Intake reads the rules from a per-process copy (:func:`rules_for`), not with a query
per case. Saving or deleting a rule bumps a version in Redis: the process that wrote
it uses the new rules at once, every other API process within a second
(:mod:`services.snapshots`), so a case accepted in another process in that second may
still get the previous rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from tortoise.expressions import Q

from models.catalogue import Department, ServiceItem
from models.consultation import DeadlineRule
from services import audit
from services.auth.principal import Principal
from services.errors import NotFound, ValidationFailed
from services.runtime import Runtime
from services.snapshots import VersionedSnapshot


class RuleWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: Literal["consultation", "suggestion", "complaint"] = Field(description="适用的类型")
    department_code: str | None = Field(default=None, max_length=16, description="部门（与事项二选一）")
    service_item_id: int | None = Field(default=None, ge=1, le=2_147_483_647, description="事项（与部门二选一）")
    working_days: int = Field(ge=1, le=60, description="答复期限（工作日）")

    @model_validator(mode="after")
    def _one_scope(self) -> "RuleWrite":
        if (self.department_code is None) == (self.service_item_id is None):
            raise ValueError("请指定部门或事项（二选一）")
        return self


class RuleRead(BaseModel):
    id: int
    kind: str
    department: dict | None
    service_item: dict | None
    working_days: int


class RuleList(BaseModel):
    items: list[RuleRead]
    defaults: dict[str, int]


@dataclass(frozen=True)
class Rules:
    """Every rule, keyed the way intake looks for one. Where several rules share a key (not
    written by :func:`save`, which replaces), the oldest counts."""

    by_item: dict[tuple[str, int], int]
    by_department: dict[tuple[str, int], int]

    def days(self, kind: str, department_id: int | None, service_item_id: int | None) -> int | None:
        """The service item's rule, else the department's; None: the default applies."""
        if service_item_id is not None and (days := self.by_item.get((kind, service_item_id))) is not None:
            return days
        return self.by_department.get((kind, department_id)) if department_id is not None else None


async def _load(version: str) -> Rules:
    by_item: dict[tuple[str, int], int] = {}
    by_department: dict[tuple[str, int], int] = {}
    for kind, department_id, item_id, days in await DeadlineRule.all().order_by("id").values_list(
            "kind", "department_id", "service_item_id", "working_days"):
        if item_id is not None:
            by_item.setdefault((kind, int(item_id)), int(days))
        elif department_id is not None:
            by_department.setdefault((kind, int(department_id)), int(days))
    return Rules(by_item, by_department)


def _cache(rt: Runtime) -> VersionedSnapshot[Rules]:
    return rt.held("deadline_rules", lambda: VersionedSnapshot(lambda k: k.deadline_rules_version(), _load))


async def rules_for(rt: Runtime) -> Rules:
    """The rules as this process holds them (see the module note): a query per intake
    was a third of intake's database round trips (python -m bench intake)."""
    return await _cache(rt).get(rt)


def _scope_department(viewer: Principal) -> int | None:
    return viewer.department_id


async def _read(rule: DeadlineRule) -> dict:
    dept = await Department.get_or_none(id=rule.department_id) if rule.department_id else None
    item = await ServiceItem.get_or_none(id=rule.service_item_id) if rule.service_item_id else None
    return {"id": rule.id, "kind": rule.kind, "working_days": rule.working_days,
            "department": {"code": dept.code, "name": dept.name} if dept else None,
            "service_item": {"id": item.id, "name": item.name} if item else None}


async def list_rules(rt: Runtime, viewer: Principal) -> dict:
    qs = DeadlineRule.all().order_by("id")
    dept = _scope_department(viewer)
    if dept is not None:
        item_ids = await ServiceItem.filter(department_id=dept).values_list("id", flat=True)
        qs = qs.filter(Q(department_id=dept) | Q(service_item_id__in=list(item_ids) or [0]))
    rules = await qs
    s = rt.settings
    return {"items": [await _read(r) for r in sorted(rules, key=lambda r: r.id)],
            "defaults": {"consultation": s.consultation_days, "suggestion": s.feedback_days,
                         "complaint": s.feedback_days}}


async def save(rt: Runtime, *, data: RuleWrite, viewer: Principal, ip: str = "", request_id: str = "") -> dict:
    """Create or replace the rule for (kind, department) or (kind, item)."""
    own = _scope_department(viewer)
    if data.department_code is not None:
        dept = await Department.get_or_none(code=data.department_code)
        if dept is None:
            raise ValidationFailed.field("department_code", "部门不存在", code="unknown_department")
        if own is not None and dept.id != own:
            raise ValidationFailed.field("department_code", "只能设置本部门的答复期限", code="other_department")
        scope = {"department_id": dept.id, "service_item_id": None}
    else:
        item = await ServiceItem.get_or_none(id=data.service_item_id)
        if item is None:
            raise ValidationFailed.field("service_item_id", "事项不存在", code="unknown_service_item")
        if own is not None and item.department_id != own:
            raise ValidationFailed.field("service_item_id", "只能设置本部门事项的答复期限", code="other_department")
        scope = {"department_id": None, "service_item_id": item.id}
    rule = await DeadlineRule.filter(kind=data.kind, **scope).first()
    if rule is None:
        rule = await DeadlineRule.create(kind=data.kind, working_days=data.working_days, **scope)
    else:
        rule.working_days = data.working_days
        await rule.save()
    await _cache(rt).bump(rt)
    await audit.record("deadline_rule_saved", actor=viewer, target_type="deadline_rule", target_id=rule.id, ip=ip,
                       request_id=request_id, details={"kind": data.kind, "working_days": data.working_days, **scope})
    return await _read(rule)


async def delete(rt: Runtime, *, rule_id: int, viewer: Principal, ip: str = "", request_id: str = "") -> None:
    rule = await DeadlineRule.get_or_none(id=rule_id)
    own = _scope_department(viewer)
    if rule is not None and own is not None:
        item_dept = (await ServiceItem.get_or_none(id=rule.service_item_id)).department_id \
            if rule.service_item_id else None
        if own not in (rule.department_id, item_dept):
            rule = None
    if rule is None:
        raise NotFound("答复期限规则不存在", code="deadline_rule_not_found")
    await rule.delete()
    await _cache(rt).bump(rt)
    await audit.record("deadline_rule_deleted", actor=viewer, target_type="deadline_rule", target_id=rule_id, ip=ip,
                       request_id=request_id)
