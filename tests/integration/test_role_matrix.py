"""Every declared route × every role (and anonymous).

A role the route does not list must be refused (401 anonymous, 403 otherwise)
before anything else happens; a listed role must get past the gate (any answer
but 401/403 — the ids below do not exist, so it is typically 404 or 422).
"""

import pytest

from handlers.base import ENDPOINTS
from services.auth.roles import Role
from tests.conftest import auth

ROLES = [None, *Role]
# Routes with side effects on the caller's own session are tested on their own.
SKIP = {("POST", "/api/v1/auth/logout")}
MATRIX = [ep for ep in ENDPOINTS if (ep.method, ep.path) not in SKIP and ep.roles is not None]


async def tokens_for_every_role(api, client) -> dict:
    tokens = {None: None, Role.VISITOR: await api.wechat_token("visitor")}
    owner, ent = await api.owner("matrix-owner")
    tokens[Role.ENTERPRISE_OWNER] = owner
    code = (await (await client.post(f"/api/v1/enterprises/{ent['id']}/invitations", headers=auth(owner))).json())["code"]
    member = await api.wechat_token("matrix-member")
    assert (await client.post("/api/v1/enterprises/join", json={"code": code}, headers=auth(member))).status == 200
    tokens[Role.ENTERPRISE_MEMBER] = member
    for role in Role:
        if role not in tokens:
            tokens[role] = await api.staff_token(str(role))
    return tokens


async def test_every_route_refuses_every_role_it_does_not_list(client, api):
    tokens = await tokens_for_every_role(api, client)
    failures = []
    for ep in MATRIX:
        path = ep.path.replace("{id}", "999999")
        for role in ROLES:
            headers = auth(tokens[role]) if tokens[role] else {}
            kwargs = {"json": {}} if ep.body is not None else {}
            resp = await client.request(ep.method, path, headers=headers, **kwargs)
            allowed = role in ep.roles
            if role is None:
                ok = resp.status == 401
            elif allowed:
                ok = resp.status not in (401, 403) and resp.status < 500
            else:
                ok = resp.status == 403
            if not ok:
                failures.append((ep.method, ep.path, str(role), resp.status))
            if resp.status in (401, 403):
                body = await resp.json()
                assert body["error"]["message"] in ("请先登录", "无权进行此操作"), body
    assert failures == []


async def test_public_routes_answer_without_login(client):
    public = [ep for ep in ENDPOINTS if ep.roles is None and ep.method == "GET" and "{" not in ep.path
              and not ep.path.startswith("/wechat/")  # the callback demands a signature
              and not (ep.query and any(f.is_required() for f in ep.query.model_fields.values()))]
    assert public
    for ep in public:
        resp = await client.get(ep.path)
        assert resp.status in (200, 503), (ep.path, resp.status)


def test_every_route_declares_its_roles():
    for ep in ENDPOINTS:
        assert ep.roles is None or len(ep.roles) > 0, ep.path


def test_admin_roles_never_share_functions():
    """三员分立: no route is open to two different admin roles."""
    admins = {Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN}
    for ep in ENDPOINTS:
        if ep.roles is None or ep.path in ("/api/v1/me", "/api/v1/auth/logout", "/api/v1/staff"):
            continue
        assert len(ep.roles & admins) <= 1, ep.path
