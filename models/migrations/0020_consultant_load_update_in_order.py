"""Consultant load on a case's move, PostgreSQL: the two counter rows of a reassignment
are taken in consultant order, as 0019 takes an intake's.

Why: 0011's row function took the old consultant's row, then the new one's. A 改派 from
B to A (A's id the lower) thus held B's row while it waited for A's; an intake statement
of the same shard (``pg_backend_pid() % 16``) adding cases for A and B takes A's first
(0019) and would then wait for B's: a deadlock, which PostgreSQL breaks after its
one-second timeout by failing one of them. Both rows now go in one upsert sorted by
consultant, so every writer takes them in the same order. Rows of a case that only
opens or closes (one consultant) are unchanged, and so is SQLite (one writer).
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

OPEN = "('new', 'assigned', 'answered', 'awaiting_enterprise', 'reopened')"
SHARDS = 16

PG_FORWARD = f"""
    CREATE OR REPLACE FUNCTION consultation_load() RETURNS trigger AS $$
    DECLARE
        was INT := NULL;
        now_on INT := NULL;
    BEGIN
        IF TG_OP <> 'INSERT' AND OLD.assignee_id IS NOT NULL AND OLD.status IN {OPEN} THEN
            was := OLD.assignee_id;
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.assignee_id IS NOT NULL AND NEW.status IN {OPEN} THEN
            now_on := NEW.assignee_id;
        END IF;
        IF was IS NOT DISTINCT FROM now_on THEN
            RETURN NULL;
        END IF;
        INSERT INTO consultant_load AS l (user_id, shard, open_cases)
        SELECT v.user_id, pg_backend_pid() % {SHARDS}, v.delta FROM (VALUES (was, -1), (now_on, 1)) AS v(user_id, delta)
        WHERE v.user_id IS NOT NULL ORDER BY v.user_id
        ON CONFLICT (user_id, shard) DO UPDATE SET open_cases = l.open_cases + EXCLUDED.open_cases;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """


async def _forward(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(PG_FORWARD)


async def _backward(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        earlier = importlib.import_module("models.migrations.0011_consultant_load")
        await client.execute_script(earlier.PG_FORWARD[0])


class Migration(migrations.Migration):
    dependencies = [('models', '0019_consultant_load_per_statement')]

    initial = False

    operations = [
        ops.RunPython(_forward, _backward),
    ]
