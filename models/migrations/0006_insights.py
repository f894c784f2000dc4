"""Demand insights: the daily fact tables (cases, policy reach) and redesign proposals.

The fact tables have no foreign keys (facts outlive the rows they count); the only
foreign key, ``insight_proposal.created_by_id``, points at ``app_user`` from 0001.

It also indexes the event timestamps the rollup selects a day range by (intake, first
answer, closing, rating, rectification): re-running one day over a year of a million
cases must not scan the whole table once per event. The answer and close indexes are
partial (NOT NULL), so intake — which writes neither — pays only for ``accepted_at``.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

EVENT_INDEXES = [
    ("ix_consultation_accepted_at", "consultation (accepted_at)"),
    ("ix_consultation_first_answered_at", "consultation (first_answered_at) WHERE first_answered_at IS NOT NULL"),
    ("ix_consultation_closed_at", "consultation (closed_at) WHERE closed_at IS NOT NULL"),
    ("ix_consultation_rating_created_at", "consultation_rating (created_at)"),
    ("ix_rectification_created_at", "rectification (created_at)"),
    ("ix_rectification_closed_at", "rectification (closed_at) WHERE closed_at IS NOT NULL"),
    ("ix_callback_task_due_at", "callback_task (due_at)"),
    ("ix_callback_task_done_at", "callback_task (done_at) WHERE done_at IS NOT NULL"),
    # repeat questions: the same enterprise's cases of the previous 30 days, one probe per case
    ("ix_consultation_enterprise_accepted", "consultation (enterprise_id, accepted_at)"),
]


async def _create_indexes(apps, schema_editor):
    for name, target in EVENT_INDEXES:
        await schema_editor.client.execute_script(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


async def _drop_indexes(apps, schema_editor):
    for name, _ in EVENT_INDEXES:
        await schema_editor.client.execute_script(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [('models', '0005_consultations')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CaseFact',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField()),
                ('topic_code', fields.CharField(default='', max_length=32)),
                ('service_item_id', fields.IntField(default=0)),
                ('element', fields.CharField(default='', max_length=16)),
                ('department_id', fields.IntField(default=0)),
                ('channel', fields.CharField(default='', max_length=16)),
                ('industry_group', fields.CharField(default='', max_length=32)),
                ('size_class', fields.CharField(default='', max_length=8)),
                ('region_code', fields.CharField(default='', max_length=6)),
                ('kind', fields.CharField(default='', max_length=16)),
                ('cases', fields.IntField(default=0)),
                ('enterprises', fields.IntField(default=0)),
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
            options={'table': 'insight_case_fact', 'app': 'models', 'unique_together': (('day', 'topic_code', 'service_item_id', 'element', 'department_id', 'channel', 'industry_group', 'size_class', 'region_code', 'kind'),), 'indexes': [Index(fields=['day', 'topic_code']), Index(fields=['day', 'department_id']), Index(fields=['day', 'service_item_id'])], 'pk_attr': 'id', 'table_description': 'Cases and their feedback per day × topic × item × element × department × channel ×'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PolicyFact',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField()),
                ('policy_series_id', fields.IntField()),
                ('size_class', fields.CharField(default='', max_length=8)),
                ('industry_group', fields.CharField(default='', max_length=32)),
                ('region_code', fields.CharField(default='', max_length=6)),
                ('matched', fields.IntField(default=0)),
                ('delivered', fields.IntField(default=0)),
                ('read', fields.IntField(default=0)),
                ('consented', fields.IntField(default=0)),
                ('followups', fields.IntField(default=0)),
            ],
            options={'table': 'insight_policy_fact', 'app': 'models', 'unique_together': (('day', 'policy_series_id', 'size_class', 'industry_group', 'region_code'),), 'indexes': [Index(fields=['day', 'policy_series_id'])], 'pk_attr': 'id', 'table_description': 'Policy reach per day × policy series × size class × industry group × county:'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Proposal',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=128)),
                ('service_item_ids', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('bundle', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('problem', fields.TextField(default='', unique=False)),
                ('change', fields.TextField(default='', unique=False)),
                ('owner_id', fields.IntField(null=True)),
                ('owner_name', fields.CharField(default='', max_length=64)),
                ('go_live', fields.DateField(null=True)),
                ('metrics', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('status', fields.CharField(default='proposed', db_index=True, max_length=16)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='proposals', on_delete=OnDelete.SET_NULL)),
                ('evaluation', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'insight_proposal', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A redesign proposal (流程再造): which item(s) or one-window bundle, the problem from'},
            bases=['Model'],
        ),
        ops.RunPython(_create_indexes, _drop_indexes),
    ]
