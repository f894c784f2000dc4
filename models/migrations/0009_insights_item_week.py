"""The weekly per-item measures (``insight_case_item_week``) the friction index, department
performance and proposal evaluation read instead of a year of daily facts; written by the
rollup alongside the daily facts, no foreign keys.

Weeks rolled up before the migration are filled from the daily facts (``_backfill``).

Also a partial index of the questions the emerging-topics view clusters (no topic, not
merged, not held by moderation) by intake time: the view reads the ids of the newest
2,000 on every visit, and without it walks back through every case of the last weeks
(the few percent without a topic are scattered among them) — 30–100 ms at a million
cases a year, against under a millisecond from this index alone. Intake pays for it
only when a question fits no topic (SQLite and PostgreSQL both have partial indexes).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

UNCLASSIFIED_INDEX = "ix_consultation_unclassified_accepted"
ITEM_WEEK_KEYS = ("service_item_id", "element", "kind", "department_id")


async def _backfill(apps, schema_editor):
    """Weeks already rolled up before this migration get their rows now, from the daily
    facts (in the database, one statement): the scheduled rollup rebuilds only the last
    few days, and the views would read empty weeks until someone ran ``rollup --since``.
    On a fresh database there are no facts and nothing to do."""
    client = schema_editor.client
    week = ("CAST(date_trunc('week', day) AS date)" if client.capabilities.dialect == "postgres"
            else "date(day, '-' || ((CAST(strftime('%w', day) AS INTEGER) + 6) % 7) || ' days')")
    measures = [name for name, _ in Migration.operations[0].fields if name not in ("id", "week", *ITEM_WEEK_KEYS)]
    keys = ", ".join(ITEM_WEEK_KEYS)
    await client.execute_script(
        f"INSERT INTO insight_case_item_week (week, {keys}, {', '.join(measures)}) "
        f"SELECT {week}, {keys}, {', '.join(f'SUM({m})' for m in measures)} FROM insight_case_fact "
        f"GROUP BY {week}, {keys}")


async def _no_backfill(apps, schema_editor):
    pass  # the table goes with the reversed CreateModel


async def _create_index(apps, schema_editor):
    await schema_editor.client.execute_script(
        f"CREATE INDEX IF NOT EXISTS {UNCLASSIFIED_INDEX} ON consultation (accepted_at, id) "
        "WHERE topic_code = '' AND merged_into_id IS NULL AND moderation <> 'held'")


async def _drop_index(apps, schema_editor):
    await schema_editor.client.execute_script(f"DROP INDEX IF EXISTS {UNCLASSIFIED_INDEX}")


class Migration(migrations.Migration):
    dependencies = [('models', '0008_followers')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CaseItemWeek',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('week', fields.DateField()),
                ('service_item_id', fields.IntField(default=0)),
                ('element', fields.CharField(default='', max_length=16)),
                ('kind', fields.CharField(default='', max_length=16)),
                ('department_id', fields.IntField(default=0)),
                ('cases', fields.IntField(default=0)),
                ('merged', fields.IntField(default=0)),
                ('repeats', fields.IntField(default=0)),
                ('answered', fields.IntField(default=0)),
                ('answered_on_time', fields.IntField(default=0)),
                ('overdue', fields.IntField(default=0)),
                ('first_answer_seconds', fields.BigIntField(default=0)),
                ('first_answer_count', fields.IntField(default=0)),
                ('close_seconds', fields.BigIntField(default=0)),
                ('close_count', fields.IntField(default=0)),
                ('fa_b00', fields.IntField(default=0)),
                ('fa_b01', fields.IntField(default=0)),
                ('fa_b02', fields.IntField(default=0)),
                ('fa_b03', fields.IntField(default=0)),
                ('fa_b04', fields.IntField(default=0)),
                ('fa_b05', fields.IntField(default=0)),
                ('fa_b06', fields.IntField(default=0)),
                ('fa_b07', fields.IntField(default=0)),
                ('fa_b08', fields.IntField(default=0)),
                ('fa_b09', fields.IntField(default=0)),
                ('fa_b10', fields.IntField(default=0)),
                ('fa_b11', fields.IntField(default=0)),
                ('fa_b12', fields.IntField(default=0)),
                ('fa_b13', fields.IntField(default=0)),
                ('fa_b14', fields.IntField(default=0)),
                ('fa_b15', fields.IntField(default=0)),
                ('fa_b16', fields.IntField(default=0)),
                ('fa_b17', fields.IntField(default=0)),
                ('cl_b00', fields.IntField(default=0)),
                ('cl_b01', fields.IntField(default=0)),
                ('cl_b02', fields.IntField(default=0)),
                ('cl_b03', fields.IntField(default=0)),
                ('cl_b04', fields.IntField(default=0)),
                ('cl_b05', fields.IntField(default=0)),
                ('cl_b06', fields.IntField(default=0)),
                ('cl_b07', fields.IntField(default=0)),
                ('cl_b08', fields.IntField(default=0)),
                ('cl_b09', fields.IntField(default=0)),
                ('cl_b10', fields.IntField(default=0)),
                ('cl_b11', fields.IntField(default=0)),
                ('cl_b12', fields.IntField(default=0)),
                ('cl_b13', fields.IntField(default=0)),
                ('cl_b14', fields.IntField(default=0)),
                ('cl_b15', fields.IntField(default=0)),
                ('cl_b16', fields.IntField(default=0)),
                ('cl_b17', fields.IntField(default=0)),
                ('rating_1', fields.IntField(default=0)),
                ('rating_2', fields.IntField(default=0)),
                ('rating_3', fields.IntField(default=0)),
                ('rating_4', fields.IntField(default=0)),
                ('rating_5', fields.IntField(default=0)),
                ('rectifications_opened', fields.IntField(default=0)),
                ('rectifications_closed', fields.IntField(default=0)),
                ('callbacks_due', fields.IntField(default=0)),
                ('callbacks_done', fields.IntField(default=0)),
            ],
            options={'table': 'insight_case_item_week', 'app': 'models', 'unique_together': (('week', 'service_item_id', 'element', 'kind', 'department_id'),), 'pk_attr': 'id', 'table_description': 'Every case measure but distinct enterprises, per week (Monday) × service item ×'},
            bases=['Model'],
        ),
        ops.RunPython(_backfill, _no_backfill),
        ops.RunPython(_create_index, _drop_index),
    ]
