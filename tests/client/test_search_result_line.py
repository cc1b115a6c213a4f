"""A search result as the terminal prints it (``/search``): its matches in brackets, then its
files as a message shows them; made safe for the terminal."""

from __future__ import annotations

import re

from parley.client.chatmode import ChatState, describe_result
from parley.protocol import messages as m


def result(**fields: object) -> m.SearchResult:
    base: dict[str, object] = {
        "room": "ops", "seq": 4, "mid": 9, "user": "bob", "ts": 0, "text": "the report",
        "highlight": [[4, 10]],
    }  # fmt: skip
    return m.SearchResult(**{**base, **fields})  # type: ignore[arg-type]


def test_a_result_lists_its_files_after_its_text() -> None:
    pdf = m.FileInfo(id="A" * 22, name="q3 report.pdf", type="application/pdf", size=3000)
    line = describe_result(result(files=[pdf]), ChatState(me="alice"), 1)
    assert re.fullmatch(
        r"\[1\] \S+ \S+ #ops #9 <bob> the \[report\]"
        r" \[file: q3 report\.pdf, 2\.9 KiB, /files/A{22}/q3%20report\.pdf\]",
        line,
    ), line


def test_a_result_without_files_and_a_file_name_with_escapes() -> None:
    line = describe_result(result(), ChatState(me="alice"), 2)
    assert line.endswith("<bob> the [report]")
    evil = m.FileInfo(id="B" * 22, name="x\x1b[2Jy.txt", type="text/plain; charset=utf-8", size=5)
    line = describe_result(result(files=[evil]), ChatState(me="alice"), 3)
    assert "\x1b" not in line
    assert "5 bytes" in line
