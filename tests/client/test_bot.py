"""The example bot (examples/bot.py), run as a real process against a real server."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from parley.client import Client, EventMessage
from tests.conftest import TEST_ENV
from tests.helpers.chat import register
from tests.helpers.process import OutputProcess, ServerProcess

BOT = Path(__file__).resolve().parents[2] / "examples" / "bot.py"


def load_bot() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_bot", BOT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start_bot(*args: str, token: str) -> OutputProcess:
    """examples/bot.py ARGS as a real process, signed in with ``token``."""
    return OutputProcess([sys.executable, str(BOT), *args], env={**TEST_ENV, "PARLEY_TOKEN": token})


def test_answer_is_pure() -> None:
    bot = load_bot()

    def event(**fields: object) -> EventMessage:
        base: dict[str, object] = {"room": "lobby", "seq": 1, "user": "alice", "ts": 0}
        return EventMessage(**{**base, **fields})  # type: ignore[arg-type]

    assert re.fullmatch(
        r"alice: it is \d\d:\d\d:\d\d UTC", bot.answer(event(kind="message", text="!time"), "bot")
    )
    assert bot.answer(event(kind="message", text="hello"), "bot") is None
    assert bot.answer(event(kind="join", user="bob"), "bot").startswith("Welcome to #lobby, bob!")
    assert bot.answer(event(kind="join", user="Bot"), "bot") is None


async def test_bot_answers_time_and_greets_newcomers(server: ServerProcess) -> None:
    bot_token = register(server.http_url, "timebot")
    alice_token = register(server.http_url, "alice")
    bot = start_bot(server.http_url, "--room", "lobby", token=bot_token)
    try:
        await asyncio.to_thread(bot.wait_for_line, "^bot ready", 30)
        assert bot.lines[-1].strip() == "bot ready: timebot in lobby", bot.lines
        async with Client(server.http_url, token=alice_token) as alice:
            await alice.send("lobby", "!time")
            answer = await _next_from_bot(alice)
            assert re.fullmatch(r"alice: it is \d\d:\d\d:\d\d UTC", answer), answer
            register(server.http_url, "carol")  # new accounts join the lobby
            greeting = await _next_from_bot(alice)
            assert greeting.startswith("Welcome to #lobby, carol!"), greeting
            await alice.send("lobby", "no command here")
            await alice.send("lobby", "!time")
            assert (await _next_from_bot(alice)).startswith("alice: it is")
    finally:
        code = await asyncio.to_thread(bot.stop)
    output = bot.output
    assert code == 0, output
    assert "Traceback" not in output


async def test_bot_with_a_bad_token_says_so_in_one_line(server: ServerProcess) -> None:
    bot = start_bot(server.http_url, token="wrong")
    try:
        code = await asyncio.to_thread(bot.wait, 30)
    finally:
        await asyncio.to_thread(bot.stop)
    output = bot.output
    assert code == 1
    assert output.strip() == (
        "bot: the server refused the session: invalid or expired session token"
    )


async def _next_from_bot(client: Client) -> str:
    async def find() -> str:
        async for event in client.events():
            if isinstance(event, EventMessage) and event.user == "timebot":
                return event.text or ""
        raise AssertionError("the event stream ended")

    return await asyncio.wait_for(find(), 20)
