"""``parley connect`` chat mode: a signed-in terminal chat over :class:`~parley.client.Client`.

Lines without a leading ``/`` go to the current room (``//text`` sends ``/text``); commands
are listed in :data:`COMMANDS`. Events print above the prompt as they arrive (see
:mod:`parley.client.console`); the connection's ups and downs are shown as remarks while the
client reconnects on its own. Sends run in the background, so the prompt is back at once and
a slow ack never holds up typing; they still leave in the order typed.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from parley.client.client import Client
from parley.client.console import Console
from parley.client.errors import ClientError, CommandError
from parley.client.events import ClientEvent, Connected, Disconnected, Reconnecting
from parley.client.formatting import render
from parley.client.moderating import MODERATION_COMMANDS, describe_moderation, moderate
from parley.client.sanitize import safe
from parley.files.sizes import readable
from parley.protocol import messages as m
from parley.protocol.mentions import ROOM_MENTION

#: name → (arguments, what it does)
COMMANDS = {
    "/join": ("ROOM", "join ROOM, or switch to it"),
    "/leave": ("[ROOM]", "leave ROOM (this room by default)"),
    "/rooms": ("[FILTER | +]", "list the rooms whose name holds FILTER (+: the next page)"),
    "/who": ("[ROOM]", "who is in ROOM and who is online"),
    "/dm": ("USER [TEXT]", "talk with USER in a direct room"),
    "/history": ("[N]", "show the last N events of this room (20 by default)"),
    "/mentions": ("", "show the latest messages that mention you"),
    "/edit": ("[#MID] TEXT", "change your last message here (or message MID)"),
    "/reply": ("#MID [+]TEXT", "reply in the thread of message MID (+: in the room too)"),
    "/thread": ("#MID", "show the thread of message MID"),
    "/threads": ("", "list the threads you follow, with their unread replies"),
    "/react": ("#MID EMOJI", "react to message MID (👍 or :name:); again to take it back"),
    "/pin": ("#MID", "pin message MID to this room (/pin lists the pins)"),
    "/unpin": ("#MID", "unpin message MID"),
    "/versions": ("#MID", "show every version of message MID"),
    "/upload": ("PATH [TEXT]", "send the file at PATH to this room (with TEXT)"),
    "/search": ("QUERY", 'find messages: words, "a phrase", from:USER, in:ROOM, has:link'),
    "/context": ("N", "show search result N among the messages around it"),
    **MODERATION_COMMANDS,
    "/help": ("", "show this list"),
    "/quit": ("", "leave (Ctrl-D does too)"),
}
#: How many events ``/context`` shows around a search result (it included).
CONTEXT_EVENTS = 11
_ROOM_ARG = frozenset(("/join", "/leave", "/who", "/history"))
_USER_ARG = frozenset(("/dm", *(name for name in MODERATION_COMMANDS if name != "/settings")))


@dataclass
class ChatState:
    """What the terminal remembers besides the client: current room, names for completion."""

    me: str = ""
    room: str | None = None
    users: set[str] = field(default_factory=set)
    known_rooms: set[str] = field(default_factory=set)
    last_mid: dict[str, int] = field(default_factory=dict)
    #: (room, mid, emoji) of this user's reactions seen: ``/react`` again takes one back.
    reacted: set[tuple[str, int, str]] = field(default_factory=set)
    online: dict[str, bool] = field(default_factory=dict)

    def label(self, room: str) -> str:
        """``#lobby``, or ``@bob`` for the direct room with bob."""
        if room.startswith("dm:"):
            others = [name for name in room.split(":")[1:] if name != self.me.lower()]
            return "@" + (others[0] if others else self.me)
        return f"#{room}"

    def prompt(self) -> str:
        return f"{self.label(self.room)}> " if self.room else "> "


class ChatCompleter(Completer):
    """Tab completes command names, then rooms or users as the command expects, and user
    names in ordinary text (``@al`` completes to ``@alice``, ``@ro`` to ``@room``)."""

    def __init__(self, state: ChatState) -> None:
        self.state = state

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        text = document.text_before_cursor
        if text.startswith("/") and " " not in text:
            yield from _complete(text, COMMANDS)
            return
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            if " " in rest:
                return
            if command in _ROOM_ARG:
                yield from _complete(rest, self.state.known_rooms)
            elif command in _USER_ARG:
                yield from _complete(rest, self.state.users - {self.state.me})
            return
        word = text.rsplit(" ", 1)[-1]
        if word.startswith("@"):
            names = {"@" + name for name in self.state.users - {self.state.me}} | {ROOM_MENTION}
            yield from _complete(word, names)
        elif word:
            yield from _complete(word, self.state.users)


def _complete(word: str, candidates: Iterable[str]) -> Iterator[Completion]:
    lowered = word.lower()
    for candidate in sorted(candidates):
        if candidate.lower().startswith(lowered) and candidate != word:
            yield Completion(candidate, start_position=-len(word))


def _clock(ts: int) -> str:
    return time.strftime("%H:%M", time.localtime(ts / 1000))


def describe_result(result: m.SearchResult, state: ChatState, number: int) -> str:
    """One search result as a line: its ``number`` (for ``/context``), where, when, who, and
    the text with its matches in ``[brackets]`` (each piece made safe on its own, so the
    ranges stay right), then its files as a message shows them."""
    pieces, at = [], 0
    for start, end in result.highlight:
        pieces += [safe(result.text[at:start]), "[", safe(result.text[start:end]), "]"]
        at = end
    pieces.append(safe(result.text[at:]))
    text = "".join(pieces).replace("\n", "\n      ")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(result.ts / 1000))
    head = f"[{number}] {when} {state.label(result.room)} #{result.mid} <{result.user}> {text}"
    return head + describe_files(result.files or [])


def mentions_me(event: m.EventMessage, me: str) -> bool:
    """Whether a message (or an edit that added the mention) names ``me``, or everyone."""
    if event.user.lower() == me.lower():
        return False
    names = event.mentions_added if event.kind == "edit" else event.mentions
    return any(name.lower() in (me.lower(), ROOM_MENTION) for name in names or ())


def _summary(event: m.EventMessage) -> str:
    """What a message read back carries besides its text: replies, reactions, pinned."""
    marks = []
    if event.replies:
        marks.append(
            f"{event.replies} repl{'y' if event.replies == 1 else 'ies'}: /thread #{event.mid}"
        )
    marks += [f"{safe(r.emoji)} {r.count}" for r in event.reactions or ()]
    if event.pinned:
        marks.append("pinned")
    return f"  [{', '.join(marks)}]" if marks else ""


def describe_files(files: list[m.FileInfo]) -> str:
    """A message's files, after its text: name, size, and where to fetch each."""
    shown = [
        f"[file: {safe(f.name)}, {readable(f.size)}, /files/{f.id}/{quote(f.name, safe='')}]"
        for f in files
    ]
    return "".join(" " + line for line in shown)


def _member(name: str, who: m.WhoReply) -> str:
    """A member in ``/who``: the name, the display name in quotes, whether online."""
    profile = (who.profiles or {}).get(name)
    shown = f'{name} "{safe(profile.display_name)}"' if profile and profile.display_name else name
    return f"{shown} (online)" if name in who.online else shown


def _expand(path: str) -> str:
    """``~/x`` as the shell would say it."""
    return os.path.expanduser(path)


def describe_event(event: m.EventMessage, state: ChatState) -> str:
    """One room event as a line of the terminal (multi-line messages are indented); a
    message that mentions the reader starts with ``»`` (and is shown highlighted)."""
    where = state.label(event.room)
    head = f"{_clock(event.ts)} {where}"
    if mentions_me(event, state.me):
        head = f"» {head}"
    text = render(safe(event.text or "")).replace("\n", "\n      ")
    match event.kind:
        case "message" if event.thread is not None:
            shown = "(also in the room) " if event.broadcast else ""
            files = describe_files(event.files or [])
            return f"{head} <{event.user}> ↳#{event.thread} {shown}{text}{files}"
        case "message":
            return (
                f"{head} <{event.user}> {text}{describe_files(event.files or [])}{_summary(event)}"
            )
        case "reaction" if event.removed:
            return f"{head} * {event.user} took back {safe(event.emoji or '')} on #{event.mid}"
        case "reaction":
            return f"{head} * {event.user} reacted {safe(event.emoji or '')} to #{event.mid}"
        case "pin":
            return f"{head} * {event.user} pinned #{event.mid}"
        case "unpin":
            return f"{head} * {event.user} unpinned #{event.mid}"
        case "edit":
            return f"{head} * {event.user} edited #{event.mid}: {text}"
        case "delete":
            return f"{head} * {event.user} deleted message #{event.mid}"
        case "join" if event.by:
            return f"{head} * {event.by} added {event.user}"
        case "join":
            return f"{head} * {event.user} joined"
        case "leave":
            return f"{head} * {event.user} left"
        case "topic":
            return f"{head} * {event.user} set the topic: {text}"
        case "rename":
            return f"{head} * the room was renamed from #{safe(event.previous or '')} to #{text}"
        case "archive":
            return f"{head} * the room was archived: it can be read, not written"
        case "unarchive":
            return f"{head} * the room is open again"
        case _ if (said := describe_moderation(event)) is not None:
            return f"{head} * {said}"
        case _:
            return f"{head} * {event.user}: {event.kind}"


class ChatMode:
    """The chat session: reads lines, runs commands, prints events."""

    def __init__(self, client: Client, console: Console, state: ChatState) -> None:
        self.client = client
        self.console = console
        self.state = state
        self._sends: set[asyncio.Task[None]] = set()
        #: Where ``/rooms +`` goes on: the filter and the last room listed (None: at the end).
        self._rooms_next: tuple[str, str] | None = None
        #: The last search's results, numbered from 1 as printed, for ``/context N``.
        self._found: list[m.SearchResult] = []

    async def run(self, initial_room: str | None) -> ClientError | None:
        """Until ``/quit`` or the end of input; returns the error that ended the client, if
        one did."""
        self._adopt_rooms()
        room = initial_room or ("lobby" if "lobby" in self.client.rooms else None)
        room = room or next(iter(self.client.rooms), None)
        user = self.client.user.name if self.client.user else "?"
        self.console.note(
            f"* signed in as {user} on {self.client.url.ws_url}; "
            f"your rooms: {', '.join(self.state.label(r) for r in self.client.rooms) or 'none'}"
        )
        if room is not None:
            await self._join(room)
        # For Tab: the names of the rooms one could join, not only those one is in.
        first = await self.client.rooms_page(limit=100)
        self.state.known_rooms.update(info.name for info in first.rooms)
        self.console.note("* type a message, or /help for commands")
        printer = asyncio.create_task(self._print_events())
        try:
            while True:
                line = await self.console.read_line(self.state.prompt())
                if line is None or printer.done():
                    break
                if not await self.handle(line):
                    break
        finally:
            if self._sends:
                await asyncio.wait(self._sends, timeout=5)
            ended_by_server = printer.done()
            await self.client.close()
            error = await printer
        if ended_by_server and error is None:
            self.console.note("* the server closed the connection")
        return error

    def _adopt_rooms(self) -> None:
        if self.client.user:
            self.state.me = self.client.user.name
        self.state.known_rooms.update(self.client.rooms)
        for info in self.client.rooms.values():
            self.state.users.update(info.members)

    async def _print_events(self) -> ClientError | None:
        try:
            async for event in self.client.events():
                self.show(event)
        except ClientError as error:
            self.console.interrupt()
            return error
        self.console.interrupt()
        return None

    # -- output ------------------------------------------------------------------------------

    def show(self, event: ClientEvent) -> None:
        state, console = self.state, self.console
        match event:
            case m.EventMessage():
                state.users.add(event.user)
                state.known_rooms.add(event.room)
                style = "bold ansiyellow" if mentions_me(event, state.me) else ""
                console.write(describe_event(event, state), style)
                if event.kind == "reaction" and event.user == state.me and event.mid:
                    key = (event.room, event.mid, event.emoji or "")
                    if event.removed:
                        state.reacted.discard(key)
                    else:
                        state.reacted.add(key)
                if event.kind == "rename" and event.text:
                    state.known_rooms.discard(event.room)
                    state.known_rooms.add(event.text)
                    if state.room == event.room:
                        state.room = event.text
            case m.RoomChanged(room=info) if info.member:
                state.known_rooms.add(info.name)
                state.users.update(info.members)
                if info.kind == "direct":
                    other = state.label(info.name)[1:]
                    console.note(f"* {other} opened a direct room with you: /dm {other} to reply")
                else:
                    console.note(f"* you are now a member of {state.label(info.name)}")
            case m.RoomChanged(room=info, removed=True):
                console.note(f"* {state.label(info.name)} was deleted, with its history")
                state.known_rooms.discard(info.name)
                if state.room == info.name:
                    state.room = None
            case m.RoomChanged(room=info):
                console.note(f"* you are no longer a member of {state.label(info.name)}")
                if state.room == info.name:
                    state.room = None
            case m.Presence():
                state.users.add(event.user)
                if state.online.get(event.user) != event.online:
                    state.online[event.user] = event.online
                    if event.user != state.me:
                        status = "online" if event.online else "offline"
                        console.note(f"* {event.user} is {status}")
            case m.Error():
                console.write(f"! {safe(event.message)}", "ansired")
            case Connected(reconnected=True):
                console.note("* reconnected; nothing was missed")
            case Disconnected():
                console.note(f"* connection lost ({event.code}): reconnecting…")
            case Reconnecting(attempt=attempt, delay=delay) if attempt > 1:
                console.note(f"* still disconnected ({event.error}); next try in {delay:.0f} s")
            case _:
                pass

    def _error(self, text: str) -> None:
        self.console.write(f"! {text}", "ansired")

    # -- input -------------------------------------------------------------------------------

    async def handle(self, line: str) -> bool:
        """Run one typed line; False means quit."""
        if not line.strip():
            return True
        if line.startswith("//"):
            self._send(line[1:])
            return True
        if not line.startswith("/"):
            self._send(line)
            return True
        command, _, rest = line.partition(" ")
        rest = rest.strip()
        if command == "/quit":
            return False
        try:
            await self._run(command.lower(), rest)
        except ClientError as error:
            self._error(str(error))
        return True

    async def _run(self, command: str, rest: str) -> None:
        state = self.state
        match command:
            case "/help":
                for name, (args, what) in COMMANDS.items():
                    self.console.note(f"  {(name + ' ' + args).strip():<22} {what}")
            case "/join" if rest:
                await self._join(rest.split()[0].lstrip("#"))
            case "/leave":
                room = rest.lstrip("#") or state.room
                if room is None:
                    self._error("you are in no room")
                    return
                info = await self.client.leave(room)
                self.console.note(f"* you left {state.label(info.name)}")
                if state.room == info.name:
                    state.room = next(iter(self.client.rooms), None)
            case "/rooms":
                await self._rooms(rest.strip())
            case "/who":
                room = rest.lstrip("#") or state.room
                if room is None:
                    self._error("usage: /who ROOM")
                    return
                who = await self.client.who(room)
                state.users.update(who.members)
                shown = [_member(name, who) for name in who.members]
                self.console.write(f"{state.label(who.room)}: {', '.join(shown)}")
            case "/dm" if rest:
                user, _, text = rest.partition(" ")
                info = await self.client.dm(user.lstrip("@"))
                state.room = info.name
                state.users.update(info.members)
                self.console.note(f"* talking with {state.label(info.name)}")
                if text.strip():
                    self._send(text)
            case "/history":
                await self._history(rest)
            case "/edit" if rest:
                await self._edit(rest)
            case "/search" if rest:
                await self._search(rest)
            case "/context" if rest:
                await self._context(rest.strip())
            case "/mentions":
                await self._mentions()
            case "/reply" | "/thread" | "/react" | "/pin" | "/unpin" | "/versions" | "/threads":
                await self._about_message(command, rest)
            case "/upload" if rest:
                await self._upload(rest)
            case _ if command in MODERATION_COMMANDS:
                if state.room is None:
                    self._error("you are in no room")
                    return
                self.console.note(await moderate(self.client, state.room, command, rest))
            case _ if command in COMMANDS:
                args, _what = COMMANDS[command]
                self._error(f"usage: {command} {args}")
            case _:
                self._error(f"unknown command {command}: /help lists them")

    async def _upload(self, rest: str) -> None:
        """``/upload PATH [TEXT]``: upload the file, then send it (with TEXT) here."""
        room = self.state.room
        if room is None:
            self._error("join a room first: /join ROOM")
            return
        path, _, text = rest.partition(" ")
        uploaded = await self.client.upload(_expand(path))
        self.console.note(f"* uploaded {safe(uploaded.name)} ({readable(uploaded.size)})")
        await self.client.send(room, text.strip(), files=[uploaded.id])

    async def _join(self, room: str) -> None:
        info = await self.client.join(room)
        self.state.room = info.name
        self.state.known_rooms.add(info.name)
        topic = f" — {safe(info.topic)}" if info.topic else ""
        self.console.note(f"* you are in {self.state.label(info.name)}{topic}")

    async def _rooms(self, rest: str) -> None:
        """One page of rooms: ``/rooms FILTER`` starts a listing, ``/rooms +`` goes on."""
        if rest == "+":
            if self._rooms_next is None:
                self._error("no more rooms: /rooms [FILTER] lists them from the start")
                return
            query, after = self._rooms_next
        else:
            query, after = rest.lstrip("#"), None
        try:
            page = await self.client.rooms_page(query, after=after)
        except CommandError as exc:
            if exc.code != "bad_request":
                raise
            self._error("a filter is part of a room name: letters, digits, _ - . :")
            return
        self._rooms_next = (query, page.next) if page.more and page.next else None
        if not page.rooms:
            self.console.note("* no room matches" if query else "* no rooms")
        for info in page.rooms:
            self.state.known_rooms.add(info.name)
            marks = ["member" if info.member else info.kind]
            if info.unread:
                marks.append(f"{info.unread} unread")
            topic = f" — {safe(info.topic)}" if info.topic else ""
            self.console.write(f"{self.state.label(info.name):<24} ({', '.join(marks)}){topic}")
        if self._rooms_next is not None:
            self.console.note("* more rooms: /rooms + shows the next page")

    async def _history(self, rest: str) -> None:
        room = self.state.room
        if room is None:
            self._error("join a room first: /join ROOM")
            return
        try:
            count = int(rest) if rest else 20
        except ValueError:
            self._error("usage: /history [N]")
            return
        reply = await self.client.history(room, limit=max(1, min(count, 100)))
        label = self.state.label(room)
        self.console.note(f"--- the last {len(reply.events)} events of {label} ---")
        for event in reply.events:
            self.state.users.add(event.user)
            mid = f"#{event.mid} " if event.mid else ""
            self.console.write(f"{mid}{describe_event(event, self.state)}")
        self.console.note("---")

    async def _search(self, query: str) -> None:
        reply = await self.client.search(query)
        self._found = list(reply.results)
        if not reply.results:
            self.console.note(f"* nothing found for {safe(query)}")
        # Oldest first, the newest by the prompt; numbered newest first as the server ranks.
        for number, result in reversed(list(enumerate(reply.results, 1))):
            self.state.users.add(result.user)
            self.console.write(describe_result(result, self.state, number))
        if reply.more:
            shown = len(reply.results)
            self.console.note(f"* the newest {shown}; narrow it (in:ROOM, before:DATE)")
        if reply.pending:
            self.console.note(f"* {reply.pending} newest messages are not searchable yet")
        if reply.results:
            self.console.note("* /context N shows result N among the messages around it")

    async def _context(self, rest: str) -> None:
        """Search result ``rest`` (its number) in its room's history: the events around it,
        the result marked with ``>``: the terminal's "jump to the message"."""
        number = int(rest) if rest.isdigit() else 0
        if not 1 <= number <= len(self._found):
            if not self._found:
                self._error("search first: /search QUERY, then /context N")
            else:
                self._error(f"usage: /context N, N from 1 to {len(self._found)}")
            return
        found = self._found[number - 1]
        reply = await self.client.history_around(found.room, found.seq, limit=CONTEXT_EVENTS)
        label = self.state.label(found.room)
        self.console.note(f"--- result {number} in {label} ---")
        for event in reply.events:
            self.state.users.add(event.user)
            mark = "> " if event.seq == found.seq else "  "
            self.console.write(f"{mark}{describe_event(event, self.state)}")
        self.console.note("---")

    async def _mentions(self) -> None:
        reply = await self.client.mentions(limit=20)
        if not reply.events:
            self.console.note("* nobody has mentioned you")
            return
        count = len(reply.events)
        what = "message that mentions" if count == 1 else "messages that mention"
        self.console.note(f"--- the latest {count} {what} you ---")
        for event in reversed(reply.events):
            self.console.write(describe_event(event, self.state))

    async def _about_message(self, command: str, rest: str) -> None:
        """The commands about one message (``#MID``): threads, reactions, pins, versions."""
        room = self.state.room
        if command == "/threads":
            await self._threads()
            return
        if room is None:
            self._error("join a room first: /join ROOM")
            return
        if command == "/pin" and not rest:
            await self._pins(room)
            return
        first, _, arg = rest.partition(" ")
        if not (first.startswith("#") and first[1:].isdigit()) or (
            command in ("/reply", "/react") and not arg.strip()
        ):
            args, _what = COMMANDS[command]
            self._error(f"usage: {command} {args} (message numbers: /history)")
            return
        mid = int(first[1:])
        match command:
            case "/reply":
                broadcast = arg.startswith("+")
                await self.client.reply(
                    room, mid, arg[1:] if broadcast else arg, broadcast=broadcast
                )
            case "/thread":
                await self._thread(room, mid)
            case "/react":
                emoji = arg.strip()
                # Again on one's own reaction takes it back (as a click on it would).
                mine = (room, mid, emoji) in self.state.reacted
                await self.client.react(room, mid, emoji, add=not mine)
            case "/pin" | "/unpin":
                await self.client.pin(room, mid, pinned=command == "/pin")
            case "/versions":
                reply = await self.client.versions(room, mid)
                self.console.note(f"--- the versions of #{mid} ---")
                for version in reply.versions:
                    text = render(safe(version.text)).replace("\n", "\n      ")
                    self.console.write(f"{_clock(version.ts)} <{version.user}> {text}")
                self.console.note("---")

    async def _thread(self, room: str, mid: int) -> None:
        reply = await self.client.thread(room, mid)
        if reply.root is not None:
            followed = "you follow it" if reply.following else "you do not follow it"
            self.console.note(f"--- the thread of #{reply.root.mid} ({followed}) ---")
            self.console.write(f"#{reply.root.mid} {describe_event(reply.root, self.state)}")
        for event in reply.events:
            self.console.write(f"#{event.mid} {describe_event(event, self.state)}")
        if reply.events:
            await self.client.mark_thread_read(room, mid, reply.events[-1].seq)
        self.console.note("---" if reply.events else "* no replies yet: /reply #MID TEXT")

    async def _threads(self) -> None:
        reply = await self.client.threads()
        if not reply.threads:
            self.console.note("* you follow no thread")
        for thread in reply.threads:
            root = thread.root
            unread = f", {thread.unread} unread" if thread.unread else ""
            first_line = render(safe(root.text or "")).split("\n", 1)[0][:60]
            self.console.write(
                f"{self.state.label(thread.room)} #{root.mid} <{root.user}> {first_line}"
                f"  [{root.replies or 0} replies{unread}]"
            )

    async def _pins(self, room: str) -> None:
        reply = await self.client.pins(room)
        if not reply.events:
            self.console.note(f"* nothing is pinned in {self.state.label(room)}")
        for event in reply.events:
            self.console.write(f"#{event.mid} {describe_event(event, self.state)}")

    async def _edit(self, rest: str) -> None:
        room = self.state.room
        if room is None:
            self._error("join a room first: /join ROOM")
            return
        first, _, text = rest.partition(" ")
        if first.startswith("#") and first[1:].isdigit():
            mid: int | None = int(first[1:])
        else:
            if self._sends:  # "my last message" includes the one typed just before
                await asyncio.wait(self._sends, timeout=30)
            mid, text = self.state.last_mid.get(room), rest
        if mid is None:
            self._error("nothing of yours to edit here: /edit #MID TEXT (see /history)")
            return
        if not text.strip():
            self._error("usage: /edit [#MID] TEXT")
            return
        await self.client.edit(room, mid, text)

    def _send(self, text: str) -> None:
        room = self.state.room
        if room is None:
            self._error("join a room first: /join ROOM")
            return
        task = asyncio.create_task(self._send_now(room, text))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send_now(self, room: str, text: str) -> None:
        try:
            ack = await self.client.send(room, text)
        except ClientError as error:
            self._error(f"not sent: {error}")
            return
        self.state.last_mid[ack.room] = ack.mid
