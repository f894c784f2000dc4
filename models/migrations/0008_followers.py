"""Official-account followers get a unionid lookup: when it is due, how often it failed
and why. Followers stored before this migration without a unionid are due at once,
so the lookup job links the ones already there."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_insights_weekly')]

    initial = False

    operations = [
        ops.AddField(
            model_name='WeChatFollower',
            name='lookup_attempts',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='WeChatFollower',
            name='lookup_due',
            field=fields.BigIntField(null=True, db_index=True),
        ),
        ops.AddField(
            model_name='WeChatFollower',
            name='lookup_error',
            field=fields.CharField(default='', max_length=128),
        ),
        # AddField does not create the column's index; the lookup job reads by it.
        ops.RunSQL("CREATE INDEX IF NOT EXISTS idx_wechat_follower_lookup_due ON wechat_follower (lookup_due)",
                   reverse_sql="DROP INDEX IF EXISTS idx_wechat_follower_lookup_due"),
        ops.RunSQL("UPDATE wechat_follower SET lookup_due = 0 WHERE subscribed AND unionid IS NULL",
                   reverse_sql="SELECT 1"),
    ]
