"""The terminal's rendering of formatted text (``client/formatting.py``): markers out,
structure kept, code untouched, nothing unsafe added, and no input slow."""

from __future__ import annotations

import pytest

from parley.client.formatting import render
from parley.client.sanitize import safe


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("**bold** and *italic* and _also_", "bold and italic and also"),
        ("snake_case_name and 2*3*4 stay", "snake_case_name and 2*3*4 stay"),
        ("a `**code**` span", "a `**code**` span"),
        ("** not bold **, * nor this *", "** not bold **, * nor this *"),
        ("> quoted **text**\nplain", "│ quoted text\nplain"),
        ("```\n**raw** > x\n  indented\n```\nafter", "    **raw** > x\n      indented\nafter"),
        ("```python\nprint(1)", "    print(1)"),  # an unclosed fence runs to the end
        ("****", "****"),
        ("", ""),
    ],
)
def test_render(text: str, shown: str) -> None:
    assert render(text) == shown


def test_control_characters_stay_escaped() -> None:
    hostile = "**\x1b]52;c;AAAA\x07** > \x1b[2J\n```\n\x9b31m\n```"
    shown = render(safe(hostile))
    assert not any((ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in shown)
    assert "\\x1b" in shown


@pytest.mark.parametrize("unit", ["*", "**", "_", "`", "*a", "**a ", "_a_a", "> ", "```\n"])
def test_pathological_input_is_linear(unit: str) -> None:
    text = unit * 20_000
    assert len(render(text)) <= len(text) + 4 * text.count("\n") + 4
