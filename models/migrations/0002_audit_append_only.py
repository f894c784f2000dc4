"""On PostgreSQL, make audit_entry append-only in the database itself: no UPDATE
ever, and DELETE only of rows past the 180-day minimum retention. SQLite (the
embedded default) relies on the ORM guard in models.audit."""

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = [
    """
    CREATE OR REPLACE FUNCTION audit_entry_guard() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            RAISE EXCEPTION 'audit_entry is append-only';
        END IF;
        IF OLD.at > now() - interval '180 days' THEN
            RAISE EXCEPTION 'audit entries are kept at least 180 days';
        END IF;
        RETURN OLD;
    END;
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS audit_entry_guard ON audit_entry",
    """CREATE TRIGGER audit_entry_guard BEFORE UPDATE OR DELETE ON audit_entry
       FOR EACH ROW EXECUTE FUNCTION audit_entry_guard()""",
]
BACKWARD = ["DROP TRIGGER IF EXISTS audit_entry_guard ON audit_entry",
            "DROP FUNCTION IF EXISTS audit_entry_guard()"]


def _run(statements):
    async def run(apps, schema_editor):
        client = schema_editor.client
        if client.capabilities.dialect != "postgres":
            return
        for sql in statements:
            await client.execute_script(sql)
    return run


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [ops.RunPython(_run(FORWARD), _run(BACKWARD))]
