"""Block-range (BRIN) indexes for the live part of policy reach, on PostgreSQL.

Today's policy reach is read from the live rows (``services.insights.rollup.policy_select``):
recipients by ``created_at`` of inbox rows and deliveries, pushes by ``sent_at``, reads by
``read_at``. Without an index each is a scan of the whole table — four scans, 60–110 ms
at a year of pushes —, and a B-tree on these columns would cost publishing a new entry
per recipient. Rows are written in time order (a publish writes its recipients at once,
a send stamps its rows as it goes), so a BRIN index of a few pages finds today's block
ranges, and keeping it costs a write next to nothing: no new entry per row, only a
range's summary widened now and then. ``autosummarize`` summarises a filled range soon
after, without waiting for a vacuum; ranges not yet summarised are always read, which
is where today's rows are anyway.

SQLite has no BRIN; its tables are small, and nothing changes there.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

INDEXES = (("idx_inbox_created_brin", "inbox_message", "created_at"),
           ("idx_inbox_read_brin", "inbox_message", "read_at"),
           ("idx_delivery_created_brin", "notification_delivery", "created_at"),
           ("idx_delivery_sent_brin", "notification_delivery", "sent_at"))


async def _forward(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect != "postgres":
        return
    for name, table, column in INDEXES:
        await client.execute_script(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING brin ({column}) "
                                    "WITH (pages_per_range = 16, autosummarize = on)")


async def _backward(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect != "postgres":
        return
    for name, _, _ in INDEXES:
        await client.execute_script(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [('models', '0013_insights_daily')]

    initial = False

    operations = [ops.RunPython(_forward, _backward)]
