"""Group commit for intake (services/consultations/group_write.py): an idle server writes
each case at once and alone; under load, cases that arrive while every write slot is
busy leave together; and one case's failure is never another's."""

from __future__ import annotations

import asyncio

import pytest

from services.consultations.group_write import GroupWriter


class Store:
    """A stand-in for the database: records each statement's items; a statement holding
    a "bad" item fails whole, as a transaction does."""

    def __init__(self) -> None:
        self.statements: list[list[str]] = []
        self.rows: list[str] = []
        self.gate: asyncio.Event | None = None

    async def write_many(self, conn: object, items: list[str]) -> list[str]:
        self.statements.append(list(items))
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(0)
        if any(i.startswith("bad") for i in items):
            raise ValueError(f"refused: {items}")
        self.rows += items
        return [f"id-{i}" for i in items]


CONN = object()


async def _slot_taken(max_group: int = 8) -> tuple[Store, GroupWriter, asyncio.Task]:
    """A writer with one slot, held by item "a" until ``store.gate`` is set: whatever
    is written next queues."""
    store = Store()
    store.gate = asyncio.Event()
    writer = GroupWriter(store.write_many, max_group=max_group, in_flight=1)
    first = asyncio.create_task(writer.write(CONN, "a"))
    await asyncio.sleep(0)
    return store, writer, first


async def test_an_idle_writer_writes_each_item_at_once_and_alone():
    store = Store()
    writer = GroupWriter(store.write_many, max_group=8, in_flight=2)
    assert await writer.write(CONN, "a") == "id-a"
    assert await writer.write(CONN, "b") == "id-b"
    assert store.statements == [["a"], ["b"]]
    assert (writer.groups, writer.items, writer.largest) == (2, 2, 1)


async def test_items_arriving_while_every_slot_is_busy_leave_together():
    store, writer, first = await _slot_taken(max_group=3)
    rest = [asyncio.create_task(writer.write(CONN, x)) for x in "bcdef"]
    await asyncio.sleep(0)
    store.gate.set()
    assert await first == "id-a"
    assert [await t for t in rest] == ["id-b", "id-c", "id-d", "id-e", "id-f"]
    # queued items leave in arrival order, at most max_group at a time
    assert store.statements == [["a"], ["b", "c", "d"], ["e", "f"]]
    assert store.rows == list("abcdef") and writer.largest == 3


async def test_the_next_group_leaves_before_the_callers_of_the_last_one_resume():
    # With one write out at a time, the database idles from a group's answer until the
    # next statement arrives: the next group must be sent before the callers of the group
    # that came back build and send their answers, not after all of them.
    store, log = Store(), []

    async def write_many(conn: object, items: list[str]) -> list[str]:
        log.append("write " + "".join(items))
        return await store.write_many(conn, items)

    writer = GroupWriter(write_many, max_group=2, in_flight=1)

    async def call(item: str) -> str:
        result = await writer.write(CONN, item)
        log.append("back " + item)
        return result

    assert await asyncio.gather(*(call(x) for x in "abcde")) == [f"id-{x}" for x in "abcde"]
    assert log == ["write a", "back a", "write bc", "write de", "back b", "back c", "back d", "back e"]


async def test_one_failing_item_fails_alone_and_the_others_are_written():
    store, writer, first = await _slot_taken()
    rest = {x: asyncio.create_task(writer.write(CONN, x)) for x in ("b", "bad-c", "d")}
    await asyncio.sleep(0)
    store.gate.set()
    assert await first == "id-a"
    assert await rest["b"] == "id-b" and await rest["d"] == "id-d"
    with pytest.raises(ValueError, match="bad-c"):
        await rest["bad-c"]
    # the group failed whole, then each of its items was written alone
    assert store.statements == [["a"], ["b", "bad-c", "d"], ["b"], ["bad-c"], ["d"]]
    assert store.rows == ["a", "b", "d"]


async def test_each_committed_statement_tells_its_round_trip():
    # One time per statement that committed (the metric python -m bench intake reads as
    # ``group_write``); the group that failed whole, and the item that failed alone, none.
    times: list[float] = []
    store = Store()
    store.gate = asyncio.Event()
    writer = GroupWriter(store.write_many, max_group=8, in_flight=1, timed=times.append)
    first = asyncio.create_task(writer.write(CONN, "a"))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(writer.write(CONN, x)) for x in ("b", "bad-c", "d")]
    await asyncio.sleep(0.01)
    store.gate.set()
    await first
    await asyncio.gather(*rest, return_exceptions=True)
    assert store.statements == [["a"], ["b", "bad-c", "d"], ["b"], ["bad-c"], ["d"]]
    assert len(times) == 3 and all(t >= 0 for t in times)
    assert times[0] >= 0.009  # "a" waited at the gate: its time runs from the call to the answer


async def test_a_failing_item_written_alone_raises_its_own_error():
    store = Store()
    writer = GroupWriter(store.write_many, max_group=8, in_flight=2)
    with pytest.raises(ValueError, match="bad"):
        await writer.write(CONN, "bad")
    assert await writer.write(CONN, "ok") == "id-ok"  # the slot was given back


async def test_a_caller_that_gives_up_does_not_stop_the_others():
    store, writer, first = await _slot_taken()
    gone = asyncio.create_task(writer.write(CONN, "b"))
    kept = asyncio.create_task(writer.write(CONN, "c"))
    await asyncio.sleep(0)
    gone.cancel()
    store.gate.set()
    assert await first == "id-a" and await kept == "id-c"
    # the case of a request that went away is still written, as it would have been alone
    assert store.rows == ["a", "b", "c"]


async def test_items_of_different_connections_never_share_a_statement():
    store, writer, first = await _slot_taken()
    other = object()
    tasks = [asyncio.create_task(writer.write(c, x)) for c, x in ((CONN, "b"), (other, "c"), (CONN, "d"))]
    await asyncio.sleep(0)
    store.gate.set()
    await first
    assert [await t for t in tasks] == ["id-b", "id-c", "id-d"]
    assert store.statements == [["a"], ["b"], ["c"], ["d"]]


def test_limits_below_one_are_refused():
    with pytest.raises(ValueError):
        GroupWriter(Store().write_many, max_group=0, in_flight=2)
    with pytest.raises(ValueError):
        GroupWriter(Store().write_many, max_group=8, in_flight=0)
