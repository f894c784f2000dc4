"""Today's policy reach reads its live rows through block-range indexes on PostgreSQL
(migration 0014): the migration creates them there, running it again changes nothing,
reversing it drops them; on SQLite it does nothing. (The live figures themselves are
held to the raw rows by the rollup and insights tests.)"""

from __future__ import annotations

import importlib

from tortoise import connections

MIGRATION = importlib.import_module("models.migrations.0014_policy_reach_brin")


class _Editor:
    @property
    def client(self):
        return connections.get("default")


async def _brin() -> set[str]:
    conn = connections.get("default")
    if conn.capabilities.dialect != "postgres":
        return set()
    _, rows = await conn.execute_query("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%USING brin%'")
    return {r["indexname"] for r in rows}


async def test_the_migration_adds_block_range_indexes_on_postgresql_only(client):
    pg = connections.get("default").capabilities.dialect == "postgres"
    names = {name for name, _, _ in MIGRATION.INDEXES}
    await MIGRATION._backward(None, _Editor())
    assert not names & await _brin()
    await MIGRATION._forward(None, _Editor())
    await MIGRATION._forward(None, _Editor())  # again: IF NOT EXISTS
    assert (names <= await _brin()) if pg else (await _brin() == set())
    if pg:
        _, rows = await connections.get("default").execute_query(
            "SELECT tablename, indexdef FROM pg_indexes WHERE indexname = 'idx_delivery_sent_brin'")
        assert rows[0]["tablename"] == "notification_delivery" and "sent_at" in rows[0]["indexdef"]
    await MIGRATION._backward(None, _Editor())
    assert not names & await _brin()
    await MIGRATION._forward(None, _Editor())  # as the rest of the suite expects the schema
