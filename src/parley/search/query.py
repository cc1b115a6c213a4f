"""The search query language, parsed into a :class:`SearchQuery`. Pure: no I/O.

What people type (docs/protocol.md, "search"): words, all of which must match; ``"an exact
phrase"``; the operators ``from:alice``, ``in:room``, ``before:2026-01-31`` and
``after:2026-01-01`` (UTC days, both exclusive), ``has:link``. The last bare word also matches
as a prefix (``depl`` finds "deploy"), so results follow a person typing.

Words are compared the way the stores index text: case- and accent-insensitively (:func:`fold`)
and cut at every character that is not a letter or digit, so ``docs.example.com`` is the
words ``docs``, ``example``, ``com`` (found in ``https://docs.example.com/x``) and a query word
with punctuation inside becomes a phrase of its parts. No character is an operator of the
database's own search syntax (FTS5's ``NEAR(``, ``*``, ``^``; ``tsquery``'s ``&``, ``|``,
``!``): the stores build their queries from the folded words alone, so no input can reach
them as syntax.

Refused with :class:`QueryError` (the server answers ``bad_request`` with its message): an
empty query or one with nothing to search for, over :data:`MAX_QUERY` characters or
:data:`MAX_TERMS` words, an unbalanced quote, an unknown operator, an operator without a
value, a date that is not a real ``YYYY-MM-DD`` day, ``-word`` (excluding words is not
supported, and quietly searching for the word instead would be the opposite of what was
asked).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from parley.protocol.names import ROOM_REF_PATTERN, USERNAME_PATTERN

#: The longest query, in characters.
MAX_QUERY: Final = 256
#: The most words (phrase words included) one query may hold.
MAX_TERMS: Final = 16
#: The last word matches as a prefix only from this many characters: a one-letter prefix
#: would match a large part of the vocabulary and is not what anyone is looking for yet.
MIN_PREFIX: Final = 2

OPERATORS: Final = ("from", "in", "before", "after", "has")
#: The values ``has:`` knows.
HAS_VALUES: Final = ("link",)

_OPERATOR = re.compile(r"([A-Za-z]+):(.*)", re.DOTALL)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_USER = re.compile(USERNAME_PATTERN)
_ROOM = re.compile(ROOM_REF_PATTERN)
_DAY_MS: Final = 86_400_000


class QueryError(ValueError):
    """The query cannot be run; the message says why, for the person who typed it."""


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed query. Every word is folded (:func:`fold`) and made of letters and digits only.

    ``words``: each must occur. ``phrases``: each a run of words that must occur in that
    order. ``prefix``: the last bare word, matched as a prefix (then not in ``words``).
    ``authors`` (lower-cased user names) and ``rooms`` (room names as typed): any of them.
    ``since`` / ``until``: milliseconds since the epoch, ``since <= ts < until``.
    """

    words: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    prefix: str | None = None
    authors: tuple[str, ...] = ()
    rooms: tuple[str, ...] = ()
    since: int | None = None
    until: int | None = None
    has_link: bool = False

    @property
    def terms(self) -> tuple[str, ...]:
        """Every word the text must hold (phrases' words included; the prefix not)."""
        return self.words + tuple(word for phrase in self.phrases for word in phrase)


def fold(text: str) -> str:
    """``text`` as searched: lower-case, accents removed (``Élan`` -> ``elan``).

    Compatibility decomposition first, so that ligatures and full-width forms fold too
    (``ﬁ`` -> ``fi``), then every combining mark is dropped.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words_of(text: str) -> list[str]:
    """The folded words of ``text``: its runs of letters and digits (see the module doc)."""
    return _WORD.findall(fold(text))


_WORD = re.compile(r"[^\W_]+")


def _tokens(query: str) -> list[tuple[str, bool]]:
    """Split on white space outside quotes: ``(token, quoted)`` pairs."""
    if query.count('"') % 2:
        raise QueryError('a quote (") is not closed')
    found: list[tuple[str, bool]] = []
    for index, part in enumerate(query.split('"')):
        if index % 2:
            if not part.strip():
                raise QueryError('an empty phrase ("")')
            found.append((part, True))
        else:
            found.extend((token, False) for token in part.split())
    return found


def _day(value: str, operator: str) -> int:
    """Midnight UTC starting the day ``value`` (``YYYY-MM-DD``), in ms since the epoch."""
    if not _DATE.fullmatch(value):
        raise QueryError(f"{operator}: takes a date as YYYY-MM-DD, not {value!r}")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{operator}: {value!r} is not a date") from None
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return int(start.timestamp()) * 1000


def parse(query: str) -> SearchQuery:
    """Parse ``query``; raise :class:`QueryError` for anything that cannot be searched."""
    if not query.strip():
        raise QueryError("the query is empty")
    if len(query) > MAX_QUERY:
        raise QueryError(f"the query is over {MAX_QUERY} characters")
    words: list[str] = []
    phrases: list[tuple[str, ...]] = []
    authors: list[str] = []
    rooms: list[str] = []
    since: int | None = None
    until: int | None = None
    has_link = False
    prefix_allowed = False
    for token, quoted in _tokens(query):
        prefix_allowed = False
        if quoted:
            parts = words_of(token)
            if not parts:
                raise QueryError(f'the phrase "{token}" has no letters or digits')
            _add(parts, words, phrases)
            continue
        operator = _OPERATOR.fullmatch(token)
        if operator is not None and not operator.group(2).startswith("/"):
            name, value = operator.group(1).lower(), operator.group(2)
            if name not in OPERATORS:
                raise QueryError(
                    f"unknown operator {name}: (known: {', '.join(o + ':' for o in OPERATORS)})"
                )
            if not value:
                raise QueryError(f"{name}: needs a value, e.g. {_EXAMPLES[name]}")
            if name == "from":
                if not _USER.fullmatch(value):
                    raise QueryError(f"from: takes a user name, not {value!r}")
                authors.append(value.lower())
            elif name == "in":
                if not _ROOM.fullmatch(value):
                    raise QueryError(f"in: takes a room name, not {value!r}")
                rooms.append(value)
            elif name == "before":
                day = _day(value, name)
                until = day if until is None else min(until, day)
            elif name == "after":
                day = _day(value, name) + _DAY_MS
                since = day if since is None else max(since, day)
            else:
                if value.lower() not in HAS_VALUES:
                    raise QueryError(f"has: knows {', '.join(HAS_VALUES)}, not {value!r}")
                has_link = True
            continue
        if token.startswith("-") and len(token) > 1 and words_of(token[1:]):
            raise QueryError(f"excluding words ({token}) is not supported")
        parts = words_of(token)
        _add(parts, words, phrases)
        prefix_allowed = len(parts) == 1
    if len(words) + sum(len(p) for p in phrases) > MAX_TERMS:
        raise QueryError(f"the query has over {MAX_TERMS} words")
    prefix = None
    if prefix_allowed and not query[-1].isspace() and len(words[-1]) >= MIN_PREFIX:
        prefix = words.pop()
    if not words and not phrases and prefix is None and not has_link:
        raise QueryError("nothing to search for: add a word (letters or digits)")
    return SearchQuery(
        words=tuple(dict.fromkeys(words)),
        phrases=tuple(dict.fromkeys(phrases)),
        prefix=prefix,
        authors=tuple(dict.fromkeys(authors)),
        rooms=tuple(dict.fromkeys(rooms)),
        since=since,
        until=until,
        has_link=has_link,
    )


def _add(parts: list[str], words: list[str], phrases: list[tuple[str, ...]]) -> None:
    """One token's words: a single word, or a phrase when the token held several."""
    if len(parts) == 1:
        words.append(parts[0])
    elif parts:
        phrases.append(tuple(parts))


_EXAMPLES: Final = {
    "from": "from:alice",
    "in": "in:lobby",
    "before": "before:2026-01-31",
    "after": "after:2026-01-01",
    "has": "has:link",
}

__all__ = ["MAX_QUERY", "MAX_TERMS", "QueryError", "SearchQuery", "fold", "parse", "words_of"]
