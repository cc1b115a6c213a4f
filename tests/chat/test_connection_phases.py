"""The chat connection's phase table and command table, checked as data (no server needed);
the behaviour of each phase is tested against a real server in test_accounts.py and beside."""

from __future__ import annotations

import typing

from parley.chat.commands import HANDLERS
from parley.chat.connection import TRANSITIONS, Phase
from parley.protocol import messages as m


def test_every_phase_is_in_the_table_and_every_phase_can_close() -> None:
    assert set(TRANSITIONS) == set(Phase)
    for phase, targets in TRANSITIONS.items():
        assert phase not in targets, f"{phase} loops to itself"
        if phase is not Phase.CLOSED:
            assert Phase.CLOSED in targets, f"a connection in {phase} must be able to close"
    assert TRANSITIONS[Phase.CLOSED] == frozenset()


def test_commands_run_only_after_signing_in() -> None:
    # SIGNED_IN is reached only through SIGNING_IN (a token checked, the welcome sent), and
    # nothing leads back from CLOSING: a connection being closed never runs commands again.
    into_signed_in = {p for p, targets in TRANSITIONS.items() if Phase.SIGNED_IN in targets}
    assert into_signed_in == {Phase.SIGNING_IN}
    assert TRANSITIONS[Phase.CLOSING] == frozenset({Phase.CLOSED})


def test_every_command_but_auth_has_a_handler() -> None:
    commands = set(typing.get_args(m.AnyCommand))
    assert set(HANDLERS) == commands - {m.Auth}
