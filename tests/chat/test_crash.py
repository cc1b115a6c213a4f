"""Nothing acknowledged is ever lost: SIGKILL the server while clients send, restart it, and
every acked message is in the history and reaches resuming clients exactly once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

from tests.helpers.chat import Chat, register
from tests.helpers.process import ServerProcess


async def test_sigkill_while_sending_loses_no_acked_message(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_factory("serve")
    names = [f"sender{i}" for i in range(8)]
    tokens = {name: register(server.http_url, name) for name in names}
    reader_token = register(server.http_url, "reader")
    reader = await Chat.connect(server.ws_url, reader_token, stream=False)
    await reader.command("resume", rooms={"lobby": 0})
    seen: list[int] = []
    acked: dict[str, int] = {}  # cid -> seq

    async def drain_reader(chat: Chat) -> None:
        try:
            while True:
                event = await chat.next("event", 30, room="lobby")
                seen.append(event["seq"])
        except (TimeoutError, asyncio.CancelledError):
            return

    reading = asyncio.create_task(drain_reader(reader))

    async def sender(name: str) -> None:
        chat = await Chat.connect(server.ws_url, tokens[name])
        await chat.send_until_gone("lobby", name, acked, timeout=5)  # until the server dies

    senders = [asyncio.create_task(sender(name)) for name in names]
    while len(acked) < 150:
        await asyncio.sleep(0.02)
    server.signal(signal.SIGKILL)
    await asyncio.gather(*senders)
    reading.cancel()
    await reading
    assert server.wait() == -signal.SIGKILL
    assert len(acked) >= 150

    restarted = server_factory("serve")  # same folder, same parley.db
    checker = await Chat.connect(restarted.ws_url, reader_token, stream=False)
    stored = await checker.stored_texts("lobby")
    for cid, seq in acked.items():
        assert stored.get(seq) == cid, f"acked {cid} (seq {seq}) is missing after the crash"

    # The reader resumes from what it saw before the crash: every acked message exactly once.
    last_seen = seen[-1] if seen else 0
    resumed = await checker.command("resume", rooms={"lobby": last_seen})
    assert resumed["type"] == "resumed"
    top = max(stored)
    replay: list[int] = []
    while (replay[-1] if replay else last_seen) < top:
        replay.append((await checker.next("event", 10, room="lobby"))["seq"])
    combined = seen + replay
    assert combined == list(range(1, len(combined) + 1)), "gap or duplicate across the crash"
    assert set(acked.values()) <= set(combined)
    await checker.close()
