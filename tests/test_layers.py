"""The import rules of docs/architecture.md, checked on the source: a new import that breaks
one fails here instead of quietly making the next change harder. Among them: the chat layer
sees connections only through ``parley.peer`` (never ``server/`` or ``websocket/``), so it
never builds a WebSocket frame."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "src"
MODULES = sorted(SRC.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (absolute names)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


#: Where aiohttp may be imported: the server, and the client library's HTTP requests to the
#: account API and uploads (docs/architecture.md says why).
AIOHTTP_ALLOWED = ("parley.server", "parley.client.accounts", "parley.client.uploads")


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_layers(path: Path) -> None:
    name = module_name(path)
    imported = imports(path)
    if not any(within(name, allowed) for allowed in AIOHTTP_ALLOWED):
        assert not {i for i in imported if within(i, "aiohttp")}, f"{name} imports aiohttp"
    if within(name, "parley.chat") or name == "parley.config":
        assert not {i for i in imported if within(i, "parley.server")}, f"{name} imports server/"
    if within(name, "parley.chat"):
        framing = {i for i in imported if within(i, "parley.websocket")}
        assert not framing, f"{name} imports {sorted(framing)}: use parley.peer"


def test_the_rules_see_the_imports() -> None:
    """The checker itself finds what it must (a rule that sees nothing passes everything)."""
    assert "aiohttp.web" in imports(SRC / "parley" / "server" / "runner.py")
    assert "aiohttp" in imports(SRC / "parley" / "client" / "accounts.py")
    assert len(MODULES) > 50
