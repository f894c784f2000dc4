from tortoise import fields
from tortoise.models import Model


class WeChatEvent(Model):
    """A message or event pushed to our callback. ``dedup_key`` is unique so a
    retried push (WeChat retries up to three times) is stored once."""

    id = fields.BigIntField(primary_key=True)
    dedup_key = fields.CharField(max_length=128, unique=True)
    msg_type = fields.CharField(max_length=32)
    event = fields.CharField(max_length=64, default="")
    from_openid = fields.CharField(max_length=64, default="", db_index=True)
    payload = fields.JSONField(default=dict)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "wechat_event"
