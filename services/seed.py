"""Demo data for ``make run``: departments, the catalogue, a few enterprises and one
staff account per role. Seeding is idempotent: each part is added only when missing,
so ``make run`` can call it every time."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from tortoise.transactions import in_transaction

from models import Department, Enterprise, ServiceItem, User
from services.auth import service as auth
from services.auth.roles import Role
from services.enterprises import service as enterprises
from services.enterprises.schemas import EnterpriseWrite
from services.runtime import Runtime
from services.service_items.schemas import ServiceItemWrite

DATA = Path(__file__).parent / "service_items" / "data"
DEMO_PASSWORD = "Demo@2026zone"
DEMO_STAFF = [
    ("sysadmin", Role.SYSTEM_ADMIN, "系统管理员", None),
    ("secadmin", Role.SECURITY_ADMIN, "安全管理员", None),
    ("auditor", Role.AUDIT_ADMIN, "安全审计员", None),
    ("consultant", Role.CONSULTANT, "咨询员小李", "SCJG"),
    ("supervisor", Role.SUPERVISOR, "市场监管主管", "SCJG"),
    ("policy", Role.POLICY_OFFICER, "政策专员小王", None),
]


@dataclass
class SeedReport:
    departments: int = 0
    items: int = 0
    enterprises: int = 0
    staff: list[str] = field(default_factory=list)
    owners: list[tuple[str, str]] = field(default_factory=list)  # (sandbox login code, enterprise)


async def seed_catalogue(report: SeedReport) -> None:
    if await Department.exists():
        return
    data = json.loads((DATA / "demo_catalogue.json").read_text(encoding="utf-8"))
    async with in_transaction():
        depts = {}
        for n, d in enumerate(data["departments"]):
            depts[d["code"]] = await Department.create(code=d["code"], name=d["name"],
                                                       short_name=d.get("short_name", d["name"]),
                                                       sort_order=n)
        for raw in data["items"]:
            item = ServiceItemWrite.model_validate(raw)
            values = item.model_dump(exclude={"department"})
            await ServiceItem.create(**values, department_id=depts[item.department].id)
    report.departments, report.items = len(depts), len(data["items"])


async def seed_enterprises(rt: Runtime, report: SeedReport) -> None:
    from wechat.sandbox import SandboxState

    rows = json.loads((DATA / "demo_enterprises.json").read_text(encoding="utf-8"))
    for row in rows:
        login = f"sandbox-{row['owner_name']}"
        if await Enterprise.filter(credit_code=row["credit_code"]).exists():
            report.owners.append((login, row["name"]))
            continue
        openid = SandboxState.openid_for(rt.settings.wechat_appid, row["owner_name"])
        data = EnterpriseWrite.model_validate({k: v for k, v in row.items() if k != "owner_name"}
                                              | {"founded_on": date.fromisoformat(row["founded_on"])})
        code, result, division = enterprises._classify(data)
        async with in_transaction():
            user, _ = await User.get_or_create(openid=openid, defaults={
                "kind": "wechat", "role": Role.ENTERPRISE_OWNER, "display_name": row["owner_name"]})
            ent = Enterprise(owner_id=user.id)
            enterprises._apply(ent, data, code, result, division, rt)
            await ent.save()
            await User.filter(id=user.id).update(enterprise_id=ent.id, role=Role.ENTERPRISE_OWNER)
        report.enterprises += 1
        report.owners.append((login, row["name"]))


async def seed_staff(report: SeedReport) -> None:
    for username, role, name, dept in DEMO_STAFF:
        if not await User.filter(username=username).exists():
            await auth.create_staff(username=username, password=DEMO_PASSWORD, role=role,
                                    display_name=name, department_code=dept)
        report.staff.append(username)


async def seed_demo(rt: Runtime) -> SeedReport:
    report = SeedReport()
    await seed_catalogue(report)
    await seed_enterprises(rt, report)
    await seed_staff(report)
    return report
