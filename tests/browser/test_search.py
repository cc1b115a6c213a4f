"""A person searches from the browser: Ctrl+K opens the search box, results come grouped by
room with the matches marked, a result opens in its context, and "no results", a bad query
and "/" as a shortcut behave (``tests/chat/test_search.py`` has the protocol's side)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.chatpage import OpenChat, SyncChat
from tests.helpers.process import ServerProcess


def test_search_then_jump_to_the_result_in_context(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve", "--rate-limit", "1000", "--rate-burst", "1000")
    bob = SyncChat(server.http_url, "bob")
    bob.command("create", room="ops")
    for n in range(30):
        bob.say("ops", f"filler line {n}")
    bob.say("ops", "the deploy of https://docs.example.com failed <b>again</b>")
    for n in range(30, 40):
        bob.say("ops", f"filler line {n}")
    bob.say("lobby", "Déploiement prévu demain")
    chat = open_chat(server)
    page = chat.signed_in("alice")
    page.get_by_role("button", name="Create a room").wait_for()

    page.keyboard.press("Control+k")
    box = page.get_by_role("searchbox", name="Search messages")
    expect(box).to_be_focused()
    box.fill("example")  # the last word matches as one types: as a prefix
    status = page.locator("#search-status")
    expect(status).to_have_text("No results for “example”.")  # alice is not in #ops
    page.get_by_label("Public rooms I am not in too").check()
    hit = page.locator(".search-hit").filter(has_text="the deploy of")
    expect(hit).to_be_visible()
    expect(status).to_have_text("1 result")
    expect(page.locator(".search-group h3")).to_have_text("#ops")
    # The match is marked, and the text stays text: "<b>" is shown, not parsed.
    expect(hit.locator("mark")).to_have_text("example")
    expect(hit.locator(".search-text")).to_have_text(
        "the deploy of https://docs.example.com failed <b>again</b>"
    )
    assert hit.locator("b").count() == 0

    box.fill("depl")
    expect(page.locator(".search-hit")).to_have_count(2)
    expect(page.locator(".search-group h3")).to_have_text(["#lobby", "#ops"])
    expect(page.locator(".search-hit mark")).to_have_text(["Déploiement", "deploy"])

    # Keyboard: Tab to the result in #ops, Enter: the conversation around it, it focused.
    page.locator(".search-hit").filter(has_text="the deploy of").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#search-context-title")).to_have_text("In #ops")
    target = page.locator(".context-item.target")
    expect(target).to_be_focused()
    expect(target).to_contain_text("the deploy of")
    items = page.locator(".context-item")
    expect(items.first).to_contain_text("filler line 25")
    expect(items.last).to_contain_text("filler line 34")
    page.get_by_role("button", name="Join #ops").click()  # a public room alice is not in
    expect(page.locator("#search-dialog")).to_be_hidden()
    expect(page.locator("#room-name")).to_have_text("#ops")
    bob.close()


def test_no_results_bad_queries_and_the_slash_shortcut(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    page = chat.signed_in("carol")
    page.locator("#timeline").focus()
    page.keyboard.press("/")
    box = page.get_by_role("searchbox", name="Search messages")
    expect(box).to_be_focused()
    status = page.locator("#search-status")
    box.fill("nothing-like-this ")
    expect(status).to_have_text("No results for “nothing-like-this”.")
    box.fill('"unclosed')
    expect(status).to_have_text('a quote (") is not closed')
    box.fill("when:today")
    expect(status).to_contain_text("unknown operator when:")
    page.keyboard.press("Escape")  # a search box's first Escape empties it (Chromium)
    expect(box).to_have_value("")
    page.keyboard.press("Escape")
    expect(page.locator("#search-dialog")).to_be_hidden()
