"""Deliveries serve the inbox; the sweeper's index covers only rows still in flight.

* ``(user_id, campaign_id)``: a recipient who has a delivery row gets no inbox row at
  publish; ``services.messages`` lists the inbox from their deliveries (see
  ``notifications.outbox``). Writing 100,000 inbox rows was a third of a publish.
* ``(status, offer_at)`` becomes ``(offer_at) WHERE status IN (queued, sending,
  retrying)``: the sweeper and the digest only look for rows in flight, and a row
  leaving for a terminal status is then no new entry in this index.

Inbox rows written before this migration stay as they are: they are still the inbox.
"""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0011_consultant_load')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='Delivery',
            name=None,
            fields=['status', 'offer_at'],
        ),
        ops.AddIndex(
            model_name='Delivery',
            index=Index(fields=['user_id', 'campaign_id']),
        ),
        ops.RunSQL("CREATE INDEX IF NOT EXISTS idx_delivery_in_flight ON notification_delivery (offer_at) "
                   "WHERE status IN ('queued', 'sending', 'retrying')",
                   reverse_sql="DROP INDEX IF EXISTS idx_delivery_in_flight"),
    ]
