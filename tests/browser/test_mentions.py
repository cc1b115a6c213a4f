"""Mentions in the browser: the badge apart from the unread count, the highlight, the title,
and ``@`` completing the room's members; the counts follow edits that retract a mention."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.chatpage import OpenChat, SyncChat, composer, message, open_room, send
from tests.helpers.process import ServerProcess

DESKTOP = {"width": 1280, "height": 800}


def test_a_mention_has_its_own_badge_is_highlighted_and_completed(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    alice = SyncChat(server.http_url, "alice")
    alice.command("create", room="side")
    page = chat.signed_in("alice", new=False, viewport=DESKTOP)
    bob = SyncChat(server.http_url, "bob")
    open_room(page, "side")

    # Away from the lobby: one mention and one plain message.
    [mention, _] = bob.say("lobby", "hey @Alice, look", "plain words")
    lobby = page.locator("#sidebar").get_by_role("link", name="lobby")
    expect(lobby).to_have_attribute("aria-label", "lobby, 1 mentioning you, 2 unread")
    expect(lobby.locator(".mention-badge")).to_have_text("@1")
    expect(lobby.locator(".badge:not(.mention-badge)")).to_have_text("2")
    expect(page).to_have_title("(@1) (2) #side · Parley")

    # Opened: the message that mentions me stands out, and the name in it.
    open_room(page, "lobby")
    expect(message(page, "hey @Alice, look")).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(message(page, "hey @Alice, look").locator(".mention.me")).to_have_text("@Alice")
    expect(message(page, "plain words")).not_to_have_class(re.compile(r"\bmentions-me\b"))
    expect(lobby.locator(".badge")).to_have_count(0)
    expect(page).to_have_title("#lobby · Parley")

    # `@` suggests the room's members (not me) and @room; Tab takes the first.
    box = composer(page)
    box.click()
    page.keyboard.insert_text("thanks @b")
    suggestions = page.locator("#mention-suggestions")
    expect(suggestions).to_be_visible()
    expect(suggestions.get_by_role("option")).to_have_text(["@bob"])
    box.press("Tab")
    expect(suggestions).to_be_hidden()
    expect(box).to_have_value("thanks @bob ")
    page.keyboard.insert_text("too")
    box.press("Enter")
    said = bob.next("event", kind="message", user="alice")
    assert (said["text"], said["mentions"]) == ("thanks @bob too", ["bob"])
    # Escape closes the list; an address is not a mention.
    page.keyboard.insert_text("@")
    expect(suggestions.get_by_role("option")).to_have_text(["@bob", "@room — everyone here"])
    box.press("Escape")
    expect(suggestions).to_be_hidden()
    box.fill("")
    send(page, "mail me at alice@example.com")
    mailed = bob.next("event", kind="message", text="mail me at alice@example.com")
    assert "mentions" not in mailed

    # An edit that removes the mention takes the badge away; one that adds it brings it back.
    open_room(page, "side")
    [again] = bob.say("lobby", "@alice again")
    expect(lobby.locator(".mention-badge")).to_have_text("@1")
    bob.command("edit", room="lobby", mid=again["mid"], text="again")
    expect(lobby.locator(".mention-badge")).to_have_count(0)
    expect(lobby.locator(".badge")).to_have_text("1")
    bob.command("edit", room="lobby", mid=again["mid"], text="again, @alice")
    expect(lobby.locator(".mention-badge")).to_have_text("@1")
    # A reload agrees with what the page counted.
    page.reload()
    expect(lobby.locator(".mention-badge")).to_have_text("@1")
    assert mention["mid"] < again["mid"]
    alice.close()
    bob.close()
