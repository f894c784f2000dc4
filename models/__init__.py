"""Persistence only: tortoise-orm models. Business rules live in ``services``."""

from models.audit import AuditEntry
from models.catalogue import Department, ServiceItem
from models.identity import Enterprise, Invitation, User
from models.policy import EnterpriseTag, Policy, PolicyConsent, PolicyTransition  # noqa: F401
from models.notifications import Campaign, Delivery, InboxMessage, NotificationPreference, SubscribeCredit, WeChatFollower  # noqa: F401,E501
from models.wechat import WeChatEvent

__all__ = ["AuditEntry", "Department", "Enterprise", "Invitation", "ServiceItem", "User",
           "WeChatEvent"]
from models.consultation import (CallbackTask, CannedAnswer, ConsultantLoad, Consultation,  # noqa: F401
                                 ConsultationEvent,
                                 ConsultationMessage, DeadlineRule, FaqEntry, Rating, Rectification,
                                 StaffSkill, Topic)
from models.insights import (BundleCount, CaseDay, CaseFact, CaseItemDay, CaseItemTotal, CaseItemWeek,  # noqa: F401,E402
                             CaseMixDay, CaseMixTotal, CaseMixWeek, CaseWeek, PolicyFact, Precomputed, Proposal)
