"""Notifications: campaigns, the in-app inbox, the delivery outbox, preferences, the
subscribe-credit ledger and official-account followers.

Campaign is created first: the inbox and the outbox refer to it, and tortoise drops a
foreign-key column silently when its target table is created later in one migration.
Policies are referred to by ``kind`` + ``source_id``, not by foreign key. The inbox and
the outbox have no database foreign-key constraints (see ``models.notifications``): a
per-row trigger check doubled the time of a 100,000-recipient fan-out.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


# tortoise's schema editor creates foreign keys even with db_constraint=False; drop them
# on PostgreSQL, where each costs a trigger call per inserted row. (SQLite, the embedded
# single-user set-up, keeps its inline ones: it does not enforce them by default.)
_FANOUT_FOREIGN_KEYS = ["inbox_message_user_id_fkey", "inbox_message_campaign_id_fkey",
                        "notification_delivery_user_id_fkey", "notification_delivery_campaign_id_fkey"]


async def _drop_fanout_foreign_keys(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect != "postgres":
        return
    for name in _FANOUT_FOREIGN_KEYS:
        table = "inbox_message" if name.startswith("inbox_message") else "notification_delivery"
        await client.execute_script(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}"')


async def _nothing(apps, schema_editor):
    return None


class Migration(migrations.Migration):
    dependencies = [("models", "0003_policies")]

    initial = False

    operations = [
        ops.CreateModel(
            name='Campaign',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=16)),
                ('source_id', fields.BigIntField(default=0)),
                ('title', fields.CharField(max_length=128)),
                ('summary', fields.CharField(default='', max_length=256)),
                ('page', fields.CharField(default='', max_length=256)),
                ('critical', fields.BooleanField(default=False)),
                ('topic', fields.CharField(default='', max_length=16)),
                ('department_code', fields.CharField(default='', max_length=16)),
                ('matched', fields.IntField(default=0)),
                ('recipients', fields.IntField(default=0)),
                ('read_count', fields.IntField(default=0)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='campaigns', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'notification_campaign', 'app': 'models', 'indexes': [Index(fields=['kind', 'source_id'])], 'pk_attr': 'id', 'table_description': 'One thing said to many people: a published policy, a consultation reply, a digest.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=False, to_field='id', related_name='inbox', on_delete=OnDelete.CASCADE)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=False, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inbox_message', 'app': 'models', 'unique_together': (('user', 'campaign'),), 'pk_attr': 'id', 'table_description': "A campaign as one recipient sees it in the mini-program's message list."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Delivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=False, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=False, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('channel', fields.CharField(max_length=12)),
                ('openid', fields.CharField(max_length=64)),
                ('status', fields.CharField(default='queued', max_length=12)),
                ('digest', fields.BooleanField(default=False)),
                ('attempts', fields.IntField(default=0)),
                ('credit_held', fields.BooleanField(default=False)),
                ('offer_at', fields.BigIntField(default=0)),
                ('not_before', fields.BigIntField(null=True)),
                ('next_attempt_at', fields.BigIntField(null=True)),
                ('claimed_at', fields.BigIntField(null=True)),
                ('first_attempt_at', fields.BigIntField(null=True)),
                ('last_attempt_at', fields.BigIntField(null=True)),
                ('last_errcode', fields.IntField(null=True)),
                ('last_error', fields.CharField(default='', max_length=128)),
                ('note', fields.CharField(default='', max_length=64)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'notification_delivery', 'app': 'models', 'unique_together': (('campaign', 'user', 'channel'),), 'indexes': [Index(fields=['status', 'offer_at'])], 'pk_attr': 'id', 'table_description': 'One push of one campaign to one recipient over one WeChat channel (the outbox row).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NotificationPreference',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.OneToOneField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notification_preference', on_delete=OnDelete.CASCADE)),
                ('policy_types', fields.CharField(default='', max_length=64)),
                ('departments', fields.CharField(default='', max_length=512)),
                ('mode', fields.CharField(default='immediate', max_length=12)),
                ('quiet_start', fields.IntField(default=1260)),
                ('quiet_end', fields.IntField(default=480)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'notification_preference', 'app': 'models', 'pk_attr': 'id', 'table_description': 'What a user wants to hear about and when. No row means the defaults.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SubscribeCredit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('openid', fields.CharField(max_length=64)),
                ('template_id', fields.CharField(max_length=128)),
                ('credits', fields.IntField(default=0)),
                ('last_outcome', fields.CharField(default='', max_length=16)),
                ('client_pending', fields.IntField(default=0)),
                ('event_pending', fields.IntField(default=0)),
                ('pending_since', fields.BigIntField(null=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'subscribe_credit', 'app': 'models', 'unique_together': (('openid', 'template_id'),), 'pk_attr': 'id', 'table_description': 'How many one-time subscribe messages a user has allowed us, per template.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WeChatFollower',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('openid', fields.CharField(unique=True, max_length=64)),
                ('unionid', fields.CharField(null=True, db_index=True, max_length=64)),
                ('subscribed', fields.BooleanField(default=True)),
                ('subscribed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('unsubscribed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'wechat_follower', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A follower of the official account, fed by subscribe/unsubscribe events.'},
            bases=['Model'],
        ),
        ops.RunPython(_drop_fanout_foreign_keys, _nothing),
    ]
