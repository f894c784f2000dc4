"""Enterprise profiles: registration with size classification, reading with
object-level checks, updates, and membership by one-time invitation code."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import Enterprise, Invitation, User
from models.redis_keys import PROFILE_VERSION_TTL
from services import audit
from services.auth import sessions
from services.auth.principal import Principal
from services.auth.roles import SEES_FULL_PHONE, SERVICE_STAFF, Role
from services.crypto import mask_phone
from services.enterprises import sizing
from services.enterprises.credit_code import InvalidCreditCode, validate_credit_code
from services.enterprises.schemas import (EnterprisePage, EnterpriseRead, EnterpriseWrite,
                                          IndustryList, IndustryRead, InvitationRead, SizeInfo)
from services.errors import Conflict, Gone, NotFound, PermissionDenied, ValidationFailed
from services.runtime import Runtime

TZ = ZoneInfo("Asia/Shanghai")
INVITATION_TTL = timedelta(hours=72)
SIZE_LABELS = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}
_INVITE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud over the phone


def _classify(data: EnterpriseWrite) -> tuple[str, sizing.SizeResult, sizing.Division]:
    try:
        code = validate_credit_code(data.credit_code)
    except InvalidCreditCode as exc:
        raise ValidationFailed.field("credit_code", exc.message, code="invalid_credit_code") from None
    try:
        division = sizing.lookup_industry(data.industry_code)
        result = sizing.classify(industry_code=data.industry_code, employees=data.employees,
                                 revenue=data.revenue, assets=data.assets)
    except sizing.UnknownIndustry as exc:
        raise ValidationFailed.field("industry_code", exc.message) from None
    except (sizing.MissingIndicator, sizing.InvalidIndicator) as exc:
        raise ValidationFailed.field(exc.field, exc.message, code="missing_indicator") from None
    return code, result, division


def _apply(ent: Enterprise, data: EnterpriseWrite, code: str, result: sizing.SizeResult,
           division: sizing.Division, rt: Runtime) -> None:
    ent.credit_code = code
    ent.name = data.name
    ent.industry_code = division.code
    ent.industry_group = result.group_code
    ent.region_code = data.region_code
    ent.employees = data.employees
    ent.revenue = None if data.revenue is None else Decimal(str(round(data.revenue, 2)))
    ent.assets = None if data.assets is None else Decimal(str(round(data.assets, 2)))
    ent.founded_on = data.founded_on
    ent.contact_phone_enc = rt.cipher.encrypt(data.contact_phone)
    ent.size_class = result.size_class
    ent.size_rule_version = result.rule_version
    ent.size_inputs = {k: float(v) for k, v in result.inputs.items()}
    ent.size_basis = result.basis


def to_read(ent: Enterprise, rt: Runtime, viewer: Principal) -> EnterpriseRead:
    phone = rt.cipher.decrypt(ent.contact_phone_enc)
    if viewer.role not in SEES_FULL_PHONE or (not viewer.is_staff and viewer.enterprise_id != ent.id):
        phone = mask_phone(phone)
    try:
        division = sizing.lookup_industry(ent.industry_code)
        industry_name, group_label = division.name, division.group_label
    except sizing.UnknownIndustry:
        industry_name, group_label = ent.industry_code, ent.industry_group
    return EnterpriseRead(
        id=ent.id, credit_code=ent.credit_code, name=ent.name, industry_code=ent.industry_code,
        industry_name=industry_name, industry_group=ent.industry_group, region_code=ent.region_code,
        employees=ent.employees, revenue=None if ent.revenue is None else float(ent.revenue),
        assets=None if ent.assets is None else float(ent.assets), founded_on=ent.founded_on,
        contact_phone=phone, size_class=ent.size_class,
        size=SizeInfo(label=SIZE_LABELS[ent.size_class], group_code=ent.industry_group,
                      group_label=group_label, rule_version=ent.size_rule_version,
                      inputs=ent.size_inputs, basis=ent.size_basis),
        created_at=ent.created_at, updated_at=ent.updated_at)


async def bump_profile_version(rt: Runtime, enterprise_id: int) -> None:
    """Every write of what policy matching reads (the enterprise row, its qualification
    tags) calls this after its commit: API processes cache profiles for the policy feed
    and use a copy only while this value is unchanged. A random value, not a counter, so
    a key that expired and came back can never repeat the version of an old copy."""
    await rt.redis.set(rt.keys.enterprise_profile_version(enterprise_id), secrets.token_hex(8),
                       ex=PROFILE_VERSION_TTL)


async def create(rt: Runtime, *, principal: Principal, data: EnterpriseWrite, ip: str = "",
                 request_id: str = "") -> EnterpriseRead:
    if principal.enterprise_id is not None:
        raise Conflict("您已绑定企业，不能重复认证", code="already_bound")
    code, result, division = _classify(data)
    if await Enterprise.filter(credit_code=code).exists():
        raise Conflict("该统一社会信用代码已被认证，如属本企业请联系企业负责人邀请加入",
                       code="credit_code_taken")
    ent = Enterprise(owner_id=principal.user_id)
    _apply(ent, data, code, result, division, rt)
    try:
        async with in_transaction():
            await ent.save()
            await User.filter(id=principal.user_id).update(enterprise_id=ent.id,
                                                           role=Role.ENTERPRISE_OWNER)
            await audit.record("enterprise_registered", actor=principal, target_type="enterprise",
                               target_id=ent.id, ip=ip, request_id=request_id,
                               details={"size_class": ent.size_class})
    except IntegrityError:
        raise Conflict("该统一社会信用代码已被认证", code="credit_code_taken") from None
    await bump_profile_version(rt, ent.id)
    await sessions.rebind(rt, principal, role=Role.ENTERPRISE_OWNER, enterprise_id=ent.id)
    viewer = Principal(user_id=principal.user_id, role=Role.ENTERPRISE_OWNER, enterprise_id=ent.id)
    return to_read(ent, rt, viewer)


async def _readable(principal: Principal, enterprise_id: int) -> Enterprise:
    # Another enterprise's profile is answered as "not found", so ids cannot be probed.
    if principal.role not in SERVICE_STAFF and principal.enterprise_id != enterprise_id:
        raise NotFound("企业不存在")
    ent = await Enterprise.get_or_none(id=enterprise_id)
    if ent is None:
        raise NotFound("企业不存在")
    return ent


async def get(rt: Runtime, *, principal: Principal, enterprise_id: int) -> EnterpriseRead:
    return to_read(await _readable(principal, enterprise_id), rt, principal)


async def update(rt: Runtime, *, principal: Principal, enterprise_id: int, data: EnterpriseWrite,
                 ip: str = "", request_id: str = "") -> EnterpriseRead:
    ent = await _readable(principal, enterprise_id)
    if principal.role != Role.ENTERPRISE_OWNER:
        raise PermissionDenied("只有企业负责人可以修改企业信息")
    code, result, division = _classify(data)
    if code != ent.credit_code:
        raise ValidationFailed.field("credit_code", "统一社会信用代码不能修改", code="credit_code_immutable")
    before = ent.size_class
    _apply(ent, data, code, result, division, rt)
    async with in_transaction():
        await ent.save()
        await audit.record("enterprise_updated", actor=principal, target_type="enterprise",
                           target_id=ent.id, ip=ip, request_id=request_id,
                           details={"size_class": [before, ent.size_class]})
    await bump_profile_version(rt, ent.id)
    return to_read(ent, rt, principal)


async def list_(rt: Runtime, *, principal: Principal, q: str | None, size_class: str | None,
                page: int, page_size: int) -> EnterprisePage:
    qs = Enterprise.all()
    if q:
        qs = qs.filter(name__icontains=q)
    if size_class:
        qs = qs.filter(size_class=size_class)
    total = await qs.count()
    rows = await qs.order_by("-id").offset((page - 1) * page_size).limit(page_size)
    return EnterprisePage(items=[to_read(e, rt, principal) for e in rows], total=total, page=page,
                          page_size=page_size)


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.upper().encode()).hexdigest()


async def invite(*, principal: Principal, enterprise_id: int, ip: str = "",
                 request_id: str = "") -> InvitationRead:
    await _readable(principal, enterprise_id)
    if principal.role != Role.ENTERPRISE_OWNER:
        raise PermissionDenied("只有企业负责人可以邀请成员")
    code = "".join(secrets.choice(_INVITE_ALPHABET) for _ in range(8))
    expires = datetime.now(TZ) + INVITATION_TTL
    await Invitation.create(enterprise_id=enterprise_id, code_hash=_hash_code(code),
                            created_by_id=principal.user_id, expires_at=expires)
    await audit.record("invitation_created", actor=principal, target_type="enterprise",
                       target_id=enterprise_id, ip=ip, request_id=request_id)
    return InvitationRead(code=code, expires_at=expires)


async def join(rt: Runtime, *, principal: Principal, code: str, ip: str = "",
               request_id: str = "") -> EnterpriseRead:
    if principal.enterprise_id is not None:
        raise Conflict("您已绑定企业", code="already_bound")
    async with in_transaction():
        inv = await Invitation.filter(code_hash=_hash_code(code)).select_for_update().first()
        if inv is None:
            raise NotFound("邀请码不存在，请核对后重试", code="invitation_not_found")
        if inv.used_at is not None or inv.expires_at < datetime.now(TZ):
            raise Gone("邀请码已使用或已过期，请联系企业负责人重新生成", code="invitation_expired")
        inv.used_by_id = principal.user_id
        inv.used_at = datetime.now(TZ)
        await inv.save(update_fields=["used_by_id", "used_at"])
        await User.filter(id=principal.user_id).update(enterprise_id=inv.enterprise_id,
                                                       role=Role.ENTERPRISE_MEMBER)
        await audit.record("enterprise_joined", actor=principal, target_type="enterprise",
                           target_id=inv.enterprise_id, ip=ip, request_id=request_id)
    await sessions.rebind(rt, principal, role=Role.ENTERPRISE_MEMBER, enterprise_id=inv.enterprise_id)
    ent = await Enterprise.get(id=inv.enterprise_id)
    viewer = Principal(user_id=principal.user_id, role=Role.ENTERPRISE_MEMBER, enterprise_id=ent.id)
    return to_read(ent, rt, viewer)


def industries() -> IndustryList:
    return IndustryList(items=[
        IndustryRead(code=d.code, name=d.name, group_code=d.group_code, group_label=d.group_label,
                     indicators=sizing.required_indicators(d.code))
        for d in sizing.list_divisions()])
