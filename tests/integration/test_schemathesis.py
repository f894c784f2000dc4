"""schemathesis against a live server, once per role token.

The server runs as a real process (``python -m server serve``) on this tier's
stores. For each role we log in the way its client does and let schemathesis
generate requests from the OpenAPI document: no 5xx, and every response matches
the documented status codes, content types and schemas.

Anonymous requests go to every operation, so every route's refusal meets generated
paths and bodies; each role then fuzzes the routes it may call (its own and the public
ones). Fuzzing, as each role, the routes that refuse it only repeated the anonymous
run's refusals, and was two thirds of the generated cases (1,150 → about 500; which
role each route refuses is test_role_matrix's to check, route by route).
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import requests
import pytest

from bench.common import server
from handlers.base import ENDPOINTS
from services.auth.roles import Role
from tests.conftest import BACKEND, REDIS_URL, _create_pg_database, _drop_pg_database

ROOT = Path(__file__).resolve().parents[2]
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def live_server(tmp_path_factory):
    if BACKEND == "pg":
        database_url, redis_url = await _create_pg_database(), REDIS_URL
    else:
        database_url, redis_url = f"sqlite://{tmp_path_factory.mktemp('live') / 'live.sqlite3'}", "memory://"
    try:
        with server(database_url, redis_url=redis_url) as (base, _proc):
            yield base
    finally:
        if BACKEND == "pg":
            await _drop_pg_database(database_url)


# Fuzzing the security admin's routes changes roles and so ends other sessions: it goes last,
# and every role logs in right before its own run.
ORDER = ["anonymous", "visitor", "enterprise_member", "enterprise_owner", "consultant", "supervisor",
         "policy_officer", "audit_admin", "system_admin", "security_admin"]


def _token(base: str, role: str) -> str | None:
    return _tokens(base)[role]


def _tokens(base: str) -> dict[str, str | None]:
    from services.seed import DEMO_PASSWORD, DEMO_STAFF

    class Client(requests.Session):
        def request(self, method, url, *args, **kwargs):
            kwargs.setdefault("timeout", 10)
            return super().request(method, base + url, *args, **kwargs)

    c = Client()
    tokens: dict[str, str | None] = {"anonymous": None}
    for username, role, _, _ in DEMO_STAFF:
        tokens[str(role)] = c.post("/api/v1/auth/staff-login",
                                   json={"username": username, "password": DEMO_PASSWORD}).json()["token"]
    owner = c.post("/api/v1/auth/wechat-login", json={"code": "sandbox-linxiaoyu"}).json()
    tokens["enterprise_owner"] = owner["token"]
    ent_id = owner["user"]["enterprise_id"]
    code = c.post(f"/api/v1/enterprises/{ent_id}/invitations",
                  headers={"Authorization": f"Bearer {owner['token']}"}).json()["code"]
    member = c.post("/api/v1/auth/wechat-login", json={"code": f"sandbox-member-{uuid.uuid4().hex[:8]}"}).json()["token"]
    c.post("/api/v1/enterprises/join", json={"code": code}, headers={"Authorization": f"Bearer {member}"})
    tokens["enterprise_member"] = member
    tokens["visitor"] = c.post("/api/v1/auth/wechat-login",
                               json={"code": f"sandbox-visitor-{uuid.uuid4().hex[:8]}"}).json()["token"]
    return tokens


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch_for_any_role(live_server):
    assert set(_tokens(live_server)) == set(ORDER)  # anonymous + the nine roles
    failures = {}
    for role in ORDER:
        token = _token(live_server, role)
        cmd = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{live_server}/api/openapi.json",
               "--url", live_server, "--checks", CHECKS, "--max-examples", "8",
               "--phases", "examples,fuzzing", "--generation-deterministic",
               "--exclude-path", "/api/v1/auth/logout", "--no-color"]
        if token:
            cmd += ["--header", f"Authorization: Bearer {token}"]
            for ep in ENDPOINTS:
                if ep.roles is None or Role(role) in ep.roles:
                    cmd += ["--include-name", f"{ep.method} {ep.path}"]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
        if run.returncode != 0:
            failures[role] = run.stdout[-3000:] + run.stderr[-1000:]
    assert failures == {}, "\n\n".join(f"== {r} ==\n{out}" for r, out in failures.items())
