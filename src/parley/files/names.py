"""What a file's name may be: the one rule for a name given with an upload
(``server/uploads.py``) and one an import brings (``transfer/mattermost.py``)."""

from __future__ import annotations

from typing import Final

from parley.protocol.text import is_blank, text_problem

#: The longest file name, in characters.
MAX_NAME: Final = 200


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a file's name, or None."""
    if not name or is_blank(name):
        return "give the file's name: ?name=..."
    if len(name) > MAX_NAME:
        return f"the file name is {len(name)} characters; the limit is {MAX_NAME}"
    if "/" in name or "\\" in name or name in (".", ".."):
        return "a file name cannot hold / or \\ or be . or .."
    return text_problem(name, what="the file name", one_line=True)


__all__ = ["MAX_NAME", "name_problem"]
