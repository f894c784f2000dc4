from tortoise import fields
from tortoise.models import Model


class User(Model):
    """A person: a WeChat user of the mini-program or a staff member of the console.

    One table for both keeps sessions, audit actors and (later) consultation
    participants uniform; ``kind`` says which credential applies.
    """

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=8)  # "wechat" | "staff"
    openid = fields.CharField(max_length=64, unique=True, null=True)
    unionid = fields.CharField(max_length=64, null=True, db_index=True)
    username = fields.CharField(max_length=64, unique=True, null=True)
    password_hash = fields.CharField(max_length=256, null=True)
    role = fields.CharField(max_length=32)
    display_name = fields.CharField(max_length=64, default="")
    enterprise = fields.ForeignKeyField("models.Enterprise", related_name="members", null=True,
                                        on_delete=fields.SET_NULL)
    department = fields.ForeignKeyField("models.Department", related_name="staff", null=True,
                                        on_delete=fields.SET_NULL)
    failed_logins = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "app_user"


class Enterprise(Model):
    id = fields.IntField(primary_key=True)
    credit_code = fields.CharField(max_length=18, unique=True)
    name = fields.CharField(max_length=128)
    industry_code = fields.CharField(max_length=4, db_index=True)
    industry_group = fields.CharField(max_length=32, db_index=True)
    region_code = fields.CharField(max_length=6, db_index=True)
    employees = fields.IntField(null=True)
    revenue = fields.DecimalField(max_digits=14, decimal_places=2, null=True)
    assets = fields.DecimalField(max_digits=14, decimal_places=2, null=True)
    founded_on = fields.DateField(null=True)
    # Encrypted at rest (AES-GCM, see services.crypto); never stored or logged in clear.
    contact_phone_enc = fields.CharField(max_length=256, default="")
    size_class = fields.CharField(max_length=8, db_index=True)
    size_rule_version = fields.CharField(max_length=64)
    size_inputs = fields.JSONField(default=dict)
    size_basis = fields.CharField(max_length=256, default="")
    owner = fields.ForeignKeyField("models.User", related_name="owned_enterprises", null=True,
                                   on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "enterprise"


class Invitation(Model):
    """A one-time code an owner gives a colleague. Only its hash is stored."""

    id = fields.IntField(primary_key=True)
    enterprise = fields.ForeignKeyField("models.Enterprise", related_name="invitations",
                                        on_delete=fields.CASCADE)
    code_hash = fields.CharField(max_length=64, unique=True)
    created_by = fields.ForeignKeyField("models.User", related_name="invitations_created",
                                        on_delete=fields.CASCADE)
    expires_at = fields.DatetimeField()
    used_by = fields.ForeignKeyField("models.User", related_name="invitations_used", null=True,
                                     on_delete=fields.SET_NULL)
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "enterprise_invitation"
