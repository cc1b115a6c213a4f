"""Where a search result's text matches its query: ranges of characters, never markup. Pure.

A client shows a result's ``text`` and marks the ``highlight`` ranges itself, escaping the text
as it always does: no HTML (or any markup) from the server, so a message cannot inject any
through its own search result. A range is ``[start, end)`` in *code points* of the text
(Python's ``str`` indexes; in JavaScript ``Array.from(text)`` indexes them the same way,
UTF-16 units would not for emoji).

A word of the text is marked when its folded form (:func:`~parley.search.query.fold`) is one of
the query's words or phrase words, or starts with its prefix: the same comparison the stores
index with, so what was found is what is marked. Phrase words are marked wherever they occur.
"""

from __future__ import annotations

import re

from parley.search.query import SearchQuery, words_of

# A word as written: letters and digits, with the combining marks that may follow them
# (a decomposed "é" is "e" and U+0301).
_WRITTEN_WORD = re.compile(r"(?:[^\W_][\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff]*)+")


def highlight(text: str, query: SearchQuery) -> list[list[int]]:
    """The ``[start, end)`` code point ranges of ``text``'s words that match ``query``."""
    terms = set(query.terms)
    prefix = query.prefix
    ranges: list[list[int]] = []
    for found in _WRITTEN_WORD.finditer(text):
        folded = words_of(found.group())
        if any(w in terms or (prefix is not None and w.startswith(prefix)) for w in folded):
            ranges.append([found.start(), found.end()])
    return ranges


__all__ = ["highlight"]
