"""The outbox: a campaign and its delivery rows, written with the domain change in one
transaction; ids handed to the workers after commit.

Persist first, hand off by id (handbook §5): the database is the record of work and
the Redis Stream only carries ids, so a lost stream loses no message — the sweeper
(:mod:`notifications.worker`) re-offers whatever is still waiting.

Everything per recipient is one ``INSERT … SELECT`` over the caller's recipient
query: 100,000 recipients are a few statements, never a Python loop.

The inbox is not written per recipient at publish: a recipient's delivery rows say
they were told, and :func:`sync_inbox` turns them into inbox messages when the user
looks (list, mark read). Only recipients with no delivery row (no WeChat openid) get
their inbox message at once. Writing 100,000 inbox rows was a third of the time of a
publish, for messages most of which are listed days later or never.

Delivery statuses::

    queued ──claim──▶ sending ──▶ delivered
      ▲                  │  ├───▶ retrying ──(due)──▶ queued …  ──(limit)──▶ failed
      └──(sweeper)───────┘  ├───▶ rejected   (permanent error: one attempt)
                            └───▶ skipped    (no subscribe credit; folded into a digest)
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from tortoise import connections
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from models.notifications import Campaign, Delivery, InboxMessage
from models.redis_keys import OUTBOX_STREAM_TTL
from notifications.schedule import (DEFAULT_QUIET_END, DEFAULT_QUIET_START, MINUTE_MS,
                                    minute_of_day, parse_hhmm)
from notifications.sqltext import Statement, at_next_sql, in_quiet_sql, now_ms

CHANNELS = ("subscribe", "template")
STATUSES = ("queued", "sending", "delivered", "retrying", "failed", "skipped", "rejected")
TERMINAL = frozenset({"delivered", "failed", "skipped", "rejected"})
#: Kinds whose non-critical deliveries follow the user's digest preference.
DIGEST_KINDS = frozenset({"policy"})
#: Ids per stream entry: one XADD carries a batch a worker claims in one statement.
STREAM_BATCH = 200
_KICK_PAGE = 5000
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{0,16}$")


@dataclass
class OutboxConfig:
    """Set once by the composition root (``configure``) from settings."""

    digest_at: int = 9 * 60
    stream_batch: int = STREAM_BATCH
    claim_timeout_ms: int = 120_000


CONFIG = OutboxConfig()


def configure(settings: Any) -> None:
    CONFIG.digest_at = parse_hhmm(settings.digest_at)
    CONFIG.stream_batch = settings.delivery_batch_size
    CONFIG.claim_timeout_ms = int(settings.delivery_claim_timeout_seconds * 1000)


# ----------------------------------------------------------------- writing


def _pref_filter(st: Statement, column: str, value: str) -> str:
    """Users listing nothing hear about everything; otherwise the value must be listed."""
    if not value:
        return "1 = 1"
    return f"(p.id IS NULL OR p.{column} = '' OR p.{column} LIKE {st.p('%,' + value + ',%')})"


#: A member (see _MEMBER_COLUMNS) who gets no subscribe delivery row, so their inbox
#: message is written at publish instead of by :func:`sync_inbox` (a template row, if
#: any, only makes the later sync a no-op for them).
_NO_DELIVERY = "m.openid IS NULL"

#: One row per recipient with what the delivery rows need (preferences defaulted).
_MEMBER_COLUMNS = (f"u.id AS user_id, u.openid AS openid, u.unionid AS unionid, "
                   f"COALESCE(p.mode, 'immediate') AS mode, "
                   f"COALESCE(p.quiet_start, {DEFAULT_QUIET_START}) AS qs, "
                   f"COALESCE(p.quiet_end, {DEFAULT_QUIET_END}) AS qe")


async def create_campaign(*, kind: str, source_id: int, title: str, summary: str, page: str,
                          recipient_sql: str, recipient_params: list, created_by: int | None,
                          critical: bool = False, topic: str = "", department_code: str = "",
                          at_ms: int | None = None) -> int:
    """Write a campaign and its delivery rows (inbox rows only for recipients without one).

    Call it inside your own ``in_transaction()`` (it joins it through a savepoint),
    and :func:`kick` after your commit.

    ``recipient_sql`` returns one column ``user_id`` (duplicates are fine); write its
    placeholders as ``$1, $2 …`` for ``recipient_params`` — PostgreSQL numbering,
    which SQLite reads as ``?1, ?2 …`` — and keep it portable (no ``::`` casts).
    ``topic`` (policy type) and ``department_code`` are matched against the users'
    preferences; empty means "not filtered". ``critical`` (a reply to the user's
    consultation, a deadline) ignores the digest and quiet hours. ``at_ms`` fixes
    "now" (tests).
    """
    if not _TOKEN.match(topic) or not _TOKEN.match(department_code):
        raise ValueError("topic and department_code are short codes (letters, digits, - and _)")
    now = now_ms() if at_ms is None else at_ms
    now_dt = datetime.fromtimestamp(now / 1000, UTC)
    async with in_transaction() as conn:
        campaign = await Campaign.create(
            kind=kind[:16], source_id=source_id, title=title[:128], summary=summary[:256],
            page=page[:256], critical=critical, topic=topic, department_code=department_code,
            created_by_id=created_by, created_at=now_dt, using_db=conn)
        st = Statement(conn, recipient_params)
        matching = (f"FROM app_user u LEFT JOIN notification_preference p ON p.user_id = u.id "
                    f"WHERE u.is_active AND u.id IN (SELECT x.user_id FROM ({st.native(recipient_sql)}) x)")
        wanted = (f"{_pref_filter(st, 'policy_types', topic)} "
                  f"AND {_pref_filter(st, 'departments', department_code)}")
        n_wanted = len(st.params)  # the parameters of the matching and the preferences
        c_id, c_dt = st.p(campaign.id, "INT"), st.p(now_dt, "TIMESTAMPTZ")
        if st.pg:
            # One statement: the matching query runs once (a hash semi-join, no DISTINCT
            # pass), and outbox and inbox are both written from its materialised result.
            deliveries = _deliveries_sql(st, "m", c_id=c_id, c_dt=c_dt, kind=kind, critical=critical,
                                         now=now, where="m.wanted")
            # Room for the hash tables of 100,000 recipients in memory (this transaction only).
            await conn.execute_script("SET LOCAL work_mem = '64MB'")
            [row] = await conn.execute_query_dict(
                # In user order: the outbox's (campaign, user, channel) index is then
                # filled in one sequential pass.
                f"WITH m AS MATERIALIZED (SELECT {_MEMBER_COLUMNS}, ({wanted}) AS wanted {matching} "
                f"ORDER BY u.id), "
                f"ins AS (INSERT INTO inbox_message (user_id, campaign_id, created_at) "
                f"        SELECT m.user_id, {c_id}, {c_dt} FROM m WHERE m.wanted AND {_NO_DELIVERY}), "
                f"del AS ({deliveries}) "
                f"SELECT COUNT(*) AS matched, COUNT(*) FILTER (WHERE m.wanted) AS recipients FROM m",
                st.params)
            matched, recipients = int(row["matched"]), int(row["recipients"])
        else:
            # SQLite has no INSERT inside WITH: the same pieces as separate statements.
            [row] = await conn.execute_query_dict(
                f"SELECT COUNT(*) AS n, SUM(CASE WHEN {wanted} THEN 1 ELSE 0 END) AS r {matching}",
                st.params[:n_wanted])
            matched, recipients = int(row["n"]), int(row["r"] or 0)
            m = f"(SELECT {_MEMBER_COLUMNS} {matching} AND {wanted})"
            await conn.execute_query(
                f"INSERT INTO inbox_message (user_id, campaign_id, created_at) "
                f"SELECT m.user_id, {c_id}, {c_dt} FROM {m} m WHERE {_NO_DELIVERY}", st.params)
            await conn.execute_query(
                _deliveries_sql(st, m, c_id=c_id, c_dt=c_dt, kind=kind, critical=critical, now=now,
                                where="1 = 1"), st.params)
        await Campaign.filter(id=campaign.id).using_db(conn).update(matched=matched, recipients=recipients)
    return campaign.id


#: One official-account openid per unionid even if stale follower rows share it. For a
#: fan-out, grouped once for all recipients (a hash join on the groups)...
_FOLLOWERS_GROUPED = ("JOIN (SELECT unionid, MIN(openid) AS openid FROM wechat_follower "
                      "WHERE subscribed GROUP BY unionid) f ON f.unionid = m.unionid")
#: ...for one recipient, the same MIN read through the unionid index: grouping the whole
#: follower table cost every single-recipient notice (each consultation intake's
#: assignment notice) time that grows with the followers.
_FOLLOWERS_ONE = ("JOIN LATERAL (SELECT MIN(w.openid) AS openid FROM wechat_follower w "
                  "WHERE w.subscribed AND w.unionid = m.unionid) f ON f.openid IS NOT NULL")


def _deliveries_sql(st: Statement, members: str, *, c_id: str, c_dt: str, kind: str, critical: bool,
                    now: int, where: str, followers: str = _FOLLOWERS_GROUPED,
                    wrap: Callable[[str], str] = lambda sql: sql) -> str:
    """INSERT of one row per (recipient, channel) from ``members`` (see _MEMBER_COLUMNS).

    Timing is decided per user in SQL. ``not_before``: NULL = now; else the end of the
    user's quiet hours, or their digest moment. ``offer_at``: when the sweeper offers
    the row if nobody has — the claim timeout from now for rows :func:`kick` offers at
    once (so a crash before the kick loses nothing), the due time for deferred rows.
    ``followers``: how the template channel finds a member's official-account openid
    (``_FOLLOWERS_GROUPED`` or, PostgreSQL only, ``_FOLLOWERS_ONE``). ``wrap``: as in
    :func:`notices_ctes`, for the one parameter written here.
    """
    minute = minute_of_day(now)
    minute_start = now - now % MINUTE_MS
    digest_at = int(CONFIG.digest_at)
    if critical:
        digest = "FALSE"
        not_before = "CAST(NULL AS BIGINT)"
    else:
        held = kind in DIGEST_KINDS
        digest = "(CASE WHEN m.mode = 'digest' THEN TRUE ELSE FALSE END)" if held else "FALSE"
        digest_minute = f"(CASE WHEN {in_quiet_sql(str(digest_at), 'm.qs', 'm.qe')} = 1 THEN m.qe ELSE {digest_at} END)"
        digest_case = (f"WHEN m.mode = 'digest' THEN {at_next_sql(minute_start, minute, digest_minute)} "
                       if held else "")
        not_before = (f"(CASE {digest_case}WHEN {in_quiet_sql(str(minute), 'm.qs', 'm.qe')} = 1 "
                      f"THEN {at_next_sql(minute_start, minute, 'm.qe')} ELSE CAST(NULL AS BIGINT) END)")
    c_offer = wrap(st.p(now + CONFIG.claim_timeout_ms, "BIGINT"))

    def select(channel: str, openid: str, joins: str, condition: str) -> str:
        return (f"SELECT {c_id}, m.user_id, '{channel}', {openid}, 'queued', {digest}, 0, FALSE, "
                f"COALESCE({not_before}, {c_offer}), {not_before}, '', '', {c_dt} "
                f"FROM {members} m {joins} WHERE {where} AND {condition}")

    return ("INSERT INTO notification_delivery (campaign_id, user_id, channel, openid, status, digest, "
            "attempts, credit_held, offer_at, not_before, last_error, note, created_at) "
            + select("subscribe", "m.openid", "", "m.openid IS NOT NULL")
            + " UNION ALL "
            + select("template", "f.openid", followers, "m.unionid IS NOT NULL"))


async def notify_user(*, user_id: int, title: str, summary: str, page: str, critical: bool,
                      kind: str, source_id: int, at_ms: int | None = None) -> int:
    """One recipient (a consultation reply, a deadline notice): same rows, same guarantees.

    Inside the caller's transaction like :func:`create_campaign`; :func:`kick` after commit.
    """
    campaign_id, _ = await notify_one(user_id=user_id, title=title, summary=summary, page=page,
                                      critical=critical, kind=kind, source_id=source_id, at_ms=at_ms)
    return campaign_id


async def notify_one(*, user_id: int, title: str, summary: str, page: str, critical: bool,
                     kind: str, source_id: int, at_ms: int | None = None) -> tuple[int, int | None]:
    """:func:`notify_user`, also saying how many deliveries :func:`kick` would offer now
    (``None``: not counted). Zero means the kick can be left out: a consultant without a
    WeChat openid, or a notice held for quiet hours or the digest.

    On PostgreSQL one statement instead of the fan-out's five round trips (savepoint,
    campaign, ``SET LOCAL``, the CTE, the counts): it runs inside every consultation
    intake (python -m bench intake). The rows are those :func:`create_campaign` writes —
    the same member columns, preferences and :func:`_deliveries_sql` — for one user.
    SQLite (no INSERT inside WITH) takes the general path.
    """
    conn = connections.get("default")
    if conn.capabilities.dialect != "postgres":
        cid = await create_campaign(
            kind=kind, source_id=source_id, title=title, summary=summary, page=page,
            recipient_sql="SELECT id AS user_id FROM app_user WHERE id = $1",
            recipient_params=[user_id], created_by=None, critical=critical, at_ms=at_ms)
        return cid, None
    st = Statement(conn)
    sql = notice_ctes(
        st, user_id=st.p(user_id, "INT"), title=st.p(title[:128], "TEXT"), summary=summary, page=st.p(page[:256], "TEXT"),
        source_id=st.p(source_id, "BIGINT"), critical=critical, kind=kind, at_ms=at_ms)
    [row] = await conn.execute_query_dict(f"WITH {sql.ctes} SELECT {sql.campaign_id} AS id, {sql.ready} AS ready",
                                          st.params)
    return int(row["id"]), int(row["ready"])


class NoticeSql(NamedTuple):
    """:func:`notice_ctes`' pieces: the CTEs, then scalar SQL expressions over them."""

    ctes: str
    campaign_id: str
    #: How many deliveries :func:`kick` would offer now.
    ready: str
    #: Their ids (an ``INT[]``, in id order, empty if none): a caller that selects them can
    #: :func:`push_ids` them after commit instead of a :func:`kick` that reads them back.
    ready_ids: str


def notice_ctes(st: Statement, *, user_id: str, title: str, summary: str, page: str, source_id: str,
                critical: bool, kind: str, at_ms: int | None = None, when: str = "TRUE",
                name: str = "n") -> NoticeSql:
    """PostgreSQL only: :func:`notify_one`'s rows as data-modifying CTEs, to join a larger
    statement whose other parts decide who hears it and what the notice says.

    ``user_id``, ``title``, ``page`` and ``source_id`` are SQL expressions (parameters or
    columns of the caller's CTEs; ``title`` already cut to 128 characters, ``page`` to
    256); ``when`` says whether there is a notice at all (no campaign row otherwise).
    Returns the CTEs, named from ``name``, and expressions for the campaign id and for
    the deliveries ready now (:class:`NoticeSql`). Ready rows are written with an
    ``offer_at`` a claim timeout ahead (:func:`_deliveries_sql`), so ids the caller never
    gets to push (a crash after commit) are still offered by the sweeper.
    """
    now = now_ms() if at_ms is None else at_ms
    now_dt = datetime.fromtimestamp(now / 1000, UTC)
    m, c, ins, dl = (f"{name}_{x}" for x in ("m", "c", "ins", "del"))
    wanted = f"{_pref_filter(st, 'policy_types', '')} AND {_pref_filter(st, 'departments', '')}"
    c_dt = st.p(now_dt, "TIMESTAMPTZ")
    texts = f"{st.p(kind[:16], 'TEXT')}, {title}, {st.p(summary[:256], 'TEXT')}, {page}"
    campaign = (f"INSERT INTO notification_campaign (kind, title, summary, page, source_id, critical, topic, "
                f"department_code, matched, recipients, read_count, created_at, created_by_id) "
                f"SELECT {texts}, {source_id}, {st.p(critical, 'BOOLEAN')}, '', '', "
                f"(SELECT COUNT(*) FROM {m}), (SELECT COUNT(*) FROM {m} WHERE {m}.wanted), 0, {c_dt}, NULL "
                f"WHERE {when} RETURNING id")
    deliveries = _deliveries_sql(st, m, c_id=f"(SELECT {c}.id FROM {c})", c_dt=c_dt, kind=kind, critical=critical,
                                 now=now, where="m.wanted", followers=_FOLLOWERS_ONE)
    ctes = (f"{m} AS MATERIALIZED (SELECT {_MEMBER_COLUMNS}, ({wanted}) AS wanted FROM app_user u "
            f"LEFT JOIN notification_preference p ON p.user_id = u.id WHERE u.is_active AND u.id = {user_id}), "
            f"{c} AS ({campaign}), "
            f"{ins} AS (INSERT INTO inbox_message (user_id, campaign_id, created_at) "
            f"        SELECT m.user_id, {c}.id, {c_dt} FROM {m} m, {c} WHERE m.wanted AND {_NO_DELIVERY}), "
            f"{dl} AS ({deliveries} RETURNING id, digest, not_before)")
    now_ready = f"NOT {dl}.digest AND ({dl}.not_before IS NULL OR {dl}.not_before <= {st.p(now, 'BIGINT')})"
    return NoticeSql(ctes=ctes, campaign_id=f"(SELECT {c}.id FROM {c})",
                     ready=f"(SELECT COUNT(*) FROM {dl} WHERE {now_ready})",
                     ready_ids=f"(SELECT COALESCE(array_agg({dl}.id ORDER BY {dl}.id), '{{}}') FROM {dl} "
                               f"WHERE {now_ready})")


def notices_ctes(st: Statement, *, notices: str, critical: bool, kind: str, at_ms: int,
                 wrap: Callable[[str], str] = lambda sql: sql, name: str = "nn") -> str:
    """PostgreSQL only: the rows of many :func:`notice_ctes`, one notice to one user per row
    of ``notices``, written by a fixed number of data-modifying CTEs whatever the count.

    ``notices``: SQL giving ``(key, user_id, title, summary, page, source_id)``, ``key``
    unique (``title`` already cut to 128 characters, ``page`` to 256). Each row gets its
    campaign, as :func:`notice_ctes` writes it when its ``when`` holds, and the inbox and
    delivery rows its user's preferences call for. The last CTE, named ``name``, gives
    ``(key, campaign_id, ready_ids)``: ids of the deliveries ready now, in id order,
    empty if none. ``wrap``: how each parameter is written into the text (the caller may
    hide values from the planner, :func:`consultations.service._write_cases`).

    Why not one :func:`notice_ctes` per row: every CTE's plan nodes are started and shut
    down on each execution, whatever their rows, and a group of intake cases paid that
    per case (python -m bench intake). The campaign ids are drawn first, so every row is
    tied to its notice by ``key`` and not by the order rows come back in. A notice that
    is not ``critical`` writes the minute into the text (quiet hours, digest): its
    statement is then a new one every minute, for PostgreSQL to prepare and plan.
    """
    now_dt = datetime.fromtimestamp(at_ms / 1000, UTC)
    src, m, c, ins, dl = (f"{name}_{x}" for x in ("src", "m", "c", "ins", "del"))
    wanted = f"{_pref_filter(st, 'policy_types', '')} AND {_pref_filter(st, 'departments', '')}"
    c_dt = wrap(st.p(now_dt, "TIMESTAMPTZ"))
    members = (f"(SELECT {m}.*, s.campaign_id FROM {m} JOIN {src} s ON s.key = {m}.key "
               f"JOIN {c} ON {c}.id = s.campaign_id)")
    deliveries = _deliveries_sql(st, members, c_id="m.campaign_id", c_dt=c_dt, kind=kind, critical=critical,
                                 now=at_ms, where="m.wanted", followers=_FOLLOWERS_ONE, wrap=wrap)
    now = wrap(st.p(at_ms, "BIGINT"))
    return (
        f"{src} AS MATERIALIZED (SELECT s.*, nextval(CAST((SELECT pg_get_serial_sequence("
        f"'notification_campaign', 'id')) AS REGCLASS)) AS campaign_id FROM ({notices}) s), "
        f"{m} AS MATERIALIZED (SELECT s.key, {_MEMBER_COLUMNS}, ({wanted}) AS wanted FROM {src} s "
        f"JOIN app_user u ON u.id = s.user_id AND u.is_active LEFT JOIN notification_preference p ON p.user_id = u.id), "
        f"{c} AS (INSERT INTO notification_campaign (id, kind, title, summary, page, source_id, critical, topic, "
        f"department_code, matched, recipients, read_count, created_at, created_by_id) "
        f"SELECT s.campaign_id, {wrap(st.p(kind[:16], 'TEXT'))}, s.title, LEFT(s.summary, 256), s.page, s.source_id, "
        f"{wrap(st.p(critical, 'BOOLEAN'))}, '', '', (SELECT COUNT(*) FROM {m} WHERE {m}.key = s.key), "
        f"(SELECT COUNT(*) FROM {m} WHERE {m}.key = s.key AND {m}.wanted), 0, {c_dt}, NULL FROM {src} s "
        f"ORDER BY s.key RETURNING id), "
        f"{ins} AS (INSERT INTO inbox_message (user_id, campaign_id, created_at) "
        f"SELECT m.user_id, m.campaign_id, {c_dt} FROM {members} m WHERE m.wanted AND {_NO_DELIVERY} "
        f"ORDER BY m.key), "
        f"{dl} AS ({deliveries} RETURNING id, campaign_id, digest, not_before), "
        f"{name} AS (SELECT s.key, s.campaign_id, COALESCE((SELECT array_agg(d.id ORDER BY d.id) FROM {dl} d "
        f"WHERE d.campaign_id = s.campaign_id AND NOT d.digest AND (d.not_before IS NULL OR d.not_before <= {now})), "
        f"CAST('{{}}' AS BIGINT[])) AS ready_ids FROM {src} s)")


# ----------------------------------------------------------------- hand-off


async def push_ids(rt: Any, ids: list[int]) -> int:
    """XADD the ids in batches, pipelined: one round trip per few hundred entries."""
    if not ids:
        return 0
    stream = rt.keys.outbox_stream()
    batch = max(1, CONFIG.stream_batch)
    async with rt.redis.pipeline(transaction=False) as pipe:
        for start in range(0, len(ids), batch):
            pipe.xadd(stream, {"ids": ",".join(map(str, ids[start:start + batch]))})
        pipe.expire(stream, OUTBOX_STREAM_TTL)
        await pipe.execute()
    return len(ids)


async def kick(rt: Any, campaign_id: int) -> int:
    """After commit: offer the campaign's ready deliveries to the workers. Returns the count.

    Reads ids page by page (keyset), so a large campaign never sits in memory whole.
    A page shorter than a full one is the last: a single notice (a case's assignment) is
    read with one query, not two. If this never runs (a crash right after commit), the
    sweeper offers the rows later.
    """
    now = now_ms()
    total, last = 0, 0
    while True:
        ids = await (Delivery.filter(campaign_id=campaign_id, status="queued", digest=False, id__gt=last)
                     .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
                     .order_by("id").limit(_KICK_PAGE).values_list("id", flat=True))
        if ids:
            total += await push_ids(rt, list(ids))
        if len(ids) < _KICK_PAGE:
            return total
        last = ids[-1]


# ----------------------------------------------------------------- reading

#: kind → async (source_id, since) → number of consultations citing it. The
#: consultation feature registers its counter here (see ``register_citation_counter``).
CitationCounter = Callable[[int, datetime], Awaitable[int]]
_CITATION_COUNTERS: dict[str, CitationCounter] = {}
CITATION_WINDOW_DAYS = 14


def register_citation_counter(kind: str, counter: CitationCounter) -> None:
    """Hook for the consultation feature: how many consultations cite a ``kind`` source."""
    _CITATION_COUNTERS[kind] = counter


async def campaign_figures(campaign_id: int) -> dict:
    """What became of a campaign: matched, per channel per status, read, consultations.

    ``consultations_14d`` counts consultations citing the campaign's source within 14
    days of sending; 0 until the consultation feature registers its counter.
    """
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise LookupError(campaign_id)
    channels = {ch: {s: 0 for s in STATUSES} for ch in CHANNELS}
    rows = await _status_counts(campaign_id)
    for channel, status, n in rows:
        channels.setdefault(channel, {s: 0 for s in STATUSES})[status] = n
    read = campaign.read_count
    counter = _CITATION_COUNTERS.get(campaign.kind)
    consultations = 0
    if counter is not None:
        consultations = await counter(campaign.source_id, campaign.created_at)
    return {"campaign_id": campaign.id, "kind": campaign.kind, "source_id": campaign.source_id,
            "matched": campaign.matched, "recipients": campaign.recipients, "channels": channels,
            "read": read, "consultations_14d": consultations}


async def _status_counts(campaign_id: int) -> list[tuple[str, str, int]]:
    from tortoise.functions import Count

    rows = await (Delivery.filter(campaign_id=campaign_id).annotate(n=Count("id"))
                  .group_by("channel", "status").values("channel", "status", "n"))
    return [(r["channel"], r["status"], int(r["n"])) for r in rows]


#: Campaigns whose deliveries are not inbox messages of their own: a digest only
#: summarises policies the inbox already lists.
_NOT_IN_INBOX = ("digest",)


async def sync_inbox(user_id: int, campaign_id: int | None = None) -> int:
    """Write the inbox messages a user's delivery rows imply and the inbox lacks yet.

    Publishing writes no inbox row for a recipient who has a delivery row (see the
    module note); every read of the inbox calls this first, so the inbox always lists
    every campaign the user was sent. One statement over the user's own deliveries
    (the ``(user_id, campaign_id)`` index); concurrent calls are safe (``ON CONFLICT``).
    ``campaign_id`` narrows it to one campaign (a read receipt). Returns rows written.
    """
    conn = connections.get("default")
    st = Statement(conn)
    narrow = f" AND d.campaign_id = {st.p(campaign_id, 'INT')}" if campaign_id is not None else ""
    kinds = ", ".join(f"'{k}'" for k in _NOT_IN_INBOX)
    # The message keeps the publish time: every delivery row of a campaign carries it.
    written = await conn.execute_query_dict(
        f"INSERT INTO inbox_message (user_id, campaign_id, created_at) "
        f"SELECT d.user_id, d.campaign_id, MIN(d.created_at) FROM notification_delivery d "
        f"JOIN notification_campaign k ON k.id = d.campaign_id AND k.kind NOT IN ({kinds}) "
        f"WHERE d.user_id = {st.p(user_id, 'INT')}{narrow} AND NOT EXISTS (SELECT 1 FROM inbox_message i "
        f"WHERE i.user_id = d.user_id AND i.campaign_id = d.campaign_id) "
        f"GROUP BY d.user_id, d.campaign_id ON CONFLICT (user_id, campaign_id) DO NOTHING RETURNING campaign_id",
        st.params)
    return len(written)


async def mark_read(*, user_id: int, campaign_id: int) -> None:
    """Read receipt: the inbox message and this user's deliveries of the campaign."""
    now = datetime.now(UTC)
    await sync_inbox(user_id, campaign_id)
    async with in_transaction():
        first = await InboxMessage.filter(user_id=user_id, campaign_id=campaign_id,
                                          read_at__isnull=True).update(read_at=now)
        if first:  # only the unread → read change counts, so reading twice is one reader
            await Campaign.filter(id=campaign_id).update(read_count=F("read_count") + 1)
        await Delivery.filter(user_id=user_id, campaign_id=campaign_id,
                              read_at__isnull=True).update(read_at=now)
