"""Consultations and feedback (咨询和反馈): cases, their history and thread, the topic
taxonomy, canned answers and the FAQ, ratings, call-backs and rectifications.

A case carries its deadline and the marks of the supervision ladder as stored columns
(``remind_at``, ``reminded_at`` …): the periodic sweep selects on them and sets them,
so running it twice, or in two processes, does the same as running it once.
"""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class Topic(Model):
    """A topic of the managed taxonomy (开办企业, 社保, 税费 …). ``keywords`` feed the
    automatic classification; ``department`` is where a case on this topic goes when
    neither a service item nor a policy names one."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=32)
    keywords = fields.JSONField(default=list)
    department = fields.ForeignKeyField("models.Department", related_name="topics", null=True,
                                        on_delete=fields.SET_NULL)
    sort_order = fields.IntField(default=0)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "topic"
        ordering = ["sort_order", "id"]


class StaffSkill(Model):
    """A consultant's topics. Dispatch prefers, among a department's consultants, those
    with the case's topic, then the one with the least open work."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="skills", on_delete=fields.CASCADE)
    topic_code = fields.CharField(max_length=32)

    class Meta:
        table = "staff_skill"
        unique_together = (("user", "topic_code"),)


class DeadlineRule(Model):
    """Working days allowed for a kind of case, per department or per service item (the
    more specific wins; without a rule the defaults in settings apply)."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=16)
    department = fields.ForeignKeyField("models.Department", related_name="deadline_rules", null=True,
                                        on_delete=fields.CASCADE)
    service_item = fields.ForeignKeyField("models.ServiceItem", related_name="deadline_rules", null=True,
                                          on_delete=fields.CASCADE)
    working_days = fields.IntField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "deadline_rule"


class ConsultantLoad(Model):
    """Open cases per consultant, in shards: what dispatch ranks consultants by
    ("least open work"). Kept by triggers on ``consultation`` (migration 0011), so every
    writer — intake, 派单, 改派, 退单, answers, closing, merging, withdrawal, a bulk
    UPDATE, an enterprise deleted with its cases — moves it in the same transaction.

    Counting a consultant's open cases instead cost every intake one index entry and
    one heap visit per case the candidates ever held (python -m bench intake: the
    largest part of the intake statement, growing through a run). A consultant's load
    is the sum of their rows; on PostgreSQL a connection adds to the shard of its
    backend (process id mod 16), so concurrent intakes for the same consultant seldom
    queue on one row until each other's commit. No foreign key: a lock on the user row per intake is
    what the shards avoid, and the rows of a deleted user are never read (dispatch
    starts from active users)."""

    id = fields.IntField(primary_key=True)
    user_id = fields.IntField()
    shard = fields.SmallIntField(default=0)
    open_cases = fields.IntField(default=0)

    class Meta:
        table = "consultant_load"
        unique_together = (("user_id", "shard"),)


class Consultation(Model):
    """One case: a consultation, suggestion or complaint, online or recorded by staff."""

    id = fields.IntField(primary_key=True)
    enterprise = fields.ForeignKeyField("models.Enterprise", related_name="consultations",
                                        on_delete=fields.CASCADE)
    asked_by = fields.ForeignKeyField("models.User", related_name="consultations_asked", null=True,
                                      on_delete=fields.SET_NULL)  # the enterprise user, if any
    recorded_by = fields.ForeignKeyField("models.User", related_name="consultations_recorded", null=True,
                                         on_delete=fields.SET_NULL)  # staff, for offline channels
    channel = fields.CharField(max_length=16)  # miniprogram | phone | walk_in | hotline_12345
    kind = fields.CharField(max_length=16)  # consultation | suggestion | complaint
    content = fields.TextField()
    contact_name = fields.CharField(max_length=32, default="")
    service_item = fields.ForeignKeyField("models.ServiceItem", related_name="consultations", null=True,
                                          on_delete=fields.SET_NULL)
    policy_id = fields.IntField(null=True)  # a policy version; its series is policy_series_id
    policy_series_id = fields.IntField(null=True)
    element = fields.CharField(max_length=16, null=True)  # materials | steps | time_limit | fees | online | other
    element_detail = fields.CharField(max_length=128, default="")  # e.g. which material
    topic_code = fields.CharField(max_length=32, default="")
    department = fields.ForeignKeyField("models.Department", related_name="consultations", null=True,
                                        on_delete=fields.SET_NULL)
    assignee = fields.ForeignKeyField("models.User", related_name="consultations_assigned", null=True,
                                      on_delete=fields.SET_NULL)
    suggestion = fields.JSONField(default=dict)  # what the classifier proposed, kept after corrections
    corrected = fields.BooleanField(default=False)
    status = fields.CharField(max_length=24, default="new", db_index=True)
    # pass | held (moderation queue) | pending (WeChat unreachable, re-checked by the sweep) | released
    moderation = fields.CharField(max_length=16, default="pass", db_index=True)
    moderation_label = fields.IntField(null=True)
    accepted_at = fields.DatetimeField()  # intake (受理): the deadline clock starts here
    working_days = fields.IntField()
    due_at = fields.DatetimeField(db_index=True)
    due_provisional = fields.BooleanField(default=False)
    remind_at = fields.DatetimeField()  # 75 % of the time
    escalate_at = fields.DatetimeField()  # one working day after the deadline
    reminded_at = fields.DatetimeField(null=True)
    urged_at = fields.DatetimeField(null=True)  # 催办 at the deadline
    escalated_at = fields.DatetimeField(null=True)  # 通报 to the department head
    overdue = fields.BooleanField(default=False)
    first_answered_at = fields.DatetimeField(null=True)
    answered_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    merged_into_id = fields.IntField(null=True)
    idempotency_key = fields.CharField(max_length=64, null=True)
    idempotency_scope = fields.CharField(max_length=32, null=True)  # "u<user id>": keys are per caller
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "consultation"
        unique_together = (("idempotency_scope", "idempotency_key"),)
        # The workbench queues. The enterprise's list and the duplicate suggestion use
        # ix_consultation_enterprise_accepted (migration 0006), whose prefix is the same
        # column. Every index here is one more entry each intake writes (migration 0017).
        indexes = [Index(fields=["department_id", "status"]), Index(fields=["assignee_id", "status"])]


class ConsultationEvent(Model):
    """Every transition and every correction, with actor and time (the case history)."""

    id = fields.BigIntField(primary_key=True)
    consultation = fields.ForeignKeyField("models.Consultation", related_name="events", on_delete=fields.CASCADE)
    action = fields.CharField(max_length=24)
    from_status = fields.CharField(max_length=24, default="")
    to_status = fields.CharField(max_length=24, default="")
    actor_id = fields.IntField(null=True)  # null: the system (dispatch, sweep)
    actor_role = fields.CharField(max_length=32, default="")
    actor_name = fields.CharField(max_length=64, default="")
    detail = fields.JSONField(default=dict)  # reason, corrected fields, assignee …
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "consultation_event"
        ordering = ["id"]
        # A case's history is read in id order, and PostgreSQL indexes no foreign key by
        # itself: without this every case page and cascade delete scanned all events.
        indexes = [Index(fields=["consultation_id", "id"])]


class ConsultationMessage(Model):
    """The thread. ``internal`` notes are for staff only and never reach the enterprise."""

    id = fields.BigIntField(primary_key=True)
    consultation = fields.ForeignKeyField("models.Consultation", related_name="messages", on_delete=fields.CASCADE)
    author_id = fields.IntField(null=True)
    author_role = fields.CharField(max_length=32, default="")
    author_name = fields.CharField(max_length=64, default="")
    body = fields.TextField()
    internal = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "consultation_message"
        ordering = ["id"]
        indexes = [Index(fields=["consultation_id", "id"])]  # the thread, as for events


class CannedAnswer(Model):
    """A reusable reply (常用答复) of a department, optionally for one topic."""

    id = fields.IntField(primary_key=True)
    department = fields.ForeignKeyField("models.Department", related_name="canned_answers", null=True,
                                        on_delete=fields.CASCADE)
    topic_code = fields.CharField(max_length=32, default="")
    title = fields.CharField(max_length=64)
    body = fields.TextField()
    is_active = fields.BooleanField(default=True)
    created_by_id = fields.IntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "canned_answer"
        ordering = ["id"]


class FaqEntry(Model):
    """A knowledge-base entry. Published from an answered case it is de-identified (names,
    numbers, credit codes removed) and re-checked by msgSecCheck before anyone sees it."""

    id = fields.IntField(primary_key=True)
    question = fields.TextField()
    answer = fields.TextField()
    topic_code = fields.CharField(max_length=32, default="", db_index=True)
    service_item = fields.ForeignKeyField("models.ServiceItem", related_name="faq_entries", null=True,
                                          on_delete=fields.SET_NULL)
    department = fields.ForeignKeyField("models.Department", related_name="faq_entries", null=True,
                                        on_delete=fields.SET_NULL)
    source_consultation_id = fields.IntField(null=True)
    status = fields.CharField(max_length=16, default="published", db_index=True)  # published | held | withdrawn
    created_by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "faq_entry"
        ordering = ["-id"]


class Rating(Model):
    """好差评: one per case, 1 (非常不满意) … 5 (非常满意), changeable within 7 days."""

    id = fields.IntField(primary_key=True)
    consultation = fields.OneToOneField("models.Consultation", related_name="rating", on_delete=fields.CASCADE)
    enterprise_id = fields.IntField(db_index=True)
    user_id = fields.IntField(null=True)
    score = fields.IntField()
    comment = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "consultation_rating"


class CallbackTask(Model):
    """回访: every closed case gets one, for the supervisor's team of its department."""

    id = fields.IntField(primary_key=True)
    consultation = fields.OneToOneField("models.Consultation", related_name="callback", on_delete=fields.CASCADE)
    department = fields.ForeignKeyField("models.Department", related_name="callbacks", null=True,
                                        on_delete=fields.SET_NULL)
    status = fields.CharField(max_length=16, default="open", db_index=True)  # open | done | unreachable
    due_at = fields.DatetimeField()
    outcome = fields.CharField(max_length=16, null=True)  # satisfied | neutral | dissatisfied
    notes = fields.CharField(max_length=500, default="")
    done_by_id = fields.IntField(null=True)
    done_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "callback_task"
        ordering = ["due_at", "id"]


class Rectification(Model):
    """整改 opened by a rating of 1 or 2, owned by the case's department, with a deadline,
    evidence of the fix, and an appeal (申诉复核) decided by a different supervisor."""

    id = fields.IntField(primary_key=True)
    consultation = fields.ForeignKeyField("models.Consultation", related_name="rectifications",
                                          on_delete=fields.CASCADE)
    department = fields.ForeignKeyField("models.Department", related_name="rectifications", null=True,
                                        on_delete=fields.SET_NULL)
    score = fields.IntField()
    # open → submitted → closed; open|submitted → appealed → (overturned | open)
    status = fields.CharField(max_length=16, default="open", db_index=True)
    due_at = fields.DatetimeField()
    evidence = fields.TextField(default="")
    submitted_by_id = fields.IntField(null=True)
    submitted_at = fields.DatetimeField(null=True)
    closed_by_id = fields.IntField(null=True)
    closed_at = fields.DatetimeField(null=True)
    appeal_reason = fields.CharField(max_length=500, default="")
    appealed_by_id = fields.IntField(null=True)
    appealed_at = fields.DatetimeField(null=True)
    appeal_decision = fields.CharField(max_length=16, null=True)  # upheld | overturned
    appeal_comment = fields.CharField(max_length=500, default="")
    decided_by_id = fields.IntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "rectification"
        ordering = ["due_at", "id"]
