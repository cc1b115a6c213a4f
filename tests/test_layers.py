"""The layer rules of docs/architecture.md that a machine can check: the chat layer sees
connections only through ``parley.peer`` and never builds a WebSocket frame."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CHAT = Path(__file__).resolve().parents[1] / "src" / "parley" / "chat"


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("path", sorted(CHAT.glob("*.py")), ids=lambda p: p.name)
def test_chat_imports_neither_the_server_nor_the_framing(path: Path) -> None:
    forbidden = {
        module
        for module in imported_modules(path)
        if module.startswith(("parley.server", "parley.websocket", "aiohttp"))
    }
    assert not forbidden, f"{path.name} imports {sorted(forbidden)}: use parley.peer"
