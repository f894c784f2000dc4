"""Delivery workers: read ids from the stream, claim rows, send, record the result.

Any number of worker processes (``python -m server worker``) and the API process
itself (embedded mode) may run this loop; they share the work through one Redis
consumer group and never through memory. Safety rests on the database:

* **claim with a status guard** — ``UPDATE … SET status='sending' WHERE id IN …
  AND status IN ('queued','retrying') AND due``: an id read twice (stream
  redelivery, sweeper re-offer) is claimed once, the second read is a no-op;
* **results in one transaction** per batch, so a batch is either recorded or
  still ``sending``;
* **the sweeper** (one worker per interval, elected by a Redis lock) offers rows
  whose ``offer_at`` passed: kicked rows nobody claimed (Redis lost them),
  deferred rows now due, retries now due, and ``sending`` rows whose worker died.
  A FLUSHALL therefore delays messages by at most the claim timeout and loses none;
* **XAUTOCLAIM** hands entries a dead consumer had read to a live one;
* **a claim is sent only in the first half of its timeout** — a slow worker's rows
  are left to the sweeper like a dead worker's, never sent after someone else's.

A duplicate send needs a worker to die between WeChat's answer and the commit of
the batch; each such crash can duplicate at most the sends it had in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import socket
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client import Counter as PromCounter
from redis.exceptions import RedisError, ResponseError
from tortoise import connections
from tortoise.exceptions import BaseORMException
from tortoise.transactions import in_transaction

from models.notifications import Campaign, WeChatFollower
from notifications import ledger
from notifications.channels import message_data, template_id
from notifications.outbox import push_ids
from notifications.ratelimit import TokenBucket
from notifications.schedule import classify, retry_delay_ms
from notifications.sqltext import Statement, now_ms
from wechat.gateway import WeChatError

log = structlog.get_logger("notifications.worker")

GROUP = "delivery-workers"
ACTIVE = ("queued", "sending", "retrying")
NO_CREDIT = "无订阅消息额度（用户未授权或已用完）"
UNFOLLOWED = "用户已取消关注公众号"
_ACTIVE = "status IN ('queued', 'sending', 'retrying')"
#: How often the answers of the batches in flight are committed (one flush for all).
RECORD_EVERY_SECONDS = 0.02

DELIVERIES = PromCounter("sz_deliveries_total", "Delivery attempts by channel and outcome",
                         ["channel", "outcome"])


@dataclass
class WorkerConfig:
    batch: int = 200
    concurrency: int = 64
    max_attempts: int = 6
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    claim_timeout_ms: int = 120_000
    send_rate: float = 50.0
    miniprogram_state: str = "formal"
    #: Stream entries (batches) one worker processes at once.
    inflight: int = 4
    block_ms: int = 1000
    sweep_every_ms: int = 1000
    sweep_page: int = 5000
    #: Above this many stream entries, waiting rows are in the stream: don't re-offer them.
    backlog_entries: int = 50

    @classmethod
    def from_settings(cls, s: Any) -> WorkerConfig:
        return cls(batch=s.delivery_batch_size, concurrency=s.delivery_concurrency,
                   max_attempts=s.delivery_max_attempts,
                   retry_base_seconds=s.delivery_retry_base_seconds,
                   retry_max_seconds=s.delivery_retry_max_seconds,
                   claim_timeout_ms=int(s.delivery_claim_timeout_seconds * 1000),
                   send_rate=s.wechat_send_rate, miniprogram_state=s.wechat_miniprogram_state)


@dataclass
class Claimed:
    id: int
    campaign_id: int
    channel: str
    openid: str
    attempts: int
    note: str
    credit_held: bool = False
    kind: str = ""
    template: str = ""


@dataclass
class Result:
    row: Claimed
    outcome: str  # delivered | transient | permanent
    errcode: int | None = None
    error: str = ""


class _Batch:
    """A batch's answers not yet recorded, and the error of a flush that failed them."""

    __slots__ = ("unrecorded", "recorded", "error")

    def __init__(self) -> None:
        self.unrecorded = 0
        self.recorded = asyncio.Event()
        self.recorded.set()
        self.error: BaseException | None = None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _missing_group(exc: ResponseError) -> bool:
    msg = str(exc)
    # Real Redis says NOGROUP; the in-process substitute words it differently.
    return "NOGROUP" in msg or "requires the key to exist" in msg or "no such key" in msg.lower()


class DeliveryWorker:
    def __init__(self, rt: Any, *, name: str | None = None, config: WorkerConfig | None = None,
                 clock: Callable[[], int] = now_ms, rand: Callable[[], float] = random.random) -> None:
        self.rt = rt
        self.cfg = config or WorkerConfig.from_settings(rt.settings)
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.clock = clock
        self.rand = rand
        self.stream = rt.keys.outbox_stream()
        self.bucket = TokenBucket(rt.redis, rt.keys.send_bucket("wechat"), rate=self.cfg.send_rate)
        self._sends = asyncio.Semaphore(self.cfg.concurrency)
        self._texts: OrderedDict[int, tuple[str, str, str, str]] = OrderedDict()
        self.stats: Counter[str] = Counter()
        # Answers of every batch in flight, committed together by one flusher task.
        self._answers: list[tuple[_Batch, Result, int]] = []
        self._flusher: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ main loop

    async def ensure_group(self) -> None:
        try:
            await self.rt.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Forever (or until ``stop``): read, process, sweep. Survives Redis and DB outages."""
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task] = set()
        next_sweep = 0.0
        group_ready = False
        log.info("delivery_worker_started", worker=self.name)
        try:
            while stop is None or not stop.is_set():
                try:
                    if not group_ready:
                        await self.ensure_group()
                        group_ready = True
                    if loop.time() >= next_sweep:
                        next_sweep = loop.time() + self.cfg.sweep_every_ms / 1000
                        await self.sweep()
                        for entry_id, ids in await self.autoclaim():
                            self._spawn(tasks, entry_id, ids)
                    free = self.cfg.inflight - len(tasks)
                    if free <= 0:
                        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                        continue
                    started = loop.time()
                    entries = await self.read(free, self.cfg.block_ms)
                    for entry_id, ids in entries:
                        self._spawn(tasks, entry_id, ids)
                    if not entries and loop.time() - started < self.cfg.block_ms / 2000:
                        # The in-process Redis substitute does not block: don't spin.
                        await asyncio.sleep(0.2)
                except ResponseError as exc:
                    if _missing_group(exc):  # Redis lost the stream (flush, failover)
                        group_ready = False
                        continue
                    log.warning("delivery_worker_redis_error", error=str(exc)[:200])
                    await asyncio.sleep(1)
                except (RedisError, OSError) as exc:
                    log.warning("delivery_worker_redis_unavailable", error=type(exc).__name__)
                    group_ready = False
                    await asyncio.sleep(1)
                except BaseORMException as exc:
                    log.warning("delivery_worker_db_error", error=str(exc)[:200])
                    await asyncio.sleep(1)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
            if self._flusher is not None:
                self._flusher.cancel()
                with contextlib.suppress(BaseException):
                    await self._flusher

    def _spawn(self, tasks: set[asyncio.Task], entry_id: str, ids: list[int]) -> None:
        task = asyncio.create_task(self.handle(entry_id, ids))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def read(self, count: int, block_ms: int | None) -> list[tuple[str, list[int]]]:
        answer = await self.rt.redis.xreadgroup(GROUP, self.name, {self.stream: ">"}, count=count,
                                                block=block_ms)
        out = []
        for _stream, entries in answer or []:
            for entry_id, fields in entries:
                out.append((_text(entry_id), _parse_ids(fields)))
        return out

    async def autoclaim(self) -> list[tuple[str, list[int]]]:
        """Entries read by a consumer that died before acknowledging them."""
        answer = await self.rt.redis.xautoclaim(self.stream, GROUP, self.name,
                                                min_idle_time=self.cfg.claim_timeout_ms,
                                                start_id="0-0", count=self.cfg.inflight * 4)
        entries = answer[1] if len(answer) > 1 else []
        out = []
        for entry_id, fields in entries:
            if fields is None:  # deleted meanwhile
                continue
            out.append((_text(entry_id), _parse_ids(fields)))
        if len(answer) > 2 and answer[2]:
            await self.rt.redis.xack(self.stream, GROUP, *answer[2])
        return out

    async def handle(self, entry_id: str, ids: list[int]) -> None:
        try:
            await self.process(ids)
        except Exception:
            # A database hiccup (a deadlock victim, a dropped connection) should cost a
            # second, not the claim timeout: offer the ids again and retire the entry.
            # Rows the failed attempt had claimed stay "sending" (a no-op for the new
            # entry) until the sweeper sees their claim expire; rows it had not, go.
            log.exception("delivery_batch_failed", entry=entry_id, size=len(ids))
            await asyncio.sleep(1)
            with contextlib.suppress(RedisError, OSError):
                await push_ids(self.rt, ids)
                await self._retire(entry_id)
            return
        with contextlib.suppress(RedisError, OSError):
            await self._retire(entry_id)

    async def _retire(self, entry_id: str) -> None:
        async with self.rt.redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, GROUP, entry_id)
            pipe.xdel(self.stream, entry_id)  # keep the stream as short as the backlog
            await pipe.execute()

    async def run_until_idle(self, *, max_rounds: int = 100) -> int:
        """Tests and tools: sweep and process until nothing is left to do right now."""
        await self.ensure_group()
        done = 0
        for _ in range(max_rounds):
            await self.sweep(force=True)
            entries = await self.read(self.cfg.inflight, None)
            entries += await self.autoclaim()
            if not entries:
                break
            for entry_id, ids in entries:
                await self.handle(entry_id, ids)
                done += len(ids)
        return done

    # --------------------------------------------------------------- a batch

    async def process(self, ids: list[int]) -> int:
        """Claim, take credits, send, record. Returns how many rows this call claimed."""
        if not ids:
            return 0
        now = self.clock()
        rows = await self.claim(ids, now)
        if not rows:
            return 0
        # A template message queued before its follower left (held for quiet hours,
        # say) is not sent: WeChat would refuse it (43004) and the inbox has it anyway.
        template = [r.openid for r in rows if r.channel == "template"]
        gone = set(await WeChatFollower.filter(openid__in=template, subscribed=False)
                   .values_list("openid", flat=True)) if template else set()
        sendable, skipped = [], []
        for r in rows:
            if r.channel == "subscribe" and not r.credit_held:
                skipped.append(Result(r, "skipped", error=NO_CREDIT))
            elif r.channel == "template" and r.openid in gone:
                skipped.append(Result(r, "skipped", error=UNFOLLOWED))
            else:
                sendable.append(r)
        if skipped:
            await self.record(skipped, attempt_at=now)
        await self._send_all(sendable, attempt_at=now)
        return len(rows)

    async def claim(self, ids: list[int], now: int) -> list[Claimed]:
        """Claim the ids that are due and not taken, and their subscribe credits, atomically.

        Taking the credit in the claim's transaction (and noting it on the row) means
        a worker dying after the claim neither loses the user's consent nor makes the
        next claim of the row take a second one.

        The rows are locked and read first (in id order, so two claimers never wait on
        each other crosswise; a row another claimer took fails the status guard once
        its lock is released), the credits taken, and then each row written once with
        its status and credit together: a second UPDATE for the credit would cost
        PostgreSQL one more row version and index entries per message.
        """
        async with in_transaction() as conn:
            await _relaxed_commit(conn)
            st = Statement(conn)
            lock = " FOR UPDATE" if st.pg else ""  # SQLite: one writer at a time anyway
            found = await conn.execute_query_dict(
                f"SELECT id, campaign_id, channel, openid, attempts, note, credit_held FROM notification_delivery "
                f"WHERE {st.isin('id', ids, 'BIGINT')} AND status IN ('queued', 'retrying') AND digest = FALSE "
                f"AND (not_before IS NULL OR not_before <= {st.p(now)}) "
                f"AND (next_attempt_at IS NULL OR next_attempt_at <= {st.p(now)}) "
                f"ORDER BY id{lock}", st.params)
            rows = [Claimed(id=r["id"], campaign_id=r["campaign_id"], channel=r["channel"],
                            openid=r["openid"], attempts=r["attempts"], note=r["note"],
                            credit_held=bool(r["credit_held"])) for r in found]
            if rows:
                await self._fill_texts(rows)
                held = await self._take_credits(rows)
                st = Statement(conn)
                credit = (f"CASE WHEN {st.isin('id', held, 'BIGINT')} THEN TRUE ELSE credit_held END"
                          if held else "credit_held")
                await conn.execute_query(
                    f"UPDATE notification_delivery SET status = 'sending', claimed_at = {st.p(now)}, "
                    f"offer_at = {st.p(now + self.cfg.claim_timeout_ms)}, credit_held = {credit} "
                    f"WHERE {st.isin('id', [r.id for r in rows], 'BIGINT')}", st.params)
        self.stats["claimed"] += len(rows)
        return rows

    async def _fill_texts(self, rows: list[Claimed]) -> None:
        missing = {r.campaign_id for r in rows} - set(self._texts)
        if missing:
            for c in await Campaign.filter(id__in=list(missing)).values("id", "kind", "title", "summary", "page"):
                self._texts[c["id"]] = (c["kind"], c["title"], c["summary"], c["page"])
                if len(self._texts) > 1024:
                    self._texts.popitem(last=False)
        for r in rows:
            r.kind = self._texts[r.campaign_id][0]
            r.template = template_id(self.rt.settings, r.kind, r.channel)

    async def _take_credits(self, rows: list[Claimed]) -> list[int]:
        """Subscribe messages need a consent each; template messages need none.

        Returns the ids of the rows that took one now (the caller notes it on them)."""
        by_template: dict[str, list[Claimed]] = defaultdict(list)
        for r in rows:
            if r.channel == "subscribe" and not r.credit_held:
                by_template[r.template].append(r)
        held: list[int] = []
        for tpl, group in by_template.items():
            taken = await ledger.consume(tpl, [r.openid for r in group])
            for r in group:
                if taken[r.openid] > 0:
                    taken[r.openid] -= 1
                    r.credit_held = True
                    held.append(r.id)
        return held

    async def _send_all(self, rows: list[Claimed], *, attempt_at: int) -> None:
        """Send under the shared rate; answers are committed every few dozen milliseconds.

        Committing as answers arrive (not once per batch) keeps the window between
        WeChat's answer and our commit short — the only window in which a crash
        produces a duplicate message. The answers of all batches in flight go into one
        flush (:meth:`_flush_answers`): one statement per interval for the worker
        instead of one per batch. Returns once every answer of this batch is committed;
        a failed flush fails the batch (its sends stop) as before.
        """
        batch = _Batch()
        tasks: list[asyncio.Task[None]] = []
        payloads: dict[tuple[int, str], dict[str, str]] = {}
        # A claim is sent only while it is young. The sweeper hands a row whose claim
        # expired to another worker, as it cannot tell a slow worker from a dead one, so
        # a send late in the claim may be the second message to that user. Rows that
        # waited past half the claim timeout (mostly for the shared rate: several
        # batches of every worker are claimed at once) are left claimed, unsent; the
        # sweeper offers them again when the claim expires, as it does a dead worker's.
        # The other half leaves room for the send and the commit of its answer. (The
        # fault test, claims of 4 s: two workers' 4 batches of 100 at 400/s made the
        # last of them wait past the claim, and 4 users got a message twice, no kill
        # near. At the defaults, 8 workers' 800 claims each at 50/s would outwait 120 s.)
        fresh_until = attempt_at + self.cfg.claim_timeout_ms // 2
        stale = 0

        async def sender(granted: deque[Claimed]) -> None:
            nonlocal stale
            # A few senders per granted chunk, each taking the next row: far fewer tasks
            # than one per message, which is most of a worker's own CPU per message.
            while granted:
                row = granted.popleft()
                if self.clock() >= fresh_until:
                    stale += 1
                    continue
                key = (row.campaign_id, row.note)
                if key not in payloads:
                    _, title, summary, _ = self._texts[row.campaign_id]
                    payloads[key] = message_data(title=title, summary=summary, note=row.note,
                                                 at_ms=attempt_at)
                self._answer(batch, await self._send_one(row, payloads[key]), attempt_at)

        async def launch() -> None:
            nonlocal stale
            pending = list(rows)
            while pending:
                if self.clock() >= fresh_until:
                    stale += len(pending)
                    break
                n = await self.bucket.take(len(pending))
                granted, pending = deque(pending[:n]), pending[n:]
                tasks.extend(asyncio.create_task(sender(granted))
                             for _ in range(min(len(granted), self.cfg.concurrency)))
            await asyncio.gather(*tasks)

        launcher = asyncio.create_task(launch())
        try:
            while not launcher.done():
                await asyncio.wait([launcher], timeout=RECORD_EVERY_SECONDS)
                if batch.error is not None:
                    raise batch.error
            launcher.result()  # re-raise a launch failure (bucket unreachable…)
            await batch.recorded.wait()
            if batch.error is not None:
                raise batch.error
            if stale:
                self.stats["stale"] += stale
                log.info("delivery_claims_left_to_expire", rows=stale, worker=self.name)
        except BaseException:
            launcher.cancel()
            for t in tasks:
                t.cancel()
            raise

    def _answer(self, batch: _Batch, result: Result, attempt_at: int) -> None:
        batch.unrecorded += 1
        batch.recorded.clear()
        self._answers.append((batch, result, attempt_at))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_answers())

    async def _flush_answers(self) -> None:
        """Every RECORD_EVERY_SECONDS, commit whatever answers are waiting, from all batches."""
        while self._answers:
            await asyncio.sleep(RECORD_EVERY_SECONDS)
            taken, self._answers = self._answers, []
            error: BaseException | None = None
            try:
                await self._record_answers([(r, at) for _, r, at in taken])
            except Exception as exc:  # noqa: BLE001 - handed to the batches, which re-offer their ids
                error = exc
            for batch, _, _ in taken:
                batch.unrecorded -= 1
                if error is not None and batch.error is None:
                    batch.error = error
                if batch.unrecorded == 0:
                    batch.recorded.set()

    async def _record_answers(self, answers: list[tuple[Result, int]]) -> None:
        """Answers of several batches (each with its own attempt time) in one flush."""
        conn = connections.get("default")
        if answers and conn.capabilities.dialect == "postgres" and all(
                r.outcome == "delivered" for r, _ in answers):
            # The usual flush: every answer a success — one statement, whatever the batches.
            done_dt = datetime.fromtimestamp(self.clock() / 1000, UTC)
            await self._mark_delivered_each(conn, [(r.row.id, at) for r, at in answers], done_dt=done_dt)
            self._count([r for r, _ in answers])
            return
        by_attempt: dict[int, list[Result]] = defaultdict(list)
        for r, at in answers:
            by_attempt[at].append(r)
        for at, results in by_attempt.items():
            await self.record(results, attempt_at=at)

    async def _send_one(self, row: Claimed, data: dict[str, str]) -> Result:
        page = self._texts[row.campaign_id][3]
        gateway = self.rt.gateway
        async with self._sends:
            try:
                if row.channel == "subscribe":
                    await gateway.send_subscribe(row.openid, row.template, data, page=page or None,
                                                 state=self.cfg.miniprogram_state)
                else:
                    await gateway.send_template(row.openid, row.template, data, miniprogram=page or None)
            except WeChatError as exc:
                verdict = classify(exc.errcode, transient=exc.transient)
                return Result(row, verdict, exc.errcode, (exc.errmsg or str(exc))[:120])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a bug in one send must not sink the batch
                log.exception("delivery_send_crashed", delivery=row.id)
                return Result(row, "transient", None, type(exc).__name__)
        return Result(row, "delivered")

    async def record(self, results: list[Result], *, attempt_at: int) -> None:
        """All outcomes of a batch in one transaction (plus the credits they imply)."""
        done = self.clock()
        done_dt = datetime.fromtimestamp(done / 1000, UTC)
        delivered = [r.row.id for r in results if r.outcome == "delivered"]
        skipped: dict[str, list[int]] = defaultdict(list)
        for r in results:
            if r.outcome == "skipped":
                skipped[r.error or NO_CREDIT].append(r.row.id)
        permanent = [r for r in results if r.outcome == "permanent"]
        transient = [r for r in results if r.outcome == "transient"]
        refunds: dict[str, list[str]] = defaultdict(list)
        zeroes: dict[str, list[str]] = defaultdict(list)
        unfollowed: list[str] = []
        for r in permanent + transient:
            if r.row.channel == "subscribe" and r.errcode == 43101:
                zeroes[r.row.template].append(r.row.openid)
            elif r.row.credit_held:
                refunds[r.row.template].append(r.row.openid)  # WeChat did not use the consent
            elif r.errcode == 43004:
                unfollowed.append(r.row.openid)

        if results and len(delivered) == len(results):
            # The usual flush — every answer a success — is one statement on its own,
            # not BEGIN, SET, UPDATE, COMMIT: a quarter of the round trips.
            await self._mark_delivered(connections.get("default"), delivered, attempt_at=attempt_at,
                                       done_dt=done_dt, relaxed=True)
            self._count(results)
            return
        async with in_transaction() as conn:
            await _relaxed_commit(conn)
            active = _ACTIVE
            if delivered:
                await self._mark_delivered(conn, delivered, attempt_at=attempt_at, done_dt=done_dt)
            for reason, ids in skipped.items():
                st = Statement(conn)
                await conn.execute_query(
                    f"UPDATE notification_delivery SET status = 'skipped', claimed_at = NULL, "
                    f"last_error = {st.p(reason)} WHERE {st.isin('id', ids, 'BIGINT')} AND {active}",
                    st.params)
            by_code: dict[tuple[int | None, str], list[int]] = defaultdict(list)
            for r in permanent:
                by_code[(r.errcode, r.error)].append(r.row.id)
            for (code, error), ids in by_code.items():
                st = Statement(conn)
                await conn.execute_query(
                    f"UPDATE notification_delivery SET status = 'rejected', attempts = attempts + 1, "
                    f"credit_held = FALSE, "
                    f"first_attempt_at = COALESCE(first_attempt_at, {st.p(attempt_at)}), "
                    f"last_attempt_at = {st.p(attempt_at)}, claimed_at = NULL, "
                    f"last_errcode = {st.p(code)}, last_error = {st.p(error)} "
                    f"WHERE {st.isin('id', ids, 'BIGINT')} AND {active}", st.params)
            if transient:
                await self._record_transient(conn, transient, attempt_at=attempt_at, done=done)
            for tpl, openids in zeroes.items():
                await ledger.zero(tpl, openids)
            for tpl, openids in refunds.items():
                await ledger.refund(tpl, openids)
            if unfollowed:
                await WeChatFollower.filter(openid__in=unfollowed).update(subscribed=False,
                                                                          unsubscribed_at=done_dt)
        self._count(results)
        if permanent or transient:
            log.warning("delivery_errors", transient=len(transient), permanent=len(permanent),
                        errcodes=dict(Counter(str(r.errcode) for r in permanent + transient)),
                        sample=(permanent + transient)[0].error)

    @staticmethod
    async def _mark_delivered(conn: Any, ids: list[int], *, attempt_at: int, done_dt: datetime,
                              relaxed: bool = False) -> None:
        st = Statement(conn)
        # Outside a transaction, SET LOCAL has nothing to apply to; set_config(…, true) in
        # the statement itself applies to its own implicit transaction (see _relaxed_commit).
        relax = (" AND (SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL"
                 if relaxed and st.pg else "")
        await conn.execute_query(
            f"UPDATE notification_delivery SET status = 'delivered', attempts = attempts + 1, "
            f"first_attempt_at = COALESCE(first_attempt_at, {st.p(attempt_at)}), "
            f"last_attempt_at = {st.p(attempt_at)}, sent_at = {st.p(done_dt)}, "
            f"claimed_at = NULL, last_errcode = NULL, last_error = '' "
            f"WHERE {st.isin('id', ids, 'BIGINT')} AND {_ACTIVE}{relax}", st.params)

    @staticmethod
    async def _mark_delivered_each(conn: Any, answered: list[tuple[int, int]], *, done_dt: datetime) -> None:
        """PostgreSQL: :meth:`_mark_delivered` for rows with different attempt times, in
        one statement (ids and attempt times as two arrays), relaxed commit included."""
        st = Statement(conn)
        ids, ats = st.p([i for i, _ in answered], "BIGINT[]"), st.p([a for _, a in answered], "BIGINT[]")
        await conn.execute_query(
            f"UPDATE notification_delivery d SET status = 'delivered', attempts = d.attempts + 1, "
            f"first_attempt_at = COALESCE(d.first_attempt_at, v.at), last_attempt_at = v.at, "
            f"sent_at = {st.p(done_dt)}, claimed_at = NULL, last_errcode = NULL, last_error = '' "
            f"FROM unnest({ids}, {ats}) AS v(id, at) "
            f"WHERE d.id = v.id AND d.{_ACTIVE} "
            f"AND (SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL", st.params)

    def _count(self, results: list[Result]) -> None:
        # One labelled-counter lookup per outcome of a flush, not one per message.
        for (channel, outcome), n in Counter((r.row.channel, r.outcome) for r in results).items():
            DELIVERIES.labels(channel, outcome).inc(n)
            self.stats[outcome] += n

    async def _record_transient(self, conn: Any, results: list[Result], *, attempt_at: int,
                                done: int) -> None:
        """Retry later with backoff, or give up past the attempt limit — one statement."""
        st = Statement(conn)
        status_case, next_case, code_case, error_case = [], [], [], []
        for r in results:
            attempt = r.row.attempts + 1
            rid = st.p(r.row.id)
            if attempt >= self.cfg.max_attempts:
                status_case.append(f"WHEN {rid} THEN 'failed'")
                next_case.append(f"WHEN {rid} THEN CAST(NULL AS BIGINT)")
            else:
                due = done + retry_delay_ms(attempt, base_seconds=self.cfg.retry_base_seconds,
                                            cap_seconds=self.cfg.retry_max_seconds, jitter=self.rand())
                status_case.append(f"WHEN {rid} THEN 'retrying'")
                next_case.append(f"WHEN {rid} THEN {st.p(due, 'BIGINT')}")
            code_case.append(f"WHEN {rid} THEN {st.p(r.errcode, 'INT')}")
            error_case.append(f"WHEN {rid} THEN {st.p(r.error, 'VARCHAR')}")
        ids = st.many([r.row.id for r in results])
        await conn.execute_query(
            f"UPDATE notification_delivery SET "
            f"status = CASE id {' '.join(status_case)} END, "
            f"next_attempt_at = CASE id {' '.join(next_case)} END, "
            f"offer_at = COALESCE(CASE id {' '.join(next_case)} END, offer_at), "
            f"last_errcode = CASE id {' '.join(code_case)} END, "
            f"last_error = CASE id {' '.join(error_case)} END, "
            f"attempts = attempts + 1, claimed_at = NULL, credit_held = FALSE, "
            f"first_attempt_at = COALESCE(first_attempt_at, {st.p(attempt_at)}), "
            f"last_attempt_at = {st.p(attempt_at)} "
            f"WHERE id IN {ids} AND status IN ('queued', 'sending', 'retrying')", st.params)

    # ---------------------------------------------------------------- sweeper

    async def sweep(self, *, force: bool = False) -> int:
        """Offer rows whose ``offer_at`` passed. One worker per interval does it."""
        redis = self.rt.redis
        if not force and not await redis.set(self.rt.keys.outbox_sweep_lock(), self.name, nx=True,
                                             px=self.cfg.sweep_every_ms):
            return 0
        now = self.clock()
        # With a backlog in the stream, waiting "queued" rows are in it: re-offering
        # them would only add no-op claims. Retries due and stuck claims still go.
        backlog = await redis.xlen(self.stream) > self.cfg.backlog_entries
        statuses = "('sending', 'retrying')" if backlog else "('queued', 'sending', 'retrying')"
        conn = connections.get("default")
        st = Statement(conn)
        # Rows a worker is claiming or recording right now are skipped, not waited for:
        # waiting would let the sweeper and a claim lock rows in opposite orders (deadlock).
        # The page is picked once, in a MATERIALIZED CTE (PostgreSQL). Written as ``id IN
        # (subquery)``, one sweep over 100,000 overdue rows (bench push) ran for minutes at
        # full CPU while the workers' claims waited on its locks — most likely a plan that
        # rescanned the locking subquery per row, chosen on statistics not yet renewed after
        # the publish. A materialized page cannot be rescanned, whatever the statistics.
        if st.pg:
            rows = await conn.execute_query_dict(
                f"WITH page AS MATERIALIZED (SELECT id FROM notification_delivery WHERE status IN {statuses} "
                f"  AND offer_at <= {st.p(now)} AND digest = FALSE LIMIT {int(self.cfg.sweep_page)} "
                f"  FOR UPDATE SKIP LOCKED) "
                f"UPDATE notification_delivery d SET "
                f"status = CASE WHEN d.status = 'sending' THEN 'queued' ELSE d.status END, "
                f"offer_at = {st.p(now + self.cfg.claim_timeout_ms)} "
                f"FROM page WHERE d.id = page.id AND d.status IN {statuses} AND d.offer_at <= {st.p(now)} "
                f"RETURNING d.id", st.params)
        else:
            rows = await conn.execute_query_dict(
                f"UPDATE notification_delivery SET "
                f"status = CASE WHEN status = 'sending' THEN 'queued' ELSE status END, "
                f"offer_at = {st.p(now + self.cfg.claim_timeout_ms)} "
                f"WHERE id IN (SELECT id FROM notification_delivery WHERE status IN {statuses} "
                f"  AND offer_at <= {st.p(now)} AND digest = FALSE LIMIT {int(self.cfg.sweep_page)}) "
                f"AND status IN {statuses} AND offer_at <= {st.p(now)} "
                f"RETURNING id", st.params)
        if not rows:
            return 0
        ids = sorted(r["id"] for r in rows)
        await push_ids(self.rt, ids)
        self.stats["swept"] += len(ids)
        log.info("delivery_sweep", offered=len(ids), backlog=backlog)
        return len(ids)


async def _relaxed_commit(conn: Any) -> None:
    """Claims and marks commit without waiting for the WAL flush (PostgreSQL).

    They are most of the worker's commits, and waiting for each flush made the disk,
    not WeChat, the limit of the send rate. What this risks is bounded the right way:
    a *database* crash may forget the last fraction of a second of claims and marks,
    so those rows are claimed and sent again — duplicates, never a lost message (the
    campaign's own rows are written by the publishing transaction, fully durable).
    """
    if conn.capabilities.dialect == "postgres":
        await conn.execute_script("SET LOCAL synchronous_commit = off")


def _parse_ids(fields: dict) -> list[int]:
    raw = fields.get(b"ids", fields.get("ids", b""))
    out = []
    for part in _text(raw).split(","):
        with contextlib.suppress(ValueError):
            out.append(int(part))
    return out


async def run_worker(rt: Any, stop: asyncio.Event | None = None) -> None:
    """Entry point for ``python -m server worker`` and the embedded background task."""
    await DeliveryWorker(rt).run(stop)

