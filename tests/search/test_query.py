"""The search query language and highlights, without a store (``parley.search``)."""

from __future__ import annotations

import pytest

from parley.search.highlight import highlight
from parley.search.query import MAX_QUERY, MAX_TERMS, QueryError, SearchQuery, fold, parse

JAN_1_2026 = 1_767_225_600_000
DAY = 86_400_000


def test_words_all_must_match_and_the_last_is_a_prefix() -> None:
    assert parse("deploy failed") == SearchQuery(words=("deploy",), prefix="failed")


def test_a_trailing_space_ends_the_prefix() -> None:
    assert parse("deploy failed ") == SearchQuery(words=("deploy", "failed"))


def test_a_one_letter_last_word_is_a_whole_word() -> None:
    assert parse("plan b") == SearchQuery(words=("plan", "b"))


def test_case_and_accents_fold() -> None:
    assert parse("Élan CAFÉ ") == SearchQuery(words=("elan", "cafe"))
    assert fold("\uff26\uff55\uff4c\uff4c \ufb01n \u00d1") == "full fin n"


def test_phrases() -> None:
    parsed = parse('"exact Phrase" here')
    assert parsed.phrases == (("exact", "phrase"),)
    assert parsed.prefix == "here"
    assert parsed.terms == ("exact", "phrase")


def test_a_quoted_single_word_is_a_whole_word_never_a_prefix() -> None:
    assert parse('"deploy"') == SearchQuery(words=("deploy",))


def test_host_names_and_urls_are_their_words() -> None:
    assert parse("example ") == SearchQuery(words=("example",))
    assert parse("docs.example.com ") == SearchQuery(phrases=(("docs", "example", "com"),))
    # A URL is not an operator ("https" is not one), its parts are a phrase.
    assert parse("https://docs.example.com/x ").phrases == (
        ("https", "docs", "example", "com", "x"),
    )


def test_operators() -> None:
    parsed = parse("from:Alice in:lobby in:dm:alice:bob after:2026-01-01 before:2026-01-03 x ")
    assert parsed.authors == ("alice",)
    assert parsed.rooms == ("lobby", "dm:alice:bob")
    assert parsed.since == JAN_1_2026 + DAY  # after the day: from the next midnight
    assert parsed.until == JAN_1_2026 + 2 * DAY
    assert parse("has:link").has_link
    assert parse("HAS:LINK deploy").has_link


def test_the_narrowest_dates_win() -> None:
    parsed = parse("after:2026-01-01 after:2025-01-01 before:2026-03-01 before:2026-02-01 x")
    assert parsed.since == JAN_1_2026 + DAY
    assert parsed.until == JAN_1_2026 + 31 * DAY


def test_search_syntax_characters_are_plain_separators() -> None:
    # Nothing the databases would read as syntax survives: only letters and digits.
    assert parse("NEAR(a b) ") == SearchQuery(words=("b",), phrases=(("near", "a"),))
    assert parse("foo* ^bar ") == SearchQuery(words=("foo", "bar"))
    assert parse("a&b|!c ") == SearchQuery(phrases=(("a", "b", "c"),))
    assert parse("e-mail ") == SearchQuery(phrases=(("e", "mail"),))
    assert parse("C++ 10:30 ") == SearchQuery(words=("c",), phrases=(("10", "30"),))


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("", "empty"),
        ("   \n\t", "empty"),
        ("x" * (MAX_QUERY + 1), f"over {MAX_QUERY} characters"),
        ('"unbalanced', "not closed"),
        ('one "two" "three', "not closed"),
        ('""', "empty phrase"),
        ('" "', "empty phrase"),
        ('"!!"', "no letters or digits"),
        ("nope:thing", "unknown operator nope:"),
        ("NEAR:x", "unknown operator near:"),
        ("from:", "needs a value"),
        ("from:a", "user name"),
        ("from:<script>", "user name"),
        ("in:no*room", "room name"),
        ("before:2026-13-01", "not a date"),
        ("before:2026-02-30", "not a date"),
        ("after:yesterday", "YYYY-MM-DD"),
        ("after:2026-1-1", "YYYY-MM-DD"),
        ("has:file", "has: knows link"),
        ("-word", "excluding words"),
        ("deploy -failed", "excluding words"),
        ("*", "nothing to search for"),
        ("^ - ( ) ", "nothing to search for"),
        ("from:alice in:lobby", "nothing to search for"),
        (" ".join(["w"] * (MAX_TERMS + 1)), f"over {MAX_TERMS} words"),
    ],
)
def test_bad_queries_say_why(query: str, says: str) -> None:
    with pytest.raises(QueryError, match=says.replace("*", r"\*").replace("+", r"\+")):
        parse(query)


def test_a_query_at_the_limits_is_accepted() -> None:
    assert len(parse(" ".join(["w"] * MAX_TERMS)).words) == 1  # repeats count once in the result
    assert parse("y" * MAX_QUERY).prefix == "y" * MAX_QUERY


def test_highlight_marks_matching_words_in_code_points() -> None:
    text = "🎉 Café déploiement at https://docs.example.com/x, CAFE"
    ranges = highlight(text, parse("cafe example depl"))
    assert [text[a:b] for a, b in ranges] == ["Café", "déploiement", "example", "CAFE"]
    assert ranges[0] == [2, 6]  # the emoji is one code point (two UTF-16 units)


def test_highlight_of_decomposed_accents_and_phrases() -> None:
    text = "cafe\u0301 au lait, au revoir"
    ranges = highlight(text, parse('"au lait" cafe '))
    assert [text[a:b] for a, b in ranges] == ["cafe\u0301", "au", "lait", "au"]


def test_highlight_never_marks_inside_a_word_that_does_not_start_with_the_prefix() -> None:
    assert highlight("redeploy deployed", parse("deploy")) == [[9, 17]]
    assert highlight("nothing here", parse("absent ")) == []
