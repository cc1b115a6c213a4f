"""Formatted message text in the browser (web/markdown.js parses, web/richtext.js draws).

Two halves: the renderer on its own, driven in a real page with good and hostile inputs (its
work counted by ``stats.steps``, never timed), and the chat page showing formatted messages
with the existing mention highlight.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chatpage import OpenChat, SyncChat, composer, open_room
from tests.helpers.process import ServerProcess

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# The rendered DOM as a compact string: element(children) with attributes that matter, text
# in quotes. What richtext.js made, nothing more (no innerHTML read either).
_RENDER = """
async ([text, mentions]) => {
  const { renderText } = await import("/static/richtext.js");
  const fragment = renderText(text, {
    mentions, isMe: (name) => name.toLowerCase() === "alice", isRoom: (name) => name === "lobby",
  });
  const keep = ["href", "start", "class", "data-lang"];
  const shape = (node) => {
    if (node.nodeType === Node.TEXT_NODE) return JSON.stringify(node.textContent);
    const attrs = keep.filter((name) => node.hasAttribute(name))
      .map((name) => `${name}=${node.getAttribute(name)}`);
    const head = node.localName + (attrs.length ? `[${attrs.join(" ")}]` : "");
    return `${head}(${[...node.childNodes].map(shape).join(" ")})`;
  };
  const box = document.createElement("div");
  box.append(fragment);
  box.normalize(); // adjacent text nodes merged: the shape does not depend on how text was cut
  return [...box.childNodes].map(shape).join(" ");
}
"""

# How much work parsing took (markdown.js's step counter), the rendered text's length, the
# element names used and the deepest nesting of block quotes.
_MEASURE = """
async (text) => {
  const { parse } = await import("/static/markdown.js");
  const { renderText } = await import("/static/richtext.js");
  const stats = { steps: 0 };
  parse(text, { mentions: ["alice"], stats });
  const box = document.createElement("div");
  box.append(renderText(text, { mentions: ["alice"] }));
  let deepest = 0;
  for (const quote of box.querySelectorAll("blockquote")) {
    let depth = 0;
    for (let node = quote; node !== box; node = node.parentNode) {
      if (node.localName === "blockquote") depth += 1;
    }
    deepest = Math.max(deepest, depth);
  }
  const tags = [...new Set([...box.querySelectorAll("*")].map((node) => node.localName))].sort();
  return { steps: stats.steps, length: box.textContent.length, tags, deepest };
}
"""


@pytest.fixture
def page(server_factory: Callable[..., ServerProcess], open_chat: OpenChat) -> Page:
    """A page of the server's origin (the sign-in page), where its modules can be imported."""
    return open_chat(server_factory("serve")).new(viewport=DESKTOP)


def render(page: Page, text: str, mentions: list[str] | None = None) -> str:
    result: str = page.evaluate(_RENDER, [text, mentions or []])
    return result


def measure(page: Page, text: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(_MEASURE, text)
    return result


CASES = [
    ("plain words", 'p("plain words")'),
    (
        "**bold** *it* _it_ ~~gone~~ `x < y`",
        'p(strong("bold") " " em("it") " " em("it") " " s("gone") " " code("x < y"))',
    ),
    ("**bold *both* bold**", 'p(strong("bold " em("both") " bold"))'),
    ("***both***", 'p(strong(em("both")))'),
    ("**not closed", 'p("**not closed")'),
    ("*a **b* c**", 'p(em("a **b") " c**")'),
    ("snake_case_name and 2 * 3 * 4", 'p("snake_case_name and 2 * 3 * 4")'),
    ("\\*not\\* \\`code\\`", 'p("*not* `code`")'),
    ("`` a ` b ``", 'p(code("a ` b"))'),
    ("`unclosed and ``two``", 'p("`unclosed and " code("two"))'),
    ("line one\nline two", 'p("line one\\nline two")'),
    ("one\n\ntwo", 'p("one") p("two")'),
    (
        "```py\nx = 1 < 2\n  **not bold**\n```\nafter",
        'div[class=code-block](span[class=code-lang]("py")'
        ' pre(code[data-lang=py]("x = 1 < 2\\n  **not bold**")))'
        ' p("after")',
    ),
    (
        "```\nnever closed\n> still code",
        'div[class=code-block](pre(code("never closed\\n> still code")))',
    ),
    ("> quoted\n> *more*\n\nafter", 'blockquote(p("quoted\\n" em("more"))) p("after")'),
    ("> > inner", 'blockquote(blockquote(p("inner")))'),
    ("- a\n- b\n  - c", 'ul(li(p("a")) li(p("b") ul(li(p("c")))))'),
    ("3. x\n4. **y**", 'ol[start=3](li(p("x")) li(p(strong("y"))))'),
    ("items:\n* one\n* two", 'p("items:") ul(li(p("one")) li(p("two")))'),
    (
        "[docs](https://example.org/a?b=1)",
        'p(a[href=https://example.org/a?b=1 class=link]("docs")'
        ' span[class=link-target](" (example.org)"))',
    ),
    ("[https://x.org/](https://x.org/)", 'p(a[href=https://x.org/ class=link]("https://x.org/"))'),
    (
        "[**bold** link](mailto:bob@example.org)",
        'p(a[href=mailto:bob@example.org class=link](strong("bold") " link")'
        ' span[class=link-target](" (bob@example.org)"))',
    ),
    (
        "[x](mailto:a%E0%A4%A@b.org)",
        'p(a[href=mailto:a%E0%A4%A@b.org class=link]("x")'
        ' span[class=link-target](" (a%E0%A4%A@b.org)"))',
    ),
    (
        "see https://example.org/path_(x). ok",
        'p("see " a[href=https://example.org/path_(x) class=link]'
        '("https://example.org/path_(x)") ". ok")',
    ),
    (
        "**https://example.org**",
        'p(strong(a[href=https://example.org/ class=link]("https://example.org")))',
    ),
    (
        "[outer [inner](https://a.org/) text](https://b.org/)",
        'p("[outer " a[href=https://a.org/ class=link]("inner") span[class=link-target](" (a.org)")'
        ' " text](" a[href=https://b.org/ class=link]("https://b.org/") ")")',
    ),
    # Only the names the server resolved are mentions; mine stands out; code never mentions.
    (
        "hi @Alice, @bob and @carol. `@alice` **@room**",
        'p("hi " span[class=mention me]("@Alice") ", " span[class=mention]("@bob") " and @carol. "'
        ' code("@alice") " " strong(span[class=mention me]("@room")))',
    ),
    ("mail alice@example.org", 'p("mail alice@example.org")'),
    # A room this client knows is a link; others, and "#" inside words, are text.
    (
        "in #lobby, not #nowhere or a#lobby",
        'p("in " a[href=#lobby class=room-link]("#lobby") ", not #nowhere or a#lobby")',
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[case[0][:30] for case in CASES])
def test_the_subset_renders_as_elements(page: Page, text: str, expected: str) -> None:
    assert render(page, text, ["alice", "bob", "@room"]) == expected


HOSTILE_LINKS = [
    "[x](javascript:alert(1))",
    "[x](JavaScript:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](data:text/html,<b>hi</b>)",
    "[x](//evil.example/)",
    "[x](/relative)",
    "[x](vbscript:msgbox)",
    "[x](file:///etc/passwd)",
    "[x](https://)",
    "[x](mailto:nobody)",
    "javascript:alert(1)",
    '<a href="javascript:alert(1)">x</a>',
]


@pytest.mark.parametrize("text", HOSTILE_LINKS)
def test_only_http_https_and_mailto_become_links_and_the_text_stays_as_typed(
    page: Page, text: str
) -> None:
    result = page.evaluate(
        """async (text) => {
            const { renderText } = await import("/static/richtext.js");
            const box = document.createElement("div");
            box.append(renderText(text));
            return { links: box.querySelectorAll("a").length, text: box.textContent };
        }""",
        text,
    )
    assert result == {"links": 0, "text": text}


def test_html_is_shown_as_text(page: Page) -> None:
    text = '<img src=x onerror="document.title=1"> <script>alert(1)</script> <b>bold?</b> &amp;'
    assert render(page, text) == f"p({json_string(text)})"
    result = measure(page, text)
    assert result["tags"] == ["p"]
    assert page.title() != "1"


def json_string(text: str) -> str:
    return json.dumps(text)


N = 100_000
HOSTILE = {
    "stars": "*" * N,
    "star pairs": "*a" * (N // 2),
    "open emphasis": "**a _b ~~c " * (N // 11),
    "brackets": "[" * N,
    "closing brackets": "]" * N,
    "link starts": "[a](" * (N // 4),
    "empty links": "[](" * (N // 3),
    "bracket then close": "[" * (N // 2) + "](https://x.org/)" * (N // 34),
    "backticks": "`" * N,
    "backticks in a line": "a" + "`" * N,
    "tildes in a line": "a" + "~" * N,
    "urls in brackets": "[https://a]" * (N // 11),
    "backtick runs": "".join("`" * (i % 50 + 1) + " " for i in range(N // 26)),
    "code openers": "` ``" * (N // 4),
    "quotes": ">" * N,
    "quote lines": "> " * (N // 2),
    "nested lists": "\n".join("  " * i + "- x" for i in range(N // 200)),
    "list markers": "- " * (N // 2),
    "fences": "```\n" * (N // 4),
    "escapes": "\\" * N,
    "mentions": "@alice" * (N // 6),
    "at signs": "@" * N,
    "rooms": "#a" * (N // 2),
    "urls": "https://x.org/" + ")" * N,
    "url chain": "https://" * (N // 8),
    "h": "h" * N,
    "underscores": "_a" * (N // 2),
    "tildes": "~" * N,
    "lines": "a\n" * (N // 2),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_input_costs_work_in_proportion_to_its_size(page: Page, name: str) -> None:
    """Each input at 100 KB and at 200 KB (the same pattern twice): the parser's counted
    steps stay under a small multiple of the length, and doubling the input at most doubles
    them (a quadratic parser would quadruple them). Drawing it raises nothing, and quotes
    nest no deeper than the limit."""
    text = HOSTILE[name]
    one = measure(page, text)
    two = measure(page, text + "\n\n" + text)
    assert one["steps"] <= 6 * len(text), one
    assert two["steps"] <= 2.2 * one["steps"] + 100, (one, two)
    assert one["deepest"] <= 8


def test_nesting_is_bounded_and_the_rest_is_text(page: Page) -> None:
    deep = measure(page, ">" * 50 + " deep")
    assert deep["deepest"] == 8
    shape = render(page, "- " * 20 + "x")
    assert shape.count("ul(") == 8
    assert shape.endswith('p("- - - - - - - - - - - - x")' + ")" * 16)
    many = render(page, "*" + "[" * 40 + "x")
    assert "a[" not in many
    assert "em(" not in many


def test_formatted_messages_in_the_room_with_the_mention_highlight(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    page = chat.signed_in("alice", viewport=PHONE, color_scheme="dark")
    bob = SyncChat(server.http_url, "bob")
    open_room(page, "lobby")
    bob.say("lobby", "**look @alice**: `make test` in #lobby\n> quoted <b>x</b>")
    said = page.locator("#messages .msg").last
    expect(said.locator("strong .mention.me")).to_have_text("@alice")
    expect(said.locator("code")).to_have_text("make test")
    expect(said.locator("a.room-link")).to_have_attribute("href", "#lobby")
    expect(said.locator("blockquote")).to_have_text("quoted <b>x</b>")
    expect(said).to_have_class(re.compile(r"\bmentions-me\b"))

    # I type formatting: the stored message shows it (the pending one is drawn the same way).
    box = composer(page)
    box.fill("a list:\n- *one*\n- two\n```js\nlet x = 1;\n```")
    box.press("Enter")
    mine = page.locator("#messages .msg.mine").last
    expect(mine.locator("li em")).to_have_text("one")
    expect(mine.locator(".code-lang")).to_have_text("js")
    expect(mine.locator("pre code")).to_have_text("let x = 1;")
    # The code block scrolls inside the message: the page never gets wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    bob.close()
