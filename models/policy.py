from tortoise import fields
from tortoise.models import Model


class Policy(Model):
    """One *version* of a policy (惠企政策). Versions of the same policy share
    ``series_id`` (the id of the first version). A published version is never edited:
    a change is a new draft version, and publishing it supersedes the old one, so what
    an enterprise was told on a given day can always be shown again."""

    id = fields.IntField(primary_key=True)
    series_id = fields.IntField(db_index=True)
    version = fields.IntField(default=1)
    title = fields.CharField(max_length=200)
    doc_number = fields.CharField(max_length=64, db_index=True)  # 文号
    department = fields.ForeignKeyField("models.Department", related_name="policies",
                                        on_delete=fields.RESTRICT)
    policy_type = fields.CharField(max_length=16, db_index=True)
    summary = fields.CharField(max_length=500, default="")
    body = fields.TextField(default="")
    application_guide = fields.TextField(default="")  # 申兑指南
    effective_on = fields.DateField()
    expires_on = fields.DateField(null=True)  # null: 长期有效
    service_item_ids = fields.JSONField(default=list)
    attachments = fields.JSONField(default=list)  # [{"name", "url"}]
    tags = fields.JSONField(default=list)  # display tags (稳岗, 研发 …), not eligibility
    no_application = fields.BooleanField(default=False)  # 免申即享
    rules = fields.JSONField(default=dict)  # normalised eligibility rules
    status = fields.CharField(max_length=16, default="draft", db_index=True)
    match_count = fields.IntField(null=True)  # enterprises matching at the last save
    created_by = fields.ForeignKeyField("models.User", related_name="policies_created", null=True,
                                        on_delete=fields.SET_NULL)
    submitted_by = fields.ForeignKeyField("models.User", related_name="policies_submitted", null=True,
                                          on_delete=fields.SET_NULL)
    reviewed_by = fields.ForeignKeyField("models.User", related_name="policies_reviewed", null=True,
                                         on_delete=fields.SET_NULL)
    submitted_at = fields.DatetimeField(null=True)
    reviewed_at = fields.DatetimeField(null=True)
    published_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)  # withdrawn, expired or superseded
    review_comment = fields.CharField(max_length=500, default="")
    withdraw_reason = fields.CharField(max_length=500, default="")
    superseded_by_id = fields.IntField(null=True)
    campaign_id = fields.BigIntField(null=True)  # the push campaign made when published
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "policy"
        unique_together = (("series_id", "version"),)


class PolicyTransition(Model):
    """Who moved a policy version from one status to another, when, and why."""

    id = fields.BigIntField(primary_key=True)
    policy = fields.ForeignKeyField("models.Policy", related_name="transitions", on_delete=fields.CASCADE)
    action = fields.CharField(max_length=16)
    from_status = fields.CharField(max_length=16, default="")
    to_status = fields.CharField(max_length=16)
    actor_id = fields.IntField(null=True)  # null: the scheduler
    actor_name = fields.CharField(max_length=64, default="")
    comment = fields.CharField(max_length=500, default="")
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "policy_transition"
        ordering = ["id"]


class PolicyConsent(Model):
    """An enterprise's consent (意愿确认) to a 免申即享 policy: one per enterprise and
    policy (all versions), so a second tap changes nothing."""

    id = fields.IntField(primary_key=True)
    series_id = fields.IntField()
    policy = fields.ForeignKeyField("models.Policy", related_name="consents", on_delete=fields.CASCADE)
    enterprise = fields.ForeignKeyField("models.Enterprise", related_name="policy_consents",
                                        on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("models.User", related_name="policy_consents", null=True,
                                  on_delete=fields.SET_NULL)
    consented_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "policy_consent"
        unique_together = (("series_id", "enterprise_id"),)


class EnterpriseTag(Model):
    """A qualification an enterprise holds (高新技术企业, 专精特新 …), matched by policy rules."""

    id = fields.IntField(primary_key=True)
    enterprise = fields.ForeignKeyField("models.Enterprise", related_name="tags", on_delete=fields.CASCADE)
    tag = fields.CharField(max_length=32, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "enterprise_tag"
        unique_together = (("enterprise_id", "tag"),)
