"""Opcodes and close codes are defined once, and docs/architecture.md says what the enum says."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from parley.client.errors import RETRIABLE_CLOSE_CODES, describe_close
from parley.websocket.codes import CloseCode, Opcode, is_valid_close_code

ROOT = Path(__file__).resolve().parents[2]


def architecture_table() -> dict[int, tuple[str, str]]:
    """The rows of docs/architecture.md's close-code table: code -> (meaning, advice)."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Close codes", 1)[1]
    rows = {}
    for line in section.splitlines():
        match = re.fullmatch(r"\| (\d{4}) \| (.+) \| (.+) \|", line)
        if match:
            rows[int(match[1])] = (match[2], match[3])
    return rows


def test_the_architecture_table_says_what_the_enum_says() -> None:
    assert architecture_table() == {int(code): (code.meaning, code.advice) for code in CloseCode}


def test_a_client_reconnects_after_exactly_the_codes_whose_advice_is_yes() -> None:
    assert {int(code) for code in RETRIABLE_CLOSE_CODES} == {
        1001, 1006, 1011, 1012, 1013, 4001, 4003
    }  # fmt: skip
    assert CloseCode.TOO_SLOW.retriable
    assert not CloseCode.POLICY_VIOLATION.retriable


def test_parleys_own_codes() -> None:
    assert CloseCode.TOO_SLOW == 4001
    assert CloseCode.RATE_LIMITED == 4003
    assert describe_close(4001, "x") == "4001 (too slow): x"
    assert describe_close(4321) == "4321"  # someone else's private code


def test_every_code_parley_sends_is_valid_on_the_wire() -> None:
    local_only = {CloseCode.NO_STATUS, CloseCode.ABNORMAL}
    for code in CloseCode:
        assert is_valid_close_code(code) is (code not in local_only)


def test_opcode_names_are_the_traces() -> None:
    assert [op.name for op in Opcode] == ["CONT", "TEXT", "BINARY", "CLOSE", "PING", "PONG"]


@pytest.mark.parametrize("name", ["CloseCode", "Opcode"])
def test_defined_once(name: str) -> None:
    found = subprocess.run(
        ["grep", "-rlE", rf"^class {name}\b|^{name} *=", str(ROOT / "src")],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert [Path(path).relative_to(ROOT).as_posix() for path in found] == [
        "src/parley/websocket/codes.py"
    ]
