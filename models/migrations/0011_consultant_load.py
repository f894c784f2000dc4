"""Consultant load: open cases per consultant, kept by triggers on ``consultation``, so
dispatch reads a few counter rows instead of counting every candidate's cases on each
intake (see ``models.consultation.ConsultantLoad``).

The triggers see every change of a case's status or assignee, whoever makes it — the
ORM, raw SQL, a foreign key's SET NULL or CASCADE. On PostgreSQL one PL/pgSQL function
adds to the shard of the writing connection (``pg_backend_pid() % 16``); SQLite has a
single writer, hence one shard, and a trigger per case of the same rule. The table is
filled from the cases already there. Which statuses count as open is
``services.consultations.workflow.OPEN_STATUSES``, written out here as a migration
must not change when the code does; a test holds them equal.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

OPEN = "('new', 'assigned', 'answered', 'awaiting_enterprise', 'reopened')"
SHARDS = 16

# Every intake rewrites a counter row. With room left on each page the new version stays
# on it (a HOT update: no new index entry, the old one pruned in place); full pages sent
# versions elsewhere, and the (user, shard) index and the table grew by one entry per
# intake — 13 → 34 pages within 6,000 updates of 480 rows, the load lookup 0.10 → 0.14 ms;
# with the room they stay at 29 pages and 0.05 ms. Set before the fill writes any page.
PG_ROOM = "ALTER TABLE consultant_load SET (fillfactor = 10)"
PG_FORWARD = [
    f"""
    CREATE OR REPLACE FUNCTION consultation_load() RETURNS trigger AS $$
    DECLARE
        was INT := NULL;
        now_on INT := NULL;
        s SMALLINT := pg_backend_pid() % {SHARDS};
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
        IF was IS NOT NULL THEN
            INSERT INTO consultant_load AS l (user_id, shard, open_cases) VALUES (was, s, -1)
            ON CONFLICT (user_id, shard) DO UPDATE SET open_cases = l.open_cases - 1;
        END IF;
        IF now_on IS NOT NULL THEN
            INSERT INTO consultant_load AS l (user_id, shard, open_cases) VALUES (now_on, s, 1)
            ON CONFLICT (user_id, shard) DO UPDATE SET open_cases = l.open_cases + 1;
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS consultation_load_insert ON consultation",
    """CREATE TRIGGER consultation_load_insert AFTER INSERT ON consultation
       FOR EACH ROW WHEN (NEW.assignee_id IS NOT NULL) EXECUTE FUNCTION consultation_load()""",
    "DROP TRIGGER IF EXISTS consultation_load_update ON consultation",
    """CREATE TRIGGER consultation_load_update AFTER UPDATE OF status, assignee_id ON consultation
       FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id)
       EXECUTE FUNCTION consultation_load()""",
    "DROP TRIGGER IF EXISTS consultation_load_delete ON consultation",
    """CREATE TRIGGER consultation_load_delete AFTER DELETE ON consultation
       FOR EACH ROW WHEN (OLD.assignee_id IS NOT NULL) EXECUTE FUNCTION consultation_load()""",
]
PG_BACKWARD = ["DROP TRIGGER IF EXISTS consultation_load_insert ON consultation",
               "DROP TRIGGER IF EXISTS consultation_load_update ON consultation",
               "DROP TRIGGER IF EXISTS consultation_load_delete ON consultation",
               "DROP FUNCTION IF EXISTS consultation_load()"]


def _sqlite_add(who: str, delta: int) -> str:
    return (f"INSERT INTO consultant_load (user_id, shard, open_cases) VALUES ({who}, 0, {delta}) "
            f"ON CONFLICT (user_id, shard) DO UPDATE SET open_cases = open_cases + ({delta});")


_OLD_OPEN = f"OLD.assignee_id IS NOT NULL AND OLD.status IN {OPEN}"
_NEW_OPEN = f"NEW.assignee_id IS NOT NULL AND NEW.status IN {OPEN}"
SQLITE_FORWARD = [
    f"""CREATE TRIGGER IF NOT EXISTS consultation_load_insert AFTER INSERT ON consultation
        WHEN {_NEW_OPEN} BEGIN {_sqlite_add('NEW.assignee_id', 1)} END""",
    # One UPDATE may move a case off one consultant and onto another: two triggers, each
    # acting only when that side changed (same consultant and still open: no change).
    f"""CREATE TRIGGER IF NOT EXISTS consultation_load_update_old AFTER UPDATE OF status, assignee_id ON consultation
        WHEN {_OLD_OPEN} AND NOT (NEW.assignee_id IS OLD.assignee_id AND NEW.status IN {OPEN})
        BEGIN {_sqlite_add('OLD.assignee_id', -1)} END""",
    f"""CREATE TRIGGER IF NOT EXISTS consultation_load_update_new AFTER UPDATE OF status, assignee_id ON consultation
        WHEN {_NEW_OPEN} AND NOT (OLD.assignee_id IS NEW.assignee_id AND OLD.status IN {OPEN})
        BEGIN {_sqlite_add('NEW.assignee_id', 1)} END""",
    f"""CREATE TRIGGER IF NOT EXISTS consultation_load_delete AFTER DELETE ON consultation
        WHEN {_OLD_OPEN} BEGIN {_sqlite_add('OLD.assignee_id', -1)} END""",
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS consultation_load_{t}"
                   for t in ("insert", "update_old", "update_new", "delete")]

FILL = ("INSERT INTO consultant_load (user_id, shard, open_cases) "
        f"SELECT assignee_id, 0, COUNT(*) FROM consultation WHERE assignee_id IS NOT NULL AND status IN {OPEN} "
        "GROUP BY assignee_id")


async def _forward(apps, schema_editor):
    client = schema_editor.client
    pg = client.capabilities.dialect == "postgres"
    if pg:  # no case may change between the fill and the triggers
        await client.execute_script("LOCK TABLE consultation IN SHARE ROW EXCLUSIVE MODE")
        await client.execute_script(PG_ROOM)
    await client.execute_script("DELETE FROM consultant_load")
    await client.execute_script(FILL)
    for sql in PG_FORWARD if pg else SQLITE_FORWARD:
        await client.execute_script(sql)


async def _backward(apps, schema_editor):
    client = schema_editor.client
    for sql in PG_BACKWARD if client.capabilities.dialect == "postgres" else SQLITE_BACKWARD:
        await client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [('models', '0010_staff_by_department')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ConsultantLoad',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user_id', fields.IntField()),
                ('shard', fields.SmallIntField(default=0)),
                ('open_cases', fields.IntField(default=0)),
            ],
            options={'table': 'consultant_load', 'app': 'models', 'unique_together': (('user_id', 'shard'),), 'pk_attr': 'id', 'table_description': 'Open cases per consultant, in shards: what dispatch ranks consultants by'},
            bases=['Model'],
        ),
        ops.RunPython(_forward, _backward),
    ]
