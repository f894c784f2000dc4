"""Per enterprise mix counts of the stored one-window bundles (``insight_bundle_count``,
``models.insights.BundleCount``): a bundle view under a county, industry or size filter, or
a department's, sums them instead of re-reading every need of the period. Written with the
stored result by the scheduled job; empty until its next run, and the views compute from
the needs meanwhile."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0015_insights_mix')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BundleCount',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('region_code', fields.CharField(default='', max_length=6)),
                ('industry_group', fields.CharField(default='', max_length=32)),
                ('size_class', fields.CharField(default='', max_length=8)),
                ('item_a', fields.IntField(default=0)),
                ('item_b', fields.IntField(default=0)),
                ('item_c', fields.IntField(default=0)),
                ('enterprises', fields.IntField(default=0)),
            ],
            options={'table': 'insight_bundle_count', 'app': 'models', 'indexes': [Index(fields=['region_code', 'size_class', 'industry_group'])], 'pk_attr': 'id', 'table_description': 'The one-window bundle counts behind the stored bundles (``insight_precomputed``,'},
            bases=['Model'],
        ),
    ]
