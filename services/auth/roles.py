"""Roles and the groups that routes declare.

三员分立: the system, security and audit administrators each get their own
functions and nothing else — the system admin runs the catalogue and accounts,
the security admin assigns roles and unlocks accounts, the audit admin reads the
audit log. No admin role appears in another admin's groups below.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VISITOR = "visitor"  # logged in with WeChat, no enterprise yet
    ENTERPRISE_OWNER = "enterprise_owner"
    ENTERPRISE_MEMBER = "enterprise_member"
    CONSULTANT = "consultant"
    SUPERVISOR = "supervisor"
    POLICY_OFFICER = "policy_officer"
    SYSTEM_ADMIN = "system_admin"
    SECURITY_ADMIN = "security_admin"
    AUDIT_ADMIN = "audit_admin"


ROLE_LABELS = {
    Role.VISITOR: "未认证用户",
    Role.ENTERPRISE_OWNER: "企业负责人",
    Role.ENTERPRISE_MEMBER: "企业成员",
    Role.CONSULTANT: "咨询员",
    Role.SUPERVISOR: "部门主管",
    Role.POLICY_OFFICER: "政策专员",
    Role.SYSTEM_ADMIN: "系统管理员",
    Role.SECURITY_ADMIN: "安全管理员",
    Role.AUDIT_ADMIN: "安全审计员",
}

#: Anyone, logged in or not (public catalogue, health, docs, WeChat callback).
PUBLIC: frozenset[Role] | None = None

WECHAT_ROLES = frozenset({Role.VISITOR, Role.ENTERPRISE_OWNER, Role.ENTERPRISE_MEMBER})
ENTERPRISE = frozenset({Role.ENTERPRISE_OWNER, Role.ENTERPRISE_MEMBER})
STAFF_ROLES = frozenset({Role.CONSULTANT, Role.SUPERVISOR, Role.POLICY_OFFICER,
                         Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})
#: Staff who serve enterprises and so may see an enterprise's profile.
SERVICE_STAFF = frozenset({Role.CONSULTANT, Role.SUPERVISOR, Role.POLICY_OFFICER})
ANY_USER = WECHAT_ROLES | STAFF_ROLES
CATALOGUE_EDITORS = frozenset({Role.SYSTEM_ADMIN})
#: Roles that need an enterprise's full contact phone (to call them back).
SEES_FULL_PHONE = frozenset({Role.ENTERPRISE_OWNER, Role.ENTERPRISE_MEMBER,
                             Role.CONSULTANT, Role.SUPERVISOR})
