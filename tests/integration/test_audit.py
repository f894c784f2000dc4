import pytest
from tortoise import connections

from models import AuditEntry
from models.audit import AppendOnlyError
from tests.conftest import BACKEND, auth


async def test_audit_admin_reads_logins_failures_and_lockouts(client, api):
    await api.staff_token("consultant", username="xu")
    for _ in range(5):
        await client.post("/api/v1/auth/staff-login", json={"username": "xu", "password": "wrong-one-1"})
    token = await api.staff_token("audit_admin")
    page = await (await client.get("/api/v1/audit-log", params={"page_size": "100"}, headers=auth(token))).json()
    actions = [e["action"] for e in page["items"]]
    assert {"login_success", "login_failed", "account_locked"} <= set(actions)
    locked = await (await client.get("/api/v1/audit-log", params={"action": "account_locked"},
                                     headers=auth(token))).json()
    assert locked["total"] == 1 and locked["items"][0]["outcome"] == "success"
    assert locked["items"][0]["actor_name"] == "xu"


async def test_only_the_audit_admin_reads_the_audit_log(client, api):
    for role in ("system_admin", "security_admin", "supervisor"):
        token = await api.staff_token(role)
        assert (await client.get("/api/v1/audit-log", headers=auth(token))).status == 403


async def test_there_is_no_route_to_change_or_delete_audit_entries(client, api):
    token = await api.staff_token("audit_admin")
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        resp = await client.request(method, "/api/v1/audit-log", headers=auth(token))
        assert resp.status == 405


async def test_the_orm_refuses_to_rewrite_audit_history(client, api):
    await api.staff_token("consultant")
    entry = await AuditEntry.first()
    entry.outcome = "tampered"
    with pytest.raises(AppendOnlyError):
        await entry.save()
    with pytest.raises(AppendOnlyError):
        await entry.delete()


@pytest.mark.skipif(BACKEND != "pg", reason="the database trigger exists on PostgreSQL; SQLite has the ORM guard")
async def test_postgres_refuses_update_and_early_delete_even_in_raw_sql(client, api):
    await api.staff_token("consultant")
    conn = connections.get("default")
    with pytest.raises(Exception, match="append-only"):
        await conn.execute_script("UPDATE audit_entry SET outcome = 'x'")
    with pytest.raises(Exception, match="180 days"):
        await conn.execute_script("DELETE FROM audit_entry")


async def test_retention_removes_only_entries_past_the_retention_period(client, api):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from services.audit import purge_expired

    await api.staff_token("consultant")
    count = await AuditEntry.all().count()
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    assert await purge_expired(retention_days=180, now=now) == 0
    assert await AuditEntry.all().count() == count
