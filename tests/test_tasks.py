"""``parley.tasks.stop``: a background task stops even when its cancellation is swallowed,
and stopping never hangs."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from parley.tasks import stop


async def test_a_task_that_swallows_its_first_cancellation_is_cancelled_again() -> None:
    swallowed = 0

    async def loop() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(0.01)  # as a library's timeout handling would
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.05)  # running
    started = time.monotonic()
    await stop(task, grace=5)
    assert task.cancelled()
    assert swallowed == 1
    assert time.monotonic() - started < 2


async def test_a_task_that_never_stops_is_left_after_the_grace_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stubborn = True

    async def loop() -> None:
        while True:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if not stubborn:
                    raise

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.02)  # running: a task cancelled before its first step just ends
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="parley.tasks"):
        await stop(task, grace=0.3)
    assert 0.3 <= time.monotonic() - started < 1.5
    assert not task.done()
    assert "did not stop within 0.3 s" in caplog.text
    stubborn = False  # the test's own clean-up
    await stop(task)
    assert task.cancelled()


async def test_a_failure_the_task_ended_with_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def failing() -> None:
        raise RuntimeError("the loop broke")

    task = asyncio.create_task(failing())
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="parley.tasks"):
        await stop(task)
    assert "the loop broke" in caplog.text


async def test_nothing_to_stop() -> None:
    await stop(None)
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    await stop(done)
