"""Consultant load on intake, PostgreSQL: one trigger call per statement, its counter
rows taken in consultant order.

Why: an intake statement writes a group of cases (``services.consultations.group_write``)
and, with the row trigger of 0011, took each case's consultant's counter row in the
order of the group. Two groups written at once by connections of the same shard
(``pg_backend_pid() % 16``, so about one pair in sixteen) could each hold one of two
consultants' rows and wait for the other's: PostgreSQL found the deadlock after its
one-second timeout, failed one statement and the writer wrote that group's cases again
one by one (seen with ``python -m bench intake``: twice in a ten-second run with three
or four writes in flight, the run's p99 735 ms). A statement-level trigger sees all the
statement's new cases at once (a transition table; PostgreSQL fires it once for all the
statement's CTEs) and adds to their consultants' rows in one upsert sorted by
consultant: every writer takes rows in the same order, so writers of one shard wait for
each other but cannot deadlock. It is also one trigger call per group instead of one
per case.

UPDATE and DELETE keep 0011's row trigger: they change one case at a time. SQLite
(one writer) keeps its triggers.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

OPEN = "('new', 'assigned', 'answered', 'awaiting_enterprise', 'reopened')"
SHARDS = 16

PG_FORWARD = [
    f"""
    CREATE OR REPLACE FUNCTION consultation_load_inserted() RETURNS trigger AS $$
    BEGIN
        INSERT INTO consultant_load AS l (user_id, shard, open_cases)
        SELECT n.assignee_id, pg_backend_pid() % {SHARDS}, COUNT(*) FROM inserted_cases n
        WHERE n.assignee_id IS NOT NULL AND n.status IN {OPEN}
        GROUP BY n.assignee_id ORDER BY n.assignee_id
        ON CONFLICT (user_id, shard) DO UPDATE SET open_cases = l.open_cases + EXCLUDED.open_cases;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS consultation_load_insert ON consultation",
    """CREATE TRIGGER consultation_load_insert AFTER INSERT ON consultation
       REFERENCING NEW TABLE AS inserted_cases
       FOR EACH STATEMENT EXECUTE FUNCTION consultation_load_inserted()""",
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS consultation_load_insert ON consultation",
    """CREATE TRIGGER consultation_load_insert AFTER INSERT ON consultation
       FOR EACH ROW WHEN (NEW.assignee_id IS NOT NULL) EXECUTE FUNCTION consultation_load()""",
    "DROP FUNCTION IF EXISTS consultation_load_inserted()",
]


async def _swap(schema_editor, statements: list[str]) -> None:
    """PostgreSQL only; no case may be written between one trigger's drop and the other's creation."""
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script("LOCK TABLE consultation IN SHARE ROW EXCLUSIVE MODE")
        for sql in statements:
            await client.execute_script(sql)


async def _forward(apps, schema_editor):
    await _swap(schema_editor, PG_FORWARD)


async def _backward(apps, schema_editor):
    await _swap(schema_editor, PG_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [('models', '0018_case_thread_indexes')]

    initial = False

    operations = [
        ops.RunPython(_forward, _backward),
    ]
