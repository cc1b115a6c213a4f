"""Stopping background tasks: cancel, and make sure the cancellation took.

A background loop (a heartbeat, a publisher, a sync) is stopped by cancelling its task and
waiting for it. That wait can hang for ever: a library may swallow the cancellation. redis-py
does, when it lands inside a command at the wrong moment (its own timeout handling consumes
the ``CancelledError``, the command returns normally, and the loop goes on to its next
``sleep``; redis/redis-py issues 2028 and 2551 describe the family). Seen here: closing a
:class:`~parley.presence.redis.RedisPresence` whose heartbeat was mid-command hung the close,
so a server's shutdown would hang with it. :func:`stop` therefore cancels again until the
task ends (the next cancel lands in the loop's ``sleep``, where nothing swallows it), and
gives up after ``grace`` seconds with a warning rather than hang.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

#: How long :func:`stop` waits between cancellations of a task that goes on: long enough for
#: the cleanup a cancellation starts (a ``finally`` that closes a connection) to end
#: undisturbed, short enough that a swallowed cancellation costs little.
RECANCEL_EVERY = 0.5


async def stop(task: asyncio.Task[Any] | None, grace: float = 5.0) -> None:
    """Cancel ``task`` and wait until it has ended, cancelling it again while it goes on, at
    most ``grace`` seconds; then leave it, logged. A failure it ended with is logged too (a
    loop's failure must not pass unseen); its cancellation is not raised here."""
    if task is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while not task.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.warning("the task %s did not stop within %.1f s of being cancelled", task, grace)
            return
        task.cancel()
        await asyncio.wait({task}, timeout=min(RECANCEL_EVERY, remaining))
    if not task.cancelled() and task.exception() is not None:
        log.error("the task %s failed", task.get_name(), exc_info=task.exception())
