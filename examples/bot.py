"""A Parley bot: it answers ``!time`` and welcomes people who join its rooms.

    PARLEY_TOKEN=... python examples/bot.py http://127.0.0.1:8080 --room lobby
    python examples/bot.py http://127.0.0.1:8080 --user timebot --password-stdin < secret

Everything hard is the client library's job: if the server restarts, the bot reconnects and
resumes, so it sees every ``!time`` and every join exactly once, even those that happened
while it was away. A bot only has to react to events.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from datetime import UTC, datetime

from parley.client import Client, ClientError, EventMessage


def answer(event: EventMessage, me: str) -> str | None:
    """What the bot says in reply to ``event`` (``None``: nothing). Kept free of I/O so the
    bot's behaviour can be read, and tested, on its own."""
    if event.user.lower() == me.lower():
        return None  # never answer ourselves
    if event.kind == "message" and (event.text or "").strip() == "!time":
        now = datetime.now(UTC).strftime("%H:%M:%S")
        return f"{event.user}: it is {now} UTC"
    if event.kind == "join":
        return f"Welcome to #{event.room}, {event.user}! Say !time and I will tell you the time."
    return None


async def run(client: Client, rooms: list[str]) -> None:
    async with client:
        assert client.user is not None
        me = client.user.name
        for room in rooms:
            await client.join(room)
        print(f"bot ready: {me} in {', '.join(rooms)}", flush=True)
        async for event in client.events():
            if isinstance(event, EventMessage):
                reply = answer(event, me)
                if reply is not None:
                    await client.send(event.room, reply)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--room", action="append", help="a room to be in (repeatable)")
    parser.add_argument("--user", help="sign in as USER (else PARLEY_TOKEN is used)")
    parser.add_argument("--password-stdin", action="store_true", help="read the password")
    args = parser.parse_args()
    token = os.environ.get("PARLEY_TOKEN")
    if args.user:
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
        if not password:
            parser.error("--user needs --password-stdin")
        client = Client(args.url, username=args.user, password=password)
    elif token:
        client = Client(args.url, token=token)
    else:
        parser.error("set PARLEY_TOKEN or use --user NAME --password-stdin")

    async def supervised() -> None:
        # SIGTERM (a service manager stopping us) ends the bot like Ctrl-C: cleanly.
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await run(client, args.room or ["lobby"])

    try:
        asyncio.run(supervised())
    except KeyboardInterrupt:
        pass
    except ClientError as error:
        print(f"bot: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
