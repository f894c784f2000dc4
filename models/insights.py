"""Demand insights (需求洞察): daily fact tables rolled up from the raw rows, and the
redesign proposals (流程再造) staff open from them.

The fact tables are written only by ``services.insights.rollup`` (in the database, an
idempotent replace of a day range) and read by the dashboard and open data. Dimensions
are plain values, not foreign keys: a fact must outlive the rows it was counted from,
and ``0`` / ``''`` stand for "none" so that the unique key has no NULLs (NULLs never
collide in a unique index, which would let a re-run duplicate a row).

Durations are kept as sum + count (means) and as a fixed log-scale histogram (a
percentile sketch): bucket ``i`` counts values below ``HIST_BOUNDS[i]`` seconds and at
or above the previous bound, the last bucket everything longer. Buckets of many rows
are summed in SQL; a percentile is read off the merged histogram (``percentile``).
"""

from __future__ import annotations

from collections.abc import Sequence

from tortoise import fields
from tortoise.models import Model

# 1 min, 2 min, 4 min … 2^16 min (≈ 45 days); 18 buckets with the overflow one.
HIST_BOUNDS: tuple[int, ...] = tuple(60 * 2 ** i for i in range(17))
HIST_SIZE = len(HIST_BOUNDS) + 1
FIRST_ANSWER_BUCKETS = tuple(f"fa_b{i:02d}" for i in range(HIST_SIZE))
CLOSE_BUCKETS = tuple(f"cl_b{i:02d}" for i in range(HIST_SIZE))
RATING_COLUMNS = tuple(f"rating_{n}" for n in range(1, 6))

CASE_DIMENSIONS = ("day", "topic_code", "service_item_id", "element", "department_id", "channel",
                   "industry_group", "size_class", "region_code", "kind")
CASE_MEASURES = ("cases", "enterprises", "merged", "repeats", "answered", "answered_on_time", "overdue",
                 "first_answer_seconds", "first_answer_count", "close_seconds", "close_count",
                 *FIRST_ANSWER_BUCKETS, *CLOSE_BUCKETS, *RATING_COLUMNS,
                 "rectifications_opened", "rectifications_closed", "callbacks_due", "callbacks_done")
# The weekly summary the trends read: cases per ISO week (its Monday) × topic × item ×
# department × enterprise mix. ``ALL`` in the three enterprise columns marks the rows
# summed over every industry group, size class and county (see ``CaseWeek``).
WEEK_DIMENSIONS = ("week", "topic_code", "service_item_id", "department_id", "industry_group", "size_class",
                   "region_code")
WEEK_ENTERPRISE_DIMENSIONS = ("industry_group", "size_class", "region_code")
WEEK_MEASURES = ("cases",)
# The weekly measures the friction index, department performance and proposal evaluation
# read: every summable case measure per ISO week × item × element × kind × department,
# over all enterprises (see ``CaseItemWeek``).
ITEM_WEEK_DIMENSIONS = ("week", "service_item_id", "element", "kind", "department_id")
ITEM_WEEK_MEASURES = tuple(m for m in CASE_MEASURES if m != "enterprises")  # distinct counts do not add up
ALL = "*"
# Complaints (intake day) and poor ratings (rating day) naming each element of an item the
# friction index weighs: not fact columns, but sums over fact rows (``ELEMENT_COMPLAINT_SQL``),
# stored only in the enterprise-mix tables (see ``CaseMixWeek``).
COMPLAINED_ELEMENTS = ("materials", "steps", "time_limit", "fees")
ELEMENT_COMPLAINTS = tuple(f"complaints_{e}" for e in COMPLAINED_ELEMENTS)
ELEMENT_COMPLAINT_SQL = {f"complaints_{e}": f"CASE WHEN element = '{e}' THEN (CASE WHEN kind = 'complaint' THEN cases "
                                           f"ELSE 0 END) + rating_1 + rating_2 ELSE 0 END" for e in COMPLAINED_ELEMENTS}
# The measures friction and department performance read, per week × enterprise mix × item ×
# department (``CaseMixWeek``); ``ALL`` in the enterprise columns as in ``CaseWeek``.
MIX_DIMENSIONS = ("week", "region_code", "industry_group", "size_class", "service_item_id", "department_id")
MIX_MEASURES = ("cases", "repeats", "answered", "answered_on_time", "overdue", "close_seconds", "close_count",
                *CLOSE_BUCKETS, *RATING_COLUMNS, "rectifications_opened", "rectifications_closed", "callbacks_due",
                "callbacks_done", *ELEMENT_COMPLAINTS)
POLICY_DIMENSIONS = ("day", "policy_series_id", "size_class", "industry_group", "region_code")
POLICY_MEASURES = ("matched", "delivered", "read", "consented", "followups")


def percentile(buckets: Sequence[int], q: float) -> float | None:
    """The q-quantile (0 < q < 1) in seconds from a merged histogram, interpolated
    geometrically inside its bucket (the buckets are log-scale); None when empty."""
    total = sum(buckets)
    if not total:
        return None
    rank, seen = q * total, 0
    for i, n in enumerate(buckets):
        if n and seen + n >= rank:
            lo = HIST_BOUNDS[i - 1] if i else HIST_BOUNDS[0] / 2
            hi = HIST_BOUNDS[i] if i < len(HIST_BOUNDS) else HIST_BOUNDS[-1] * 2
            return lo * (hi / lo) ** ((rank - seen) / n)
        seen += n
    return float(HIST_BOUNDS[-1] * 2)


class CaseFact(Model):
    """Cases and their feedback per day × topic × item × element × department × channel ×
    industry group × size class × county × kind. Each measure counts on the day its event
    happened: intake for cases, enterprises, merged and repeats; first answer for
    answered / on time and the first-answer time; closing for the close time; the
    deadline day for overdue; the rating day; a rectification's opening and closing day;
    a call-back's due day and done day."""

    id = fields.BigIntField(primary_key=True)
    day = fields.DateField()
    topic_code = fields.CharField(max_length=32, default="")
    service_item_id = fields.IntField(default=0)  # 0: none
    element = fields.CharField(max_length=16, default="")  # '': none
    department_id = fields.IntField(default=0)  # 0: none
    channel = fields.CharField(max_length=16, default="")
    industry_group = fields.CharField(max_length=32, default="")
    size_class = fields.CharField(max_length=8, default="")
    region_code = fields.CharField(max_length=6, default="")  # county (区县), 6 digits
    kind = fields.CharField(max_length=16, default="")

    cases = fields.IntField(default=0)
    enterprises = fields.IntField(default=0)  # distinct, in this cell and day: never sum across cells
    merged = fields.IntField(default=0)  # intake-day cases later merged into another case
    repeats = fields.IntField(default=0)  # same enterprise, same item (or topic) in the previous 30 days
    answered = fields.IntField(default=0)
    answered_on_time = fields.IntField(default=0)  # first answer at or before due_at
    overdue = fields.IntField(default=0)  # on the day the deadline passed
    first_answer_seconds = fields.BigIntField(default=0)
    first_answer_count = fields.IntField(default=0)
    close_seconds = fields.BigIntField(default=0)
    close_count = fields.IntField(default=0)
    for _name in (*FIRST_ANSWER_BUCKETS, *CLOSE_BUCKETS, *RATING_COLUMNS):
        locals()[_name] = fields.IntField(default=0)
    del _name
    rectifications_opened = fields.IntField(default=0)
    rectifications_closed = fields.IntField(default=0)
    callbacks_due = fields.IntField(default=0)
    callbacks_done = fields.IntField(default=0)

    class Meta:
        table = "insight_case_fact"
        unique_together = (CASE_DIMENSIONS,)
        indexes = (("day", "topic_code"), ("day", "department_id"), ("day", "service_item_id"))


class CaseWeek(Model):
    """Cases per week (Monday) × topic × item × department × industry group × size class ×
    county, summed from ``CaseFact`` by the same rollup for every week it touches.

    Daily facts of a year of a million cases are finer than the raw table (each measure
    sits on its own event day, and a day has few cases per cell), so a year of weekly
    trends read from them costs as much as grouping the raw rows. This table keeps only
    what the trends need (cases, by the dimensions they group and filter on) and carries
    each week twice: once per enterprise mix, and once with ``ALL`` in the three
    enterprise columns — the unfiltered dashboard reads only those few rows."""

    id = fields.BigIntField(primary_key=True)
    week = fields.DateField()
    topic_code = fields.CharField(max_length=32, default="")
    service_item_id = fields.IntField(default=0)
    department_id = fields.IntField(default=0)
    industry_group = fields.CharField(max_length=32, default="")
    size_class = fields.CharField(max_length=8, default="")
    region_code = fields.CharField(max_length=6, default="")
    cases = fields.IntField(default=0)

    class Meta:
        table = "insight_case_week"
        # enterprise columns first: "all enterprises" (ALL) or one county is a range of this index
        unique_together = (("region_code", "industry_group", "size_class", "week", "topic_code", "service_item_id",
                            "department_id"),)
        indexes = (("week",),)  # the rollup replaces whole weeks: without it, each delete scans the table


class _ItemMeasures(Model):
    """The columns ``CaseItemWeek``, ``CaseItemDay`` and ``CaseItemTotal`` share: service
    item × element × kind × department, and every case measure but distinct enterprises.
    One list, so the three tables the rollup fills from one another cannot drift apart."""

    service_item_id = fields.IntField(default=0)
    element = fields.CharField(max_length=16, default="")
    kind = fields.CharField(max_length=16, default="")
    department_id = fields.IntField(default=0)
    cases = fields.IntField(default=0)
    merged = fields.IntField(default=0)
    repeats = fields.IntField(default=0)
    answered = fields.IntField(default=0)
    answered_on_time = fields.IntField(default=0)
    overdue = fields.IntField(default=0)
    first_answer_seconds = fields.BigIntField(default=0)
    first_answer_count = fields.IntField(default=0)
    close_seconds = fields.BigIntField(default=0)
    close_count = fields.IntField(default=0)
    for _name in (*FIRST_ANSWER_BUCKETS, *CLOSE_BUCKETS, *RATING_COLUMNS):
        locals()[_name] = fields.IntField(default=0)
    del _name
    rectifications_opened = fields.IntField(default=0)
    rectifications_closed = fields.IntField(default=0)
    callbacks_due = fields.IntField(default=0)
    callbacks_done = fields.IntField(default=0)

    class Meta:
        abstract = True


class CaseItemWeek(_ItemMeasures):
    """Every case measure but distinct enterprises, per week (Monday) × service item ×
    element × kind × department, over all enterprises; rebuilt by the rollup from
    ``CaseFact`` for every week it touches, like ``CaseWeek``.

    The friction index, department performance and proposal evaluation sum these
    measures over a period: from the daily facts that is millions of rows a year (each
    event on its own day, cell by channel, topic and enterprise mix), from this table a
    few thousand rows a week. Adding the enterprise columns (county, industry group, size
    class) would bring back nearly every daily row: friction and department performance
    read those filters from ``CaseMixWeek``, whose cells leave out element and kind."""

    id = fields.BigIntField(primary_key=True)
    week = fields.DateField()

    class Meta:
        table = "insight_case_item_week"
        unique_together = (ITEM_WEEK_DIMENSIONS,)


class CaseItemTotal(_ItemMeasures):
    """Running totals of ``CaseItemWeek``: per week × item × element × kind × department,
    every measure summed over all weeks up to and including that one. Rebuilt by the
    rollup from the first week it touches to the last week there is, with a row for
    every week from a cell's first week on (rows of zeros included), so any run of whole
    weeks is the difference of two rows per cell.

    A year of friction or department figures from ``CaseItemWeek`` is some 50,000 rows of
    thirty measures to sum at a million cases a year (about 150 ms in PostgreSQL however
    it aggregates); from this table it is two rows per cell, and the rollup of a past
    day rewrites only the weeks from that day's on."""

    id = fields.BigIntField(primary_key=True)
    week = fields.DateField()

    class Meta:
        table = "insight_case_item_total"
        unique_together = (ITEM_WEEK_DIMENSIONS,)


class CaseDay(Model):
    """``CaseWeek`` by local day instead of week (the same rows: per enterprise mix, and
    with ``ALL`` in the three enterprise columns), rebuilt by the rollup for the days it
    rolls up.

    Rising topics compare seven-day windows ending today, which cut across ISO weeks, so
    they need days; from the daily facts nine weeks are some 400,000 rows (a fact cell
    is also split by channel, element and kind), from this table a few thousand. Reads
    that take whole weeks from ``CaseWeek`` take the days at the period's ends here."""

    id = fields.BigIntField(primary_key=True)
    day = fields.DateField()
    topic_code = fields.CharField(max_length=32, default="")
    service_item_id = fields.IntField(default=0)
    department_id = fields.IntField(default=0)
    industry_group = fields.CharField(max_length=32, default="")
    size_class = fields.CharField(max_length=8, default="")
    region_code = fields.CharField(max_length=6, default="")
    cases = fields.IntField(default=0)

    class Meta:
        table = "insight_case_day"
        unique_together = (("region_code", "industry_group", "size_class", "day", "topic_code", "service_item_id",
                            "department_id"),)
        indexes = (("day",),)  # the rollup replaces days: without it, each delete scans the table


class CaseItemDay(_ItemMeasures):
    """``CaseItemWeek`` by local day instead of week, rebuilt by the rollup for the days it
    rolls up. A period rarely starts on a Monday and ends on a Sunday: friction and
    department performance read its whole weeks from ``CaseItemWeek`` and the up to six
    days at each end here, not from the daily facts (thousands of rows a day there, a
    few hundred here)."""

    id = fields.BigIntField(primary_key=True)
    day = fields.DateField()

    class Meta:
        table = "insight_case_item_day"
        unique_together = (("day", "service_item_id", "element", "kind", "department_id"),)


class _MixMeasures(Model):
    """The columns ``CaseMixDay``, ``CaseMixWeek`` and ``CaseMixTotal`` share (``MIX_MEASURES``
    by enterprise mix, service item and department)."""

    region_code = fields.CharField(max_length=6, default="")
    industry_group = fields.CharField(max_length=32, default="")
    size_class = fields.CharField(max_length=8, default="")
    service_item_id = fields.IntField(default=0)
    department_id = fields.IntField(default=0)
    for _name in MIX_MEASURES:
        locals()[_name] = fields.BigIntField(default=0) if _name == "close_seconds" else fields.IntField(default=0)
    del _name

    class Meta:
        abstract = True


class CaseMixWeek(_MixMeasures):
    """What friction and department performance read, per week (Monday) × county × industry
    group × size class × service item × department, and with ``ALL`` in the three
    enterprise columns summed over every mix; rebuilt by the rollup from its daily mirror.

    Filtered by county, industry group or size class (or any two or three of them), those
    views read the daily facts otherwise: at a million cases a year, a county's year is
    about a million fact rows (each split by day, topic, channel, element and kind), 0.5–1 s.
    Here a cell is only mix × item × department — element and kind are kept only as far as
    friction needs them, as the complaints naming each element (``ELEMENT_COMPLAINTS``) —
    so a year of one county is two weeks of running totals (``CaseMixTotal``) of a few
    thousand rows."""

    id = fields.BigIntField(primary_key=True)
    week = fields.DateField()

    class Meta:
        table = "insight_case_mix_week"
        unique_together = (MIX_DIMENSIONS,)


class CaseMixTotal(_MixMeasures):
    """Running totals of ``CaseMixWeek``, as ``CaseItemTotal`` is of ``CaseItemWeek``: per
    week and cell, every measure summed up to and including that week, a row for every
    week from a cell's first on."""

    id = fields.BigIntField(primary_key=True)
    week = fields.DateField()

    class Meta:
        table = "insight_case_mix_total"
        unique_together = (MIX_DIMENSIONS,)


class CaseMixDay(_MixMeasures):
    """``CaseMixWeek`` by local day: the days at a period's ends, and reads by day."""

    id = fields.BigIntField(primary_key=True)
    day = fields.DateField()

    class Meta:
        table = "insight_case_mix_day"
        unique_together = (("day", *MIX_DIMENSIONS[1:]),)


class PolicyFact(Model):
    """Policy reach per day × policy series × size class × industry group × county:
    matched (inbox messages created), delivered (pushes sent), read, consented (免申即享)
    and follow-up questions (cases citing the policy), each on its own event day."""

    id = fields.BigIntField(primary_key=True)
    day = fields.DateField()
    policy_series_id = fields.IntField()
    size_class = fields.CharField(max_length=8, default="")
    industry_group = fields.CharField(max_length=32, default="")
    region_code = fields.CharField(max_length=6, default="")
    matched = fields.IntField(default=0)
    delivered = fields.IntField(default=0)
    read = fields.IntField(default=0)
    consented = fields.IntField(default=0)
    followups = fields.IntField(default=0)

    class Meta:
        table = "insight_policy_fact"
        unique_together = (POLICY_DIMENSIONS,)
        indexes = (("day", "policy_series_id"),)


class Precomputed(Model):
    """A raw-row view (emerging topics, bundles) computed by the scheduled job after the
    rollup, for the console's default filters, under a key that names everything its
    result depends on: the view, the filters and parameters, and a fingerprint of the
    input rows (for emerging topics the ids of the clustered questions; for bundles the
    count, highest id and latest change of the period's cases). A view whose key matches
    reads the stored result — the same numbers it would compute —, otherwise it
    computes. Only the latest run's rows are kept per view."""

    id = fields.IntField(primary_key=True)
    view = fields.CharField(max_length=16)
    key = fields.CharField(max_length=40, unique=True)
    computed_at = fields.DatetimeField()
    body = fields.JSONField()

    class Meta:
        table = "insight_precomputed"


class BundleCount(Model):
    """The one-window bundle counts behind the stored bundles (``insight_precomputed``,
    view ``bundles``), per enterprise mix: for each county, industry group and size
    class, how many enterprises needed each item (``item_b`` = ``item_c`` = 0), each
    pair (``item_c`` = 0) and each triple of the stored result's period, and how many
    needed any item (all three 0). An enterprise is in one mix, so a filter on the mix
    sums its cells and a department filter keeps the sets with one of its items: the
    same counts the per-enterprise sequences give for that filter, read in
    milliseconds instead of computed in seconds. The rows of mix ``*``/``*``/``*`` sum every
    mix (unfiltered and department reads). Rewritten with the stored result, in the same
    transaction."""

    id = fields.BigIntField(primary_key=True)
    region_code = fields.CharField(max_length=6, default="")
    industry_group = fields.CharField(max_length=32, default="")
    size_class = fields.CharField(max_length=8, default="")
    item_a = fields.IntField(default=0)
    item_b = fields.IntField(default=0)
    item_c = fields.IntField(default=0)
    enterprises = fields.IntField(default=0)

    class Meta:
        table = "insight_bundle_count"
        indexes = (("region_code", "size_class", "industry_group"),)


PROPOSAL_STATUSES = ("proposed", "approved", "live", "evaluated", "abandoned")


class Proposal(Model):
    """A redesign proposal (流程再造): which item(s) or one-window bundle, the problem from
    the friction evidence, the change, an owner, a go-live date, and the metrics to
    compare before and after in equal windows (``evaluation`` holds the result).
    proposed → approved → live → evaluated; any but evaluated → abandoned."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=128)
    service_item_ids = fields.JSONField(default=list)
    bundle = fields.JSONField(null=True)  # list of item ids bundled into one window, or null
    problem = fields.TextField(default="")
    change = fields.TextField(default="")
    owner_id = fields.IntField(null=True)
    owner_name = fields.CharField(max_length=64, default="")
    go_live = fields.DateField(null=True)
    metrics = fields.JSONField(default=list)  # metric names, e.g. ["cases_per_1000", "close_p50"]
    status = fields.CharField(max_length=16, default="proposed", db_index=True)
    created_by = fields.ForeignKeyField("models.User", related_name="proposals", null=True,
                                        on_delete=fields.SET_NULL)
    evaluation = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "insight_proposal"
        ordering = ["-id"]
