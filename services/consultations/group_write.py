"""Group commit for intake: cases that are ready to be written while earlier writes are
still out are written together, by one statement, instead of one statement each.

Why: on PostgreSQL every intake is one statement (``service._store_and_dispatch``), and
at 64 concurrent questions the API process's event loop is what limits throughput
(python -m bench intake). Each statement costs the loop a send, a wake-up, a pool
checkout and the decoding of its answer, and costs PostgreSQL a bind, an executor
start, a commit and a WAL flush. A group of cases shares all of those.

How a group forms: nothing waits on a timer. While fewer than ``in_flight`` writes are
out, a case is written at once, alone, by the request that brought it — an idle server
answers exactly as before. Only when ``in_flight`` writes are already out does a case
queue; when a write comes back, everything queued by then (up to ``max_group``) leaves
as the next group — before the callers of the write that came back resume, so that the
database has the next statement while they build and send their answers. So groups grow
with load, and a case waits at most for one write to return, which it would otherwise
have spent waiting for a pooled connection.

A group is one statement, hence one transaction: if it fails — typically one case's
Idempotency-Key is taken, by a replay or by a repeat in the same group — each case of
the group is written again alone, so that only the case at fault gets the error.

Why one write out at a time (the default): two statements out at once lock the same
parent rows — the foreign-key checks take a KEY SHARE lock on the department, the
consultant and the service item of every case — from two transactions, and PostgreSQL
records each such shared lock as a multixact (about 1,100 MultiXact pages touched in a
run with two out, none with one). Its CPU per intake was 2.2–2.4 times the unchanged
WeChat sandbox's with two out, 1.7–1.9 with one.

Measured (python -m bench intake, 64 connections, 2-core host), as intakes per second
times the µs the sandbox spent on each (the measure that discounts the host's drifting
speed), and p99 ÷ sandbox µs (the latency at a given host speed). Before this order and
this default, 2 out and groups of up to 12: 203–214 and 0.47–0.58. The next group sent
before its predecessor's callers resume, alone, at the same 2 and 12: 218–223 and
0.44–0.51 (three pairs). Both, with one out: groups of up to 24 gave 236–254 and
0.42–0.46 (twelve runs), the API process's CPU per intake 3.4–3.7 times the sandbox's
against 3.9–4.1, PostgreSQL's 1.7–1.9 against 2.3–2.4; up to 16 gave 224–243 and
0.39–0.53, up to 20 234–254 and 0.39–0.47, up to 28 236–248 and 0.43–0.47, up to 32
228–234 and 0.47–0.50, up to 48 210–215 and 0.51–0.54 (groups of varied sizes there,
likely dearer because each size is a statement of its own that PostgreSQL plans and
keeps per connection). One out without the early send, at 20 or 24: 199–204, the machine
1.51–1.61 cores busy against 1.63–1.72 — the database idled while the answers went out. 24 is
the default; at 64 connections nearly every group is full.

Earlier figures, in the same units where they were taken so: groups of 16 against 8
did worse (100–108 against 103–112 without groups) when a group's statement still had
CTEs of its own for every case; since a group is one set-based statement
(``service._cases_sql``), larger groups have done better.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: (connection, items) → one result per item, in order; all written or none.
WriteMany = Callable[[Any, list[T]], Awaitable[list[R]]]


class GroupWriter(Generic[T, R]):
    """Writes items through ``write_many`` in groups, as described in the module.

    ``conn`` travels with each item: items go in one group only with the same
    connection object (the pool's client; a caller inside a transaction must not come
    here, since its statement has to run on its own transaction's connection)."""

    def __init__(self, write_many: WriteMany, *, max_group: int, in_flight: int,
                 timed: Callable[[float], None] | None = None) -> None:
        # No defaults here: the product's are settings (INTAKE_GROUP_MAX,
        # INTAKE_WRITES_IN_FLIGHT), and a second copy of them would drift.
        if max_group < 1 or in_flight < 1:
            raise ValueError("max_group and in_flight must be at least 1")
        self._write_many = write_many
        #: told the seconds each statement that committed took, from the call to its answer
        #: as this process saw it (its event loop's delay in reading the answer included)
        self._timed = timed
        self.max_group = max_group
        self.in_flight = in_flight
        self._queue: deque[tuple[Any, T, asyncio.Future]] = deque()
        self._out = 0
        self._tasks: set[asyncio.Task] = set()
        #: statements that committed, the cases in them and the largest, since start (for tests and debugging)
        self.groups = 0
        self.items = 0
        self.largest = 0

    async def write(self, conn: Any, item: T) -> R:
        """Write ``item``; return its result or raise its own error."""
        if self._out < self.in_flight and not self._queue:
            # A free slot and nobody ahead: written now, by this request, as before.
            self._out += 1
            try:
                [result] = await self._write_group(conn, [item])
                return result
            finally:
                self._out -= 1
                self._drain()
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._queue.append((conn, item, future))
        return await future

    def _drain(self) -> None:
        """Send what is queued, a group per free slot."""
        while self._queue and self._out < self.in_flight:
            conn = self._queue[0][0]
            group = []
            while self._queue and len(group) < self.max_group and self._queue[0][0] is conn:
                group.append(self._queue.popleft())
            self._out += 1
            task = asyncio.get_running_loop().create_task(self._run(conn, group))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, conn: Any, group: list[tuple[Any, T, asyncio.Future]]) -> None:
        try:
            try:
                results = await self._write_group(conn, [item for _, item, _ in group])
            finally:
                # The next group leaves before this one's callers wake: its task is
                # scheduled ahead of theirs, so its statement is on its way to the
                # database while they build and send their answers, not after.
                self._out -= 1
                self._drain()
            for (_, _, future), result in zip(group, results, strict=True):
                if future.done():  # its request was cancelled; the case is written all the same
                    continue
                if isinstance(result, _Failed):
                    future.set_exception(result.exc)
                else:
                    future.set_result(result)
        except asyncio.CancelledError:
            for _, _, future in group:
                future.cancel()
            raise
        except Exception as exc:  # _write_group already tried each item alone
            for _, _, future in group:
                if not future.done():
                    future.set_exception(exc)

    async def _write_group(self, conn: Any, items: list[T]) -> list[R]:
        """All items in one statement; if that fails, each alone, so that an item's error
        (raised from here for a group of one) is its own."""
        started = time.perf_counter()
        try:
            results = await self._write_many(conn, items)
            self._count(len(items), started)
            return results
        except Exception:
            if len(items) == 1:
                raise
        return [await self._alone(conn, item) for item in items]

    async def _alone(self, conn: Any, item: T) -> Any:
        started = time.perf_counter()
        try:
            [result] = await self._write_many(conn, [item])
        except Exception as exc:  # noqa: BLE001 — handed to this item's caller
            return _Failed(exc)
        self._count(1, started)
        return result

    def _count(self, n: int, started: float) -> None:
        self.groups += 1
        self.items += n
        self.largest = max(self.largest, n)
        if self._timed is not None:
            self._timed(time.perf_counter() - started)


class _Failed:
    """An item's error, carried in place of its result until it reaches its caller."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
