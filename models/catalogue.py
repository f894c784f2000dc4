from tortoise import fields
from tortoise.models import Model


class Department(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=16, unique=True)
    name = fields.CharField(max_length=64)
    short_name = fields.CharField(max_length=16)
    sort_order = fields.IntField(default=0)

    class Meta:
        table = "department"
        ordering = ["sort_order", "id"]


class ServiceItem(Model):
    """A government service item (事项) with its standard elements.

    Materials, steps and FAQ are JSON documents: they are always read and written
    with their item, never queried on their own, and their shape varies by item.
    """

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=128)
    item_type = fields.CharField(max_length=16)
    department = fields.ForeignKeyField("models.Department", related_name="items",
                                        on_delete=fields.RESTRICT)
    implementing_body = fields.CharField(max_length=128, default="")
    legal_basis = fields.TextField(default="")
    summary = fields.CharField(max_length=256, default="")
    keywords = fields.JSONField(default=list)
    materials = fields.JSONField(default=list)
    steps = fields.JSONField(default=list)
    statutory_days = fields.IntField(default=0)
    committed_days = fields.IntField(default=0)
    fees = fields.CharField(max_length=256, default="不收费")
    online_available = fields.BooleanField(default=False)
    online_url = fields.CharField(max_length=512, null=True)
    offline_location = fields.CharField(max_length=256, default="")
    stage = fields.CharField(max_length=16, db_index=True)
    faq = fields.JSONField(default=list)
    is_active = fields.BooleanField(default=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "service_item"
