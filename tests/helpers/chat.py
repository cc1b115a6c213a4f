"""A small parley.v1 test client over the independent ``websockets`` library.

It registers or logs in over HTTP, connects with ``Authorization: Bearer``, and splits what
the server sends into replies (matched to commands by ``re``) and everything else (events,
presence, typing ...), kept in order in ``inbox``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import urllib.request
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

PASSWORD = "correct horse battery"


def http_json(
    url: str,
    body: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    method: str | None = None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """One HTTP request; returns (status, JSON body or {}, headers)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with _opener.open(request, timeout=10) as response:
        raw = response.read()
        return response.status, json.loads(raw) if raw else {}, dict(response.headers)


def http_status(request: urllib.request.Request | str, timeout: float = 10) -> int:
    """The status of one HTTP request whose body does not matter, 4xx and 5xx included; the
    connection is always closed."""
    with _opener.open(request, timeout=timeout) as response:
        return int(response.status)


class _KeepErrors(urllib.request.HTTPErrorProcessor):
    """Return 4xx/5xx responses like any other (urllib raises for them, and the raised
    error leaves its socket for the garbage collector)."""

    def http_response(self, request: Any, response: Any) -> Any:
        return response

    https_response = http_response


_opener = urllib.request.build_opener(_KeepErrors)


def register(base_url: str, name: str, password: str = PASSWORD) -> str:
    status, body, _ = http_json(
        f"{base_url}/api/register", {"username": name, "password": password}
    )
    assert status == 201, body
    return str(body["token"])


def login(base_url: str, name: str, password: str = PASSWORD) -> str:
    status, body, _ = http_json(f"{base_url}/api/login", {"username": name, "password": password})
    assert status == 200, body
    return str(body["token"])


class Chat:
    """One parley.v1 connection."""

    _ids = itertools.count(1)

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.welcome: dict[str, Any] = {}
        self.closed = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls,
        ws_url: str,
        token: str | None = None,
        *,
        welcome: bool = True,
        stream: bool = True,
        path: str = "/ws",
    ) -> Chat:
        """Connect; wait for ``welcome``; with ``stream``, start the event stream from now
        (``resume`` with no positions), as a client without history to catch up does."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        ws = await connect(ws_url + path, subprotocols=["parley.v1"], additional_headers=headers)
        chat = cls(ws)
        if welcome:
            chat.welcome = await chat.next("welcome")
            if stream:
                assert (await chat.command("resume", rooms={}))["type"] == "resumed"
        return chat

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                future = self.replies.pop(message.get("re") or "", None)
                if future is not None and not future.done():
                    future.set_result(message)
                else:
                    await self.inbox.put(message)
        except Exception:
            pass
        finally:
            if not self.closed.done():
                self.closed.set_result(self.ws.close_code)

    async def command(self, type_: str, timeout: float = 10, **fields: Any) -> dict[str, Any]:
        """Send a command with a fresh id and wait for the reply that names it."""
        ident = f"c{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[ident] = future
        await self.ws.send(json.dumps({"type": type_, "id": ident, **fields}))
        return await asyncio.wait_for(future, timeout)

    async def send_until_gone(
        self, room: str, prefix: str, acked: dict[str, int], timeout: float = 10
    ) -> int | None:
        """Send ``prefix-0``, ``prefix-1`` ... (each text is its own cid), one after the other,
        until the connection fails; every acked cid goes into ``acked`` with its seq. Returns
        the close code the connection ended with (for tests that stop the server under load)."""
        n = 0
        while True:
            cid = f"{prefix}-{n}"
            try:
                reply = await self.command("send", room=room, text=cid, cid=cid, timeout=timeout)
            except Exception:
                return await self.closed
            if reply["type"] == "ack":
                acked[cid] = reply["seq"]
            n += 1

    async def stored_texts(self, room: str) -> dict[int, str]:
        """The text of every message in ``room``'s history by seq, read page by page."""
        stored: dict[int, str] = {}
        before = None
        while True:
            page = await self.command("history", room=room, before=before, limit=100)
            for event in page["events"]:
                if event["kind"] == "message":
                    stored[event["seq"]] = event.get("text", "")
            if not page["more"]:
                return stored
            before = page["events"][0]["seq"]

    async def send_raw(self, frame: str | dict[str, Any]) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def next(
        self, type_: str | None = None, timeout: float = 10, **match: Any
    ) -> dict[str, Any]:
        """The next inbox message (of ``type_`` and matching ``match``); others are skipped."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            message = await asyncio.wait_for(self.inbox.get(), max(remaining, 0.001))
            if type_ is not None and message.get("type") != type_:
                continue
            if all(message.get(k) == v for k, v in match.items()):
                return message

    async def events(self, room: str, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """The next ``count`` events of ``room`` (other messages are skipped)."""
        return [await self.next("event", timeout, room=room) for _ in range(count)]

    async def quiet(self, seconds: float = 0.3) -> list[dict[str, Any]]:
        """Everything that arrives within ``seconds`` (to check nothing unexpected comes)."""
        got = []
        try:
            while True:
                got.append(await asyncio.wait_for(self.inbox.get(), seconds))
        except TimeoutError:
            return got

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
