"""Outbound messages: campaigns, the in-app inbox, the delivery outbox and what it needs.

Scheduling columns (``offer_at``, ``not_before``, ``next_attempt_at``, ``claimed_at``,
``first_attempt_at``, ``last_attempt_at``) are epoch *milliseconds* in BIGINT, not
timestamps: the outbox is written and swept with set-based SQL, and integer
arithmetic ("now plus the minutes until this user's quiet hours end") is the same
on SQLite and PostgreSQL, where date arithmetic is not. Columns people read
(``created_at``, ``sent_at``, ``read_at``) stay datetimes.

Policies and consultations are referred to by ``kind`` + ``source_id`` rather than
by foreign key, so this table set does not depend on the order those features land.
"""

from tortoise import fields
from tortoise.models import Model


class Campaign(Model):
    """One thing said to many people: a published policy, a consultation reply, a digest."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=16)  # policy | consultation | digest | notice
    source_id = fields.BigIntField(default=0)
    title = fields.CharField(max_length=128)
    summary = fields.CharField(max_length=256, default="")
    page = fields.CharField(max_length=256, default="")
    critical = fields.BooleanField(default=False)
    # Policy type and department the preferences filter on ("" = not filtered).
    topic = fields.CharField(max_length=16, default="")
    department_code = fields.CharField(max_length=16, default="")
    # Recipients the matching query returned, and those left after preferences.
    matched = fields.IntField(default=0)
    recipients = fields.IntField(default=0)
    # Recipients who opened it: counted by mark_read, so the figures need no scan of the inbox.
    read_count = fields.IntField(default=0)
    created_by = fields.ForeignKeyField("models.User", related_name="campaigns", null=True,
                                        on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notification_campaign"
        indexes = (("kind", "source_id"),)


class InboxMessage(Model):
    """A campaign as one recipient sees it in the mini-program's message list.

    Text lives on the campaign (one row per recipient stays small: 100,000
    recipients are 100,000 narrow rows, not 100,000 copies of the text).

    No database foreign keys here or on deliveries (``db_constraint=False``): PostgreSQL
    checks each with a per-row trigger, measured at half the time of writing 100,000
    inbox rows. Users are deactivated, never deleted, and campaigns are never deleted;
    whoever adds erasure of a user must delete their inbox and deliveries too.
    """

    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="inbox", on_delete=fields.CASCADE,
                                  db_constraint=False)
    campaign = fields.ForeignKeyField("models.Campaign", related_name="messages",
                                      on_delete=fields.CASCADE, db_constraint=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbox_message"
        unique_together = (("user", "campaign"),)


class Delivery(Model):
    """One push of one campaign to one recipient over one WeChat channel (the outbox row)."""

    id = fields.BigIntField(primary_key=True)
    campaign = fields.ForeignKeyField("models.Campaign", related_name="deliveries",
                                      on_delete=fields.CASCADE, db_constraint=False)
    user = fields.ForeignKeyField("models.User", related_name="deliveries", on_delete=fields.CASCADE,
                                  db_constraint=False)
    channel = fields.CharField(max_length=12)  # subscribe | template
    # The openid of the channel's app at creation (mini-program or official account).
    openid = fields.CharField(max_length=64)
    status = fields.CharField(max_length=12, default="queued")
    # Held for the recipient's daily digest instead of being pushed on its own.
    digest = fields.BooleanField(default=False)
    attempts = fields.IntField(default=0)
    # A subscribe credit was taken for this delivery (in the claim's transaction), so a
    # re-claim after a crash sends without taking another, and a failure gives it back.
    credit_held = fields.BooleanField(default=False)
    # When the sweeper (re)offers the row to the stream unless it is done by then:
    # creation + claim timeout for a kicked row, the due time for a deferred or
    # retrying row, claim + claim timeout for a claimed one. One index serves them all.
    offer_at = fields.BigIntField(default=0)
    not_before = fields.BigIntField(null=True)
    next_attempt_at = fields.BigIntField(null=True)
    claimed_at = fields.BigIntField(null=True)
    first_attempt_at = fields.BigIntField(null=True)
    last_attempt_at = fields.BigIntField(null=True)
    last_errcode = fields.IntField(null=True)
    last_error = fields.CharField(max_length=128, default="")
    # Per-recipient text, e.g. a digest's "共 3 条新政策".
    note = fields.CharField(max_length=64, default="")
    sent_at = fields.DatetimeField(null=True)
    read_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notification_delivery"
        unique_together = (("campaign", "user", "channel"),)
        # A user's deliveries, for the inbox (``services.messages``). The sweeper's index,
        # ``offer_at`` of the rows still in flight, is partial: migration 0012 creates it
        # by hand (tortoise declares no partial indexes with an IN condition).
        indexes = (("user_id", "campaign_id"),)


class NotificationPreference(Model):
    """What a user wants to hear about and when. No row means the defaults."""

    id = fields.IntField(primary_key=True)
    user = fields.OneToOneField("models.User", related_name="notification_preference",
                                on_delete=fields.CASCADE)
    # Delimited as ",subsidy,right," ("" = all) so one LIKE filters in SQL on both databases.
    policy_types = fields.CharField(max_length=64, default="")
    departments = fields.CharField(max_length=512, default="")
    mode = fields.CharField(max_length=12, default="immediate")  # immediate | digest
    # Minutes after local midnight (Asia/Shanghai); start == end means no quiet hours.
    quiet_start = fields.IntField(default=21 * 60)
    quiet_end = fields.IntField(default=8 * 60)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notification_preference"


class SubscribeCredit(Model):
    """How many one-time subscribe messages a user has allowed us, per template.

    ``client_pending`` / ``event_pending`` count grants reported by only one of the
    two witnesses (the mini-program's report and WeChat's popup event), so a grant
    both report is counted once whichever arrives first.
    """

    id = fields.IntField(primary_key=True)
    openid = fields.CharField(max_length=64)
    template_id = fields.CharField(max_length=128)
    credits = fields.IntField(default=0)
    last_outcome = fields.CharField(max_length=16, default="")
    client_pending = fields.IntField(default=0)
    event_pending = fields.IntField(default=0)
    pending_since = fields.BigIntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "subscribe_credit"
        unique_together = (("openid", "template_id"),)


class WeChatFollower(Model):
    """A follower of the official account, fed by subscribe/unsubscribe events.

    Template messages go to the official-account openid, linked to our user by unionid:
    the campaign joins ``wechat_follower.unionid`` to ``app_user.unionid`` (which login
    stores from jscode2session), so a follower and a user are linked as soon as both
    unionids are known, in whichever order they arrive. The subscribe event carries no
    unionid; ``notifications.followers`` looks it up (``cgi-bin/user/info``) and keeps
    ``lookup_due`` set until it has an answer, so a failed lookup is tried again.
    """

    id = fields.IntField(primary_key=True)
    openid = fields.CharField(max_length=64, unique=True)
    unionid = fields.CharField(max_length=64, null=True, db_index=True)
    subscribed = fields.BooleanField(default=True)
    subscribed_at = fields.DatetimeField(null=True)
    unsubscribed_at = fields.DatetimeField(null=True)
    # Epoch ms when the unionid lookup is (next) due; NULL: nothing left to look up.
    lookup_due = fields.BigIntField(null=True, db_index=True)
    lookup_attempts = fields.IntField(default=0)
    # Why the last lookup did not link (an errcode, "no unionid"); "" once linked.
    lookup_error = fields.CharField(max_length=128, default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "wechat_follower"
