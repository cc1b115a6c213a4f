"""Every way the server refuses a WebSocket handshake is in docs/protocol.md's "Handshake
refusals" table, and every row of that table happens: each case below sends a real request to
a real server and gets the row's status and reason, and the table has no row without a case
(issue 14: a 503 while PostgreSQL was unreachable was listed only for ``--max-connections``).
"""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.chat import register
from tests.helpers.process import ServerProcess
from tests.helpers.rawws import RawClient
from tests.helpers.tcpproxy import TcpProxy
from tests.store.conftest import postgres_database

Factory = Callable[..., ServerProcess]

PROTOCOL_MD = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
KEY = "dGhlIHNhbXBsZSBub25jZQ=="


@dataclass(frozen=True)
class Row:
    status: int
    when: str


def documented() -> list[Row]:
    """The rows of the "Handshake refusals" table."""
    text = PROTOCOL_MD.read_text()
    section = text.split("### Handshake refusals", 1)[1].split("\n### ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].isdigit():
            rows.append(Row(int(cells[0]), cells[1]))
    return rows


def handshake(
    port: int,
    *,
    host: str | None = None,
    version: str = "1.1",
    method: str = "GET",
    drop: tuple[str, ...] = (),
    extra: tuple[tuple[str, str], ...] = (),
    wait: float = 10.0,
    **headers: str,
) -> tuple[int, str]:
    """Send one handshake (the usual headers, minus ``drop``, with ``headers`` replacing them
    and ``extra`` appended, repeated names allowed); the status and body of the answer, which
    must come within ``wait`` seconds."""
    fields = {
        "Host": host or f"127.0.0.1:{port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": KEY,
    }
    fields.update({name.replace("_", "-"): value for name, value in headers.items()})
    lines = [f"{method} /ws HTTP/{version}"]
    lines += [f"{name}: {value}" for name, value in fields.items() if name not in drop]
    lines += [f"{name}: {value}" for name, value in extra]
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while chunk := sock.recv(65536):  # the server closes the connection after a refusal
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body.decode(errors="replace")


@dataclass(frozen=True)
class Case:
    """One way to be refused: ``where`` names a phrase of exactly one row with ``status``;
    the answer's body says ``reason``."""

    status: int
    where: str
    reason: str
    send: Callable[[], tuple[int, str]]


@dataclass
class Servers:
    """A server of each kind the cases need."""

    plain: ServerProcess  #: at most one WebSocket per address
    full: ServerProcess  #: at most one WebSocket in all
    no_guests: ServerProcess  #: --guests off
    postgres: ServerProcess  #: on PostgreSQL, through ``proxy``
    proxy: TcpProxy  #: cut it and the database "goes away"


@pytest.fixture
async def servers(server_factory: Factory) -> AsyncIterator[Servers]:
    async with postgres_database() as db_url:
        target = urllib.parse.urlsplit(db_url)
        proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
        user = target.netloc.rpartition("@")[0]
        proxied = target._replace(
            netloc=f"{user}@127.0.0.1:{proxy.port}" if user else f"127.0.0.1:{proxy.port}"
        )
        try:
            yield Servers(
                plain=server_factory("serve", "--max-connections-per-ip", "1"),
                full=server_factory("serve", "--db", "full.db", "--max-connections", "1"),
                no_guests=server_factory("serve", "--db", "closed.db", "--guests", "off"),
                postgres=server_factory("serve", "--db", urllib.parse.urlunsplit(proxied)),
                proxy=proxy,
            )
        finally:
            proxy.close()


def cases(servers: Servers) -> Iterator[Case]:
    port = servers.plain.port
    v1 = {"Sec_WebSocket_Protocol": "parley.v1"}
    yield Case(
        421,
        "`Host`",
        "does not answer for that host name",
        lambda: handshake(port, host="evil.example"),
    )
    yield Case(400, "not HTTP/1.1", "needs HTTP/1.1", lambda: handshake(port, version="1.0"))
    yield Case(
        400,
        "repeats",
        "Sec-WebSocket-Key must appear once",
        lambda: handshake(port, extra=(("Sec-WebSocket-Key", KEY),)),
    )
    yield Case(405, "`HEAD`", "", lambda: handshake(port, method="HEAD"))  # (no body to HEAD)
    yield Case(
        426,
        "no `Upgrade: websocket`",
        "speaks WebSocket only",
        lambda: handshake(port, drop=("Upgrade",)),
    )
    yield Case(
        426,
        "is not `13`",
        "unsupported WebSocket version",
        lambda: handshake(port, Sec_WebSocket_Version="8"),
    )
    yield Case(
        400,
        "`Connection` lacks",
        "must include 'upgrade'",
        lambda: handshake(port, Connection="keep-alive"),
    )
    yield Case(
        400,
        "not 16 bytes",
        "16 bytes in base64",
        lambda: handshake(port, Sec_WebSocket_Key="c2hvcnQ="),
    )
    yield Case(
        400,
        "other than `parley.v1`",
        "unsupported subprotocol 'chat'",
        lambda: handshake(port, Sec_WebSocket_Protocol="chat"),
    )
    yield Case(
        403,
        "`Origin`",
        "this origin may not open a signed-in connection",
        lambda: handshake(port, Origin="http://evil.example", **v1),
    )
    yield Case(
        401,
        "not a live session",
        '"unauthorized"',
        lambda: handshake(port, Authorization="Bearer made-up", **v1),
    )
    yield Case(
        403,
        "guests are switched off",
        "plain-text guests are switched off",
        lambda: handshake(servers.no_guests.port),
    )
    # (The three below hold a connection or cut the database first: see the test.)


async def test_every_refusal_is_documented_and_every_documented_refusal_happens(
    servers: Servers,
) -> None:
    rows = documented()
    assert len(rows) >= 10, "the table of docs/protocol.md was not found"
    plain, full, pg = servers.plain, servers.full, servers.postgres
    token = register(pg.http_url, "tess")  # before the database goes away
    held: list[RawClient] = []

    def beyond_the_limit(port: int) -> tuple[int, str]:
        held.append(RawClient(port))  # the one WebSocket the server allows, held open
        return handshake(port)

    def cut_then_connect() -> tuple[int, str]:
        servers.proxy.cut()
        # The store gives up on the database after its own timeouts (a statement may wait up to
        # command_timeout, 10 s), so the answer can take longer than the other refusals.
        return handshake(
            pg.port,
            wait=40.0,
            Authorization=f"Bearer {token}",
            Sec_WebSocket_Protocol="parley.v1",
        )

    every = [
        *cases(servers),
        Case(
            429,
            "`--max-connections-per-ip`",
            "too many connections from your address",
            lambda: beyond_the_limit(plain.port),
        ),
        Case(
            503,
            "`--max-connections`",
            "the server is at its connection limit",
            lambda: beyond_the_limit(full.port),
        ),
        Case(
            503,
            "database cannot be reached",
            "the server cannot check sessions now",
            cut_then_connect,
        ),
    ]
    covered: set[Row] = set()
    for case in every:
        [row] = [r for r in rows if r.status == case.status and case.where in r.when] or [None]
        assert row is not None, f"no {case.status} row says {case.where!r}: document it"
        assert case.reason in row.when or case.reason.strip('"') in row.when, (
            f"the {case.status} row does not quote {case.reason!r}"
        )
        status, body = case.send()
        assert status == case.status, (case.where, status, body)
        assert case.reason.strip('"') in body, (case.where, body)
        covered.add(row)
    for client in held:
        client.close()
    missing = [row for row in rows if row not in covered]
    assert not missing, f"documented but never produced: {missing}"
