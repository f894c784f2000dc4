"""The weekly case summary (``insight_case_week``) the trends read instead of a year of
daily facts; written by the rollup alongside the daily facts, no foreign keys."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_insights')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CaseWeek',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('week', fields.DateField()),
                ('topic_code', fields.CharField(default='', max_length=32)),
                ('service_item_id', fields.IntField(default=0)),
                ('department_id', fields.IntField(default=0)),
                ('industry_group', fields.CharField(default='', max_length=32)),
                ('size_class', fields.CharField(default='', max_length=8)),
                ('region_code', fields.CharField(default='', max_length=6)),
                ('cases', fields.IntField(default=0)),
            ],
            options={'table': 'insight_case_week', 'app': 'models', 'unique_together': (('region_code', 'industry_group', 'size_class', 'week', 'topic_code', 'service_item_id', 'department_id'),), 'pk_attr': 'id', 'table_description': 'Cases per week (Monday) × topic × item × department × industry group × size class ×'},
            bases=['Model'],
        ),
    ]
