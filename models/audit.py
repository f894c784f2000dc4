from tortoise import fields
from tortoise.models import Model


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete an audit entry."""


class AuditEntry(Model):
    """One security-relevant action. Append-only: the ORM refuses updates and
    deletes, and on PostgreSQL a trigger (see migrations) refuses them too, so
    not even raw SQL from the application role can rewrite history. Only the
    retention job may remove rows older than the retention period."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True, db_index=True)
    actor_id = fields.IntField(null=True)
    actor_role = fields.CharField(max_length=32, default="")
    action = fields.CharField(max_length=64, db_index=True)
    target_type = fields.CharField(max_length=32, default="")
    target_id = fields.CharField(max_length=64, default="")
    outcome = fields.CharField(max_length=16, default="success")
    ip = fields.CharField(max_length=64, default="")
    request_id = fields.CharField(max_length=64, default="")
    details = fields.JSONField(default=dict)

    class Meta:
        table = "audit_entry"
        ordering = ["-id"]

    async def save(self, *args, **kwargs):  # type: ignore[override]
        if not self._saved_in_db:
            return await super().save(*args, **kwargs)
        raise AppendOnlyError("audit entries are append-only")

    async def delete(self, *args, **kwargs):  # type: ignore[override]
        raise AppendOnlyError("audit entries are append-only")
