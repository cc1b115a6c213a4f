"""The mention parser (protocol/mentions.py): what counts as ``@name`` and ``@room``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.protocol.mentions import Mentioned, find_mentions, join, resolve, split
from parley.protocol.names import username_problem

MEMBERS = {"alice": "Alice", "bob": "bob", "bob.": "bob.", "al.ex": "al.ex", "carol-x": "carol-x"}


def mentioned(text: str) -> list[str]:
    return resolve(find_mentions(text), MEMBERS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@alice hi", ["Alice"]),
        ("hi @ALICE", ["Alice"]),  # names are case-insensitive, shown as spelled
        ("@Alice, @bob: look", ["Alice", "bob"]),
        ("(@alice)", ["Alice"]),
        ('"@alice"', ["Alice"]),
        ("'@alice'", ["Alice"]),
        ("hi\n@alice", ["Alice"]),
        ("@alice @alice @ALICE", ["Alice"]),  # once per person
        ("thanks @al.ex.", ["al.ex"]),  # the sentence's full stop is not the name's
        ("ask @bob.", ["bob."]),  # ... unless a member is called that way: the longest wins
        ("ask @bob..", ["bob"]),
        ("@carol-x-", ["carol-x"]),
        ("@bob!", ["bob"]),
        ("@bob's idea", ["bob"]),
    ],
)
def test_names_are_found(text: str, expected: list[str]) -> None:
    assert mentioned(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no at sign",
        "@",
        "@ alice",
        "mail alice@example.com",  # an address
        "bob@alice",  # inside a word
        "x.@alice",
        "https://social.example/@alice",  # a path
        "a=@alice&b",
        "@alicex",  # names are matched whole
        "@alic",
        "@@alice",
        "`@alice`",  # code
        "see `ping @alice` here",
        "``code with ` and @alice``",
        "```\n@alice\n```",
        "```unclosed fence @alice",
        "éte@alice",  # a word in another script
        "@nobody",
        "@al",  # too short to be a name
        "@" + "a" * 40,  # too long
    ],
)
def test_nothing_is_found(text: str) -> None:
    assert mentioned(text) == []


def test_an_unclosed_backtick_is_plain_text() -> None:
    assert mentioned("it's a ` then @alice") == ["Alice"]
    assert mentioned("`a` @bob `b`") == ["bob"]


@pytest.mark.parametrize(
    ("text", "room"),
    [
        ("@room please", True),
        ("@ROOM.", True),
        ("hey @room!", True),
        ("@rooms", False),
        ("@room-1", False),
        ("x@room", False),
        ("`@room`", False),
    ],
)
def test_room_mentions(text: str, room: bool) -> None:
    found = find_mentions(text)
    assert found.room is room
    assert "room" not in found.keys


def test_names_come_in_order_of_first_mention() -> None:
    found = find_mentions("@bob then @Alice then @bob")
    assert [spellings[0] for spellings in found.names] == ["bob", "alice"]
    assert resolve(found, MEMBERS) == ["bob", "Alice"]


def test_the_stored_form_round_trips() -> None:
    assert split(join(["Alice", "bob."])) == ("Alice", "bob.")
    assert join([]) is None
    assert split(None) == ()
    assert split("") == ()


def test_room_is_a_reserved_user_name() -> None:
    assert username_problem("room") is not None
    assert username_problem("ROOM") is not None
    assert username_problem("rooms") is None


@given(st.text(max_size=200))
def test_any_text_parses_and_only_to_name_characters(text: str) -> None:
    found = find_mentions(text)
    assert isinstance(found, Mentioned)
    for spelling in found.keys:
        assert 3 <= len(spelling) <= 32
        assert spelling == spelling.lower()
        assert f"@{spelling}" in text.lower() or "@" + spelling.rstrip("._-") in text.lower()
