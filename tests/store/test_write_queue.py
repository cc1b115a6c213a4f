"""The queue of the PostgreSQL store's writers: a key (a room) is in one batch at a time, its
writes taken in arrival order; other keys go to whichever writer is free; close drains."""

from __future__ import annotations

import asyncio

from parley.store.sql.batch import LockKey, Op
from parley.store.sql.write_queue import UNORDERED, WriteQueue


def op(key: LockKey, name: str) -> Op:
    loop = asyncio.get_running_loop()
    return Op(run=None, future=loop.create_future(), loop=loop, key=key, post=name)  # type: ignore[arg-type]


def names(batch: list[Op] | None) -> list[str]:
    assert batch is not None
    return [str(o.post) for o in batch]


async def test_a_held_key_waits_for_its_batch_and_others_do_not() -> None:
    writes = WriteQueue()
    room, other = (1, ""), (2, "")
    for item in (op(room, "r1"), op(room, "r2")):
        writes.put(item)
    first = await writes.take(10)
    assert names(first) == ["r1", "r2"]
    writes.put(op(room, "r3"))
    writes.put(op(other, "o1"))
    writes.put(op(room, "r4"))
    second = await writes.take(10)
    assert names(second) == ["o1"]  # the room is held by the first batch: not taken
    assert writes.qsize() == 2
    waiting = asyncio.create_task(writes.take(10))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # nothing free to take
    assert first is not None
    writes.done(first)
    assert names(await asyncio.wait_for(waiting, 1)) == ["r3", "r4"]  # in arrival order


async def test_max_batch_takes_a_prefix_and_unordered_writes_are_never_held() -> None:
    writes = WriteQueue()
    for n in range(5):
        writes.put(op((1, ""), f"r{n}"))
    assert names(await writes.take(3)) == ["r0", "r1", "r2"]
    writes.put(op(UNORDERED, "u1"))
    writes.put(op(UNORDERED, "u2"))
    assert names(await writes.take(1)) == ["u1"]
    assert names(await writes.take(10)) == ["u2"]  # (1, "") is held: r3, r4 wait
    assert writes.qsize() == 2


async def test_close_lets_queued_writes_finish_then_stops_every_writer() -> None:
    writes = WriteQueue()
    writes.put(op((1, ""), "r1"))
    batch = await writes.take(10)
    writes.put(op((1, ""), "r2"))
    writes.close()
    idle = asyncio.create_task(writes.take(10))
    await asyncio.sleep(0.01)
    assert not idle.done()  # r2 is still to come, after the held batch
    assert batch is not None
    writes.done(batch)
    last = await asyncio.wait_for(idle, 1)
    assert names(last) == ["r2"]
    assert last is not None
    writes.done(last)
    assert await asyncio.wait_for(writes.take(10), 1) is None
    assert await asyncio.wait_for(writes.take(10), 1) is None
