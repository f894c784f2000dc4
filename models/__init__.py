"""Persistence only: tortoise-orm models. Business rules live in ``services``."""

from models.audit import AuditEntry
from models.catalogue import Department, ServiceItem
from models.identity import Enterprise, Invitation, User
from models.wechat import WeChatEvent

__all__ = ["AuditEntry", "Department", "Enterprise", "Invitation", "ServiceItem", "User",
           "WeChatEvent"]
