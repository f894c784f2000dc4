"""Inbox, preferences and subscribe consents of the calling user — never anyone else's.

Every query here is filtered by the caller's own user id, so another user's message
id answers 404 (not 403: whether it exists is not the caller's business).
"""

from __future__ import annotations

from models import Department, User
from models.notifications import InboxMessage, NotificationPreference
from notifications import ledger, outbox
from notifications.schedule import format_hhmm, parse_hhmm
from services.auth.principal import Principal
from services.errors import NotFound, ValidationFailed
from services.messages.schemas import (InboxItem, InboxPage, PreferencesRead, PreferencesWrite,
                                       SubscriptionCredit, SubscriptionList, SubscriptionResults)
from services.runtime import Runtime

# ------------------------------------------------------------------- inbox


def _item(m: InboxMessage) -> InboxItem:
    c = m.campaign
    return InboxItem(id=m.id, campaign_id=c.id, kind=c.kind, source_id=c.source_id, title=c.title,
                     summary=c.summary, page=c.page, critical=c.critical, created_at=m.created_at,
                     read_at=m.read_at, read=m.read_at is not None)


async def list_inbox(*, principal: Principal, unread_only: bool, page: int, page_size: int) -> InboxPage:
    # Campaigns that reached the user through a delivery row become inbox rows here,
    # not at publish (see notifications.outbox).
    await outbox.sync_inbox(principal.user_id)
    mine = InboxMessage.filter(user_id=principal.user_id)
    qs = mine.filter(read_at__isnull=True) if unread_only else mine
    total = await qs.count()
    unread = total if unread_only else await mine.filter(read_at__isnull=True).count()
    # Newest campaign first; (user, campaign) is the table's unique index.
    rows = await (qs.select_related("campaign").order_by("-campaign_id")
                  .offset((page - 1) * page_size).limit(page_size))
    return InboxPage(items=[_item(m) for m in rows], total=total, unread=unread, page=page,
                     page_size=page_size)


async def read_message(*, principal: Principal, message_id: int) -> InboxItem:
    message = await InboxMessage.filter(id=message_id, user_id=principal.user_id).select_related(
        "campaign").first()
    if message is None:
        raise NotFound("消息不存在")
    if message.read_at is None:
        await outbox.mark_read(user_id=principal.user_id, campaign_id=message.campaign_id)
        await message.refresh_from_db(fields=["read_at"])
    return _item(message)


# ------------------------------------------------------------- preferences


def _split(value: str) -> list[str]:
    return [v for v in value.split(",") if v]


def _join(values: list[str]) -> str:
    # Delimited on both ends so one LIKE '%,code,%' matches a whole code (see outbox).
    return "," + ",".join(values) + "," if values else ""


def _read(pref: NotificationPreference | None) -> PreferencesRead:
    if pref is None:
        return PreferencesRead()
    return PreferencesRead(policy_types=_split(pref.policy_types), departments=_split(pref.departments),
                           mode=pref.mode, quiet_start=format_hhmm(pref.quiet_start),
                           quiet_end=format_hhmm(pref.quiet_end), updated_at=pref.updated_at)


async def get_preferences(*, principal: Principal) -> PreferencesRead:
    return _read(await NotificationPreference.get_or_none(user_id=principal.user_id))


async def update_preferences(*, principal: Principal, data: PreferencesWrite) -> PreferencesRead:
    if data.departments:
        known = set(await Department.filter(code__in=data.departments).values_list("code", flat=True))
        unknown = [c for c in data.departments if c not in known]
        if unknown:
            raise ValidationFailed.field("departments", f"部门编码不存在：{'、'.join(unknown[:5])}",
                                         code="unknown_department")
    values = {"policy_types": _join(list(data.policy_types)), "departments": _join(data.departments),
              "mode": data.mode, "quiet_start": parse_hhmm(data.quiet_start),
              "quiet_end": parse_hhmm(data.quiet_end)}
    pref, created = await NotificationPreference.get_or_create(user_id=principal.user_id, defaults=values)
    if not created:
        await pref.update_from_dict(values).save()
    return _read(pref)


# ----------------------------------------------------------- subscriptions


def _templates(rt: Runtime) -> dict[str, str]:
    """Our subscribe templates → purpose. Consents for other templates mean nothing to us."""
    s = rt.settings
    return {s.wechat_policy_template_id: "policy", s.wechat_notice_template_id: "notice"}


async def _openid(principal: Principal) -> str:
    openid = await User.filter(id=principal.user_id).first().values_list("openid", flat=True)
    if not openid:
        raise ValidationFailed("当前账号未绑定微信，无法接收订阅消息", code="no_openid")
    return openid


async def list_subscriptions(rt: Runtime, *, principal: Principal) -> SubscriptionList:
    openid = await _openid(principal)
    templates = _templates(rt)
    rows = {r.template_id: r for r in await ledger.credits_of(openid)}
    items = []
    for tpl, purpose in templates.items():
        row = rows.get(tpl)
        items.append(SubscriptionCredit(template_id=tpl, purpose=purpose,  # type: ignore[arg-type]
                                        credits=row.credits if row else 0,
                                        last_outcome=row.last_outcome if row else ""))
    return SubscriptionList(items=items)


async def record_subscriptions(rt: Runtime, *, principal: Principal,
                               data: SubscriptionResults) -> SubscriptionList:
    """The mini-program's report of one ``wx.requestSubscribeMessage`` popup."""
    templates = _templates(rt)
    for i, result in enumerate(data.results):
        if result.template_id not in templates:
            raise ValidationFailed.field(f"results.{i}.template_id", "不是本服务的订阅消息模板",
                                         code="unknown_template")
    openid = await _openid(principal)
    for result in data.results:
        await ledger.record(openid=openid, template_id=result.template_id, outcome=result.outcome,
                            witness="client")
    return await list_subscriptions(rt, principal=principal)
