"""The closing handshake's state machine (websocket/closing.py), shared by the server's and the
client's connections, tested as tables of event sequences."""

from __future__ import annotations

import pytest

from parley.websocket.closing import (
    DELIVER_DATA,
    TRANSITIONS,
    CloseEvent,
    ClosingHandshake,
    ConnectionState,
)
from parley.websocket.codes import CloseCode
from parley.websocket.frames import Side

OPEN, CLOSING, CLOSED = ConnectionState.OPEN, ConnectionState.CLOSING, ConnectionState.CLOSED


def test_the_table_is_complete() -> None:
    assert set(TRANSITIONS) == {(s, e) for s in ConnectionState for e in CloseEvent}
    assert set(DELIVER_DATA) == {(side, s) for side in Side for s in ConnectionState}
    # Only an open connection sends a close frame, and CLOSED is final.
    for (state, _event), (after, send) in TRANSITIONS.items():
        assert not send or state is OPEN
        assert state is not CLOSED or after is CLOSED


def run(handshake: ClosingHandshake, steps: list[str]) -> list[bytes | ConnectionState | None]:
    """Apply steps ("send 1001 bye", "receive 1000 ok", "lost"); what each one returned."""
    out: list[bytes | ConnectionState | None] = []
    for step in steps:
        verb, *args = step.split(" ", 2)
        if verb == "lost":
            out.append(handshake.lost())
            continue
        code, reason = int(args[0]), args[1] if len(args) > 1 else ""
        if verb == "send":
            out.append(handshake.send_close(code, reason))
        else:
            out.append(handshake.receive_close(code, reason))
    return out


BYE = b"\x03\xe9bye"  # 1001 "bye"
ECHO_1000 = b"\x03\xe8"  # 1000, no reason


@pytest.mark.parametrize("side", list(Side))
@pytest.mark.parametrize(
    ("steps", "returned", "state", "started_here", "sent", "received"),
    [
        # We close first; the peer's answer completes the handshake; the socket goes.
        (
            ["send 1001 bye", "receive 1001 ok", "lost"],
            [BYE, None, CLOSING],
            CLOSED,
            True,
            (1001, "bye"),
            (1001, "ok"),
        ),
        # The peer closes first: we echo its code, without its reason.
        (
            ["receive 1000 done", "lost"],
            [ECHO_1000, CLOSING],
            CLOSED,
            False,
            (1000, ""),
            (1000, "done"),
        ),
        # A close frame without a code is echoed by an empty one (1005 never goes on the wire).
        (["receive 1005"], [b""], CLOSING, False, (1005, ""), (1005, "")),
        # One close frame per side: closing again while closing sends nothing.
        (
            ["send 1001 bye", "send 1011 oops", "receive 1000 done"],
            [BYE, None, None],
            CLOSING,
            True,
            (1001, "bye"),
            (1000, "done"),
        ),
        (["receive 1000", "send 1001 bye"], [ECHO_1000, None], CLOSING, False, (1000, ""), None),
        # Dropped without a handshake: lost() says it was open (that is what 1006 means).
        (["lost", "lost"], [OPEN, CLOSED], CLOSED, False, None, None),
        (["lost", "send 1000"], [OPEN, None], CLOSED, False, None, None),
    ],
)
def test_closing_sequences(
    side: Side,
    steps: list[str],
    returned: list[object],
    state: ConnectionState,
    started_here: bool,
    sent: tuple[int, str] | None,
    received: tuple[int, str] | None,
) -> None:
    handshake = ClosingHandshake(side)
    assert run(handshake, steps) == returned
    assert handshake.state is state
    assert handshake.started_here is started_here
    assert handshake.sent == sent
    if received is not None:
        assert handshake.received == received


@pytest.mark.parametrize(
    ("side", "steps", "delivers", "pings"),
    [
        (Side.SERVER, [], True, True),
        (Side.CLIENT, [], True, True),
        # After its own close frame the server drops data: its application is done.
        (Side.SERVER, ["send 1001 bye"], False, False),
        # A client still hands out what the server sent before it saw our close frame.
        (Side.CLIENT, ["send 1000"], True, False),
        (Side.SERVER, ["send 1001", "lost"], False, False),
        (Side.CLIENT, ["send 1000", "lost"], False, False),
    ],
)
def test_data_and_pings_after_close(
    side: Side, steps: list[str], delivers: bool, pings: bool
) -> None:
    handshake = ClosingHandshake(side)
    run(handshake, steps)
    assert handshake.delivers_data is delivers
    assert handshake.answers_pings is pings
    assert handshake.open is (handshake.state is OPEN)


def test_reason_is_truncated_like_every_close_frame() -> None:
    payload = ClosingHandshake(Side.SERVER).send_close(CloseCode.GOING_AWAY, "é" * 100)
    assert payload is not None
    assert len(payload) <= 125
    payload[2:].decode()
