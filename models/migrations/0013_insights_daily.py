"""Daily mirrors of the weekly case tables (``insight_case_day``, ``insight_case_item_day``):
rising topics read seven-day windows that cut across weeks, and friction and department
performance read the days at a period's ends, from these instead of the daily facts.
Written by the rollup alongside the weekly tables, no foreign keys.

Also the running totals of the weekly per-item measures (``insight_case_item_total``):
a period's whole weeks are the difference of two of its weeks.

And the store of raw-row views computed after the scheduled rollup
(``insight_precomputed``).

Days and weeks rolled up before the migration are filled (``_backfill``).
"""

from datetime import date

from orjson import loads
from tortoise import migrations
from tortoise.fields.data import JSON_DUMPS
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

ENTERPRISE_KEYS = ("industry_group", "size_class", "region_code")
DAY_KEYS = ("topic_code", "service_item_id", "department_id")
ITEM_DAY_KEYS = ("service_item_id", "element", "kind", "department_id")
ALL = "*"  # models.insights.ALL: the rows summed over every enterprise mix


async def _backfill(apps, schema_editor):
    """Days already rolled up get their rows now, from the daily facts (in the database):
    the scheduled rollup rebuilds only the last few days, and the views would otherwise
    read empty days until someone ran ``rollup --since``. Nothing to do on a fresh
    database."""
    client = schema_editor.client
    keys, mix = ", ".join(DAY_KEYS), ", ".join(ENTERPRISE_KEYS)
    await client.execute_script(
        f"INSERT INTO insight_case_day (day, {keys}, {mix}, cases) "
        f"SELECT day, {keys}, {mix}, SUM(cases) FROM insight_case_fact WHERE cases > 0 GROUP BY day, {keys}, {mix} "
        f"UNION ALL SELECT day, {keys}, {', '.join([repr(ALL)] * 3)}, SUM(cases) FROM insight_case_fact "
        f"WHERE cases > 0 GROUP BY day, {keys}")
    measures = [name for name, _ in Migration.operations[1].fields if name not in ("id", "day", *ITEM_DAY_KEYS)]
    keys = ", ".join(ITEM_DAY_KEYS)
    await client.execute_script(
        f"INSERT INTO insight_case_item_day (day, {keys}, {', '.join(measures)}) "
        f"SELECT day, {keys}, {', '.join(f'SUM({m})' for m in measures)} FROM insight_case_fact "
        f"GROUP BY day, {keys}")
    # the running totals, from the weekly measures (migration 0009 filled those)
    from services.insights.rollup import Dialect, item_totals

    pg = client.capabilities.dialect == "postgres"
    await item_totals(client, Dialect(pg), date(1970, 1, 5))  # a Monday before any week: rebuild all


async def _no_backfill(apps, schema_editor):
    pass  # the tables go with the reversed CreateModel

class Migration(migrations.Migration):
    dependencies = [('models', '0012_delivery_inbox')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CaseDay',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField()),
                ('topic_code', fields.CharField(default='', max_length=32)),
                ('service_item_id', fields.IntField(default=0)),
                ('department_id', fields.IntField(default=0)),
                ('industry_group', fields.CharField(default='', max_length=32)),
                ('size_class', fields.CharField(default='', max_length=8)),
                ('region_code', fields.CharField(default='', max_length=6)),
                ('cases', fields.IntField(default=0)),
            ],
            options={'table': 'insight_case_day', 'app': 'models', 'unique_together': (('region_code', 'industry_group', 'size_class', 'day', 'topic_code', 'service_item_id', 'department_id'),), 'pk_attr': 'id', 'table_description': '``CaseWeek`` by local day instead of week (the same rows: per enterprise mix, and'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CaseItemDay',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField()),
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
            options={'table': 'insight_case_item_day', 'app': 'models', 'unique_together': (('day', 'service_item_id', 'element', 'kind', 'department_id'),), 'pk_attr': 'id', 'table_description': '``CaseItemWeek`` by local day instead of week, rebuilt by the rollup for the days it'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CaseItemTotal',
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
            options={'table': 'insight_case_item_total', 'app': 'models', 'unique_together': (('week', 'service_item_id', 'element', 'kind', 'department_id'),), 'pk_attr': 'id', 'table_description': 'Running totals of ``CaseItemWeek``: per week × item × element × kind × department,'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Precomputed',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('view', fields.CharField(max_length=16)),
                ('key', fields.CharField(unique=True, max_length=40)),
                ('computed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('body', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'insight_precomputed', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A raw-row view (emerging topics, bundles) computed by the scheduled job after the'},
            bases=['Model'],
        ),
        ops.RunPython(_backfill, _no_backfill),
        # the rollup replaces whole days and weeks: without these, each delete scans the table
        ops.AddIndex(
            model_name='CaseDay',
            index=Index(fields=['day']),
        ),
        ops.AddIndex(
            model_name='CaseWeek',
            index=Index(fields=['week']),
        ),
    ]
