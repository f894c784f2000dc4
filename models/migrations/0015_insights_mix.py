"""Friction and department performance by enterprise mix: ``insight_case_mix_day``,
``insight_case_mix_week`` and their running totals ``insight_case_mix_total``, per county ×
industry group × size class × service item × department (and summed over every mix), so
that a county, industry or size filter reads a few thousand rows instead of a year of
daily facts. Written by the rollup, no foreign keys.

Days rolled up before the migration are filled (``_backfill``), in the database, from the
daily facts: the scheduled rollup rebuilds only the last few days.
"""

from datetime import date

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

async def _backfill(apps, schema_editor):
    """The mirror by day from the daily facts, the weeks from the mirror, then the running
    totals — with the rollup's own statements. Nothing to do on a fresh database."""
    from services.insights.rollup import RUNNING_TOTALS, Dialect, mix_day_select, monday, running_totals, weeks_from_days

    client = schema_editor.client
    d = Dialect(client.capabilities.dialect == "postgres")
    _, rows = await client.execute_query("SELECT MIN(day) AS lo, MAX(day) AS hi FROM insight_case_fact")
    lo, hi = rows[0]["lo"], rows[0]["hi"]
    if lo is None:
        return
    lo, hi = (date.fromisoformat(v) if isinstance(v, str) else v for v in (lo, hi))
    table, weekly, cell, measures = RUNNING_TOTALS[1]
    await client.execute_script(f"INSERT INTO insight_case_mix_day (day, {', '.join((*cell, *measures))}) "
                                f"{mix_day_select(d, lo, hi)}")
    await client.execute_script(f"INSERT INTO {weekly} (week, {', '.join((*cell, *measures))}) "
                                f"{weeks_from_days(d, 'insight_case_mix_day', monday(lo), monday(hi))}")
    await running_totals(client, d, monday(lo), table, weekly, cell, measures)


async def _no_backfill(apps, schema_editor):
    pass  # the tables go with the reversed CreateModel


class Migration(migrations.Migration):
    dependencies = [('models', '0014_policy_reach_brin')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CaseMixDay',
            fields=[
                ('region_code', fields.CharField(default='', max_length=6)),
                ('industry_group', fields.CharField(default='', max_length=32)),
                ('size_class', fields.CharField(default='', max_length=8)),
                ('service_item_id', fields.IntField(default=0)),
                ('department_id', fields.IntField(default=0)),
                ('cases', fields.IntField(default=0)),
                ('repeats', fields.IntField(default=0)),
                ('answered', fields.IntField(default=0)),
                ('answered_on_time', fields.IntField(default=0)),
                ('overdue', fields.IntField(default=0)),
                ('close_seconds', fields.BigIntField(default=0)),
                ('close_count', fields.IntField(default=0)),
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
                ('complaints_materials', fields.IntField(default=0)),
                ('complaints_steps', fields.IntField(default=0)),
                ('complaints_time_limit', fields.IntField(default=0)),
                ('complaints_fees', fields.IntField(default=0)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField()),
            ],
            options={'table': 'insight_case_mix_day', 'app': 'models', 'unique_together': (('day', 'region_code', 'industry_group', 'size_class', 'service_item_id', 'department_id'),), 'pk_attr': 'id', 'table_description': "``CaseMixWeek`` by local day: the days at a period's ends, and reads by day."},
            bases=['_MixMeasures'],
        ),
        ops.CreateModel(
            name='CaseMixTotal',
            fields=[
                ('region_code', fields.CharField(default='', max_length=6)),
                ('industry_group', fields.CharField(default='', max_length=32)),
                ('size_class', fields.CharField(default='', max_length=8)),
                ('service_item_id', fields.IntField(default=0)),
                ('department_id', fields.IntField(default=0)),
                ('cases', fields.IntField(default=0)),
                ('repeats', fields.IntField(default=0)),
                ('answered', fields.IntField(default=0)),
                ('answered_on_time', fields.IntField(default=0)),
                ('overdue', fields.IntField(default=0)),
                ('close_seconds', fields.BigIntField(default=0)),
                ('close_count', fields.IntField(default=0)),
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
                ('complaints_materials', fields.IntField(default=0)),
                ('complaints_steps', fields.IntField(default=0)),
                ('complaints_time_limit', fields.IntField(default=0)),
                ('complaints_fees', fields.IntField(default=0)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('week', fields.DateField()),
            ],
            options={'table': 'insight_case_mix_total', 'app': 'models', 'unique_together': (('week', 'region_code', 'industry_group', 'size_class', 'service_item_id', 'department_id'),), 'pk_attr': 'id', 'table_description': 'Running totals of ``CaseMixWeek``, as ``CaseItemTotal`` is of ``CaseItemWeek``: per'},
            bases=['_MixMeasures'],
        ),
        ops.CreateModel(
            name='CaseMixWeek',
            fields=[
                ('region_code', fields.CharField(default='', max_length=6)),
                ('industry_group', fields.CharField(default='', max_length=32)),
                ('size_class', fields.CharField(default='', max_length=8)),
                ('service_item_id', fields.IntField(default=0)),
                ('department_id', fields.IntField(default=0)),
                ('cases', fields.IntField(default=0)),
                ('repeats', fields.IntField(default=0)),
                ('answered', fields.IntField(default=0)),
                ('answered_on_time', fields.IntField(default=0)),
                ('overdue', fields.IntField(default=0)),
                ('close_seconds', fields.BigIntField(default=0)),
                ('close_count', fields.IntField(default=0)),
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
                ('complaints_materials', fields.IntField(default=0)),
                ('complaints_steps', fields.IntField(default=0)),
                ('complaints_time_limit', fields.IntField(default=0)),
                ('complaints_fees', fields.IntField(default=0)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('week', fields.DateField()),
            ],
            options={'table': 'insight_case_mix_week', 'app': 'models', 'unique_together': (('week', 'region_code', 'industry_group', 'size_class', 'service_item_id', 'department_id'),), 'pk_attr': 'id', 'table_description': 'What friction and department performance read, per week (Monday) × county × industry'},
            bases=['_MixMeasures'],
        ),
        ops.RunPython(_backfill, _no_backfill),
    ]
