"""``send`` with files and ``profile`` through the codec (no I/O): what decodes, and every
malformed case a clear ``bad_request``."""

from __future__ import annotations

import json

import pytest

from parley.protocol import messages as m
from parley.protocol.codec import decode_command
from parley.protocol.errors import ErrorCode, ProtocolError

ID = "hV3bq0fXw8mZ2Jc1TnQy5A"
OTHER = "Qm9r1GQx3z8mZ2Jc1TnQy5"


def decode(obj: object) -> m.AnyCommand:
    return decode_command(json.dumps(obj))


def test_files_with_and_without_text() -> None:
    assert decode({"type": "send", "room": "dev", "files": [ID]}) == m.Send(room="dev", files=(ID,))
    sent = decode({"type": "send", "room": "dev", "text": "hi", "files": [ID, OTHER]})
    assert isinstance(sent, m.Send)
    assert sent.files == (ID, OTHER)
    assert decode({"type": "profile", "display_name": "Ünïcode 名前"}) == m.SetProfile(
        display_name="Ünïcode 名前"
    )
    assert decode({"type": "profile", "avatar": ""}) == m.SetProfile(avatar="")


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        ({"type": "send", "room": "dev"}, "empty"),
        ({"type": "send", "room": "dev", "files": []}, "empty"),
        ({"type": "send", "room": "dev", "text": " \u200b ", "files": [ID]}, "empty"),
        ({"type": "send", "room": "dev", "files": [ID, ID]}, "twice"),
        ({"type": "send", "room": "dev", "files": [ID] * 11}, "length"),
        ({"type": "send", "room": "dev", "files": ["../../etc/passwd"]}, "files"),
        ({"type": "send", "room": "dev", "files": [ID + "x"]}, "files"),
        ({"type": "send", "room": "dev", "files": ID}, "array"),
        ({"type": "send", "room": "dev", "files": [1]}, "str"),
        ({"type": "profile", "display_name": "two\nlines"}, "one line"),
        ({"type": "profile", "display_name": "x\u202ey"}, "U+202E"),
        ({"type": "profile", "display_name": "\u200b"}, "blank"),
        ({"type": "profile", "display_name": "n" * 65}, "length"),
        ({"type": "profile", "avatar": "short"}, "avatar"),
        ({"type": "profile", "avatar": 7}, "str"),
    ],
)
def test_bad_files_and_profiles(frame: dict[str, object], words: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode(frame)
    assert info.value.code is ErrorCode.BAD_REQUEST
    assert words in info.value.message, info.value.message
