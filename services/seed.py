"""Demo data for ``make run``: departments, the catalogue, a few enterprises and one
staff account per role. Seeding is idempotent: each part is added only when missing,
so ``make run`` can call it every time."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
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
POLICY_DATA = Path(__file__).parent / "policies" / "data"
DEMO_PASSWORD = "Demo@2026zone"
DEMO_STAFF = [
    ("sysadmin", Role.SYSTEM_ADMIN, "系统管理员", None),
    ("secadmin", Role.SECURITY_ADMIN, "安全管理员", None),
    ("auditor", Role.AUDIT_ADMIN, "安全审计员", None),
    ("consultant", Role.CONSULTANT, "咨询员小李", "SCJG"),
    ("consultant2", Role.CONSULTANT, "咨询员小陈", "SCJG"),
    ("taxconsultant", Role.CONSULTANT, "税务咨询员小赵", "SW"),
    ("hrconsultant", Role.CONSULTANT, "人社咨询员小周", "RS"),
    ("supervisor", Role.SUPERVISOR, "市场监管主管", "SCJG"),
    ("taxsupervisor", Role.SUPERVISOR, "税务主管", "SW"),
    ("policy", Role.POLICY_OFFICER, "政策专员小王", None),
]


@dataclass
class SeedReport:
    departments: int = 0
    items: int = 0
    enterprises: int = 0
    staff: list[str] = field(default_factory=list)
    owners: list[tuple[str, str]] = field(default_factory=list)  # (sandbox login code, enterprise)
    policies: int = 0
    consultations: int = 0


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


async def seed_policies(rt: Runtime, report: SeedReport) -> None:
    """Demo policies, published as they are (no review, no push: nobody should get a
    subscribe message because someone ran ``make run``). Idempotent by 文号; also the
    two policy departments and a few qualification tags of the demo enterprises."""
    from models import EnterpriseTag, Policy, PolicyTransition
    from services.policies import rules as policy_rules
    from services.policies import service as policies
    from services.policies.schemas import PolicyWrite

    data = json.loads((POLICY_DATA / "demo_policies.json").read_text(encoding="utf-8"))
    order = await Department.all().count()
    for n, d in enumerate(data["departments"]):
        await Department.get_or_create(code=d["code"], defaults={
            "name": d["name"], "short_name": d["short_name"], "sort_order": order + n})
    for credit_code, tags in data["enterprise_tags"].items():
        ent = await Enterprise.get_or_none(credit_code=credit_code)
        for tag in tags if ent else []:
            await EnterpriseTag.get_or_create(enterprise_id=ent.id, tag=tag)
    author = await User.get_or_none(username="policy")
    items = dict(await ServiceItem.all().values_list("code", "id"))
    departments = dict(await Department.all().values_list("code", "id"))
    today = policies.today()
    for raw in data["policies"]:
        if await Policy.filter(doc_number=raw["doc_number"]).exists():
            continue
        body = {k: v for k, v in raw.items() if k != "service_items"}
        body["service_item_ids"] = [items[c] for c in raw["service_items"] if c in items]
        write = PolicyWrite.model_validate(body)
        values = write.model_dump(exclude={"department", "rules", "attachments"})
        values["attachments"] = [a.model_dump() for a in write.attachments]
        values["rules"] = policy_rules.validate(write.rules.model_dump(exclude_none=True), today=today)
        now = datetime.now(policies.TZ)
        async with in_transaction():
            row = await Policy.create(**values, department_id=departments[write.department], series_id=0,
                                      status="published", published_at=now,
                                      created_by_id=author.id if author else None)
            await Policy.filter(id=row.id).update(series_id=row.id)
            await PolicyTransition.create(policy_id=row.id, action="seed", from_status="", to_status="published",
                                          actor_id=None, actor_name="演示数据")
        report.policies += 1
    if report.policies:
        await policies.bump_version(rt)


async def seed_demo(rt: Runtime) -> SeedReport:
    report = SeedReport()
    await seed_catalogue(report)
    await seed_enterprises(rt, report)
    await seed_staff(report)
    await seed_policies(rt, report)
    await seed_consultations(rt, report)
    return report


#: Demo consultants' topics (dispatch prefers a consultant with the case's topic).
DEMO_SKILLS = {"consultant": ["startup", "change_cancel"], "consultant2": ["licence"],
               "taxconsultant": ["tax", "tax_relief"], "hrconsultant": ["social_insurance", "talent_subsidy"]}
#: A few cases so the workbench is not empty: (owner login, kind, text, answer or None).
DEMO_CASES = [
    ("sandbox-linxiaoyu", "consultation", "我们是小规模纳税人，今年的增值税减免政策怎么申报？需要准备什么材料？",
     "您好，小规模纳税人月销售额10万元以下免征增值税，在电子税务局申报时直接填写免税销售额即可，无需另行提交材料。"),
    ("sandbox-linxiaoyu", "consultation", "新招了3名员工，社保参保登记在哪里办理？可以网上办吗？", None),
    ("sandbox-zhouhaitao", "suggestion", "食品经营许可证办理时要求提交的平面图材料，希望能提供标准模板，很多小店不会画。", None),
    ("sandbox-liumei", "consultation", "公司想变更经营地址，需要先去税务局还是先办营业执照变更？", None),
]


async def seed_consultations(rt: Runtime, report: SeedReport) -> None:
    """The topic taxonomy, consultants' skills and a few open cases. Idempotent: topics
    by code, skills by (user, topic), cases only when there are none."""
    from models import Consultation, StaffSkill, Topic
    from services.auth.principal import Principal
    from services.consultations import service as cases
    from services.consultations.knowledge import seed_canned_answers
    from services.consultations.schemas import ConsultationCreate

    data = json.loads((Path(__file__).parent / "consultations" / "data" / "topics.json").read_text(encoding="utf-8"))
    departments = dict(await Department.all().values_list("code", "id"))
    for n, t in enumerate(data["topics"]):
        await Topic.get_or_create(code=t["code"], defaults={
            "name": t["name"], "keywords": t["keywords"], "sort_order": n,
            "department_id": departments.get(t["department"]) if t["department"] else None})
    for username, codes in DEMO_SKILLS.items():
        user = await User.get_or_none(username=username)
        for code in codes if user else []:
            await StaffSkill.get_or_create(user_id=user.id, topic_code=code)
    await seed_canned_answers()
    if await Consultation.exists():
        return
    for login, kind, content, answer in DEMO_CASES:
        owner = await _demo_owner(rt, login)
        if owner is None or owner.enterprise_id is None:
            continue
        viewer = Principal(user_id=owner.id, role=Role(owner.role), enterprise_id=owner.enterprise_id)
        row, *_ = await cases._intake(rt, data=ConsultationCreate(content=content, kind=kind),
                                     enterprise_id=owner.enterprise_id, asked_by=owner.id, recorded_by=None,
                                     channel="miniprogram", contact_name="", moderation="pass", label=None,
                                     actor=viewer, idempotency=None)
        if answer and row.assignee_id:
            staff = await User.get(id=row.assignee_id)
            await cases.post_message(rt, case_id=row.id, body=answer, internal=False,
                                     viewer=Principal(user_id=staff.id, role=Role.CONSULTANT,
                                                      department_id=staff.department_id))
        report.consultations += 1


async def _demo_owner(rt: Runtime, login: str) -> User | None:
    """The demo owner whose sandbox login code is ``login`` (see ``seed_enterprises``)."""
    from wechat.sandbox import SandboxState

    return await User.get_or_none(openid=SandboxState.openid_for(rt.settings.wechat_appid,
                                                                 login.removeprefix("sandbox-")))
