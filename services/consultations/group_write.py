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
as the next group. So groups grow with load, and a case waits at most for one write
to return, which it would otherwise have spent waiting for a pooled connection.

A group is one statement, hence one transaction: if it fails — typically one case's
Idempotency-Key is taken, by a replay or by a repeat in the same group — each case of
the group is written again alone, so that only the case at fault gets the error.

Measured (python -m bench intake, 64 connections, 2-core host), as intakes per second
times the µs the unchanged WeChat sandbox spent on each (the measure that discounts the
host's drifting speed), against 103–112 without groups: 4 writes in flight 109–120;
2 in flight 124–134 (the default; PostgreSQL's CPU per intake 25 % lower than without
groups, the API process's 10 %); 1 in flight 142–143, but then one statement at a time
carries every case, which caps a process at ``max_group`` per statement's round trip;
groups of up to 16 did worse than 8 (100–108), when a group's statement still had CTEs
of its own for every case. Since a group is one set-based statement, one text per shape
of group (``service._cases_sql``), groups of 16 raised the rate (intakes/s × sandbox µs
200–214 against 190–193) but not the p99 at that rate (p99 ÷ sandbox µs 0.46–0.52
against 0.44–0.51).

At 64 connections every group was full at 8 (1,812 statements for 14,479 cases). With
the statement's values as VALUES rows of parameters and the interpreter of ``make``,
five alternating rounds: groups of up to 12 gave intakes/s × sandbox µs 207.8–215.7
against 206.1–209.2 at 8, p99 ÷ sandbox µs 0.47–0.51 against 0.46–0.54, PostgreSQL's
CPU per intake 2.38–2.45 times the sandbox's against 2.46–2.50; 3 writes in flight did
worse at either size (197.7–205.6: PostgreSQL 2.65–2.79). 12 is the default.
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

    def __init__(self, write_many: WriteMany, *, max_group: int = 8, in_flight: int = 2,
                 timed: Callable[[float], None] | None = None) -> None:
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
            results = await self._write_group(conn, [item for _, item, _ in group])
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
        finally:
            self._out -= 1
            self._drain()

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
