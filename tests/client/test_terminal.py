"""``parley connect`` in a pseudo-terminal (pexpect), against real servers.

prompt_toolkit draws with escape sequences, so expectations match text that is written in one
piece (a printed line, the prompt and what is typed after it); whether a typed line survived is
checked where it matters, by what the other client receives.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import pexpect

from parley.client import Backoff, Client, EventMessage
from tests.helpers.chat import PASSWORD, register
from tests.helpers.process import ServerProcess

Terminal = Callable[..., pexpect.spawn]
CTRL_D = "\x04"


async def expect(child: pexpect.spawn, pattern: str | list[str], timeout: float = 30) -> int:
    """``child.expect`` without blocking the event loop (the library clients keep running)."""
    return await asyncio.to_thread(child.expect, pattern, timeout)


async def next_message(client: Client, timeout: float = 20, **match: object) -> EventMessage:
    async def find() -> EventMessage:
        async for event in client.events():
            if isinstance(event, EventMessage) and all(
                getattr(event, k) == v for k, v in match.items()
            ):
                return event
        raise AssertionError("the event stream ended")

    return await asyncio.wait_for(find(), timeout)


async def test_chat_with_another_client(server: ServerProcess, terminal: Terminal) -> None:
    register(server.http_url, "alice")
    bob_token = register(server.http_url, "bob")
    async with Client(server.http_url, token=bob_token) as bob:
        await bob.create("games")
        await bob.send("games", "anyone for dice?")
        child = terminal("connect", server.http_url, "--user", "alice")
        await expect(child, "Password: ")
        child.sendline(PASSWORD)
        await expect(child, r"signed in as alice on ws://127\.0\.0\.1:\d+/ws")
        await expect(child, "#lobby>")

        # Messages both ways.
        await bob.send("lobby", "hello alice")
        await expect(child, "<bob> hello alice")
        child.sendline("hi bob")
        assert (await next_message(bob, user="alice")).text == "hi bob"

        # A message arrives while a line is half typed: it is printed above the prompt, the
        # prompt is drawn again with the half-typed line, and finishing the line sends it all.
        await expect(child, "#lobby>")
        child.send("half typed")
        await expect(child, "half typed")
        await bob.send("lobby", "interrupting you")
        await expect(child, "<bob> interrupting you")
        await expect(child, "#lobby> half typed")
        child.sendline(" and finished")
        assert (await next_message(bob, user="alice")).text == "half typed and finished"

        # Commands, with Tab completion of the command and of the room name.
        # (Completion runs in the background: wait for it before typing on.)
        child.send("/jo\t")
        await expect(child, "/join")
        child.send(" ga\t")
        await expect(child, "games")
        child.send("\r")
        await expect(child, r"you are in #games")
        await expect(child, "#games>")
        child.sendline("/who")
        await expect(child, r"#games: (alice \(online\), bob \(online\)|bob \(online\), alice)")
        child.sendline("/history 5")
        await expect(child, r"--- the last \d+ events of #games ---")
        await expect(child, r"#\d+ \d\d:\d\d #games <bob> anyone for dice\?")
        child.sendline("dcie!")
        assert (await next_message(bob, room="games", kind="message")).text == "dcie!"
        child.sendline("/edit dice!")
        edit = await next_message(bob, room="games", kind="edit")
        assert edit.text == "dice!"
        await expect(child, r"\* alice edited #\d+: dice!")
        child.send("/dm bo\t")
        await expect(child, "bob")
        child.sendline(" private word")
        dm = await next_message(bob, user="alice", text="private word")
        assert dm.room == "dm:alice:bob"
        await expect(child, "@bob>")
        child.sendline("/rooms")
        await expect(child, r"#games +\(member\)")
        child.sendline("/rooms GAM")  # a filter, any case
        await expect(child, r"#games +\(member\)")
        child.sendline("/rooms nothing-like-it")
        await expect(child, r"\* no room matches")
        child.sendline("/rooms 50%")
        await expect(child, "a filter is part of a room name")
        child.sendline("/rooms +")
        await expect(child, "no more rooms")
        child.sendline("/search dice in:games ")  # matches marked, each on its line
        await expect(child, r"\[2\] \S+ \d\d:\d\d #games #\d+ <bob> anyone for \[dice\]\?")
        await expect(child, r"\[1\] \S+ \d\d:\d\d #games #\d+ <alice> \[dice\]!")
        # Jump to a result: the messages around it, the result marked.
        child.sendline("/context 2")
        await expect(child, r"--- result 2 in #games ---")
        await expect(child, r"> \d\d:\d\d #games <bob> anyone for dice\?")
        await expect(child, r"  \d\d:\d\d #games <alice> dice!")
        child.sendline("/context 9")
        await expect(child, r"usage: /context N, N from 1 to 2")
        child.sendline("/context x")
        await expect(child, r"usage: /context N, N from 1 to 2")
        child.sendline('/search "unclosed')
        await expect(child, r"! .*a quote \(\"\) is not closed")
        child.sendline("/search zzzzzz ")
        await expect(child, r"\* nothing found for zzzzzz")
        child.sendline("/nonsense")
        await expect(child, "unknown command /nonsense")
        child.sendline("/quit")
        await expect(child, pexpect.EOF)
        child.close()
        assert child.exitstatus == 0


async def test_mentions_are_marked_completed_and_listed(
    server: ServerProcess, terminal: Terminal
) -> None:
    register(server.http_url, "alice")
    bob_token = register(server.http_url, "bob")
    async with Client(server.http_url, token=bob_token) as bob:
        child = terminal("connect", server.http_url, "--user", "alice")
        await expect(child, "Password: ")
        child.sendline(PASSWORD)
        await expect(child, "#lobby>")
        await bob.send("lobby", "plain words")
        await expect(child, r"\d\d:\d\d #lobby <bob> plain words")  # no mark
        await bob.send("lobby", "look @Alice")
        await expect(child, r"» \d\d:\d\d #lobby <bob> look @Alice")
        # @ completes members' names (and @room).
        child.send("thanks @bo\t")
        # The completion is drawn whole or as the one missing letter after the typed ones.
        await expect(child, r"@bo(?:\x1b\[[0-9;?]*[A-Za-z])*b")
        child.send("\r")
        said = await next_message(bob, user="alice")
        assert (said.text, said.mentions) == ("thanks @bob", ["bob"])
        child.sendline("/mentions")
        await expect(child, "the latest 1 message that mentions you")
        await expect(child, r"» \d\d:\d\d #lobby <bob> look @Alice")
        child.sendline("/quit")
        await expect(child, pexpect.EOF)
        child.close()


async def test_replies_threads_reactions_pins_and_formatting(
    server: ServerProcess, terminal: Terminal
) -> None:
    register(server.http_url, "alice")
    bob_token = register(server.http_url, "bob")
    async with Client(server.http_url, token=bob_token) as bob:
        child = terminal("connect", server.http_url, "--user", "alice")
        await expect(child, "Password: ")
        child.sendline(PASSWORD)
        await expect(child, "#lobby>")
        root = await bob.send("lobby", "**deploy** now? `rm -rf`")
        await expect(child, r"<bob> deploy now\? `rm -rf`")  # formatted, code kept
        child.sendline(f"/reply #{root.mid} after *lunch*")
        reply = await next_message(bob, user="alice", thread=root.mid)
        assert reply.text == "after *lunch*"  # the source, unchanged
        await expect(child, rf"<alice> ↳#{root.mid} after lunch")
        await bob.reply("lobby", root.mid, "ok", broadcast=True)
        await expect(child, rf"<bob> ↳#{root.mid} \(also in the room\) ok")
        child.sendline(f"/react #{root.mid} 👍")
        assert (await next_message(bob, kind="reaction")).emoji == "👍"
        await expect(child, rf"alice reacted 👍 to #{root.mid}")
        child.sendline(f"/react #{root.mid} 👍")  # again: taken back
        assert (await next_message(bob, kind="reaction")).removed is True
        child.sendline(f"/react #{root.mid} not-an-emoji")
        await expect(child, "emoji must be one emoji")
        await bob.pin("lobby", root.mid)
        await expect(child, rf"bob pinned #{root.mid}")
        child.sendline(f"/thread #{root.mid}")
        await expect(child, rf"the thread of #{root.mid} \(you follow it\)")  # replied
        await expect(child, "after lunch")
        child.sendline("/threads")
        await expect(child, rf"#lobby #{root.mid} <bob> deploy now\?.*2 replies")
        child.sendline("/pin")
        await expect(child, rf"#{root.mid} .*<bob> deploy now.*pinned")
        await bob.edit("lobby", root.mid, "deploy at 2")
        child.sendline(f"/versions #{root.mid}")
        await expect(child, rf"the versions of #{root.mid}")
        await expect(child, "<bob> deploy at 2")
        child.sendline("/reply 12")
        await expect(child, "usage: /reply")
        child.sendline("/quit")
        await expect(child, pexpect.EOF)
        child.close()


async def test_the_chat_survives_a_server_restart(
    server_factory: Callable[..., ServerProcess], terminal: Terminal
) -> None:
    first = server_factory("serve")
    alice_token = register(first.http_url, "alice")
    bob_token = register(first.http_url, "bob")
    child = terminal("connect", first.http_url, env={"PARLEY_TOKEN": alice_token})
    await expect(child, "#lobby>")
    await asyncio.to_thread(first.stop)
    await expect(child, r"connection lost \(1001\)")
    server_factory("serve", "--port", str(first.port))
    await expect(child, "reconnected")
    async with Client(first.http_url, token=bob_token, backoff=Backoff(initial=0.1)) as bob:
        await bob.send("lobby", "welcome back")
        await expect(child, "<bob> welcome back")
        child.sendline("glad to be here")
        assert (await next_message(bob, user="alice")).text == "glad to be here"
    child.send(CTRL_D)
    await expect(child, pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


async def test_raw_mode_against_parley_echo(echo_server: ServerProcess, terminal: Terminal) -> None:
    child = terminal("connect", "--raw", echo_server.ws_url)
    await expect(child, ">")
    child.sendline("hello")
    await expect(child, "We received your hello")
    child.sendline("ünïcødé ✓")
    await expect(child, "We received your ünïcødé ✓")
    child.send(CTRL_D)
    await expect(child, pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    echo_server.wait_for_count("Client disconnected", 1)


async def test_trace_shows_the_handshake_the_frames_and_the_close(
    echo_server: ServerProcess, terminal: Terminal
) -> None:
    child = terminal("connect", "--raw", "--trace", echo_server.ws_url)
    await expect(child, r"> GET / HTTP/1\.1")
    await expect(child, r"> Sec-WebSocket-Key: \S+==")
    await expect(child, r"< HTTP/1\.1 101 Switching Protocols")
    await expect(child, r"< Sec-WebSocket-Accept: \S+=")
    await expect(child, "Sec-WebSocket-Accept matches our key")
    await expect(child, ">")
    child.sendline("hi")
    await expect(child, r'>> TEXT +fin=1 masked=1 len=2 key=[0-9a-f]{8} "hi"')
    await expect(child, r'<< TEXT +fin=1 masked=0 len=19 "We received your hi"')
    await expect(child, "We received your hi")
    child.send(CTRL_D)
    await expect(
        child, r">> CLOSE +fin=1 masked=1 len=2 key=[0-9a-f]{8} code=1000 \(normal closure\)"
    )
    await expect(child, r"<< CLOSE +fin=1 masked=0 len=2 code=1000 \(normal closure\)")
    await expect(child, r"connection closed: 1000 \(normal closure\)")
    await expect(child, pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


async def test_trace_in_chat_mode_shows_the_subprotocol_and_hides_the_token(
    server: ServerProcess, terminal: Terminal
) -> None:
    token = register(server.http_url, "alice")
    child = terminal("connect", "--trace", server.http_url, "--token", token)
    await expect(child, r"> GET /ws HTTP/1\.1")
    await expect(child, r"> Sec-WebSocket-Protocol: parley\.v1")
    await expect(child, r"> Authorization: Bearer \*\*\*")
    await expect(child, r"< Sec-WebSocket-Protocol: parley\.v1")
    await expect(child, r'<< TEXT +fin=1 masked=0 len=\d+ "\{"type":"welcome"')
    await expect(child, r'>> TEXT +fin=1 masked=1 len=\d+ key=\w+ "\{"type":"resume"')
    await expect(child, "#lobby>")
    child.sendline("/quit")
    await expect(child, r">> CLOSE .*code=1000")
    await expect(child, pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert token not in "".join(child.logfile_read.into)


async def test_server_going_away_in_raw_mode_is_one_line_and_exit_1(
    echo_server: ServerProcess, terminal: Terminal
) -> None:
    child = terminal("connect", "--raw", echo_server.ws_url)
    await expect(child, ">")
    child.sendline("still there?")
    await expect(child, "We received your still there?")
    echo_server.signal(signal.SIGTERM)
    await expect(child, r"parley: the server closed the connection: 1001 \(going away\)")
    await expect(child, pexpect.EOF)
    child.close()
    assert child.exitstatus == 1


async def test_rooms_page_by_page(
    server_factory: Callable[..., ServerProcess], terminal: Terminal
) -> None:
    server = server_factory("serve", "--rate-limit", "1000", "--rate-burst", "1000")
    admin_token = register(server.http_url, "admin")  # the first account: no room quota
    async with Client(server.http_url, token=admin_token) as admin:
        for n in range(60):
            await admin.create(f"room-{n:02d}")
    child = terminal("connect", server.http_url, env={"PARLEY_TOKEN": admin_token})
    await expect(child, "#lobby>")
    child.sendline("/rooms ROOM-")
    await expect(child, r"#room-49 +\(member\)")
    await expect(child, r"\* more rooms: /rooms \+ shows the next page")
    child.sendline("/rooms +")
    await expect(child, r"#room-50 +\(member\)")
    await expect(child, r"#room-59 +\(member\)")
    child.sendline("/rooms +")
    await expect(child, "no more rooms")
    child.sendline("/quit")
    await expect(child, pexpect.EOF)
